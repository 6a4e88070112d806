package main

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/calllog"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/spf13/cobra"
)

// callFilter selects calls for `calls`.
type callFilter struct {
	dn, device, cause string
	since, until      time.Time
}

func (f callFilter) match(c *calllog.Call) bool {
	if f.dn != "" && c.Calling != f.dn && c.Called != f.dn && !contains(c.Parties, f.dn) {
		return false
	}
	if f.device != "" && !containsFold(c.Devices, f.device) {
		return false
	}
	if f.cause != "" && !causeMatches(c.EndCause, f.cause) {
		return false
	}
	return c.Overlaps(f.since, f.until)
}

func contains(xs []string, s string) bool {
	for _, x := range xs {
		if x == s {
			return true
		}
	}
	return false
}

// containsFold matches device names without regard to case (SEP names are
// written both ways).
func containsFold(xs []string, s string) bool {
	for _, x := range xs {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

// causeMatches accepts a cause by code (203), by name (CAUSE_BUSY), or by
// name without its CAUSE_ prefix, in any case (busy).
func causeMatches(c *calllog.Cause, want string) bool {
	if c == nil {
		return false
	}
	if n, err := strconv.Atoi(want); err == nil {
		return c.Code == n
	}
	w := strings.ToUpper(strings.TrimSpace(want))
	return c.Name == w || strings.TrimPrefix(c.Name, "CAUSE_") == strings.TrimPrefix(w, "CAUSE_")
}

// buildCalls reads the call events selected by callSubjects, merged with
// the cluster's provider events (a shutdown ends every call's
// observation), and groups them into calls.
func buildCalls(ctx context.Context, st *replaystore.Store, cluster, callSubjects string, prog replaystore.Progress, keep func(replaystore.Record)) ([]calllog.Call, error) {
	return buildCallsFrom(ctx, st, []string{schema.FamilyFilter(cluster, schema.FamilyProvider)}, callSubjects, prog, keep)
}

// buildCallsFrom builds the calls of the events on callSubjects, merged
// in stream order with the (few) provider events on providerSubjects.
func buildCallsFrom(ctx context.Context, st *replaystore.Store, providerSubjects []string, callSubjects string, prog replaystore.Progress, keep func(replaystore.Record)) ([]calllog.Call, error) {
	b := calllog.New()
	var n uint64
	err := readMerged(ctx, st, providerSubjects, callSubjects, replaystore.Query{}, func(r replaystore.Record) error {
		n++
		if prog != nil {
			prog(n, r.Pending)
		}
		b.Add(r.Seq, &r.Event)
		if keep != nil && r.Event.Family == schema.FamilyCall {
			keep(r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return b.Calls(), nil
}

func (a *app) callsCmd() *cobra.Command {
	var f callFilter
	var since, until string
	c := &cobra.Command{
		Use:   "calls",
		Short: "List the calls: start, parties, duration, end cause, sessions",
		Long: `calls lists every call of the log, one line each: when it started, its global
call id (CallManager/call id, as CDRs carry it), the calling and called
numbers and every party, its duration, how it ended and the JTAPI end cause,
and the provider sessions that reported it. A call id CUCM reused (or two
bridge runs on one store) gives one line per call, never one merged call.

Filters (all must match):
  --dn DN          the DN was calling, called or a party
  --device NAME    the device had a terminal connection in it
  --since, --until the call was up at some instant of the interval
  --cause CAUSE    its end cause: a code (203), a name (CAUSE_BUSY) or busy

Times: as for state --at (RFC 3339, "2026-11-20 14:02", 14:02:17, +5m, -1h),
in the --tz zone. --json prints the calls as a JSON array.`,
		Example: `  replay --store ./data calls --dn 1001 --since 14:00 --until 14:30
  replay --store ./data calls --device SEP001122330001 --cause busy
  replay --store ./data --tz Europe/Berlin calls --since "2026-11-20 15:00" --json`,
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
			if f.since, f.until, err = a.interval(ctx, st, since, until); err != nil {
				return err
			}
			prog, done := a.progress("reading calls", 50_000)
			calls, err := buildCalls(ctx, st, cluster, schema.FamilyFilter(cluster, schema.FamilyCall), prog, nil)
			done()
			if err != nil {
				return err
			}
			out := make([]calllog.Call, 0, len(calls))
			for i := range calls {
				if f.match(&calls[i]) {
					out = append(out, calls[i])
				}
			}
			if a.jsonOut {
				return writeJSON(a.stdout, out)
			}
			a.printCalls(a.stdout, cluster, len(calls), out)
			return nil
		},
	}
	fl := c.Flags()
	fl.StringVar(&f.dn, "dn", "", "only calls in which this DN was calling, called or a party")
	fl.StringVar(&f.device, "device", "", "only calls in which this device (terminal) took part")
	fl.StringVar(&f.cause, "cause", "", "only calls that ended with this cause (code, name, or name without CAUSE_)")
	fl.StringVar(&since, "since", "", "only calls up at or after this time")
	fl.StringVar(&until, "until", "", "only calls up at or before this time")
	return c
}

// interval reads --since and --until: a time people write names the whole
// second (millisecond…) it names, so --until 14:02:17 includes that second.
func (a *app) interval(ctx context.Context, st *replaystore.Store, since, until string) (from, to time.Time, err error) {
	if since == "" && until == "" {
		return
	}
	first, last, err := st.Bounds(ctx)
	if err != nil {
		return
	}
	if since != "" {
		if from, err = parseAt(since, first, last, a.clk.location()); err != nil {
			return from, to, usagef("--since %w", err)
		}
	}
	if until != "" {
		if to, err = parseUntil(until, first, last, a.clk.location()); err != nil {
			return from, to, usagef("--until %w", err)
		}
	}
	if !from.IsZero() && !to.IsZero() && to.Before(from) {
		return from, to, usagef("--until %s is before --since %s", until, since)
	}
	return from, to, nil
}

func (a *app) printCalls(w io.Writer, cluster string, total int, calls []calllog.Call) {
	fmt.Fprintf(w, "%d of %d calls in cluster %s (times %s)\n", len(calls), total, cluster, a.clk.zone())
	if len(calls) == 0 {
		return
	}
	fmt.Fprintln(w)
	tw := newTable(w)
	fmt.Fprintln(tw, "START\tCALL\tCALLING\tCALLED\tPARTIES\tDURATION\tENDED\tEND CAUSE\tSESSIONS")
	for i := range calls {
		c := &calls[i]
		dur := fmtDuration(c.DurationMs)
		if c.Status == calllog.StatusUp {
			dur += "+"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", a.clk.ts(c.Start), c.GlobalCallID, orDash(c.Calling), orDash(c.Called),
			orDash(strings.Join(c.Parties, ",")), dur, c.Status+callNotes(c), causeLabel(c.EndCause), sessionsLabel(c.Sessions))
	}
	tw.Flush()
}

// callNotes adds what else happened to a call to its status.
func callNotes(c *calllog.Call) string {
	var n []string
	n = append(n, c.Features...)
	if c.Failover {
		n = append(n, "failover")
	}
	if c.Discovered {
		n = append(n, "discovered")
	}
	if c.MergedInto != "" {
		n = append(n, "into "+c.MergedInto)
	}
	if len(c.MergedFrom) > 0 {
		n = append(n, "from "+strings.Join(c.MergedFrom, "+"))
	}
	if len(n) == 0 {
		return ""
	}
	return " (" + strings.Join(n, ", ") + ")"
}

// causeLabel prints a call's end cause with the Q.850 causes it stands
// for: CAUSE_BUSY (203; Q.850 17 USERBUSY).
func causeLabel(c *calllog.Cause) string {
	if c == nil {
		return "-"
	}
	label := causeName(c.Code, c.Name)
	if len(c.Q850) == 0 {
		return label
	}
	qs := make([]string, len(c.Q850))
	for i, q := range c.Q850 {
		qs[i] = strconv.Itoa(q) + " " + schema.Q850Names[q]
	}
	return strings.TrimSuffix(label, ")") + "; Q.850 " + strings.Join(qs, ", ") + ")"
}

// causeName prints a cause as its JTAPI name and code: CAUSE_BUSY (203).
func causeName(code int, name string) string {
	if code == 0 && name == "" {
		return "-"
	}
	if name == "" {
		name = schema.CauseNames[code]
	}
	if name == "" {
		return strconv.Itoa(code)
	}
	if code == 0 {
		return name
	}
	return fmt.Sprintf("%s (%d)", name, code)
}

// fmtDuration prints a duration in milliseconds compactly: 850ms, 12.4s,
// 3m05s, 1h02m.
func fmtDuration(ms int64) string {
	d := time.Duration(ms) * time.Millisecond
	switch {
	case d < time.Second:
		return fmt.Sprintf("%dms", ms)
	case d < time.Minute:
		return fmt.Sprintf("%.1fs", d.Seconds())
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// sessionsLabel shortens a list of provider sessions of one bridge run
// (20261206T204942-d269b631-p1, …-p2) to 20261206T204942-d269b631-p1,p2.
func sessionsLabel(ss []string) string {
	var b strings.Builder
	prev := ""
	for i, s := range ss {
		if i > 0 {
			b.WriteByte(',')
		}
		run, tail := s, ""
		if k := strings.LastIndexByte(s, '-'); k > 0 {
			run, tail = s[:k], s[k+1:]
		}
		if run == prev && tail != "" {
			b.WriteString(tail)
		} else {
			b.WriteString(s)
		}
		prev = run
	}
	return orDash(b.String())
}

// eventCause prints an event's cause: the CallControl cause when it has
// one (it says more: BUSY, TRANSFER …), else the core or out-of-service
// cause, each with its code.
func eventCause(d *schema.Data) string {
	if d.CallControlCause != 0 {
		return causeName(d.CallControlCause, "")
	}
	return causeName(d.Cause, d.CauseName)
}
