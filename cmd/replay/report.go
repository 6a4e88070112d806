package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/report"
	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/spf13/cobra"
)

func (a *app) reportCmd() *cobra.Command {
	var out string
	c := &cobra.Command{
		Use:   "report --html FILE",
		Short: "Write an incident report: one self-contained HTML file with an SVG timeline",
		Long: `report writes one HTML file with no external assets: an inline SVG timeline with
a lane for the provider (in / out of service) and one per CTIManager (link
up), the observation gaps shaded, the number of calls in progress over time,
a table of the failovers, and the timeline's event table.

The call counts come from folding the cluster's events (a full scan of the
log; a progress bar shows on a terminal).`,
		Example: `  replay --store ./data report --html incident.html`,
		Args:    noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return usagef("--html FILE is required")
			}
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			cluster, err := a.clusterOf(ctx, st)
			if err != nil {
				return err
			}
			tl, err := buildTimeline(ctx, st, cluster, timeline.Options{}, true)
			if err != nil {
				return err
			}
			fold := callstate.New()
			var samples []report.Sample
			var events uint64
			prog, done := a.progress("folding", 50_000)
			_, err = st.ReadEvents(ctx, replaystore.Query{Subjects: []string{replaystore.ClusterSubjects(cluster)}}, func(r replaystore.Record) error {
				events++
				if prog != nil {
					prog(events, r.Pending)
				}
				before := fold.CallCount()
				fold.Apply(r.Event)
				if n := fold.CallCount(); n != before || len(samples) == 0 {
					samples = append(samples, report.Sample{Time: r.Event.Time, Calls: n})
				}
				return nil
			})
			done()
			if err != nil {
				return err
			}
			source := a.server
			if a.storeDir != "" {
				source = "store " + a.storeDir
			} else if source == "" {
				source = "NATS " + st.Conn().ConnectedUrlRedacted()
			}
			tmp, err := os.CreateTemp(filepath.Dir(out), ".report-*.html")
			if err != nil {
				return err
			}
			defer os.Remove(tmp.Name())
			bw := bufio.NewWriter(tmp)
			if err := report.Render(bw, report.Data{Cluster: cluster, Source: source, Generated: time.Now(), Timeline: tl, Calls: samples, Events: events, Location: a.clk.location()}); err != nil {
				tmp.Close()
				return err
			}
			if err := bw.Flush(); err != nil {
				tmp.Close()
				return err
			}
			if err := tmp.Close(); err != nil {
				return err
			}
			if err := os.Rename(tmp.Name(), out); err != nil {
				return err
			}
			if a.jsonOut {
				return writeJSON(a.stdout, map[string]any{"file": out, "entries": len(tl.Entries), "failovers": len(tl.Failovers), "events": events})
			}
			fmt.Fprintf(a.stdout, "wrote %s: %d timeline entries, %d failover(s), call counts from %d events\n", out, len(tl.Entries), len(tl.Failovers), events)
			return nil
		},
	}
	c.Flags().StringVar(&out, "html", "", "the HTML file to write (required)")
	return c
}
