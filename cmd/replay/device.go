package main

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// deviceEvent is one line of `device`.
type deviceEvent struct {
	Seq         uint64    `json:"seq"`
	Time        time.Time `json:"time"`
	Event       string    `json:"event"`
	Line        string    `json:"line,omitempty"`
	State       string    `json:"state,omitempty"`
	Registered  *bool     `json:"registered,omitempty"`
	CallManager string    `json:"callManager,omitempty"`
	Cause       *causeRef `json:"cause,omitempty"`
	Snapshot    bool      `json:"snapshot,omitempty"`
}

// causeRef is a cause with its code and JTAPI name.
type causeRef struct {
	Code int    `json:"code"`
	Name string `json:"name"`
}

// outage is one period the device was out of service.
type outage struct {
	From       time.Time `json:"from"`
	To         time.Time `json:"to,omitzero"`
	DurationMs int64     `json:"durationMs,omitempty"`
	Cause      *causeRef `json:"cause,omitempty"`
}

// deviceHistory is the document of `device --json`.
type deviceHistory struct {
	Cluster     string        `json:"cluster"`
	Device      string        `json:"device"`
	Type        string        `json:"type,omitempty"`
	Lines       []string      `json:"lines"`
	State       string        `json:"state,omitempty"`
	Registered  *bool         `json:"registered,omitempty"`
	CallManager string        `json:"callManager,omitempty"`
	Events      []deviceEvent `json:"events"`
	Outages     []outage      `json:"outages"`
	// Registrations and Unregistrations count CiscoProvTerminalRegisteredEv
	// and …UnRegisteredEv.
	Registrations   int `json:"registrations"`
	Unregistrations int `json:"unregistrations"`
}

func (a *app) deviceCmd() *cobra.Command {
	var since, until string
	c := &cobra.Command{
		Use:   "device NAME",
		Short: "A device's registration and in-service history, with causes",
		Long: `device prints the history of one device (terminal) and its lines: every
registration, unregistration, in-service and out-of-service event with its
cause (CTIMANAGER_FAILURE (1007), DEVICE_UNREGISTERED (1005) …) and the
CallManager node it registered with, then the periods it was out of service.
It reads the device's and its lines' subjects only.

NAME is the device name (SEP001122330001; any case) or a line's DN.
--since and --until bound the events shown (times as for state --at).`,
		Example: `  replay --store ./data device SEP001122330001
  replay --store ./data --tz Europe/Berlin device SEP001122330001 --since 14:00
  replay --store ./data device 1001 --json`,
		Args: exactArgs(1, "one device name"),
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
			from, to, err := a.interval(ctx, st, since, until)
			if err != nil {
				return err
			}
			read := func(f schema.Family, entity string) ([]replaystore.Record, error) {
				var out []replaystore.Record
				_, err := st.ReadEvents(ctx, replaystore.Query{Subjects: []string{replaystore.EntitySubjects(cluster, f, entity)}}, func(r replaystore.Record) error {
					out = append(out, r)
					return nil
				})
				return out, err
			}
			name := args[0]
			recs, err := read(schema.FamilyTerminal, name)
			if err == nil && len(recs) == 0 && strings.ToUpper(name) != name {
				name = strings.ToUpper(name)
				recs, err = read(schema.FamilyTerminal, name)
			}
			if err != nil {
				return err
			}
			var lines []string
			for _, r := range recs {
				if t := r.Event.Data.Terminal; t != nil {
					for _, l := range t.Addresses {
						if !slices.Contains(lines, l) {
							lines = append(lines, l)
						}
					}
				}
			}
			if len(recs) == 0 {
				// Perhaps a line's DN.
				lrecs, err := read(schema.FamilyAddress, args[0])
				if err != nil {
					return err
				}
				if len(lrecs) == 0 {
					return fmt.Errorf("no device or line %q in cluster %s (device names look like SEP001122330001)", args[0], cluster)
				}
				name = args[0]
				for _, r := range lrecs {
					if ad := r.Event.Data.Address; ad != nil && ad.Terminal != "" {
						name = ad.Terminal
						break
					}
				}
				if name != args[0] {
					if recs, err = read(schema.FamilyTerminal, name); err != nil {
						return err
					}
					lines = []string{args[0]}
				} else {
					recs, lines = lrecs, nil
				}
			}
			for _, l := range lines {
				lrecs, err := read(schema.FamilyAddress, l)
				if err != nil {
					return err
				}
				recs = append(recs, lrecs...)
			}
			slices.SortFunc(recs, func(x, y replaystore.Record) int { return cmp.Compare(x.Seq, y.Seq) })
			recs = slices.CompactFunc(recs, func(x, y replaystore.Record) bool { return x.Seq == y.Seq })
			h := buildDeviceHistory(cluster, name, lines, recs, from, to)
			if a.jsonOut {
				return writeJSON(a.stdout, h)
			}
			a.printDevice(a.stdout, h)
			return nil
		},
	}
	c.Flags().StringVar(&since, "since", "", "show events from this time on")
	c.Flags().StringVar(&until, "until", "", "show events up to this time")
	return c
}

// buildDeviceHistory folds a device's terminal and line events (in stream
// order) into its history; from/to bound the events listed, not the state.
func buildDeviceHistory(cluster, name string, lines []string, recs []replaystore.Record, from, to time.Time) deviceHistory {
	h := deviceHistory{Cluster: cluster, Device: name, Lines: lines, Events: []deviceEvent{}, Outages: []outage{}}
	if h.Lines == nil {
		h.Lines = []string{}
	}
	var open *outage
	for _, r := range recs {
		ev := &r.Event
		at := replaystore.EventTime(ev)
		de := deviceEvent{Seq: r.Seq, Time: at, Event: ev.Name, Snapshot: ev.Data.Snapshot}
		if ev.Data.Cause != 0 {
			de.Cause = &causeRef{Code: ev.Data.Cause, Name: firstNonEmpty(ev.Data.CauseName, schema.CauseNames[ev.Data.Cause])}
		}
		switch {
		case ev.Data.Terminal != nil:
			t := ev.Data.Terminal
			de.State, de.Registered, de.CallManager = t.State, t.Registered, t.CallManager
			if t.Type != "" {
				h.Type = t.Type
			}
			if t.State != "" {
				h.State = t.State
			}
			if t.Registered != nil {
				h.Registered = t.Registered
			}
			if t.CallManager != "" {
				h.CallManager = t.CallManager
			}
		case ev.Data.Address != nil:
			de.Line, de.State = ev.Data.Address.DN, ev.Data.Address.State
		}
		switch ev.Name {
		case schema.EvCiscoProvTerminalRegistered:
			h.Registrations++
		case schema.EvCiscoProvTerminalUnRegistered:
			h.Unregistrations++
		case schema.EvCiscoTermOutOfService:
			if open == nil {
				open = &outage{From: at, Cause: de.Cause}
			}
		case schema.EvCiscoTermInService:
			if open != nil {
				open.To = at
				open.DurationMs = at.Sub(open.From).Milliseconds()
				h.Outages = append(h.Outages, *open)
				open = nil
			}
		}
		if (from.IsZero() || !at.Before(from)) && (to.IsZero() || !at.After(to)) {
			h.Events = append(h.Events, de)
		}
	}
	if open != nil {
		h.Outages = append(h.Outages, *open)
	}
	if !from.IsZero() || !to.IsZero() {
		h.Outages = slices.DeleteFunc(h.Outages, func(o outage) bool {
			return (!to.IsZero() && o.From.After(to)) || (!from.IsZero() && !o.To.IsZero() && o.To.Before(from))
		})
	}
	return h
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func (a *app) printDevice(w io.Writer, h deviceHistory) {
	kind := h.Type
	if kind == "" {
		kind = "device"
	}
	fmt.Fprintf(w, "Device %s (%s) in cluster %s, lines %s", h.Device, kind, h.Cluster, orDash(strings.Join(h.Lines, ", ")))
	if h.State != "" {
		fmt.Fprintf(w, "; now %s", h.State)
	}
	if h.Registered != nil {
		if *h.Registered {
			fmt.Fprintf(w, ", registered with %s", orDash(h.CallManager))
		} else {
			fmt.Fprint(w, ", unregistered")
		}
	}
	fmt.Fprintf(w, " (times %s)\n\n", a.clk.zone())
	tw := newTable(w)
	fmt.Fprintln(tw, "SEQ\tTIME\tEVENT\tLINE\tSTATE\tREGISTERED\tCALLMANAGER\tCAUSE")
	for _, e := range h.Events {
		reg := "-"
		if e.Registered != nil {
			reg = map[bool]string{true: "yes", false: "no"}[*e.Registered]
		}
		name := e.Event
		if e.Snapshot {
			name += " [snapshot]"
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", e.Seq, a.clk.clock(e.Time), name, orDash(e.Line), orDash(e.State), reg, orDash(e.CallManager), causeOf(e.Cause))
	}
	tw.Flush()
	fmt.Fprintf(w, "\nRegistered %d time(s), unregistered %d time(s); out of service %d time(s)", h.Registrations, h.Unregistrations, len(h.Outages))
	var total int64
	for _, o := range h.Outages {
		total += o.DurationMs
	}
	if len(h.Outages) > 0 {
		fmt.Fprintf(w, ", %s in total", fmtDuration(total))
	}
	fmt.Fprintln(w)
	for _, o := range h.Outages {
		end := "not back in service in the log"
		if !o.To.IsZero() {
			end = "back " + a.clk.ts(o.To) + " after " + fmtDuration(o.DurationMs)
		}
		fmt.Fprintf(w, "  out of service %s, %s: %s\n", a.clk.ts(o.From), causeOf(o.Cause), end)
	}
}

func causeOf(c *causeRef) string {
	if c == nil {
		return "-"
	}
	return causeName(c.Code, c.Name)
}
