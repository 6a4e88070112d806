package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/calllog"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// twoRuns writes two runs of the bridge into one store, 25 minutes apart,
// as two `bridge demo` runs on one --data-dir do: call ids restart with the
// second run. With shutdown the first run ends with ProvShutdownEv (an
// orderly stop); without it, the first bridge died.
func twoRuns(t *testing.T, shutdown bool) (url string, run1, run2 []schema.Event) {
	t.Helper()
	_, nc := storetest.StartServer(t, t.TempDir())
	js := storetest.CreateEventStream(t, nc, "CTI")
	run1 = storetest.SyntheticLog(storetest.LogConfig{Events: 400, Lines: 12})
	if shutdown {
		last := run1[len(run1)-1]
		run1 = append(run1, schema.Event{Family: schema.FamilyProvider, Name: schema.EvProvShutdown, Session: last.Session,
			SessionSeq: last.SessionSeq + 1, Sequence: last.SessionSeq + 1, Time: last.Time.Add(time.Second), Received: last.Time.Add(time.Second),
			Data: schema.Data{Provider: &schema.ProviderData{State: "SHUTDOWN", StateCode: schema.ProviderShutdown, Reason: "APPLICATIONREQUEST"}}})
	}
	run2 = storetest.SyntheticLog(storetest.LogConfig{Events: 400, Lines: 12, Seed: 9,
		Start: time.Date(2026, 11, 20, 14, 25, 0, 0, time.UTC)})
	for i := range run2 {
		run2[i].Session = "run2-" + run2[i].Session // another bridge instance
	}
	storetest.Publish(t, js, "lab", append(slices.Clone(run1), run2...))
	return nc.ConnectedUrl(), run1, run2
}

// A call id both runs used.
func sharedCallID(t *testing.T, run1, run2 []schema.Event) string {
	t.Helper()
	ids := map[string]bool{}
	for _, ev := range run1 {
		if ev.Family == schema.FamilyCall && ev.Name == schema.EvCallActive {
			ids[ev.Entity] = true
		}
	}
	for _, ev := range run2 {
		if ev.Family == schema.FamilyCall && ev.Name == schema.EvCallActive && ids[ev.Entity] {
			return ev.Entity
		}
	}
	t.Fatal("the two runs share no call id")
	return ""
}

func TestCallIDReusedAcrossRuns(t *testing.T) {
	for _, shutdown := range []bool{true, false} {
		name := map[bool]string{true: "orderly stop", false: "bridge died"}[shutdown]
		t.Run(name, func(t *testing.T) {
			url, run1, run2 := twoRuns(t, shutdown)
			srv := []string{"--server", url}
			id := sharedCallID(t, run1, run2)

			// The bare id is ambiguous: both calls are listed, exit 1.
			code, out, errs := replay(t, append(srv, "call", id)...)
			if code != 1 || !strings.Contains(errs, "names 2 calls") || !strings.Contains(errs, "--session") {
				t.Fatalf("call %s: exit %d, stderr %q", id, code, errs)
			}
			if !strings.Contains(out, "prov-1") || !strings.Contains(out, "run2-prov-1") || !strings.Contains(out, "14:25:") {
				t.Errorf("the candidates do not show both runs' sessions and times:\n%s", out)
			}

			var start1, start2 time.Time
			for _, ev := range run1 {
				if ev.Entity == id && ev.Name == schema.EvCallActive {
					start1 = ev.Time
				}
			}
			for _, ev := range run2 {
				if ev.Entity == id && ev.Name == schema.EvCallActive {
					start2 = ev.Time
				}
			}
			// --session or --at picks the second run's call: only its events.
			for _, args := range [][]string{
				{"call", id, "--session", "run2-prov-1", "--json"},
				{"call", id, "--session", "run2", "--json"}, // the run, as a prefix
				{"call", id, "--at", start2.Format(time.RFC3339Nano), "--json"},
			} {
				code, out, errs = replay(t, append(srv, args...)...)
				if code != 0 {
					t.Fatalf("%v: exit %d %s", args, code, errs)
				}
				var doc struct {
					Call   calllog.Call
					Events []callEventJSON
				}
				if err := json.Unmarshal([]byte(out), &doc); err != nil {
					t.Fatal(err)
				}
				for _, e := range doc.Events {
					if e.Time.Before(time.Date(2026, 11, 20, 14, 25, 0, 0, time.UTC)) {
						t.Errorf("%v: an event of the first run's call (%s %s) in the second's history", args, e.Time, e.Event)
					}
				}
				if len(doc.Events) == 0 || doc.Call.Sessions[0] != "run2-prov-1" {
					t.Errorf("%v: %d events, sessions %v", args, len(doc.Events), doc.Call.Sessions)
				}
			}
			// And --at in the first run's call picks it.
			code, out, errs = replay(t, append(srv, "call", id, "--at", start1.Format(time.RFC3339Nano))...)
			if code != 0 || !strings.Contains(out, "sessions prov-1") {
				t.Errorf("call --at the first run: exit %d %s\n%s", code, errs, out)
			}

			// calls lists both, each with its own status.
			code, out, errs = replay(t, append(srv, "calls", "--json")...)
			if code != 0 {
				t.Fatalf("calls: exit %d %s", code, errs)
			}
			var calls []calllog.Call
			if err := json.Unmarshal([]byte(out), &calls); err != nil {
				t.Fatal(err)
			}
			var same []calllog.Call
			for _, c := range calls {
				if c.ID == id {
					same = append(same, c)
				}
			}
			if len(same) != 2 || same[0].Sessions[0] != "prov-1" || same[1].Sessions[0] != "run2-prov-1" {
				t.Fatalf("calls with id %s: %+v", id, same)
			}
			if !same[0].End.Before(same[1].Start) {
				t.Errorf("the first run's call ends %s, after the second's start %s", same[0].End, same[1].Start)
			}
		})
	}
}

// calls and its filters, checked against the synthetic log's own calls.
func TestCallsFilters(t *testing.T) {
	f := newFixture(t)
	srv := []string{"--server", f.url}
	type truth struct {
		parties map[string]bool
		start   time.Time
	}
	want := map[string]*truth{}
	for _, ev := range f.evs {
		if ev.Family != schema.FamilyCall {
			continue
		}
		c := want[ev.Entity]
		if c == nil {
			c = &truth{parties: map[string]bool{}, start: ev.Time}
			want[ev.Entity] = c
		}
		if cd := ev.Data.Call; cd != nil && cd.Connection != nil {
			c.parties[cd.Connection.Address] = true
		}
	}
	dn, _ := storetest.Line(3)
	var wantDN []string
	for id, c := range want {
		if c.parties[dn] {
			wantDN = append(wantDN, id)
		}
	}
	slices.Sort(wantDN)

	list := func(args ...string) []calllog.Call {
		t.Helper()
		code, out, errs := replay(t, append(append(srv, "calls", "--json"), args...)...)
		if code != 0 {
			t.Fatalf("calls %v: exit %d %s", args, code, errs)
		}
		var calls []calllog.Call
		if err := json.Unmarshal([]byte(out), &calls); err != nil {
			t.Fatal(err)
		}
		return calls
	}
	all := list()
	if len(all) != len(want) {
		t.Errorf("calls lists %d calls, the log has %d", len(all), len(want))
	}
	var got []string
	for _, c := range list("--dn", dn) {
		got = append(got, c.ID)
	}
	slices.Sort(got)
	if !slices.Equal(got, wantDN) {
		t.Errorf("calls --dn %s: %v, want %v", dn, got, wantDN)
	}
	_, term := storetest.Line(3)
	for _, c := range list("--device", strings.ToLower(term)) {
		if !slices.Contains(c.Devices, term) {
			t.Errorf("calls --device %s listed call %s on %v", term, c.ID, c.Devices)
		}
	}
	// An interval: the calls up at some instant of it, no other.
	from, to := all[len(all)/3].Start, all[len(all)/2].Start
	inWindow := list("--since", from.Format(time.RFC3339Nano), "--until", to.Format(time.RFC3339Nano))
	n := 0
	for _, c := range all {
		if c.Overlaps(from, to) {
			n++
		}
	}
	if len(inWindow) != n || n == 0 {
		t.Errorf("calls --since/--until: %d calls, want %d", len(inWindow), n)
	}
	for _, c := range inWindow {
		if c.Start.After(to) || (c.Status != calllog.StatusUp && c.End.Before(from)) {
			t.Errorf("call %s (%s → %s) not up within [%s, %s]", c.ID, c.Start, c.End, from, to)
		}
	}
	// The synthetic calls carry no cause (the cause filter is tested in
	// TestCauseFilter and on the demo store).
	if none := list("--cause", "CAUSE_BUSY"); len(none) != 0 {
		t.Errorf("--cause CAUSE_BUSY: %d calls in a log without busy calls", len(none))
	}
	// Human output: one line per call with its global call id, in --tz.
	code, out, _ := replay(t, append(srv, "--tz", "Europe/Berlin", "calls", "--dn", dn)...)
	if code != 0 || !strings.Contains(out, "+01:00") || !strings.Contains(out, "Europe/Berlin") || strings.Count(out, "\n") != len(wantDN)+3 {
		t.Errorf("calls --dn %s in Europe/Berlin:\n%s", dn, out)
	}
	// Bad filters are usage errors.
	for _, args := range [][]string{{"--since", "noon"}, {"--since", "14:10", "--until", "14:00"}} {
		if code, _, _ := replay(t, append(append(srv, "calls"), args...)...); code != 2 {
			t.Errorf("calls %v: exit %d, want 2", args, code)
		}
	}
}

func TestDeviceHistory(t *testing.T) {
	f := newFixture(t)
	srv := []string{"--server", f.url}
	dn, term := storetest.Line(2)
	code, out, errs := replay(t, append(srv, "device", strings.ToLower(term), "--json")...)
	if code != 0 {
		t.Fatalf("device: exit %d %s", code, errs)
	}
	var h deviceHistory
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatal(err)
	}
	if h.Device != term || !slices.Contains(h.Lines, dn) || h.State != "IN_SERVICE" {
		t.Errorf("device %s: %+v", term, h)
	}
	// The fixture's one failover: out of service with CTIMANAGER_FAILURE,
	// back in service a moment later; the line's events are listed too.
	if len(h.Outages) != 1 || h.Outages[0].Cause == nil || h.Outages[0].Cause.Code != schema.OOSCauseCTIManagerFailure ||
		h.Outages[0].To.IsZero() || h.Outages[0].DurationMs <= 0 {
		t.Errorf("outages %+v", h.Outages)
	}
	lineEvents := 0
	for _, e := range h.Events {
		if e.Line == dn {
			lineEvents++
		}
	}
	if lineEvents < 3 {
		t.Errorf("%d events of line %s in the device's history", lineEvents, dn)
	}
	code, out, _ = replay(t, append(srv, "device", term)...)
	if code != 0 || !strings.Contains(out, "CTIMANAGER_FAILURE (1007)") || !strings.Contains(out, "out of service 1 time(s)") {
		t.Errorf("device table:\n%s", out)
	}
	// A DN finds its device; an unknown name fails.
	if code, out, _ := replay(t, append(srv, "device", dn)...); code != 0 || !strings.Contains(out, "Device "+term) {
		t.Errorf("device %s: exit %d\n%s", dn, code, out)
	}
	if code, _, errs := replay(t, append(srv, "device", "SEPNOSUCH")...); code != 1 || !strings.Contains(errs, "no device or line") {
		t.Errorf("unknown device: exit %d %s", code, errs)
	}
}

func TestCauseFilter(t *testing.T) {
	busy := &calllog.Cause{Code: schema.CCCauseBusy, Name: "CAUSE_BUSY"}
	for _, want := range []string{"203", "CAUSE_BUSY", "busy", "cause_busy", " Busy "} {
		if !causeMatches(busy, want) {
			t.Errorf("%q does not match CAUSE_BUSY (203)", want)
		}
	}
	for _, other := range []string{"100", "normal", "BUS", ""} {
		if causeMatches(busy, other) {
			t.Errorf("%q matches CAUSE_BUSY (203)", other)
		}
	}
	if causeMatches(nil, "busy") {
		t.Error("a call without an end cause matches")
	}
	busy.Q850 = schema.Q850For(busy.Code)
	if got := causeLabel(busy); got != "CAUSE_BUSY (203; Q.850 17 USERBUSY)" {
		t.Errorf("label %q", got)
	}
}

// TestCallAgreesWithCalls: `call` reads only the provider event that can
// end its calls (ProvShutdownEv, on its own subject), `calls` the whole
// provider history; for every id of a store with a shutdown and reused
// ids, both give the same calls: status, end, sessions.
func TestCallAgreesWithCalls(t *testing.T) {
	url, _, _ := twoRuns(t, true)
	srv := []string{"--server", url}
	code, out, errs := replay(t, append(srv, "calls", "--json")...)
	if code != 0 {
		t.Fatalf("calls: exit %d %s", code, errs)
	}
	var all []calllog.Call
	if err := json.Unmarshal([]byte(out), &all); err != nil {
		t.Fatal(err)
	}
	byID := map[string][]calllog.Call{}
	for _, c := range all {
		byID[c.ID] = append(byID[c.ID], c)
	}
	shutdown := 0
	for id, want := range byID {
		code, out, errs := replay(t, append(srv, "call", id, "--json")...)
		var doc struct {
			Call       calllog.Call
			Candidates []calllog.Call
		}
		if err := json.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("call %s: exit %d %s: %v", id, code, errs, err)
		}
		got := doc.Candidates
		if code == 0 {
			got = []calllog.Call{doc.Call}
		}
		if len(got) != len(want) {
			t.Fatalf("call %s: %d calls, calls lists %d", id, len(got), len(want))
		}
		for i := range want {
			if got[i].Status != want[i].Status || !got[i].End.Equal(want[i].End) || !slices.Equal(got[i].Sessions, want[i].Sessions) {
				t.Errorf("call %s #%d: %s until %s %v; calls: %s until %s %v", id, i, got[i].Status, got[i].End, got[i].Sessions,
					want[i].Status, want[i].End, want[i].Sessions)
			}
			if want[i].Status == calllog.StatusShutdown {
				shutdown++
			}
		}
	}
	if shutdown == 0 {
		t.Fatal("no call was up at the shutdown: the test does not reach the read after a call's last event")
	}
}
