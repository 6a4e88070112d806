package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// defaultTailLines is how many events tail prints from a copied store, as
// tail(1) prints ten lines.
const defaultTailLines = 10

func (a *app) tailCmd() *cobra.Command {
	var since, subject string
	var count int
	c := &cobra.Command{
		Use:   "tail",
		Short: "Follow new events live, one line each",
		Long: `tail follows the event stream and prints one line per event as it is stored:
time, stream sequence, entity, event name and the essentials (connection
states, service causes, reasons). It runs until interrupted (Ctrl-C), or
until --count events were printed. --json prints one JSON object per line.

A copied store (--store) never grows: there tail prints the last events of
the log, like tail(1) on a file (the last --count, default 10, or every
event from --since, a time or a duration before the log's last event), then
exits.`,
		Example: `  replay tail
  replay tail --since 5m --subject 'cti.lab.call.>'
  replay tail --json --count 100`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			q := replaystore.Query{Follow: !st.Offline()}
			switch {
			case subject != "":
				q.Subjects = []string{subject}
			case a.cluster != "":
				if st.Offline() {
					// A copied store will never hold a cluster it lacks now.
					if _, err := a.clusterOf(ctx, st); err != nil {
						return err
					}
				}
				q.Subjects = []string{replaystore.ClusterSubjects(a.cluster)}
			default:
				if c, err := st.Cluster(ctx); err == nil {
					q.Subjects = []string{replaystore.ClusterSubjects(c)}
				} else if !errors.Is(err, replaystore.ErrNoCluster) {
					return err
				}
			}
			// Durations count back from now on a live server, from the log's
			// last event on a copied store.
			first, last := time.Now(), time.Now()
			if st.Offline() {
				if first, last, err = st.Bounds(ctx); err != nil {
					return err
				}
			}
			if since != "" {
				if d, err := time.ParseDuration(since); err == nil {
					q.StartTime = last.Add(-d)
				} else if t, err := parseAt(since, first, last, a.clk.location()); err == nil {
					q.StartTime = t
				} else {
					return usagef("--since %q: give a duration (5m) or a time (RFC 3339, 14:02:17)", since)
				}
			}
			if st.Offline() && since == "" {
				// The last events, like tail(1).
				n := uint64(count)
				if n == 0 {
					n = defaultTailLines
				}
				info, err := st.Info(ctx)
				if err != nil {
					return err
				}
				if info.LastSeq >= n {
					q.StartSeq = max(info.FirstSeq, info.LastSeq-n+1)
				}
			}
			n := 0
			_, err = st.ReadEvents(ctx, q, func(r replaystore.Record) error {
				if a.jsonOut {
					data, _ := json.Marshal(r.Event.Data)
					line, _ := json.Marshal(callEventJSON{Seq: r.Seq, Time: r.Event.Time, Event: r.Event.Name, ID: r.Envelope.ID, Subject: r.Subject, Data: data})
					fmt.Fprintf(a.stdout, "%s\n", line)
				} else {
					fmt.Fprintf(a.stdout, "%s  #%-8d %s\n", a.clk.clock(r.Event.Time), r.Seq, describe(&r.Event))
				}
				n++
				if count > 0 && n >= count {
					return replaystore.ErrStop
				}
				return nil
			})
			if err == nil && st.Offline() {
				fmt.Fprintf(a.stderr, "replay: %d event(s) of a copied store, which never grows: tail ends here (use a server to follow live)\n", n)
			}
			return err
		},
	}
	c.Flags().StringVar(&since, "since", "", "start this long ago (5m) or at this time, instead of with the next new event")
	c.Flags().StringVar(&subject, "subject", "", "NATS subject filter (default cti.<cluster>.>)")
	c.Flags().IntVar(&count, "count", 0, "stop after this many events")
	return c
}

// describe renders an event on one line for people.
func describe(ev *schema.Event) string {
	var b strings.Builder
	ent := string(ev.Family)
	if ev.Entity != "" {
		ent += " " + ev.Entity
	}
	fmt.Fprintf(&b, "%-22s %s", ent, ev.Name)
	d := &ev.Data
	switch {
	case d.Call != nil:
		if cn := d.Call.Connection; cn != nil {
			fmt.Fprintf(&b, "  %s %s/%s", cn.Address, cn.State, cn.CallControlState)
			if cn.Transient {
				b.WriteString(" transient")
			}
		}
		if tc := d.Call.TerminalConnection; tc != nil {
			fmt.Fprintf(&b, "  %s:%s", tc.Terminal, tc.CallControlState)
		}
		if d.Call.OriginalCallID != "" {
			fmt.Fprintf(&b, "  from call %s", d.Call.OriginalCallID)
		}
		if d.CallControlCause != 0 || (d.Cause != 0 && d.Cause != schema.CauseNormal && d.Cause != schema.CauseSnapshot) {
			fmt.Fprintf(&b, "  %s", eventCause(d))
		}
	case d.Provider != nil:
		p := d.Provider
		fmt.Fprintf(&b, "  %s", orDash(p.CTIManager))
		if p.Reason != "" {
			fmt.Fprintf(&b, " %s", p.Reason)
		}
		if p.State != "" {
			fmt.Fprintf(&b, " provider %s", p.State)
		}
	case d.Terminal != nil || d.Address != nil:
		if d.Cause != 0 || d.CauseName != "" {
			fmt.Fprintf(&b, "  %s", eventCause(d))
		}
	case d.Route != nil:
		fmt.Fprintf(&b, "  session %s", orDash(d.Route.SessionID))
		if d.Route.Selected != "" {
			fmt.Fprintf(&b, " → %s", d.Route.Selected)
		}
	case d.Bridge != nil:
		if g := d.Bridge.Gap; g != nil {
			fmt.Fprintf(&b, "  %s", g.ID)
			if g.DurationMs > 0 {
				fmt.Fprintf(&b, " %dms ended=%d discovered=%d", g.DurationMs, g.CallsEnded, g.CallsDiscovered)
			}
		} else if d.Bridge.Reason != "" {
			fmt.Fprintf(&b, "  %s", d.Bridge.Reason)
		}
	}
	if d.Snapshot {
		b.WriteString("  [snapshot]")
	}
	if d.Inferred {
		b.WriteString("  [inferred]")
	}
	return b.String()
}
