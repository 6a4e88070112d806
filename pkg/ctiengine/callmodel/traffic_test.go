package callmodel

import (
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// The simulator's own call model (pkg/ctisim/traffic) generates every
// scenario at random; these tests feed its wire output to call models as
// sessions observing all or part of the lines would receive it.

type simHooks struct{}

func (simHooks) CTIPort(device string) (ctilink.MediaParams, bool, bool) {
	return ctilink.MediaParams{IP: "10.9.0.1", Port: 4000, Codecs: []string{"G711Ulaw64k"}, PacketMs: 20},
		device == "CTIP2", device != "CTIP4"
}
func (simHooks) RoutePointRegistered(device string) bool { return device == "RP1" }
func (simHooks) DeviceInService(string) bool             { return true }

func simDirectory() traffic.Directory {
	d := traffic.Directory{Patterns: []traffic.Pattern{{Prefix: "9", CallingMask: "80055XXXX"}}}
	for i := range 40 {
		d.Phones = append(d.Phones, traffic.Line{Device: fmt.Sprintf("SEP%d", 1000+i), DN: fmt.Sprint(1000 + i), CallManager: []string{"cm1", "cm2"}[i%2]})
	}
	// A shared line: 4500 on SEP1000 and SEP1001.
	d.Phones = append(d.Phones, traffic.Line{Device: "SEP1000", DN: "4500", CallManager: "cm1"},
		traffic.Line{Device: "SEP1001", DN: "4500", CallManager: "cm2"})
	for i := 1; i <= 4; i++ {
		d.CTIPorts = append(d.CTIPorts, traffic.Line{Device: fmt.Sprintf("CTIP%d", i), DN: fmt.Sprint(3000 + i), CallManager: "cm1"})
	}
	d.RoutePoints = []traffic.Line{{Device: "RP1", DN: "2000", CallManager: "cm1"}, {Device: "RP2", DN: "2001", CallManager: "cm2"}}
	d.Trunks = []traffic.Trunk{{Name: "SIP-PSTN", CallManager: "cm1", Prefixes: []string{"0", "+"},
		Numbers: []string{"+4989555000", "+4989555001", "0301234567"}}}
	d.Forwards = []traffic.Forward{{DN: "1030", All: "1031"}, {DN: "1032", Busy: "1033"}, {DN: "1034", NoAnswer: "1035"},
		{DN: "1036", All: "1037"}, {DN: "1038", Busy: "1039"}, {DN: "1039", NoAnswer: "1037"}}
	d.PickupGroups = [][]string{{"1020", "1021", "1022", "1023"}, {"1024", "1025", "1026"}}
	d.ParkNumbers = []string{"8000", "8001", "8002"}
	d.HuntPilots = []traffic.HuntPilot{{Number: "4000", Members: []string{"1014", "1015", "1016", "1017"}}}
	return d
}

// session is one observer of the simulated cluster: the lines it
// controls, its model and the invariant checker over its output.
type session struct {
	name   string
	lines  map[string]bool
	m      *Model
	inv    *invariants
	events map[string]int
}

func newSession(name string, dir traffic.Directory, keep func(i int, l traffic.Line) bool) *session {
	s := &session{name: name, lines: map[string]bool{}, inv: newInvariants(), events: map[string]int{}}
	all := slices.Concat(dir.Phones, dir.CTIPorts, dir.RoutePoints)
	for i, l := range all {
		if keep(i, l) {
			s.lines[l.DN] = true
		}
	}
	s.m = New(Config{Controlled: func(dn string) bool { return s.lines[dn] }})
	return s
}

// receives reports whether the session gets msg: events concern one line.
func (s *session) receives(msg ctilink.Message) bool {
	switch ev := msg.(type) {
	case ctilink.CallStateEvent:
		return s.lines[ev.Line]
	case ctilink.CallChangedEvent:
		return s.lines[ev.Line]
	case ctilink.FeatureEvent:
		// Sent to the sessions of every involved line.
		return s.lines[ev.Line] || slices.ContainsFunc(ev.Parties, func(p ctilink.Party) bool { return s.lines[p.DN] })
	case ctilink.CallPartyEvent:
		return s.lines[ev.Line]
	case ctilink.RouteEvent:
		return s.lines[ev.Line]
	case ctilink.MediaEvent:
		return s.lines[ev.Line]
	}
	return false
}

func (s *session) check(t *testing.T, outs []Out) {
	t.Helper()
	checkEvents(t, outs)
	if err := s.inv.check(outs); err != nil {
		t.Fatalf("%s: %v", s.name, err)
	}
	for _, o := range outs {
		s.events[o.Name]++
	}
}

func (s *session) apply(t *testing.T, msg ctilink.Message) {
	t.Helper()
	if s.receives(msg) {
		s.check(t, s.m.Apply(msg))
	}
}

// drive runs the traffic model from `from` for d in 50 ms steps, answering
// every other route request, and hands each emission to apply.
func drive(t *testing.T, tm *traffic.Model, from time.Time, d time.Duration, apply func(ctilink.Message)) time.Time {
	t.Helper()
	now := from
	for end := from.Add(d); now.Before(end); {
		now = now.Add(50 * time.Millisecond)
		for _, e := range tm.Advance(now) {
			apply(e.Msg)
			if r, ok := e.Msg.(ctilink.RouteEvent); ok && r.Kind == ctilink.RouteKindRoute && r.SessionID%2 == 0 {
				if err := tm.RouteSelect(r.SessionID, []string{"1001", "1002", "1003"}, now); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	return now
}

// TestSimulatorTraffic: ten minutes of random simulator traffic (every
// scenario, both hang-up orders, busy transfers, route timeouts, a
// CallManager node failure), seen by a session observing every line and
// by sessions observing half of them. Every wire event is consistent
// with the model (nothing ignored), the invariants hold, and once the
// traffic stops every call has ended in every model.
func TestSimulatorTraffic(t *testing.T) {
	dir := simDirectory()
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	tm, err := traffic.New(traffic.Config{Rate: 4, Seed: 7, Start: start}, dir, simHooks{})
	if err != nil {
		t.Fatal(err)
	}
	sessions := []*session{
		newSession("all", dir, func(int, traffic.Line) bool { return true }),
		newSession("even", dir, func(i int, _ traffic.Line) bool { return i%2 == 0 }),
		newSession("odd", dir, func(i int, _ traffic.Line) bool { return i%2 == 1 }),
	}
	apply := func(msg ctilink.Message) {
		for _, s := range sessions {
			s.apply(t, msg)
		}
	}
	now := drive(t, tm, start, 5*time.Minute, apply)
	// CallManager node cm2 fails: its devices' calls in setup drop.
	var cm2 []string
	for _, l := range dir.Phones {
		if l.CallManager == "cm2" {
			cm2 = append(cm2, l.Device)
		}
	}
	for _, e := range tm.FailDevices(cm2, now) {
		apply(e.Msg)
	}
	now = drive(t, tm, now, 5*time.Minute, apply)
	if err := tm.SetRate(0, now); err != nil {
		t.Fatal(err)
	}
	drive(t, tm, now, 2*time.Minute, apply)
	if n := tm.ActiveCalls(); n != 0 {
		t.Fatalf("simulator still has %d calls", n)
	}

	st := tm.Stats()
	for _, sc := range traffic.Scenarios {
		if st.Started[sc] == 0 {
			t.Errorf("scenario %s never started", sc)
		}
	}
	if st.Dropped == 0 {
		t.Error("the node failure dropped no call")
	}
	for _, s := range sessions {
		mst := s.m.Stats()
		t.Logf("%s: %d calls, %d events, stats %+v", s.name, s.inv.active, total(s.events), mst)
		if mst.Tracked != 0 || mst.Ignored != 0 || mst.Untracked != 0 {
			t.Errorf("%s: stats %+v, want nothing tracked, ignored or untracked", s.name, mst)
		}
		if s.inv.active != s.inv.ended {
			t.Errorf("%s: %d calls began, %d ended", s.name, s.inv.active, s.inv.ended)
		}
	}
	all := sessions[0].events
	for _, name := range []string{schema.EvCiscoTransferStart, schema.EvCiscoConferenceEnd,
		schema.EvRouteUsed, schema.EvCiscoRTPInputStarted, schema.EvCallCtlTermConnHeld, schema.EvCallCtlConnFailed,
		schema.EvCallCtlConnNetworkAlerting, schema.EvCallCtlTermConnInUse, schema.EvCiscoHuntConnCreated, schema.EvCallCtlConnQueued} {
		if all[name] == 0 && sessions[1].events[name] == 0 {
			t.Errorf("no %s produced", name)
		}
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// TestSimulatorFailover: traffic runs; the CTIManager is lost and nothing
// arrives for a while (calls start and end unseen); then every device is
// snapshotted from the simulator and the model reconciled. The model then
// tracks exactly the simulator's live calls, the counts add up, and once
// the traffic stops every call ends.
func TestSimulatorFailover(t *testing.T) {
	dir := simDirectory()
	start := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	tm, err := traffic.New(traffic.Config{Rate: 4, Seed: 11, Start: start}, dir, simHooks{})
	if err != nil {
		t.Fatal(err)
	}
	s := newSession("all", dir, func(i int, l traffic.Line) bool { return true })
	apply := func(msg ctilink.Message) { s.apply(t, msg) }
	now := drive(t, tm, start, 3*time.Minute, apply)

	before := s.m.Stats().Tracked
	s.check(t, s.m.EndObservation(now))
	now = drive(t, tm, now, 5*time.Second, func(ctilink.Message) {}) // the gap: nothing received

	var devices []string
	for _, l := range slices.Concat(dir.Phones, dir.CTIPorts) { // no snapshot for route points
		if !slices.Contains(devices, l.Device) {
			devices = append(devices, l.Device)
		}
	}
	live := map[string]bool{}
	for _, d := range devices {
		for _, ev := range tm.Snapshot(d) {
			live[callIDString(ev.GlobalCallID)] = true
			apply(ev)
		}
	}
	outs, rec := reconcile(s.m, "gap-1", now)
	s.check(t, outs)
	t.Logf("before %d, reconciliation %+v", before, rec)
	if rec.Before != before || rec.Continued+rec.Ended != rec.Before || rec.Ended == 0 || rec.Continued == 0 || rec.Discovered == 0 {
		t.Errorf("reconciliation %+v with %d calls before: counts do not add up or miss a case", rec, before)
	}
	var tracked []string
	for _, c := range s.m.Calls() {
		tracked = append(tracked, c.CallID)
		if !live[c.CallID] {
			t.Errorf("call %s tracked after reconciliation but not live in the simulator", c.CallID)
		}
	}
	if len(tracked) != len(live) || rec.After != len(live) {
		t.Errorf("tracked %d calls (After %d), simulator has %d with legs on snapshotted devices", len(tracked), rec.After, len(live))
	}

	// Traffic goes on, then stops: every call ends.
	now = drive(t, tm, now, time.Minute, apply)
	if err := tm.SetRate(0, now); err != nil {
		t.Fatal(err)
	}
	drive(t, tm, now, 2*time.Minute, apply)
	if st := s.m.Stats(); st.Tracked != 0 {
		t.Errorf("stats %+v after the traffic stopped, want nothing tracked", st)
	}
}
