package callstate_test

import (
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/google/go-cmp/cmp"
)

func fold(evs []schema.Event) *callstate.State {
	st := callstate.New()
	for _, ev := range evs {
		st.Apply(ev)
	}
	return st
}

// connStates summarises a call as address → "CORE/CALLCONTROL[terminal:CC]".
func connStates(c callstate.Call) map[string]string {
	out := map[string]string{}
	for _, cn := range c.Connections {
		v := cn.State + "/" + cn.CallControlState
		for _, tc := range cn.TerminalConnections {
			v += " " + tc.Terminal + ":" + tc.CallControlState
		}
		if cn.Transient {
			v += " transient"
		}
		out[cn.Address] = v
	}
	return out
}

func mustCall(t *testing.T, st *callstate.State, id string) callstate.Call {
	t.Helper()
	c, ok := st.Call(id)
	if !ok {
		t.Fatalf("call %s not in state; calls: %v", id, ids(st))
	}
	return c
}

func ids(st *callstate.State) []string {
	var out []string
	for _, c := range st.Calls() {
		out = append(out, c.ID)
	}
	return out
}

func TestBasicCall(t *testing.T) {
	s := newScript()
	s.providerUp("1001", "1002")
	s.basicConnected("100", "1001", "1002")
	st := fold(s.events)

	c := mustCall(t, st, "100")
	want := map[string]string{
		"1001": "CONNECTED/ESTABLISHED SEPA:TALKING",
		"1002": "CONNECTED/ESTABLISHED SEPB:TALKING",
	}
	if diff := cmp.Diff(want, connStates(c)); diff != "" {
		t.Fatalf("connections (-want +got):\n%s", diff)
	}
	if got := c.Parties(); !slices.Equal(got, []string{"1001", "1002"}) {
		t.Errorf("parties = %v", got)
	}
	if c.Calling == nil || c.Calling.Address != "1001" || c.Called == nil || c.Called.Address != "1002" {
		t.Errorf("parties calling/called = %+v / %+v", c.Calling, c.Called)
	}
	if calls := st.CallsOn("1002"); len(calls) != 1 || calls[0].ID != "100" {
		t.Errorf("CallsOn(1002) = %v", calls)
	}

	// Ringing state in the middle of setup: fold a prefix.
	var ringing []schema.Event
	for _, ev := range s.events {
		ringing = append(ringing, ev)
		if ev.Name == schema.EvCallCtlTermConnRinging {
			break
		}
	}
	c = mustCall(t, fold(ringing), "100")
	if got := connStates(c)["1002"]; got != "ALERTING/ALERTING SEPB:RINGING" {
		t.Errorf("B while ringing = %q", got)
	}

	// A hangs up: A leaves the call, B remains until it hangs up too.
	s.tick(30 * time.Second)
	s.hangup("100", "1001")
	st = fold(s.events)
	c = mustCall(t, st, "100")
	if got := c.Parties(); !slices.Equal(got, []string{"1002"}) {
		t.Errorf("parties after A hangs up = %v", got)
	}
	s.hangup("100", "1002")
	s.endCall("100")
	st = fold(s.events)
	if st.CallCount() != 0 {
		t.Fatalf("calls after teardown = %v", ids(st))
	}
	if got := st.Stats(); got.CallsStarted != 1 || got.CallsEnded != 1 {
		t.Errorf("stats = %+v, want 1 started 1 ended", got)
	}
	if sum := st.Summary(); sum.ProviderState != "IN_SERVICE" || sum.Terminals != 2 || sum.Addresses != 2 || sum.TerminalsOOS != 0 {
		t.Errorf("summary = %+v", sum)
	}
}

func TestBusyCallLeavesNothing(t *testing.T) {
	s := newScript()
	s.callEv("7", schema.EvCallActive, nil)
	s.leg("7", "1001", schema.CCConnInitiated, schema.CCTermConnTalking, legOpt{})
	s.leg("7", "1001", schema.CCConnDialing, schema.CCTermConnTalking, legOpt{})
	s.leg("7", "1001", schema.CCConnFailed, schema.CCTermConnTalking, legOpt{})
	st := fold(s.events)
	if got := connStates(mustCall(t, st, "7"))["1001"]; got != "FAILED/FAILED SEPA:TALKING" {
		t.Errorf("busy leg = %q", got)
	}
	s.hangup("7", "1001")
	s.endCall("7")
	if st := fold(s.events); st.CallCount() != 0 {
		t.Errorf("calls = %v", ids(st))
	}
}

func TestHoldResume(t *testing.T) {
	s := newScript()
	s.basicConnected("1", "1001", "1002")
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnHeld, legOpt{})
	st := fold(s.events)
	if got := connStates(mustCall(t, st, "1"))["1001"]; got != "CONNECTED/ESTABLISHED SEPA:HELD" {
		t.Errorf("held = %q", got)
	}
	tc := mustCall(t, st, "1").Connections[0].TerminalConnections[0]
	if tc.State != "ACTIVE" {
		t.Errorf("core state of a held terminal connection = %q, want ACTIVE", tc.State)
	}
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{})
	if got := connStates(mustCall(t, fold(s.events), "1"))["1001"]; got != "CONNECTED/ESTABLISHED SEPA:TALKING" {
		t.Errorf("resumed = %q", got)
	}
}

// consultToC: call1 A↔B connected; B holds and consults C on call2.
func consultToC(s *script) {
	s.basicConnected("1", "1001", "1002")
	s.tick(5 * time.Second)
	s.leg("1", "1002", schema.CCConnEstablished, schema.CCTermConnHeld, legOpt{})
	s.basicConnected("2", "1002", "1003")
	s.tick(3 * time.Second)
}

func TestConsultTransfer(t *testing.T) {
	s := newScript()
	consultToC(s)
	feature := func(phase string) func(*schema.CallData) {
		return func(cd *schema.CallData) {
			cd.Feature = &schema.FeatureData{Feature: "transfer", Phase: phase, Controller: &schema.Party{Address: "1002"},
				PrimaryCallID: "1", ConsultCallID: "2", ResultCallID: map[string]string{"ended": "1"}[phase]}
		}
	}
	s.callEv("1", schema.EvCiscoTransferStart, feature("started"))
	if c := mustCall(t, fold(s.events), "2"); c.Feature == nil || c.Feature.Kind != "transfer" || c.ConsultFor != "1" {
		t.Errorf("consult call feature = %+v consultFor=%q", c.Feature, c.ConsultFor)
	}
	// C's leg moves from call2 to call1.
	s.callEv("1", schema.EvCiscoCallChanged, func(cd *schema.CallData) {
		cd.OriginalCallID = "2"
		cd.Connection = &schema.ConnectionData{Address: "1003", State: "CONNECTED", StateCode: schema.ConnConnected,
			CallControlState: "ESTABLISHED", CallControlStateCode: schema.CCConnEstablished}
	})
	s.conn[[2]string{"1", "1003"}] = s.conn[[2]string{"2", "1003"}]
	s.tc[[2]string{"1", "SEPC"}] = s.tc[[2]string{"2", "SEPC"}]
	delete(s.conn, [2]string{"2", "1003"})
	delete(s.tc, [2]string{"2", "SEPC"})
	st := fold(s.events)
	c1, c2 := mustCall(t, st, "1"), mustCall(t, st, "2")
	if !slices.Equal(c1.Parties(), []string{"1001", "1002", "1003"}) || !slices.Equal(c2.Parties(), []string{"1002"}) {
		t.Fatalf("after CallChanged: call1 %v call2 %v", c1.Parties(), c2.Parties())
	}
	if !slices.Equal(c1.MergedFrom, []string{"2"}) {
		t.Errorf("call1 merged from %v", c1.MergedFrom)
	}
	s.hangup("2", "1002")
	s.endCall("2")
	s.hangup("1", "1002")
	s.callEv("1", schema.EvCiscoTransferEnd, func(cd *schema.CallData) {
		feature("ended")(cd)
		cd.CurrentCalling = &schema.Party{Address: "1001", Terminal: "SEPA"}
		cd.CurrentCalled = &schema.Party{Address: "1003", Terminal: "SEPC"}
	})
	st = fold(s.events)
	if got := ids(st); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("calls after transfer = %v, want [1]", got)
	}
	c1 = mustCall(t, st, "1")
	want := map[string]string{
		"1001": "CONNECTED/ESTABLISHED SEPA:TALKING",
		"1003": "CONNECTED/ESTABLISHED SEPC:TALKING",
	}
	if diff := cmp.Diff(want, connStates(c1)); diff != "" {
		t.Errorf("call1 after transfer (-want +got):\n%s", diff)
	}
	if c1.Feature != nil {
		t.Errorf("feature still set after TransferEnd: %+v", c1.Feature)
	}
	if c1.CurrentCalled == nil || c1.CurrentCalled.Address != "1003" || c1.CurrentCalling.Address != "1001" {
		t.Errorf("current parties = %+v → %+v", c1.CurrentCalling, c1.CurrentCalled)
	}
}

func TestConference(t *testing.T) {
	s := newScript()
	consultToC(s)
	f := func(phase string) func(*schema.CallData) {
		return func(cd *schema.CallData) {
			cd.Feature = &schema.FeatureData{Feature: "conference", Phase: phase, PrimaryCallID: "1", ConsultCallID: "2", ResultCallID: "1"}
		}
	}
	s.callEv("1", schema.EvCiscoConferenceStart, f("started"))
	s.callEv("1", schema.EvCiscoCallChanged, func(cd *schema.CallData) {
		cd.OriginalCallID = "2"
		cd.Connection = &schema.ConnectionData{Address: "1003"}
	})
	s.conn[[2]string{"1", "1003"}] = s.conn[[2]string{"2", "1003"}]
	s.tc[[2]string{"1", "SEPC"}] = s.tc[[2]string{"2", "SEPC"}]
	s.hangup("2", "1002")
	s.endCall("2")
	s.leg("1", "1002", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{})
	s.leg("1", "1001", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{})
	s.leg("1", "1003", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{})
	s.callEv("1", schema.EvCiscoConferenceEnd, f("ended"))
	st := fold(s.events)
	if got := ids(st); !slices.Equal(got, []string{"1"}) {
		t.Fatalf("calls = %v", got)
	}
	c := mustCall(t, st, "1")
	if got := c.Parties(); !slices.Equal(got, []string{"1001", "1002", "1003"}) {
		t.Fatalf("conference parties = %v", got)
	}
	if got := connStates(c)["1003"]; got != "CONNECTED/ESTABLISHED SEPC:TALKING" {
		t.Errorf("C in conference = %q", got)
	}
	// Parties leave one by one; the call ends when the last one leaves.
	s.hangup("1", "1001")
	if got := mustCall(t, fold(s.events), "1").Parties(); !slices.Equal(got, []string{"1002", "1003"}) {
		t.Errorf("after A leaves = %v", got)
	}
	s.hangup("1", "1002")
	s.hangup("1", "1003")
	s.endCall("1")
	if st := fold(s.events); st.CallCount() != 0 {
		t.Errorf("calls = %v", ids(st))
	}
}

func TestTransientConnectionNotAParty(t *testing.T) {
	s := newScript()
	s.callEv("9", schema.EvCallActive, nil)
	cur := func(cd *schema.CallData) { cd.CurrentCalling = &schema.Party{Address: "5550000"} }
	s.leg("9", "1001", schema.CCConnInitiated, schema.CCTermConnTalking, legOpt{})
	s.leg("9", "1001", schema.CCConnDialing, schema.CCTermConnTalking, legOpt{})
	s.leg("9", "1001", schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{parties: cur})
	s.leg("9", "5550000", schema.CCConnEstablished, 0, legOpt{transient: true, parties: cur})
	s.leg("9", "1002", schema.CCConnOffered, 0, legOpt{parties: cur})
	s.leg("9", "1002", schema.CCConnAlerting, schema.CCTermConnRinging, legOpt{parties: cur})
	st := fold(s.events)
	c := mustCall(t, st, "9")
	if got := c.Parties(); !slices.Equal(got, []string{"1001", "1002"}) {
		t.Errorf("parties = %v (the transient connection must not count)", got)
	}
	if cn, ok := c.Connection("5550000"); !ok || !cn.Transient {
		t.Errorf("transient connection = %+v %v", cn, ok)
	}
	if sum := st.Summary(); sum.Connections != 2 || sum.TransientConns != 1 {
		t.Errorf("summary connections = %d transient = %d", sum.Connections, sum.TransientConns)
	}
	if c.CurrentCalling == nil || c.CurrentCalling.Address != "5550000" {
		t.Errorf("current calling = %+v", c.CurrentCalling)
	}
	s.leg("9", "5550000", schema.CCConnDisconnected, 0, legOpt{transient: true})
	c = mustCall(t, fold(s.events), "9")
	if _, ok := c.Connection("5550000"); ok {
		t.Error("transient connection still present after its removal")
	}
}

func TestRouteSession(t *testing.T) {
	s := newScript()
	reg := true
	s.emit(schema.FamilyRoute, "2000", schema.EvRouteRegistered, schema.Data{Route: &schema.RouteData{Address: "2000", Terminal: "RP1", Registered: &reg}})
	s.emit(schema.FamilyRoute, "2000", schema.EvRoute, schema.Data{Route: &schema.RouteData{Address: "2000", SessionID: "r1", CallID: "5",
		Calling: &schema.Party{Address: "1001"}, Called: &schema.Party{Address: "2000"}}})
	st := fold(s.events)
	rps := st.RoutePoints()
	if len(rps) != 1 || !rps[0].Registered || len(rps[0].Sessions) != 1 || rps[0].Sessions[0].State != "ROUTE" {
		t.Fatalf("route points = %+v", rps)
	}
	s.emit(schema.FamilyRoute, "2000", schema.EvRouteUsed, schema.Data{Route: &schema.RouteData{Address: "2000", SessionID: "r1", Selected: "1002"}})
	if rp := fold(s.events).RoutePoints()[0]; rp.Sessions[0].State != "ROUTE_USED" || rp.Sessions[0].Selected != "1002" {
		t.Errorf("after RouteUsed: %+v", rp.Sessions)
	}
	s.emit(schema.FamilyRoute, "2000", schema.EvRouteEnd, schema.Data{Route: &schema.RouteData{Address: "2000", SessionID: "r1", Cause: 100}})
	st = fold(s.events)
	if rp := st.RoutePoints()[0]; len(rp.Sessions) != 0 || rp.Routed != 1 {
		t.Errorf("after RouteEnd: %+v", rp)
	}
}

func TestUnknownEventsCounted(t *testing.T) {
	st := callstate.New()
	st.Apply(schema.Event{Family: schema.FamilyCall, Entity: "1", Name: "SomethingNewEv"})
	st.Apply(schema.Event{Family: "mystery", Name: "X"})
	if got := st.Stats().UnknownEvents; got != 2 {
		t.Errorf("unknown events = %d, want 2", got)
	}
	if st.CallCount() != 0 {
		t.Error("an unknown call event created a call")
	}
}

// DeviceRejected names a skipped control-list device; the provider state
// lists each once, however often the device list is fetched again.
func TestRejectedDevicesListedOnce(t *testing.T) {
	st := callstate.New()
	rej := func(name string) schema.Event {
		return schema.Event{Family: schema.FamilyProvider, Name: schema.EvDeviceRejected,
			Data: schema.Data{Provider: &schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, Device: name, Detail: "skipped"}}}
	}
	for _, n := range []string{`"SEP\aBELL"`, `"SEP2"`, `"SEP\aBELL"`} {
		st.Apply(rej(n))
	}
	if got := st.Provider().RejectedDevices; len(got) != 2 || got[0] != `"SEP\aBELL"` || got[1] != `"SEP2"` {
		t.Fatalf("rejected devices %q, want each once in order", got)
	}
	if st.Stats().UnknownEvents != 0 {
		t.Fatal("DeviceRejected counted as unknown")
	}
}

// The bridge's records of the event log fold into the bridge state (the
// stream's NATS leader) and the gaps (a recreated stream), never into the
// unknown events.
func TestNATSRecordsFolded(t *testing.T) {
	at := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	closed := at.Add(time.Second)
	st := fold([]schema.Event{
		{Family: schema.FamilyBridge, Name: schema.EvNATSLeaderChanged, Time: at,
			Data: schema.Data{Bridge: &schema.BridgeData{NATS: &schema.NATSData{Stream: "CTI", PreviousLeader: "nats-2", Leader: "nats-1"}}}},
		{Family: schema.FamilyBridge, Name: schema.EvStreamRecreated, Time: closed, Session: "b-b", SessionSeq: 2,
			Data: schema.Data{Bridge: &schema.BridgeData{Gap: &schema.Gap{ID: "g", Kind: "stream", OpenedAt: at, ClosedAt: &closed}, NATS: &schema.NATSData{Stream: "CTI", LostLastSeq: 9}}}},
	})
	if b := st.Bridge(); b.NATSLeader != "nats-1" || b.NATSLeaderChanges != 1 {
		t.Errorf("bridge = %+v", b)
	}
	if g := st.Gaps(); len(g) != 1 || g[0].Kind != "stream" || !g[0].ClosedAt.Equal(closed) {
		t.Errorf("gaps = %+v", g)
	}
	if n := st.Stats().UnknownEvents; n != 0 {
		t.Errorf("%d unknown events", n)
	}
}
