package main

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// stateJSON is the --json document of `state`.
type stateJSON struct {
	Cluster               string                 `json:"cluster"`
	At                    string                 `json:"at"`
	Seq                   uint64                 `json:"seq"`
	LastEventTime         time.Time              `json:"lastEventTime,omitzero"`
	LastStored            time.Time              `json:"lastStored,omitzero"`
	SnapshotSeq           uint64                 `json:"snapshotSeq,omitempty"`
	EventsRead            uint64                 `json:"eventsRead"`
	EventsFolded          uint64                 `json:"eventsFolded"`
	Provider              callstate.Provider     `json:"provider"`
	CTIManagers           []callstate.CTIManager `json:"ctiManagers"`
	Summary               callstate.Summary      `json:"summary"`
	TerminalsOutOfService []callstate.Terminal   `json:"terminalsOutOfService"`
	AddressesOutOfService []callstate.Address    `json:"addressesOutOfService"`
	Calls                 []callstate.Call       `json:"calls"`
	RoutePoints           []callstate.RoutePoint `json:"routePoints,omitempty"`
	Gaps                  []callstate.Gap        `json:"gaps,omitempty"`
	Bridge                callstate.Bridge       `json:"bridge"`
}

func (a *app) stateCmd() *cobra.Command {
	var at string
	var seq uint64
	c := &cobra.Command{
		Use:   "state [--at TIME | --seq N]",
		Short: "Provider, devices and calls at a point in time",
		Long: `state rebuilds the cluster's state at a point in the log: the provider and its
CTIManager, the terminals and addresses out of service, and every call with its
connections (core and call-control states) and terminal connections.

It starts from the nearest snapshot at or before the point (stream
CTI_SNAPSHOTS, written by the bridge's snapshotter) and folds only the events
after it; without snapshots it folds the log from the start. --at TIME is the
state at TIME on the timeline's clock: every event that happened at or before
TIME (the CTI time; the time received for a snapshot event). --seq N is the
state after the event stored at stream sequence N. Without --at or --seq: the
end of the log.

TIME: RFC 3339 (2026-11-20T14:02:17.250Z, exact), "2026-11-20 14:02:17" or a
time of day on the log's first day (14:02:17.250), both in the --tz zone and
standing for the whole millisecond (second, minute) they name, or +DURATION
after the first event / -DURATION before the last (+6s, -2m).`,
		Example: `  replay --store ./data state --at 14:02:17
  replay --store ./data state --at +5s
  replay --store ./data state --seq 120345 --json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if at != "" && cmd.Flags().Changed("seq") {
				return usagef("give --at or --seq, not both")
			}
			if cmd.Flags().Changed("seq") && seq == 0 {
				return usagef("--seq 0: stream sequences start at 1")
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
			p := replaystore.Point{Seq: seq}
			if seq > 0 {
				info, err := st.Info(ctx)
				if err != nil {
					return err
				}
				if seq > info.LastSeq {
					return fmt.Errorf("--seq %d is past the end of the log: stream %s ends at seq %d", seq, info.Name, info.LastSeq)
				}
			}
			if at != "" {
				first, last, err := st.Bounds(ctx)
				if err != nil {
					return err
				}
				t, err := parseUntil(at, first, last, a.clk.location())
				if err != nil {
					return usagef("--at %w", err)
				}
				if first.IsZero() {
					return fmt.Errorf("--at %s: the log is empty", at)
				}
				if t.Before(first) {
					return fmt.Errorf("--at %s (%s) is before the log starts: its first event is at %s", at, a.clk.ts(t), a.clk.ts(first))
				}
				p.Time = t
			}
			prog, done := a.progress("folding", 50_000)
			state, res, err := st.StateAt(ctx, cluster, p, prog)
			done()
			if err != nil {
				return err
			}
			if a.jsonOut {
				doc := stateJSON{
					Cluster: cluster, At: p.String(), Seq: res.LastSeq, LastEventTime: res.LastTime, LastStored: res.LastStored,
					EventsRead: res.EventsRead, EventsFolded: res.EventsFolded,
					Provider: state.Provider(), CTIManagers: state.CTIManagers(), Summary: state.Summary(),
					TerminalsOutOfService: state.TerminalsOutOfService(), AddressesOutOfService: state.AddressesOutOfService(),
					Calls: state.Calls(), RoutePoints: state.RoutePoints(), Gaps: state.Gaps(), Bridge: state.Bridge(),
				}
				if res.Snapshot != nil {
					doc.SnapshotSeq = res.Snapshot.Seq
				}
				return writeJSON(a.stdout, doc)
			}
			printState(a.stdout, a.clk, cluster, p, state, res)
			return nil
		},
	}
	c.Flags().StringVar(&at, "at", "", "point in time (see above)")
	c.Flags().Uint64Var(&seq, "seq", 0, "stream sequence: the state after the event stored at N")
	return c
}

func printState(w io.Writer, clk clockFmt, cluster string, p replaystore.Point, st *callstate.State, res replaystore.StateAtResult) {
	from := "folded from the start of the log"
	if res.Snapshot != nil {
		from = fmt.Sprintf("snapshot at seq %d", res.Snapshot.Seq)
	}
	if p.Time.IsZero() {
		fmt.Fprintf(w, "Cluster %s at %s — up to seq %d stored %s, %s + %d events read\n\n",
			cluster, p, res.LastSeq, clk.ts(res.LastStored), from, res.EventsRead)
	} else {
		fmt.Fprintf(w, "Cluster %s at %s — every event up to then (latest %s, seq %d), %s + %d events read, %d folded\n\n",
			cluster, clk.ts(p.Time), clk.ts(res.LastTime), res.LastSeq, from, res.EventsRead, res.EventsFolded)
	}
	pr := st.Provider()
	tw := newTable(w)
	fmt.Fprintf(tw, "Provider\t%s since %s on %s", orDash(pr.State), clk.ts(pr.Since), orDash(pr.CTIManager))
	if pr.PreviousCTIManager != "" {
		fmt.Fprintf(tw, " (previous %s)", pr.PreviousCTIManager)
	}
	fmt.Fprintf(tw, "\n")
	link := orDash(pr.Link)
	if pr.Link == callstate.LinkConnecting {
		link += " to " + pr.Connecting
	}
	fmt.Fprintf(tw, "Link\t%s", link)
	if pr.ServerHeartbeatMs > 0 {
		fmt.Fprintf(tw, ", server heartbeat %dms", pr.ServerHeartbeatMs)
	}
	if pr.Failovers > 0 {
		fmt.Fprintf(tw, ", %d failover(s), last %s (%s)", pr.Failovers, clk.ts(pr.LastLostAt), pr.Reason)
	}
	fmt.Fprintf(tw, "\n")
	sum := st.Summary()
	fmt.Fprintf(tw, "Terminals\t%d (%d out of service)\n", sum.Terminals, sum.TerminalsOOS)
	fmt.Fprintf(tw, "Addresses\t%d (%d out of service)\n", sum.Addresses, sum.AddressesOOS)
	fmt.Fprintf(tw, "Calls\t%d (%d unobserved), %d connections (+%d transient)\n", sum.Calls, sum.UnobservedCalls, sum.Connections, sum.TransientConns)
	if sum.RouteSessions > 0 {
		fmt.Fprintf(tw, "Route sessions\t%d\n", sum.RouteSessions)
	}
	for _, g := range st.Gaps() {
		end := "open"
		if !g.Open() {
			end = fmt.Sprintf("%s (%dms)", clk.ts(g.ClosedAt), g.DurationMs)
		}
		fmt.Fprintf(tw, "Gap %s\t%s %s → %s, %s; calls ended %d, discovered %d\n", g.ID, g.Kind, clk.ts(g.OpenedAt), end, orDash(g.Reason), g.CallsEnded, g.CallsDiscovered)
	}
	tw.Flush()

	oosT, oosA := st.TerminalsOutOfService(), st.AddressesOutOfService()
	if len(oosT)+len(oosA) > 0 {
		fmt.Fprintf(w, "\nOUT OF SERVICE\n")
		tw = newTable(w)
		fmt.Fprintln(tw, "KIND\tNAME\tSINCE\tCAUSE")
		for _, t := range oosT {
			fmt.Fprintf(tw, "terminal\t%s\t%s\t%s\n", t.Name, clk.ts(t.Since), causeName(t.Cause, t.CauseName))
		}
		for _, ad := range oosA {
			fmt.Fprintf(tw, "address\t%s\t%s\t%s\n", ad.DN, clk.ts(ad.Since), causeName(ad.Cause, ad.CauseName))
		}
		tw.Flush()
	}

	calls := st.Calls()
	fmt.Fprintf(w, "\nCALLS (%d)\n", len(calls))
	if len(calls) == 0 {
		return
	}
	tw = newTable(w)
	fmt.Fprintln(tw, "CALL\tSTARTED\tCALLING\tCALLED\tPARTY\tCONNECTION\tTERMINAL CONNECTIONS\tFLAGS")
	for _, c := range calls {
		flags := callFlags(c)
		if len(c.Connections) == 0 {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t-\t-\t-\t%s\n", c.ID, clk.clock(c.Started), party(c.Calling), party(c.Called), flags)
			continue
		}
		for i, cn := range c.Connections {
			var tcs []string
			for _, tc := range cn.TerminalConnections {
				tcs = append(tcs, tc.Terminal+":"+orDash(tc.CallControlState))
			}
			cflags := flags
			if cn.Transient {
				cflags = strings.TrimPrefix(cflags+",transient", ",")
			}
			if i == 0 {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t", c.ID, clk.clock(c.Started), party(c.Calling), party(c.Called))
			} else {
				fmt.Fprintf(tw, "\t\t\t\t")
			}
			fmt.Fprintf(tw, "%s\t%s/%s\t%s\t%s\n", cn.Address, orDash(cn.State), orDash(cn.CallControlState), orDash(strings.Join(tcs, " ")), orDash(cflags))
			flags = ""
		}
	}
	tw.Flush()
}

func party(p *schema.Party) string {
	if p == nil || p.Address == "" {
		return "-"
	}
	return p.Address
}

func callFlags(c callstate.Call) string {
	var f []string
	if c.Unobserved {
		f = append(f, "unobserved")
	}
	if c.Snapshot {
		f = append(f, "snapshot")
	}
	if c.Discovered {
		f = append(f, "discovered")
	}
	if c.Feature != nil {
		f = append(f, c.Feature.Kind)
	}
	if len(c.MergedFrom) > 0 {
		f = append(f, "merged:"+strings.Join(c.MergedFrom, "+"))
	}
	return strings.Join(f, ",")
}
