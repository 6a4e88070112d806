package callstate_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// failoverScript: calls 1 (A↔B) and 2 (C↔D) are up when cm1 is lost;
// during the gap call 2 ends and call 4 (E→F) starts; the backup cm2 takes
// over and the snapshot reports calls 1 and 4.
func failoverScript() (s *script, lostAt, recoveredAt time.Time) {
	s = newScript()
	lines := []string{"1001", "1002", "1003", "1004", "1005", "1006"}
	s.providerUp(lines...)
	s.basicConnected("1", "1001", "1002")
	s.basicConnected("2", "1003", "1004")
	s.tick(5 * time.Second)

	// Loss of cm1, in the order of PRODUCT.md §3.3 rule 3.
	heard := s.now
	s.tick(2 * time.Second)
	lostAt = s.now
	s.provider(schema.EvCTIManagerLost, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: "cm1",
		Reason: "HEARTBEAT_MISSED", ReasonCode: 1, LastHeardAt: &heard})
	s.mgr = ""
	s.callEv("1", schema.EvCallObservationEnded, nil)
	s.callEv("2", schema.EvCallObservationEnded, nil)
	for _, dn := range lines {
		s.line(dn, "out", schema.OOSCauseCTIManagerFailure)
	}
	for _, dn := range lines {
		s.device(s.term[dn], "out", schema.OOSCauseCTIManagerFailure)
	}
	s.provider(schema.EvProvOutOfService, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: "cm1", Reason: "HEARTBEAT_MISSED"})
	s.bridge(schema.EvGapOpened, schema.BridgeData{Gap: &schema.Gap{ID: "gap-1", Kind: "provider", OpenedAt: lostAt, Reason: "HEARTBEAT_MISSED", CallsBefore: 2}})

	// Switch to cm2.
	s.tick(300 * time.Millisecond)
	s.session = "s2"
	s.seq = 0
	s.provider(schema.EvCTIManagerConnecting, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: "cm2"})
	s.mgr = "cm2"
	s.provider(schema.EvCTIManagerConnected, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: "cm2", PreviousCTIManager: "cm1"})
	s.provider(schema.EvProvInService, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: "cm2", PreviousCTIManager: "cm1"})
	for _, dn := range lines {
		s.line(dn, "in", 0)
	}
	for _, dn := range lines {
		s.device(s.term[dn], "in", 0)
	}
	// Snapshot: call 1 still up, call 4 new; call 2 gone.
	s.conn = map[[2]string][2]int{}
	s.tc = map[[2]string][2]int{}
	snap := legOpt{snapshot: true}
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnTalking, snap)
	s.leg("1", "1002", schema.CCConnEstablished, schema.CCTermConnTalking, snap)
	s.leg("4", "1005", schema.CCConnEstablished, schema.CCTermConnTalking, snap)
	s.leg("4", "1006", schema.CCConnAlerting, schema.CCTermConnRinging, snap)
	s.emit(schema.FamilyCall, "2", schema.EvCallEndedInGap, schema.Data{Inferred: true, Call: &schema.CallData{CallID: "2", GapID: "gap-1"}})
	s.emit(schema.FamilyCall, "4", schema.EvCallDiscovered, schema.Data{Inferred: true, Call: &schema.CallData{CallID: "4", GapID: "gap-1"}})
	recoveredAt = s.now
	closed := s.now
	s.bridge(schema.EvGapClosed, schema.BridgeData{Gap: &schema.Gap{ID: "gap-1", Kind: "provider", OpenedAt: lostAt, ClosedAt: &closed,
		DurationMs: closed.Sub(lostAt).Milliseconds(), CallsBefore: 2, CallsAfter: 2, CallsEnded: 1, CallsDiscovered: 1, CallsContinued: 1}})
	return s, lostAt, recoveredAt
}

func TestFailoverReconciliation(t *testing.T) {
	s, lostAt, _ := failoverScript()

	// In the middle of the gap: provider out, devices out, calls unobserved.
	var mid []schema.Event
	for _, ev := range s.events {
		mid = append(mid, ev)
		if ev.Name == schema.EvGapOpened {
			break
		}
	}
	st := fold(mid)
	p := st.Provider()
	if p.State != "OUT_OF_SERVICE" || p.Link != callstate.LinkDown || p.Reason != "HEARTBEAT_MISSED" || !p.LastLostAt.Equal(lostAt) {
		t.Errorf("provider during gap = %+v", p)
	}
	if p.LastHeardAt.IsZero() || lostAt.Sub(p.LastHeardAt) != 2*time.Second {
		t.Errorf("last heard = %v, lost at %v", p.LastHeardAt, lostAt)
	}
	sum := st.Summary()
	if sum.TerminalsOOS != 6 || sum.AddressesOOS != 6 || sum.UnobservedCalls != 2 || sum.Calls != 2 || sum.OpenGaps != 1 {
		t.Errorf("summary during gap = %+v", sum)
	}
	for _, term := range st.TerminalsOutOfService() {
		if term.CauseName != "CTIMANAGER_FAILURE" {
			t.Errorf("terminal %s out of service cause %q", term.Name, term.CauseName)
		}
	}
	if g, ok := st.OpenGap(); !ok || g.ID != "gap-1" {
		t.Errorf("open gap = %+v %v", g, ok)
	}

	st = fold(s.events)
	p = st.Provider()
	if p.State != "IN_SERVICE" || p.CTIManager != "cm2" || p.PreviousCTIManager != "cm1" || p.Link != callstate.LinkUp || p.Failovers != 1 {
		t.Errorf("provider after recovery = %+v", p)
	}
	if got := ids(st); !slices.Equal(got, []string{"1", "4"}) {
		t.Fatalf("calls after recovery = %v, want [1 4]", got)
	}
	c1 := mustCall(t, st, "1")
	if c1.Unobserved || !c1.Snapshot {
		t.Errorf("call 1 unobserved=%v snapshot=%v", c1.Unobserved, c1.Snapshot)
	}
	if c1.SnapshotPending || len(c1.Connections) != 2 {
		t.Errorf("call 1 after its snapshot: pending=%v connections %v", c1.SnapshotPending, connStates(c1))
	}
	c4 := mustCall(t, st, "4")
	if !c4.Discovered || c4.GapID != "gap-1" || connStates(c4)["1006"] != "ALERTING/ALERTING SEPF:RINGING" {
		t.Errorf("call 4 = %+v", c4)
	}
	sum = st.Summary()
	if sum.TerminalsOOS != 0 || sum.AddressesOOS != 0 || sum.OpenGaps != 0 || sum.UnobservedCalls != 0 {
		t.Errorf("summary after recovery = %+v", sum)
	}
	gaps := st.Gaps()
	if len(gaps) != 1 || gaps[0].Open() || gaps[0].CallsEnded != 1 || gaps[0].CallsDiscovered != 1 || gaps[0].DurationMs <= 0 {
		t.Errorf("gaps = %+v", gaps)
	}
	if stt := st.Stats(); stt.CallsInGap != 1 {
		t.Errorf("calls ended in gap = %d", stt.CallsInGap)
	}
	mgrs := st.CTIManagers()
	if len(mgrs) != 2 || mgrs[0].Name != "cm1" || mgrs[0].Link != callstate.LinkDown || mgrs[0].Losses != 1 || mgrs[1].Link != callstate.LinkUp {
		t.Errorf("CTIManagers = %+v", mgrs)
	}
}

// A party that left a call during the gap is not in the snapshot: the
// call's first snapshot event replaces what was known, so the party goes.
func TestSnapshotReplacesKnownConnections(t *testing.T) {
	s := newScript()
	s.providerUp("1001", "1002", "1003")
	s.basicConnected("1", "1001", "1002")
	s.leg("1", "1003", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{}) // third party joined
	s.provider(schema.EvCTIManagerLost, schema.ProviderData{CTIManager: "cm1", Reason: "CONNECTION_RESET"})
	s.callEv("1", schema.EvCallObservationEnded, nil)
	s.provider(schema.EvProvOutOfService, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17})
	s.bridge(schema.EvGapOpened, schema.BridgeData{Gap: &schema.Gap{ID: "g", Kind: "provider", OpenedAt: s.now}})
	s.provider(schema.EvProvInService, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: "cm2"})

	during := fold(s.events)
	if c := mustCall(t, during, "1"); len(c.Connections) != 3 || !c.Unobserved || !c.SnapshotPending {
		t.Fatalf("before the snapshot the call is kept as known: %v unobserved=%v", connStates(c), c.Unobserved)
	}
	s.conn = map[[2]string][2]int{}
	s.tc = map[[2]string][2]int{}
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{snapshot: true})
	if c := mustCall(t, fold(s.events), "1"); len(c.Connections) != 1 || c.Unobserved {
		t.Fatalf("the first snapshot event replaces the known connections: %v", connStates(c))
	}
	s.leg("1", "1002", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{snapshot: true})
	s.bridge(schema.EvGapClosed, schema.BridgeData{Gap: &schema.Gap{ID: "g", Kind: "provider"}})
	c := mustCall(t, fold(s.events), "1")
	if got := c.Parties(); !slices.Equal(got, []string{"1001", "1002"}) {
		t.Errorf("parties after the snapshot = %v", got)
	}
}

// A call seen again through a live event before its snapshot is observed
// again at once; its snapshot still describes it afresh.
func TestLiveEventAfterGapThenSnapshot(t *testing.T) {
	s := newScript()
	s.basicConnected("1", "1001", "1002")
	s.callEv("1", schema.EvCallObservationEnded, nil)
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnHeld, legOpt{}) // live: A holds
	c := mustCall(t, fold(s.events), "1")
	if c.Unobserved || !c.SnapshotPending || connStates(c)["1001"] != "CONNECTED/ESTABLISHED SEPA:HELD" {
		t.Fatalf("after a live event: unobserved=%v pending=%v %v", c.Unobserved, c.SnapshotPending, connStates(c))
	}
	s.conn = map[[2]string][2]int{}
	s.tc = map[[2]string][2]int{}
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnHeld, legOpt{snapshot: true})
	c = mustCall(t, fold(s.events), "1")
	if c.SnapshotPending || len(c.Connections) != 1 {
		t.Errorf("after the snapshot: pending=%v %v", c.SnapshotPending, connStates(c))
	}
}

func TestSnapshotRestoreMidFailover(t *testing.T) {
	s, _, _ := failoverScript()
	whole := fold(s.events)
	want, err := whole.MarshalJSON()
	if err != nil {
		t.Fatal(err)
	}
	for cut := 0; cut <= len(s.events); cut++ {
		part := fold(s.events[:cut])
		b, err := part.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		restored := callstate.New()
		if err := restored.UnmarshalBinary(b); err != nil {
			t.Fatalf("cut %d: %v", cut, err)
		}
		for _, ev := range s.events[cut:] {
			restored.Apply(ev)
		}
		got, _ := restored.MarshalJSON()
		if string(got) != string(want) {
			t.Fatalf("cut %d: restored+rest differs from whole fold\n got %s\nwant %s", cut, got, want)
		}
	}
}

func TestCloneIsIndependent(t *testing.T) {
	s, _, _ := failoverScript()
	st := fold(s.events)
	cl := st.Clone()
	a, _ := st.MarshalJSON()
	b, _ := cl.MarshalJSON()
	if string(a) != string(b) {
		t.Fatal("clone differs")
	}
	s2 := newScript()
	s2.hangup("1", "1001")
	for _, ev := range s2.events {
		cl.Apply(ev)
	}
	if c := mustCall(t, st, "1"); len(c.Connections) != 2 {
		t.Errorf("applying to the clone changed the original: %v", connStates(c))
	}
}

func TestSnapshotVersionChecked(t *testing.T) {
	err := callstate.New().UnmarshalJSON([]byte(`{"version":99}`))
	if err == nil {
		t.Fatal("no error for an unknown snapshot version")
	}
}

// A live event precedes the call's snapshots (they come device by device):
// the engine re-opens the call with a live CallActiveEv, then describes
// the leg the live event is about; the call's later snapshot events keep
// that leg instead of replacing the connections again.
func TestLiveReopenThenSnapshotKeepsLiveLeg(t *testing.T) {
	s := newScript()
	s.providerUp("1001", "1002", "1003")
	s.basicConnected("1", "1001", "1002")
	s.callEv("1", schema.EvCallObservationEnded, nil)
	s.conn = map[[2]string][2]int{}
	s.tc = map[[2]string][2]int{}
	s.callEv("1", schema.EvCallActive, nil) // live re-open
	s.leg("1", "1003", schema.CCConnOffered, 0, legOpt{})
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{snapshot: true})
	s.leg("1", "1002", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{snapshot: true})
	c := mustCall(t, fold(s.events), "1")
	if got := c.Parties(); c.SnapshotPending || c.Unobserved || !slices.Equal(got, []string{"1001", "1002", "1003"}) {
		t.Errorf("after the live re-open and the snapshots: pending=%v unobserved=%v parties %v, want 1001 1002 1003",
			c.SnapshotPending, c.Unobserved, got)
	}
}
