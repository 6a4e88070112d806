package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// callEventJSON is one event of `call --json`.
type callEventJSON struct {
	Seq     uint64          `json:"seq"`
	Time    time.Time       `json:"time"`
	Event   string          `json:"event"`
	ID      string          `json:"id"`
	Subject string          `json:"subject"`
	Data    json.RawMessage `json:"data"`
}

func (a *app) callCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "call ID",
		Short: "One call's history",
		Long: `call prints every event of one call (global call id), read with a consumer
filtered on cti.<cluster>.call.<id>.> only, and the call's state after them
(or that it ended). Transfers and conferences mention the calls merged into it.`,
		Example: `  replay --store ./data call 10042
  replay --store ./data call 10042 --json`,
		Args: exactArgs(1, "one call id"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			st, err := a.open(ctx)
			if err != nil {
				return err
			}
			cluster, err := a.clusterOf(ctx, st)
			if err != nil {
				return err
			}
			id := args[0]
			fold := callstate.New()
			var recs []replaystore.Record
			if _, err := st.ReadEvents(ctx, replaystore.Query{Subjects: []string{replaystore.CallSubjects(cluster, id)}}, func(r replaystore.Record) error {
				fold.Apply(r.Event)
				recs = append(recs, r)
				return nil
			}); err != nil {
				return err
			}
			if len(recs) == 0 {
				return errors.New("no events for call " + id + " in cluster " + cluster)
			}
			final, alive := fold.Call(id)
			if a.jsonOut {
				out := struct {
					Cluster string          `json:"cluster"`
					CallID  string          `json:"callId"`
					Events  []callEventJSON `json:"events"`
					Active  bool            `json:"active"`
					Final   *callstate.Call `json:"final,omitempty"`
				}{Cluster: cluster, CallID: id, Active: alive}
				if alive {
					out.Final = &final
				}
				for _, r := range recs {
					data, _ := json.Marshal(r.Event.Data)
					out.Events = append(out.Events, callEventJSON{Seq: r.Seq, Time: r.Event.Time, Event: r.Event.Name, ID: r.Envelope.ID, Subject: r.Subject, Data: data})
				}
				return writeJSON(a.stdout, out)
			}
			w := a.stdout
			fmt.Fprintf(w, "Call %s in cluster %s: %d events, %s → %s (times %s)\n\n", id, cluster, len(recs), a.clk.ts(recs[0].Event.Time), a.clk.ts(recs[len(recs)-1].Event.Time), a.clk.zone())
			tw := newTable(w)
			fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tADDRESS\tCONNECTION\tTERMINAL\tCAUSE\tFLAGS")
			for _, r := range recs {
				addr, conn, term := "-", "-", "-"
				var notes []string
				if cd := r.Event.Data.Call; cd != nil {
					if cn := cd.Connection; cn != nil {
						addr = cn.Address
						conn = cn.State + "/" + cn.CallControlState
						if cn.Transient {
							notes = append(notes, "transient")
						}
					}
					if tc := cd.TerminalConnection; tc != nil {
						term = tc.Terminal + ":" + tc.CallControlState
						if addr == "-" {
							addr = tc.Address
						}
					}
					if cd.OriginalCallID != "" {
						notes = append(notes, "from call "+cd.OriginalCallID)
					}
					if f := cd.Feature; f != nil {
						notes = append(notes, fmt.Sprintf("%s %s primary=%s consult=%s", f.Feature, f.Phase, f.PrimaryCallID, f.ConsultCallID))
					}
				}
				if r.Event.Data.Snapshot {
					notes = append(notes, "snapshot")
				}
				if r.Event.Data.Inferred {
					notes = append(notes, "inferred")
				}
				cause := r.Event.Data.CauseName
				if cause == "" && r.Event.Data.Cause != 0 {
					cause = schema.CauseNames[r.Event.Data.Cause]
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Seq, a.clk.clock(r.Event.Time), r.Event.Name, addr, conn, term, orDash(cause), orDash(strings.Join(notes, ", ")))
			}
			tw.Flush()
			if !alive {
				fmt.Fprintf(w, "\nThe call has ended (or its legs moved into another call).\n")
				return nil
			}
			fmt.Fprintf(w, "\nAfter these events: %s, parties %s", final.State, strings.Join(final.Parties(), ", "))
			if f := callFlags(final); f != "" {
				fmt.Fprintf(w, " [%s]", f)
			}
			fmt.Fprintln(w)
			for _, cn := range final.Connections {
				fmt.Fprintf(w, "  %s %s/%s", cn.Address, cn.State, cn.CallControlState)
				for _, tc := range cn.TerminalConnections {
					fmt.Fprintf(w, " %s:%s", tc.Terminal, tc.CallControlState)
				}
				fmt.Fprintln(w)
			}
			return nil
		},
	}
}
