package traffic

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/google/go-cmp/cmp"
)

// step runs fn at offset at (after advancing the model there).
type step struct {
	at time.Duration
	fn func(t *testing.T, m *Model, sofar []Emission)
}

// gidOf returns the global call id an emission belongs to.
func gidOf(msg ctilink.Message) uint32 {
	switch e := msg.(type) {
	case ctilink.CallStateEvent:
		return e.GlobalCallID
	case ctilink.FeatureEvent:
		return e.PrimaryCallID
	case ctilink.CallChangedEvent:
		return e.OriginalCallID
	case ctilink.RouteEvent:
		return e.GlobalCallID
	case ctilink.MediaEvent:
		return e.GlobalCallID
	case ctilink.CallPartyEvent:
		return e.GlobalCallID
	}
	return 0
}

// selectRoute answers the last route event seen with destinations.
func selectRoute(dests ...string) func(t *testing.T, m *Model, sofar []Emission) {
	return func(t *testing.T, m *Model, sofar []Emission) {
		t.Helper()
		var sid uint32
		for _, e := range sofar {
			if r, ok := e.Msg.(ctilink.RouteEvent); ok && r.Kind == ctilink.RouteKindRoute {
				sid = r.SessionID
			}
		}
		if sid == 0 {
			t.Fatal("no route event to answer")
		}
		if err := m.RouteSelect(sid, dests, m.Now()); err != nil {
			t.Fatal(err)
		}
	}
}

type scenarioCase struct {
	name            string
	hooks           func(h *fakeHooks)
	pre             func(t *testing.T, m *Model) // scripts other calls; their emissions are ignored
	s               Scenario
	from, to, third string
	placeAt         time.Duration
	steps           []step
	want            []string // "offset line…" as rendered by dump
	check           func(t *testing.T, ems []Emission)
	dir             func() Directory // nil: testDir
}

func (tc scenarioCase) run(t *testing.T) []Emission {
	t.Helper()
	h := newHooks()
	if tc.hooks != nil {
		tc.hooks(h)
	}
	dir := testDir
	if tc.dir != nil {
		dir = tc.dir
	}
	m, err := New(fixedConfig(), dir(), h)
	if err != nil {
		t.Fatal(err)
	}
	if tc.pre != nil {
		tc.pre(t, m)
	}
	chk := newChecker()
	var all []Emission
	collect := func(ems []Emission) {
		t.Helper()
		if err := chk.add(ems); err != nil {
			t.Fatalf("invariant: %v\n%s", err, dump(append(all, ems...)))
		}
		all = append(all, ems...)
	}
	collect(m.Advance(t0.Add(tc.placeAt)))
	gid, err := m.Place(tc.s, tc.from, tc.to, tc.third, t0.Add(tc.placeAt))
	if err != nil {
		t.Fatalf("Place: %v", err)
	}
	for _, st := range tc.steps {
		collect(m.Advance(t0.Add(st.at)))
		st.fn(t, m, all)
	}
	collect(m.Advance(t0.Add(5 * time.Minute)))
	if err := chk.allEnded(); err != nil {
		t.Fatal(err)
	}
	if n := m.ActiveCalls(); n != 0 {
		t.Fatalf("ActiveCalls = %d after every call ended", n)
	}
	// Keep the placed call and any call it created (consult), drop the
	// calls scripted by pre.
	keep := map[uint32]bool{gid: true}
	var ems []Emission
	for _, e := range all {
		g := gidOf(e.Msg)
		if !keep[g] && !e.At.Before(t0.Add(tc.placeAt)) && g > gid {
			keep[g] = true
		}
		if keep[g] {
			ems = append(ems, e)
		}
	}
	return ems
}

func TestScenarioSequences(t *testing.T) {
	cases := []scenarioCase{
		{
			name: "basic", s: Basic, from: "1001", to: "1002",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				a := stateOf(t, ems, "1001", ctilink.CallStateDialing, 1)
				b := stateOf(t, ems, "1002", ctilink.CallStateOffering, 1)
				a1 := ctilink.Party{DN: "1001", Device: "SEP1001"}
				b1 := ctilink.Party{DN: "1002", Device: "SEP1002"}
				if !a.Origin || b.Origin {
					t.Errorf("origin: caller %v callee %v", a.Origin, b.Origin)
				}
				for _, e := range []ctilink.CallStateEvent{a, b} {
					if e.Calling != a1 || e.Called != b1 || e.CurrentCalling != a1 || e.CurrentCalled != b1 {
						t.Errorf("%s parties: %+v", e.Line, e)
					}
					if e.Reason != ctilink.ReasonDirectCall || e.CallManager != "cm1" {
						t.Errorf("%s reason %s callManager %q, want DIRECTCALL cm1 (the caller's)", e.Line, e.Reason, e.CallManager)
					}
				}
				if a.CallHandle == b.CallHandle {
					t.Errorf("both legs share handle %d", a.CallHandle)
				}
				if dt := stateOf(t, ems, "1001", ctilink.CallStateDialTone, 1); dt.Called != (ctilink.Party{}) {
					t.Errorf("DIALTONE already names the called party: %+v", dt.Called)
				}
			},
		},
		{
			name: "noanswer", s: NoAnswer, from: "1001", to: "1002",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"5s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "5s 1002 DISCONNECTED #1 NOANSWERFROMUSER",
			},
		},
		{
			name: "busy marks an idle target busy", s: Busy, from: "1001", to: "1002",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1001 BUSY #1 USERBUSY",
				"2s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			name: "call to a line in another call is busy",
			pre: func(t *testing.T, m *Model) {
				if _, err := m.Place(Basic, "1003", "1002", "", t0); err != nil {
					t.Fatal(err)
				}
			},
			s: Basic, from: "1001", to: "1002", placeAt: 4 * time.Second,
			want: []string{
				"4s 1001 DIALTONE #1",
				"5s 1001 DIALING #1", "5s 1001 PROCEEDING #1", "5s 1001 BUSY #1 USERBUSY",
				"6s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			name: "call to an out-of-service device is busy", hooks: func(h *fakeHooks) { h.outOfService["SEP1002"] = true },
			s: Hold, from: "1001", to: "1002",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1001 BUSY #1 USERBUSY",
				"2s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			name: "hold", s: Hold, from: "1001", to: "1002",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1001 ONHOLD #1", "11s 1001 CONNECTED #1",
				"16s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "16s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "blindtransfer", s: BlindTransfer, from: "1001", to: "1002", third: "1003",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 ONHOLD #1", "8s 1002 DIALTONE #2",
				"9s 1002 DIALING #2", "9s 1002 PROCEEDING #2", "9s 1003 OFFERING #2", "9s 1003 ACCEPTED #2", "9s 1002 RINGBACK #2",
				"10s feature transfer started 1002 #1/#2 blind", "10s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
				"10s callchanged 1003 #2->#1",
				"10s 1002 DISCONNECTED #2 NORMALCALLCLEARING",
				"10s 1001 RINGBACK #1", "10s 1003 ACCEPTED #1",
				"10s feature transfer ended 1002 #1/#2 result=#1 blind",
				"12s 1003 CONNECTED #1", "12s 1001 CONNECTED #1",
				"17s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "17s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: checkTransferParties,
		},
		{
			name: "consulttransfer", s: ConsultTransfer, from: "1001", to: "1002", third: "1003",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 ONHOLD #1", "8s 1002 DIALTONE #2",
				"9s 1002 DIALING #2", "9s 1002 PROCEEDING #2", "9s 1003 OFFERING #2", "9s 1003 ACCEPTED #2", "9s 1002 RINGBACK #2",
				"11s 1003 CONNECTED #2", "11s 1002 CONNECTED #2",
				"16s feature transfer started 1002 #1/#2", "16s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
				"16s callchanged 1003 #2->#1",
				"16s 1002 DISCONNECTED #2 NORMALCALLCLEARING",
				"16s 1001 CONNECTED #1", "16s 1003 CONNECTED #1",
				"16s feature transfer ended 1002 #1/#2 result=#1",
				"21s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "21s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: checkTransferParties,
		},
		{
			name: "failedtransfer", s: FailedTransfer, from: "1001", to: "1002", third: "1003",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 ONHOLD #1", "8s 1002 DIALTONE #2",
				"9s 1002 DIALING #2", "9s 1002 PROCEEDING #2", "9s 1003 OFFERING #2", "9s 1003 ACCEPTED #2", "9s 1002 RINGBACK #2",
				"11s 1003 CONNECTED #2", "11s 1002 CONNECTED #2",
				"16s feature transfer started 1002 #1/#2",
				"16s 1003 DISCONNECTED #2 NORMALCALLCLEARING", "16s 1002 DISCONNECTED #2 NORMALCALLCLEARING",
				"16s feature transfer ended 1002 #1/#2 result=#1 failed",
				"17s 1002 CONNECTED #1",
				"22s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "22s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "consult to a busy party gives the call back", s: ConsultTransfer, from: "1001", to: "1002", third: "1003",
			hooks: func(h *fakeHooks) { h.outOfService["SEP1003"] = true },
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 ONHOLD #1", "8s 1002 DIALTONE #2",
				"9s 1002 DIALING #2", "9s 1002 PROCEEDING #2", "9s 1002 BUSY #2 USERBUSY",
				"10s 1002 DISCONNECTED #2 USERBUSY", "10s 1002 CONNECTED #1",
				"15s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "15s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "conference", s: Conference, from: "1001", to: "1002", third: "1003",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 ONHOLD #1", "8s 1002 DIALTONE #2",
				"9s 1002 DIALING #2", "9s 1002 PROCEEDING #2", "9s 1003 OFFERING #2", "9s 1003 ACCEPTED #2", "9s 1002 RINGBACK #2",
				"11s 1003 CONNECTED #2", "11s 1002 CONNECTED #2",
				"16s feature conference started 1002 #1/#2", "16s 1002 CONNECTED #1",
				"16s callchanged 1003 #2->#1",
				"16s 1002 DISCONNECTED #2 NORMALCALLCLEARING",
				"16s 1001 CONNECTED #1", "16s 1003 CONNECTED #1",
				"16s feature conference ended 1002 #1/#2 result=#1",
				"21s 1001 DISCONNECTED #1 NORMALCALLCLEARING",
				"26s 1002 DISCONNECTED #1 NORMALCALLCLEARING", "26s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "conference with a default third party", s: Conference, from: "1002", to: "1004",
			check: func(t *testing.T, ems []Emission) {
				// The first idle in-service phone line on another device is 1001.
				stateOf(t, ems, "1001", ctilink.CallStateOffering, 1)
			},
		},
		{
			name: "routepoint selected", s: RoutePoint, from: "1001", to: "2000",
			hooks: func(h *fakeHooks) { h.rpRegistered["RP1"] = true },
			steps: []step{{3 * time.Second, selectRoute("9999", "1001", "1003", "1004")}},
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 2000 OFFERING #1",
				"1s route route 2000 #1 cause=100",
				"3s route used 2000 #1 cause=100 selected=1003",
				"3s 2000 DISCONNECTED #1 NORMALCALLCLEARING",
				"3s 1003 OFFERING #1", "3s 1003 ACCEPTED #1", "3s 1001 RINGBACK #1",
				"3s route end 2000 #1 cause=100",
				"5s 1003 CONNECTED #1", "5s 1001 CONNECTED #1",
				"10s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "10s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				d := stateOf(t, ems, "1003", ctilink.CallStateOffering, 1)
				rp := ctilink.Party{DN: "2000", Device: "RP1"}
				if d.Reason != ctilink.ReasonRedirect || d.LastRedirecting != rp || d.CurrentCalled.DN != "1003" ||
					d.Called != rp || d.Calling.DN != "1001" {
					t.Errorf("redirected leg: %+v", d)
				}
				a := stateOf(t, ems, "1001", ctilink.CallStateRingback, 1)
				if a.CurrentCalled.DN != "1003" || a.Called != rp || a.LastRedirecting != rp {
					t.Errorf("caller after redirect: %+v", a)
				}
				r := findMsg[ctilink.RouteEvent](t, ems, func(r ctilink.RouteEvent) bool { return r.Kind == ctilink.RouteKindRoute })
				if r.Calling.DN != "1001" || r.Called != rp || r.SessionID == 0 || r.CallHandle == 0 {
					t.Errorf("route event: %+v", r)
				}
			},
		},
		{
			name: "routepoint without answer times out", s: RoutePoint, from: "1001",
			hooks: func(h *fakeHooks) { h.rpRegistered["RP2"] = true },
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 2001 OFFERING #1",
				"1s route route 2001 #1 cause=100",
				"6s route end 2001 #1 cause=101",
				"6s 2001 DISCONNECTED #1 NOUSERRESPONDING",
				"6s 1001 BUSY #1 USERBUSY",
				"7s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			name: "routepoint reroute restarts the timer", s: RoutePoint, from: "1001", to: "2000",
			hooks: func(h *fakeHooks) { h.rpRegistered["RP1"] = true },
			steps: []step{{3 * time.Second, selectRoute("9999", "1001")}},
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 2000 OFFERING #1",
				"1s route route 2000 #1 cause=100",
				"3s route reroute 2000 #1 cause=103",
				"8s route end 2000 #1 cause=101",
				"8s 2000 DISCONNECTED #1 NOUSERRESPONDING",
				"8s 1001 BUSY #1 USERBUSY",
				"9s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			// The CTIManager the route request went to is lost; a session
			// re-registers the route point at 3 s and is offered the
			// request again (the route-select timer restarts), then
			// selects a destination.
			name: "routepoint call recovered on re-registration", s: RoutePoint, from: "1001", to: "2000",
			hooks: func(h *fakeHooks) { h.rpRegistered["RP1"] = true },
			steps: []step{
				{3 * time.Second, func(t *testing.T, m *Model, _ []Emission) {
					evs := m.RecoverRoutes("RP1", m.Now())
					if len(evs) != 1 || evs[0].Kind != ctilink.RouteKindRoute || evs[0].GlobalCallID != 1 ||
						evs[0].Line != "2000" || evs[0].Calling.DN != "1001" {
						t.Fatalf("RecoverRoutes = %+v, want the waiting call's route request", evs)
					}
					if again := m.RecoverRoutes("RP2", m.Now()); len(again) != 0 {
						t.Fatalf("RecoverRoutes(RP2) = %+v, want nothing", again)
					}
				}},
				{7 * time.Second, selectRoute("1003")},
			},
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 2000 OFFERING #1",
				"1s route route 2000 #1 cause=100",
				"7s route used 2000 #1 cause=100 selected=1003",
				"7s 2000 DISCONNECTED #1 NORMALCALLCLEARING",
				"7s 1003 OFFERING #1", "7s 1003 ACCEPTED #1", "7s 1001 RINGBACK #1",
				"7s route end 2000 #1 cause=100",
				"9s 1003 CONNECTED #1", "9s 1001 CONNECTED #1",
				"14s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "14s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "unregistered routepoint is busy", s: RoutePoint, from: "1001", to: "2000",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 2000 OFFERING #1",
				"1s 2000 DISCONNECTED #1 NOUSERRESPONDING",
				"1s 1001 BUSY #1 USERBUSY",
				"2s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			name: "ctiport dynamic", s: CTIPort, from: "1001",
			hooks: func(h *fakeHooks) {
				h.ports["CTIP2"] = portReg{dynamic: true, media: ctilink.MediaParams{Codecs: []string{"G722"}}}
			},
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 3002 OFFERING #1", "1s 3002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"1s media openLogicalChannel 3002 #1 G722",
				"3s 3002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"3s media rtpOutputStarted 3002 #1 10.16.0.1:16386 G722",
				"3s media rtpInputStarted 3002 #1 G722",
				"8s media rtpOutputStopped 3002 #1 10.16.0.1:16386 G722",
				"8s media rtpInputStopped 3002 #1 G722",
				"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "8s 3002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "ctiport static", s: CTIPort, from: "1002", to: "3001",
			hooks: func(h *fakeHooks) {
				h.ports["CTIP1"] = portReg{media: ctilink.MediaParams{IP: "192.0.2.10", Port: 40000, Codecs: []string{"G711Alaw64k"}, PacketMs: 30}}
			},
			want: []string{
				"0s 1002 DIALTONE #1",
				"1s 1002 DIALING #1", "1s 1002 PROCEEDING #1", "1s 3001 OFFERING #1", "1s 3001 ACCEPTED #1", "1s 1002 RINGBACK #1",
				"3s 3001 CONNECTED #1", "3s 1002 CONNECTED #1",
				"3s media rtpOutputStarted 3001 #1 10.16.0.2:16386 G711Alaw64k",
				"3s media rtpInputStarted 3001 #1 192.0.2.10:40000 G711Alaw64k",
				"8s media rtpOutputStopped 3001 #1 10.16.0.2:16386 G711Alaw64k",
				"8s media rtpInputStopped 3001 #1 192.0.2.10:40000 G711Alaw64k",
				"8s 1002 DISCONNECTED #1 NORMALCALLCLEARING", "8s 3001 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				me := findMsg[ctilink.MediaEvent](t, ems, func(ctilink.MediaEvent) bool { return true })
				p := stateOf(t, ems, "3001", ctilink.CallStateOffering, 1)
				if me.Device != "CTIP1" || me.CallHandle != p.CallHandle || me.PacketMs != 30 {
					t.Errorf("media event %+v, port leg handle %d", me, p.CallHandle)
				}
			},
		},
		{
			name: "unregistered ctiport is busy", s: CTIPort, from: "1001", to: "3001",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1001 BUSY #1 USERBUSY",
				"2s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
		{
			name: "transform", s: Transform, from: "1001", to: "1002",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1",
				"1s party 1001 #1 800551001 added=true transient=true",
				"1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"1s party 1001 #1 800551001 added=false transient=true",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				y := ctilink.Party{DN: "800551001"}
				a1 := ctilink.Party{DN: "1001", Device: "SEP1001"}
				if d := stateOf(t, ems, "1001", ctilink.CallStateDialing, 1); d.CurrentCalling != a1 {
					t.Errorf("DIALING currentCalling %+v, want the caller", d.CurrentCalling)
				}
				for _, st := range []ctilink.CallState{ctilink.CallStateProceeding, ctilink.CallStateRingback, ctilink.CallStateConnected, ctilink.CallStateDisconnected} {
					if e := stateOf(t, ems, "1001", st, 1); e.CurrentCalling != y || e.Calling != a1 {
						t.Errorf("caller %s: calling %+v currentCalling %+v", st, e.Calling, e.CurrentCalling)
					}
				}
				if b := stateOf(t, ems, "1002", ctilink.CallStateOffering, 1); b.Calling != a1 || b.CurrentCalling != y {
					t.Errorf("called OFFERING: calling %+v currentCalling %+v", b.Calling, b.CurrentCalling)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ems := tc.run(t)
			if tc.want != nil {
				got := strings.Split(strings.TrimSuffix(dump(ems), "\n"), "\n")
				if diff := cmp.Diff(tc.want, got); diff != "" {
					t.Errorf("sequence mismatch (-want +got):\n%s", diff)
				}
			}
			if tc.check != nil {
				tc.check(t, ems)
			}
		})
	}
}

func checkTransferParties(t *testing.T, ems []Emission) {
	t.Helper()
	a1 := ctilink.Party{DN: "1001", Device: "SEP1001"}
	b1 := ctilink.Party{DN: "1002", Device: "SEP1002"}
	c1 := ctilink.Party{DN: "1003", Device: "SEP1003"}
	var primary, consult uint32
	for _, e := range ems {
		if f, ok := e.Msg.(ctilink.FeatureEvent); ok {
			primary, consult = f.PrimaryCallID, f.ConsultCallID
			if f.Device != "SEP1002" || f.Line != "1002" || f.TransferredParty != a1 {
				t.Errorf("feature event %+v", f)
			}
		}
	}
	cc := findMsg[ctilink.CallChangedEvent](t, ems, func(ctilink.CallChangedEvent) bool { return true })
	cOffer := stateOf(t, ems, "1003", ctilink.CallStateOffering, 1)
	if cc.CallHandle != cOffer.CallHandle || cc.OriginalCallID != consult || cc.SurvivingCall != primary || cOffer.GlobalCallID != consult {
		t.Errorf("CallChanged %+v, C's consult leg %+v", cc, cOffer)
	}
	if cOffer.Calling != b1 || cOffer.Called != c1 || cOffer.CallManager != "cm2" {
		t.Errorf("consult leg parties %+v (the consult call is placed by B on cm2)", cOffer)
	}
	// After the transfer: A talks to C, C to A.
	var aAfter, cAfter ctilink.CallStateEvent
	for _, e := range ems {
		if s, ok := e.Msg.(ctilink.CallStateEvent); ok && s.GlobalCallID == primary && e.At.After(ems[0].At.Add(9*time.Second)) {
			switch s.Line {
			case "1001":
				if aAfter.CallHandle == 0 {
					aAfter = s
				}
			case "1003":
				if cAfter.CallHandle == 0 {
					cAfter = s
				}
			}
		}
	}
	if aAfter.CurrentCalled != c1 || aAfter.LastRedirecting != b1 || aAfter.Called != b1 {
		t.Errorf("caller after transfer: %+v", aAfter)
	}
	if cAfter.CurrentCalling != a1 || cAfter.Reason != ctilink.ReasonTransferredCall || cAfter.CallHandle != cOffer.CallHandle ||
		cAfter.CallManager != "cm1" {
		t.Errorf("transferred-to leg: %+v", cAfter)
	}
}

// stateOf returns the n-th CallStateEvent (1-based) of line in state st.
func stateOf(t *testing.T, ems []Emission, line string, st ctilink.CallState, n int) ctilink.CallStateEvent {
	t.Helper()
	for _, e := range ems {
		if s, ok := e.Msg.(ctilink.CallStateEvent); ok && s.Line == line && s.State == st {
			if n--; n == 0 {
				return s
			}
		}
	}
	t.Fatalf("no %s event on %s", st, line)
	return ctilink.CallStateEvent{}
}

func findMsg[T ctilink.Message](t *testing.T, ems []Emission, ok func(T) bool) T {
	t.Helper()
	for _, e := range ems {
		if v, is := e.Msg.(T); is && ok(v) {
			return v
		}
	}
	var zero T
	t.Fatalf("no %T", zero)
	return zero
}

func TestPlaceErrors(t *testing.T) {
	h := newHooks()
	h.outOfService["SEP1005"] = true
	m := newModel(t, fixedConfig(), h)
	cases := []struct {
		s               Scenario
		from, to, third string
		want            error
	}{
		{"fax", "1001", "1002", "", ErrUnknownScenario},
		{Basic, "9999", "1002", "", ErrUnknownLine},
		{Basic, "1001", "9999", "", ErrUnknownLine},
		{Basic, "1001", "1001", "", ErrBadParty},
		{Basic, "1001", "2000", "", ErrBadParty},
		{Basic, "3001", "1002", "", ErrBadParty},
		{RoutePoint, "1001", "1002", "", ErrBadParty},
		{CTIPort, "1001", "2000", "", ErrBadParty},
		{Basic, "1005", "1002", "", ErrOutOfService},
		{ConsultTransfer, "1001", "1002", "1001", ErrBadParty},
		{Transform, "1001", "1002", "7", ErrNoParty},
	}
	for _, tc := range cases {
		if _, err := m.Place(tc.s, tc.from, tc.to, tc.third, t0); !errors.Is(err, tc.want) {
			t.Errorf("Place(%s, %s, %s, %s) = %v, want %v", tc.s, tc.from, tc.to, tc.third, err, tc.want)
		}
	}
	if n := len(m.Advance(t0.Add(time.Minute))); n != 0 {
		t.Errorf("failed Place calls emitted %d messages", n)
	}
	if err := m.RouteSelect(42, []string{"1001"}, t0.Add(time.Minute)); !errors.Is(err, ErrUnknownRouteSession) {
		t.Errorf("RouteSelect(unknown) = %v", err)
	}
}

func TestApplyMask(t *testing.T) {
	cases := []struct{ mask, number, want string }{
		{"80055XXXX", "1001", "800551001"},
		{"80055XXXX", "21001", "800551001"},
		{"5XXXX", "12", "512"},
		{"4085550100", "1001", "4085550100"},
		{"+1408XXXXxxx", "5551234", "+14085551234"},
	}
	for _, tc := range cases {
		if got := applyMask(tc.mask, tc.number); got != tc.want {
			t.Errorf("applyMask(%q, %q) = %q, want %q", tc.mask, tc.number, got, tc.want)
		}
	}
}
