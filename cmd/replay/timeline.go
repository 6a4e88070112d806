package main

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// maxWindow bounds the device and call events read to count the waves of
// one failover (the window from the loss to the gap's close).
const maxWindow = 500_000

func (a *app) timelineCmd() *cobra.Command {
	var heartbeats, noWaves, wavesFromLog bool
	c := &cobra.Command{
		Use:   "timeline",
		Short: "The failover story: loss, out-of-service wave, CTIManager switch, recovery, reconciliation",
		Long: `timeline tells what happened to the provider from the provider and bridge
events only (subjects cti.<cluster>.provider.> and cti.<cluster>.bridge.>):
the CTIManager links, when the last heartbeat or message was heard, when and
why the loss was detected (HEARTBEAT_MISSED after 2 × the server heartbeat,
connection reset, ...), the out-of-service wave, the switch to the next
CTIManager, the in-service wave, the snapshot, and what the gap
reconciliation inferred, with the durations between the steps.

The wave counts are the ones the bridge recorded in each failover's GapClosed
(the events of each kind it emitted from the loss to the gap's close), so the
timeline reads nothing else. For a failover whose GapClosed carries none (a
log written by a bridge before they were recorded) they are counted from the
terminal, address and call events inside the failover's window of the log
(from the loss to the gap's close), never from a scan of the whole log;
--waves-from-log counts every failover that way, which tells the stored events
apart from the emitted ones if a publish gap dropped some. --no-waves reads
no window: such failovers then get the bridge's own gap counts only. --json
prints the entries as a JSON array; every entry has at least "time" and
"event".`,
		Example: `  replay --store ./data timeline
  replay --store ./data timeline --json | jq '.[] | {time, event, detail}'`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			cluster, err := a.clusterOf(ctx, st)
			if err != nil {
				return err
			}
			if noWaves && wavesFromLog {
				return usagef("--no-waves and --waves-from-log contradict each other: choose one")
			}
			tl, err := buildTimeline(ctx, st, cluster, timeline.Options{Heartbeats: heartbeats, WavesFromLog: wavesFromLog}, !noWaves)
			if err != nil {
				return err
			}
			if a.jsonOut {
				if tl.Entries == nil {
					tl.Entries = []timeline.Entry{}
				}
				return writeJSON(a.stdout, tl.Entries)
			}
			printTimeline(a.stdout, a.clk, cluster, tl)
			return nil
		},
	}
	c.Flags().BoolVar(&heartbeats, "heartbeats", false, "include the bridge's heartbeat records (one line per run)")
	c.Flags().BoolVar(&noWaves, "no-waves", false, "read the provider and bridge subjects only: no device-wave counts for failovers whose GapClosed does not carry them")
	c.Flags().BoolVar(&wavesFromLog, "waves-from-log", false, "count every failover's waves from its stored events, not from the counts the bridge recorded")
	return c
}

// buildTimeline reads the provider and bridge events of cluster and the
// failover windows, and builds the timeline.
func buildTimeline(ctx context.Context, st *replaystore.Store, cluster string, opt timeline.Options, waves bool) (*timeline.Timeline, error) {
	// One consumer with every filter: each consumer walks the blocks
	// between its first and last match, and with one subject per call
	// the server cannot skip them through its subject index, so one walk
	// costs less than one per filter (docs/benchmarks.md, run 9). The
	// bridge's events are read by name so that its heartbeat records (one
	// every interval, spread over the whole log, so touching every block
	// of the store) are read only when asked for.
	var items []timeline.Item
	filters := []string{schema.FamilyFilter(cluster, schema.FamilyProvider)}
	for _, spec := range schema.Events {
		if spec.Family == schema.FamilyBridge && (spec.Name != schema.EvBridgeHeartbeat || opt.Heartbeats) {
			filters = append(filters, schema.EventFilter(cluster, spec.Name))
		}
	}
	if _, err := st.ReadEvents(ctx, replaystore.Query{Subjects: filters}, func(r replaystore.Record) error {
		items = append(items, timeline.Item{Seq: r.Seq, Event: r.Event})
		return nil
	}); err != nil {
		return nil, err
	}
	slices.SortFunc(items, func(a, b timeline.Item) int { return cmp.Compare(a.Seq, b.Seq) })
	window := func(from, to uint64, fn func(timeline.WaveItem) bool) (bool, error) {
		truncated := false
		end := to
		if end == 0 || end-from > maxWindow {
			end = from + maxWindow
			truncated = true
		}
		if to > 0 && end >= to {
			truncated = false
		}
		// No subject filter: the window is read whole and the events of
		// other clusters, the provider and the bridge are skipped here.
		// With a filter (even cti.<cluster>.>) the server matches it
		// against every subject of the block at each message it delivers
		// — with one subject per call, thousands — and counts a new
		// consumer's pending messages by loading blocks to the end of the
		// log; unfiltered, it walks the blocks in order and the count is a
		// subtraction (docs/benchmarks.md, run 9).
		wq := replaystore.Query{StartSeq: from, EndSeq: end}
		own := "" // cluster "" (every cluster): nothing to skip
		if cluster != "" {
			own = strings.TrimSuffix(schema.ClusterFilter(cluster), ">")
		}
		skip := []string{
			strings.TrimSuffix(schema.FamilyFilter(cluster, schema.FamilyProvider), ">"),
			strings.TrimSuffix(schema.FamilyFilter(cluster, schema.FamilyBridge), ">"),
		}
		last := uint64(0)
		_, err := st.Read(ctx, wq, func(m replaystore.Message) error {
			last = m.Seq
			if !strings.HasPrefix(m.Subject, own) || strings.HasPrefix(m.Subject, skip[0]) || strings.HasPrefix(m.Subject, skip[1]) {
				return nil
			}
			if w, ok := waveItem(m); ok && !fn(w) {
				return replaystore.ErrStop
			}
			return nil
		})
		if to == 0 && last < end {
			truncated = false // the log ended inside the bound
		}
		return truncated, err
	}
	if !waves {
		return timeline.Build(items, nil, opt)
	}
	return timeline.Build(items, window, opt)
}

var (
	snapshotTrue = []byte(`"snapshot":true`)
	inferredTrue = []byte(`"inferred":true`)
	receivedKey  = []byte(`"received":"`)
)

// waveItem reads what the timeline needs from a device or call event. A
// binary-mode message is read from its subject and headers (the session
// and sequence from Nats-Msg-Id, the CTI time from ce-time) and a glance at
// its data for the snapshot and inferred flags, which is several times
// cheaper than decoding it; anything else is decoded.
func waveItem(m replaystore.Message) (timeline.WaveItem, bool) {
	if w, ok := quickWaveItem(m); ok {
		return w, true
	}
	_, ev, err := schema.Decode(m.Header, m.Data)
	if err != nil {
		return timeline.WaveItem{}, false
	}
	w := timeline.WaveItem{Seq: m.Seq, Session: ev.Session, SessionSeq: ev.SessionSeq, Time: ev.Time,
		Family: ev.Family, Entity: ev.Entity, Name: ev.Name, Snapshot: ev.Data.Snapshot, Inferred: ev.Data.Inferred}
	if ev.Data.Snapshot && !ev.Received.IsZero() {
		w.Time = ev.Received
	}
	return w, true
}

func quickWaveItem(m replaystore.Message) (timeline.WaveItem, bool) {
	ids, times := m.Header[schema.HeaderMsgID], m.Header[schema.HeaderTime]
	if len(ids) != 1 || len(times) != 1 {
		return timeline.WaveItem{}, false
	}
	// Terminal, address and route subjects end with the event name, and
	// so do call subjects as published (with the line before it) and in a
	// layout-1 stream; a stored call subject ends with the call id, and
	// the name is in ce-jtapievent.
	toks := strings.Split(m.Subject, ".")
	var name string
	switch {
	case len(toks) == 5 || len(toks) == 6 && toks[2] == string(schema.FamilyCall):
		name = toks[len(toks)-1]
	case len(toks) == 4 && toks[2] == string(schema.FamilyCall):
		names := m.Header[schema.HeaderJTAPIEvent]
		if len(names) != 1 {
			return timeline.WaveItem{}, false
		}
		name = names[0]
	default:
		return timeline.WaveItem{}, false
	}
	if _, known := schema.Spec(name); !known {
		return timeline.WaveItem{}, false
	}
	entity, err := schema.UnescapeToken(toks[3])
	if err != nil {
		return timeline.WaveItem{}, false
	}
	session, seq, ok := schema.ParseEventID(ids[0])
	if !ok {
		return timeline.WaveItem{}, false
	}
	tv, err := schema.PercentDecode(times[0])
	if err != nil {
		return timeline.WaveItem{}, false
	}
	at, err := time.Parse(time.RFC3339Nano, tv)
	if err != nil {
		return timeline.WaveItem{}, false
	}
	w := timeline.WaveItem{Seq: m.Seq, Session: session, SessionSeq: seq, Time: at, Family: schema.Family(toks[2]),
		Entity: entity, Name: name, Snapshot: bytes.Contains(m.Data, snapshotTrue), Inferred: bytes.Contains(m.Data, inferredTrue)}
	if w.Snapshot {
		// A snapshot event's CTI time is the call state's: show when the
		// bridge received it.
		if i := bytes.Index(m.Data, receivedKey); i >= 0 {
			rest := m.Data[i+len(receivedKey):]
			if k := bytes.IndexByte(rest, '"'); k > 0 {
				if t, err := time.Parse(time.RFC3339Nano, string(rest[:k])); err == nil {
					w.Time = t
				}
			}
		}
	}
	return w, true
}

func printTimeline(w io.Writer, clk clockFmt, cluster string, tl *timeline.Timeline) {
	if len(tl.Entries) == 0 {
		fmt.Fprintf(w, "No provider or bridge events for cluster %s.\n", cluster)
		return
	}
	fmt.Fprintf(w, "Timeline of cluster %s, %s → %s (times %s)\n\n", cluster, clk.ts(tl.Start), clk.ts(tl.End), clk.zone())
	tw := newTable(w)
	fmt.Fprintln(tw, "TIME\t+PREV\tLOSS+\tEVENT\tCTIMANAGER\tDETAIL")
	for _, e := range tl.Entries {
		name := e.Event
		if e.Count > 1 || e.Derived && e.Count > 0 {
			name = fmt.Sprintf("%s ×%d", e.Event, e.Count)
		}
		loss := ""
		if e.SinceLossMs != nil {
			loss = timeline.FormatMs(*e.SinceLossMs)
			if *e.SinceLossMs >= 0 {
				loss = "+" + loss
			}
		}
		prev := ""
		if e.SincePrevMs != 0 {
			prev = "+" + timeline.FormatMs(e.SincePrevMs)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", clk.clock(e.Time), prev, loss, name, orDash(e.CTIManager), e.Detail)
	}
	tw.Flush()
	for _, f := range tl.Failovers {
		fmt.Fprintf(w, "\nFailover %d: %s → %s (%s)\n", f.N, f.From, orDash(f.To), f.Reason)
		if !f.LastHeard.IsZero() {
			fmt.Fprintf(w, "  last heard      %s; loss detected %s later at %s", clk.ts(f.LastHeard), timeline.FormatMs(f.DetectionMs), clk.ts(f.Detected))
			if f.HeartbeatMs > 0 {
				fmt.Fprintf(w, " (server heartbeat %s: limit %s)", timeline.FormatMs(f.HeartbeatMs), timeline.FormatMs(2*f.HeartbeatMs))
			}
			fmt.Fprintln(w)
		} else {
			fmt.Fprintf(w, "  loss detected   %s\n", clk.ts(f.Detected))
		}
		devOut, devBack := timeline.Count(f.AddressesOOS, "address", "addresses")+", "+timeline.Count(f.TerminalsOOS, "terminal", "terminals"), timeline.Count(f.AddressesBack, "address", "addresses")+", "+timeline.Count(f.TerminalsBack, "terminal", "terminals")+" back"
		if !f.WavesCounted {
			devOut, devBack = "devices not counted (--no-waves)", "devices not counted"
		}
		fmt.Fprintf(w, "  out of service  %s observation ended, %s; provider OUT_OF_SERVICE at %s\n",
			timeline.Count(f.CallsUnobserved, "call", "calls"), devOut, clk.ts(f.OutOfSvcAt))
		if !f.InServiceAt.IsZero() {
			fmt.Fprintf(w, "  recovered       provider IN_SERVICE on %s at %s, %s after the loss; %s\n",
				orDash(f.To), clk.ts(f.InServiceAt), timeline.FormatMs(f.OutageMs), devBack)
		} else {
			fmt.Fprintf(w, "  recovered       not in the log\n")
		}
		if !f.GapClosedAt.IsZero() {
			fmt.Fprintf(w, "  reconciled      snapshot of %s, %d ended during the gap, %d discovered; gap closed at %s after %s\n",
				timeline.Count(f.CallsSnapshot, "call", "calls"), f.CallsEnded, f.CallsDiscovered, clk.ts(f.GapClosedAt), timeline.FormatMs(f.GapMs))
		}
		if f.WindowTruncated {
			fmt.Fprintf(w, "  (wave counts cover the first %d events of the window only)\n", maxWindow)
		}
	}
}
