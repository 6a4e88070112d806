package timeline_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// split gives the provider/bridge items and a window over the others, with
// stream sequence = index + 1, as the CLI reads them.
func split(evs []schema.Event) ([]timeline.Item, timeline.WindowFunc) {
	var items []timeline.Item
	for i, ev := range evs {
		if ev.Family == schema.FamilyProvider || ev.Family == schema.FamilyBridge {
			items = append(items, timeline.Item{Seq: uint64(i + 1), Event: ev})
		}
	}
	window := func(from, to uint64, fn func(timeline.WaveItem) bool) (bool, error) {
		for i, ev := range evs {
			seq := uint64(i + 1)
			if seq < from || (to > 0 && seq > to) {
				continue
			}
			switch ev.Family {
			case schema.FamilyTerminal, schema.FamilyAddress, schema.FamilyCall:
				if !fn(timeline.WaveItem{Seq: seq, Session: ev.Session, SessionSeq: ev.SessionSeq, Time: ev.Time, Family: ev.Family,
					Entity: ev.Entity, Name: ev.Name, Snapshot: ev.Data.Snapshot, Inferred: ev.Data.Inferred}) {
					return false, nil
				}
			}
		}
		return false, nil
	}
	return items, window
}

func names(es []timeline.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Event)
	}
	return out
}

func TestFailoverStoryOrder(t *testing.T) {
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 4000, Lines: 30, Failovers: []int{2000}, Heartbeat: time.Second})
	items, window := split(evs)
	tl, err := timeline.Build(items, window, timeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := names(tl.Entries)
	// PRODUCT.md §3.3 rule 3 and rule 9, as the timeline tells it.
	want := []string{
		"LastHeartbeat", schema.EvCTIManagerLost,
		schema.EvCallObservationEnded, schema.EvCiscoAddrOutOfService, schema.EvCiscoTermOutOfService,
		schema.EvProvOutOfService, schema.EvGapOpened,
		schema.EvCTIManagerConnecting, schema.EvCTIManagerConnected, schema.EvProvInService,
		schema.EvCiscoAddrInService, schema.EvCiscoTermInService, "Snapshot",
		schema.EvCallEndedInGap, schema.EvGapClosed,
	}
	start := slices.Index(got, "LastHeartbeat")
	if start < 0 || len(got) < start+len(want) {
		t.Fatalf("entries = %v", got)
	}
	if !slices.Equal(got[start:start+len(want)], want) {
		t.Fatalf("failover story\n got %v\nwant %v", got[start:start+len(want)], want)
	}
	// Before the failover: the bridge start and the first provider open.
	if !slices.Equal(got[:start], []string{schema.EvBridgeStarted, schema.EvCTIManagerConnecting, schema.EvCTIManagerConnected, schema.EvProvInService}) {
		t.Errorf("opening = %v", got[:start])
	}

	if len(tl.Failovers) != 1 {
		t.Fatalf("failovers = %+v", tl.Failovers)
	}
	f := tl.Failovers[0]
	// Detection ≈ 2 × the 1 s server heartbeat after the last message heard.
	if f.DetectionMs < 2000 || f.DetectionMs > 2100 || f.HeartbeatMs != 1000 {
		t.Errorf("detection %dms with heartbeat %dms, want ≈ 2000ms", f.DetectionMs, f.HeartbeatMs)
	}
	if f.Reason != "HEARTBEAT_MISSED" || f.From != "cucm-pub" || f.To != "cucm-sub1" {
		t.Errorf("failover = %+v", f)
	}
	if f.AddressesOOS != 30 || f.TerminalsOOS != 30 || f.AddressesBack != 30 || f.TerminalsBack != 30 {
		t.Errorf("waves: %d/%d out, %d/%d back, want 30 each", f.AddressesOOS, f.TerminalsOOS, f.AddressesBack, f.TerminalsBack)
	}
	var closed *schema.Gap
	for _, e := range tl.Entries {
		if e.Event == schema.EvGapClosed {
			closed = e.Gap
		}
	}
	if closed == nil || f.CallsEnded != closed.CallsEnded || f.CallsSnapshot != closed.CallsContinued || f.CallsUnobserved != closed.CallsBefore {
		t.Errorf("reconciliation counts %+v vs GapClosed %+v", f, closed)
	}
	if f.OutageMs <= 0 || f.GapMs <= 0 || f.InServiceAt.Before(f.OutOfSvcAt) {
		t.Errorf("durations: outage %d gap %d", f.OutageMs, f.GapMs)
	}

	// Durations between steps, and relative to the loss.
	for i, e := range tl.Entries {
		if e.Failover == 1 && e.SinceLossMs == nil {
			t.Errorf("entry %d %s has no time since the loss", i, e.Event)
		}
		if e.Event == "LastHeartbeat" && (e.SinceLossMs == nil || *e.SinceLossMs != -f.DetectionMs) {
			t.Errorf("LastHeartbeat since loss = %v, want %d", e.SinceLossMs, -f.DetectionMs)
		}
		if e.Detail == "" || e.Time.IsZero() {
			t.Errorf("entry %d %s lacks detail or time", i, e.Event)
		}
	}

	// Lanes for the report: one link per CTIManager, the provider out of
	// service between the loss and the recovery, one gap.
	if len(tl.Managers["cucm-pub"]) != 1 || len(tl.Managers["cucm-sub1"]) != 1 {
		t.Errorf("manager lanes = %+v", tl.Managers)
	}
	var states []string
	for _, iv := range tl.Provider {
		states = append(states, iv.State)
	}
	if !slices.Equal(states, []string{"IN_SERVICE", "OUT_OF_SERVICE", "IN_SERVICE"}) {
		t.Errorf("provider lane = %v", states)
	}
	// The gap starts when the silence started: the last frame heard.
	if len(tl.Gaps) != 1 || !tl.Gaps[0].From.Equal(f.LastHeard) {
		t.Errorf("gaps = %+v", tl.Gaps)
	}
}

func TestTwoFailoversAndHeartbeats(t *testing.T) {
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 6000, Failovers: []int{2000, 4000}})
	items, window := split(evs)
	tl, err := timeline.Build(items, window, timeline.Options{Heartbeats: true})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Failovers) != 2 || tl.Failovers[1].From != "cucm-sub1" || tl.Failovers[1].To != "cucm-sub2" {
		t.Fatalf("failovers = %+v", tl.Failovers)
	}
	hb := 0
	for _, e := range tl.Entries {
		if e.Event == schema.EvBridgeHeartbeat {
			hb += e.Count
		}
	}
	want := 0
	for _, ev := range evs {
		if ev.Name == schema.EvBridgeHeartbeat {
			want++
		}
	}
	if hb != want || want == 0 {
		t.Errorf("heartbeat entries count %d, log has %d", hb, want)
	}
	// Without the option they are left out.
	tl, _ = timeline.Build(items, window, timeline.Options{})
	for _, e := range tl.Entries {
		if e.Event == schema.EvBridgeHeartbeat {
			t.Fatal("heartbeats listed without Options.Heartbeats")
		}
	}
}

func TestLossWithoutWindowAndOrderlyClose(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	heard := at.Add(-3 * time.Second)
	ev := func(d time.Duration, name string, p schema.ProviderData) timeline.Item {
		return timeline.Item{Seq: uint64(d / time.Millisecond), Event: schema.Event{Family: schema.FamilyProvider, Name: name, Time: at.Add(d), Data: schema.Data{Provider: &p}}}
	}
	items := []timeline.Item{
		ev(1, schema.EvCTIManagerConnected, schema.ProviderData{CTIManager: "a", ServerHeartbeatMs: 1500}),
		ev(2, schema.EvProvInService, schema.ProviderData{CTIManager: "a"}),
		ev(3000, schema.EvCTIManagerLost, schema.ProviderData{CTIManager: "a", Reason: "CONNECTION_RESET", LastHeardAt: &heard}),
		ev(3001, schema.EvProvOutOfService, schema.ProviderData{CTIManager: "a"}),
		ev(5000, schema.EvCTIManagerLost, schema.ProviderData{CTIManager: "b", Reason: "APPLICATIONREQUEST"}),
	}
	tl, err := timeline.Build(items, nil, timeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(tl.Failovers) != 1 {
		t.Fatalf("an orderly close counted as a failover: %+v", tl.Failovers)
	}
	f := tl.Failovers[0]
	if f.Reason != "CONNECTION_RESET" || f.HeartbeatMs != 1500 || f.InServiceAt.IsZero() == false {
		t.Errorf("failover = %+v", f)
	}
	last := tl.Entries[len(tl.Entries)-1]
	if !strings.Contains(last.Detail, "closed on request") {
		t.Errorf("orderly close detail = %q", last.Detail)
	}
}

// The bridge keeps the order of each entity's events only: provider events
// (one entity, each waiting for the previous one's acknowledgement) can be
// stored after device events emitted later. The story is told in the
// engine's order all the same.
func TestStoryOrderSurvivesStreamReordering(t *testing.T) {
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: 4000, Lines: 30, Failovers: []int{2000}})
	type pos struct {
		at float64
		i  int
	}
	var ps []pos
	for i, ev := range evs {
		at := float64(i)
		if ev.Family == schema.FamilyProvider || ev.Family == schema.FamilyBridge {
			at += 45.5 // stored 45 places late
		}
		ps = append(ps, pos{at, i})
	}
	slices.SortStableFunc(ps, func(a, b pos) int {
		switch {
		case a.at < b.at:
			return -1
		case a.at > b.at:
			return 1
		}
		return 0
	})
	stored := make([]schema.Event, len(evs))
	for k, p := range ps {
		stored[k] = evs[p.i]
	}
	// The reordering really moves the waves across provider events.
	lost := slices.IndexFunc(stored, func(e schema.Event) bool { return e.Name == schema.EvCTIManagerLost })
	firstOOS := slices.IndexFunc(stored, func(e schema.Event) bool { return e.Name == schema.EvCiscoAddrOutOfService })
	if firstOOS > lost {
		t.Fatalf("test setup: the reordering did not move the out-of-service wave before CTIManagerLost")
	}
	items, window := split(stored)
	tl, err := timeline.Build(items, window, timeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	got := names(tl.Entries)
	want := []string{
		"LastHeartbeat", schema.EvCTIManagerLost,
		schema.EvCallObservationEnded, schema.EvCiscoAddrOutOfService, schema.EvCiscoTermOutOfService,
		schema.EvProvOutOfService, schema.EvGapOpened,
		schema.EvCTIManagerConnecting, schema.EvCTIManagerConnected, schema.EvProvInService,
		schema.EvCiscoAddrInService, schema.EvCiscoTermInService, "Snapshot",
		schema.EvCallEndedInGap, schema.EvGapClosed,
	}
	start := slices.Index(got, "LastHeartbeat")
	if start < 0 || len(got) < start+len(want) || !slices.Equal(got[start:start+len(want)], want) {
		t.Fatalf("story after reordering\n got %v\nwant …%v", got, want)
	}
	if f := tl.Failovers[0]; f.AddressesOOS != 30 || f.TerminalsBack != 30 {
		t.Errorf("wave counts after reordering: %+v", f)
	}
}

// The bridge's records of what happened to the event log on a NATS
// cluster: a leader change between CTI events leaves the CTI story as it
// is and is told in its place; a recreated stream is a gap of its own.
func TestNATSRecords(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	prov := func(d time.Duration, name string) timeline.Item {
		return timeline.Item{Seq: uint64(d / time.Millisecond), Event: schema.Event{Family: schema.FamilyProvider, Name: name, Time: at.Add(d),
			Data: schema.Data{Provider: &schema.ProviderData{CTIManager: "a"}}}}
	}
	bridge := func(d time.Duration, name string, bd schema.BridgeData) timeline.Item {
		return timeline.Item{Seq: uint64(d / time.Millisecond), Event: schema.Event{Family: schema.FamilyBridge, Name: name, Time: at.Add(d),
			Data: schema.Data{Bridge: &bd}}}
	}
	lost := at.Add(20 * time.Second)
	back := at.Add(21 * time.Second)
	items := []timeline.Item{
		prov(1, schema.EvCTIManagerConnected),
		prov(2, schema.EvProvInService),
		bridge(10_000, schema.EvNATSLeaderChanged, schema.BridgeData{NATS: &schema.NATSData{Stream: "CTI", PreviousLeader: "nats-2", Leader: "nats-1"}}),
		bridge(21_000, schema.EvStreamRecreated, schema.BridgeData{Detail: "stream CTI was deleted",
			Gap: &schema.Gap{ID: "g1", Kind: "stream", OpenedAt: lost, ClosedAt: &back}, NATS: &schema.NATSData{Stream: "CTI", LostLastSeq: 42}}),
	}
	tl, err := timeline.Build(items, nil, timeline.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := names(tl.Entries), []string{schema.EvCTIManagerConnected, schema.EvProvInService, schema.EvNATSLeaderChanged, schema.EvStreamRecreated}; !slices.Equal(got, want) {
		t.Fatalf("entries %v, want %v", got, want)
	}
	if d := tl.Entries[2].Detail; !strings.Contains(d, "from nats-2 to nats-1") || !strings.Contains(d, "stream CTI") {
		t.Errorf("leader change detail = %q", d)
	}
	if len(tl.Failovers) != 0 {
		t.Errorf("a NATS leader change counted as a CTI failover: %+v", tl.Failovers)
	}
	if len(tl.Gaps) != 1 || tl.Gaps[0].State != "stream-gap" || !tl.Gaps[0].From.Equal(lost) {
		t.Errorf("gaps = %+v", tl.Gaps)
	}
}

func TestCountSaysOneCall(t *testing.T) {
	for _, c := range []struct {
		n    int
		want string
	}{{0, "0 calls"}, {1, "1 call"}, {2, "2 calls"}} {
		if got := timeline.Count(c.n, "call", "calls"); got != c.want {
			t.Errorf("Count(%d) = %q, want %q", c.n, got, c.want)
		}
	}
}
