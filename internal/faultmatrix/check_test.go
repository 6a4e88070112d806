package faultmatrix

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// These tests feed the Checker hand-made ground truth and stream (no
// simulator, no bridge) to pin the rules that excuse a frame without an
// event after a failover. Each reproduces a frame sequence the soak
// produced.

// scene builds ground truth and stream for the Checker: simulator
// sessions "ctim-a-1" (before the failover) and "ctim-b-2" (after),
// acted on by engine sessions "br-p1" and "br-p2".
type scene struct {
	c      *Checker
	stream uint64
	seq    map[string]uint64            // engine session → last SessionSeq
	ent    map[string]map[string]uint64 // engine session → call → last Sequence
}

func newScene() *scene {
	c := NewChecker()
	c.Details = true
	return &scene{c: c, seq: map[string]uint64{}, ent: map[string]map[string]uint64{}}
}

var t0 = time.Date(2026, 11, 22, 1, 0, 0, 0, time.UTC)

// state sends a call-state frame.
func (s *scene) state(sim string, seq uint32, call, handle uint32, st ctilink.CallState, snapshot bool) {
	cs := ctilink.CallStateEvent{Device: "SEP" + strconv.Itoa(int(handle)), Line: strconv.Itoa(int(handle)),
		CallHandle: handle, GlobalCallID: call, State: st, Snapshot: snapshot}
	if st == ctilink.CallStateDisconnected {
		cs.Cause = ctilink.CauseNormalCallClearing
	}
	s.c.AddFrame(Frame{Session: sim, Seq: seq, Type: ctilink.TypeCallState, Time: t0, CallState: &cs,
		Content: sceneContent(ctilink.TypeCallState, call, handle, uint32(st), snapshot)})
}

// sceneContent is a frame's content (Checker.HA): what it says, so that
// only the copies of one change in two sessions share it.
func sceneContent(t ctilink.MsgType, a, b, c uint32, snapshot bool) uint64 {
	v := uint64(t)<<56 | uint64(a)<<36 | uint64(b)<<16 | uint64(c)<<1
	if snapshot {
		v |= 1
	}
	return v
}

// changed sends a call-change frame moving leg handle from call orig to
// call surv.
func (s *scene) changed(sim string, seq uint32, orig, surv, handle uint32) {
	s.c.AddFrame(Frame{Session: sim, Seq: seq, Type: ctilink.TypeCallChanged, Time: t0, Calls: [2]uint32{orig, surv}, Handle: handle,
		Content: sceneContent(ctilink.TypeCallChanged, orig, surv, handle, false)})
}

// snapDone sends the SnapshotCompleted frame that completes the
// session's snapshots: the engine closes the gap on it (GapClosed names
// the frame).
func (s *scene) snapDone(sim string, seq uint32) { s.snapDoneIn("br-p2", sim, seq) }

// snapDoneIn is snapDone with GapClosed from engine session sess.
func (s *scene) snapDoneIn(sess, sim string, seq uint32) {
	s.c.AddFrame(Frame{Session: sim, Seq: seq, Type: ctilink.TypeSnapshotCompleted, Time: t0})
	s.bridgeEvent(sess, schema.EvGapClosed, sim, seq)
}

// gapOpened stores the GapOpened record of provider gap id (engine
// session sess, at the loss: no frame).
func (s *scene) gapOpened(sess, id string) {
	s.store(&schema.Event{Family: schema.FamilyBridge, Entity: "bridge", Name: schema.EvGapOpened, Session: sess, Time: t0,
		Data: schema.Data{Bridge: &schema.BridgeData{Gap: &schema.Gap{ID: id, Kind: "provider", Reason: "HEARTBEAT_MISSED"}}}})
}

// providerGapOpened stores the GapOpened record of a provider gap that
// engine session sess opened at at, for reason.
func (s *scene) providerGapOpened(sess, reason string, at time.Time) {
	gap := &schema.Gap{ID: "g1", Kind: "provider", Reason: reason, OpenedAt: at}
	s.store(&schema.Event{Family: schema.FamilyBridge, Entity: "bridge", Name: schema.EvGapOpened, Session: sess, Time: at,
		Data: schema.Data{Bridge: &schema.BridgeData{Gap: gap}}})
}

// haCall sends a call-state frame of leg handle (device SEP<handle>) of
// call at, with content as its HA identity.
func (s *scene) haCall(sim string, seq uint32, at time.Time, content uint64, call, handle uint32, st ctilink.CallState) {
	h := strconv.Itoa(int(handle))
	s.c.AddFrame(Frame{Session: sim, Seq: seq, Type: ctilink.TypeCallState, Time: at, Content: content,
		CallState: &ctilink.CallStateEvent{Device: "SEP" + h, Line: h, CallHandle: handle, GlobalCallID: call, State: st}})
}

// activeStoredCall9 is the start of the HA scenes: the active's session
// ctim-a-1 received call 9's first state at t0, and a-p1 stored it.
func (s *scene) activeStoredCall9() {
	s.haCall("ctim-a-1", 1, t0, 11, 9, 1, ctilink.CallStateDialTone)
	s.event("a-p1", schema.EvCallActive, 9, "ctim-a-1", 1)
}

// checkOneSessionOnly checks the report of a scene where a change only one
// member's session received: accounted for (counted by counted) when
// covered, lost otherwise.
func checkOneSessionOnly(t *testing.T, rep *Report, covered bool, counted int, what string) {
	t.Helper()
	if covered && (!rep.OK() || counted != 1) {
		t.Fatalf("%s, covered:\n%s", what, rep)
	}
	if !covered && (rep.OK() || rep.Lost != 1) {
		t.Fatalf("%s, not covered, must be lost:\n%s", what, rep)
	}
}

// store stores ev as the next event of its session: the stream, session
// and per-entity sequences are the scene's.
func (s *scene) store(ev *schema.Event) {
	s.stream++
	s.seq[ev.Session]++
	if s.ent[ev.Session] == nil {
		s.ent[ev.Session] = map[string]uint64{}
	}
	s.ent[ev.Session][ev.Entity]++
	ev.SessionSeq, ev.Sequence = s.seq[ev.Session], s.ent[ev.Session][ev.Entity]
	s.c.AddEvent(s.stream, schema.EventID(ev.Session, ev.SessionSeq), ev)
}

// bridgeEvent stores a bridge-family event (gap records) of engine
// session sess, derived from frame (sim:seq).
func (s *scene) bridgeEvent(sess, name, sim string, seq uint32) {
	ev := &schema.Event{Family: schema.FamilyBridge, Entity: "bridge", Name: name, Session: sess, Time: t0}
	if sim != "" {
		ev.Frame = sim + ":" + strconv.Itoa(int(seq))
	}
	s.store(ev)
}

// event stores an event of engine session sess about call, derived from
// frame (sim:seq).
func (s *scene) event(sess, name string, call uint32, sim string, seq uint32) {
	ev := &schema.Event{Family: schema.FamilyCall, Entity: strconv.Itoa(int(call)), Name: name, Session: sess, Time: t0}
	if sim != "" {
		ev.Frame = sim + ":" + strconv.Itoa(int(seq))
	}
	s.store(ev)
}

// before: call 8 (B's consult call to C, leg 20 ringing) and call 7 (A↔B,
// leg 10 A, leg 11 B) are up when ctim-a is lost.
func (s *scene) before() {
	s.state("ctim-a-1", 1, 7, 10, ctilink.CallStateConnected, false)
	s.event("br-p1", schema.EvCallActive, 7, "ctim-a-1", 1)
	s.state("ctim-a-1", 2, 7, 11, ctilink.CallStateOnHold, false)
	s.event("br-p1", schema.EvCallCtlTermConnHeld, 7, "ctim-a-1", 2)
	s.state("ctim-a-1", 3, 8, 20, ctilink.CallStateAccepted, false)
	s.event("br-p1", schema.EvCallActive, 8, "ctim-a-1", 3)
	s.event("br-p1", schema.EvCallObservationEnded, 7, "", 0)
	s.event("br-p1", schema.EvCallObservationEnded, 8, "", 0)
}

func checkReport(t *testing.T, s *scene) *Report {
	t.Helper()
	rep := s.c.Report()
	t.Logf("report:\n%s", rep)
	if !rep.OK() {
		t.Fatalf("check failed:\n%s", rep)
	}
	return rep
}

// TestCheckLegMovedByCallChange: a blind transfer completes right after
// the failover. The engine reports the call change (C's leg, ringing,
// moved into call 7, described there); C's live ACCEPTED in call 7 and
// its snapshot repeat that state: JTAPI reports nothing, the checker
// counts them as "no change" (legs described by a call change). Without
// the call change's events, the snapshot stays unexplained, and that
// fails the check.
func TestCheckLegMovedByCallChange(t *testing.T) {
	for _, reported := range []bool{true, false} {
		t.Run("call change reported "+strconv.FormatBool(reported), func(t *testing.T) {
			s := newScene()
			s.before()
			s.changed("ctim-b-2", 10, 8, 7, 20)
			if reported {
				s.event("br-p2", schema.EvCallActive, 7, "ctim-b-2", 10)
				s.event("br-p2", schema.EvCiscoCallChanged, 7, "ctim-b-2", 10)
				s.event("br-p2", schema.EvConnCreated, 7, "ctim-b-2", 10)
			}
			s.state("ctim-b-2", 11, 7, 20, ctilink.CallStateAccepted, false) // no event
			s.state("ctim-b-2", 12, 7, 20, ctilink.CallStateAccepted, true)  // no event
			s.snapDone("ctim-b-2", 13)
			s.state("ctim-b-2", 14, 7, 20, ctilink.CallStateConnected, false)
			s.event("br-p2", schema.EvConnConnected, 7, "ctim-b-2", 14)

			if reported {
				rep := checkReport(t, s)
				if rep.FramesNoChange != 2 || rep.FramesNoChangeMoved != 2 || rep.LostReconciling != 0 {
					t.Errorf("no change %d (moved %d), unexplained %d; want 2 (2), 0",
						rep.FramesNoChange, rep.FramesNoChangeMoved, rep.LostReconciling)
				}
				return
			}
			// The engine did not hold the leg: the live frame is "not yet
			// re-established", the snapshot (which would rebuild the leg)
			// has no rule, and the check fails.
			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if rep.OK() {
				t.Error("a frame no rule explains passed the check")
			}
			if rep.FramesNoChangeMoved != 0 || rep.FramesNotReestablished != 2 || rep.LostReconciling != 1 ||
				!strings.Contains(rep.ReconcilingList[0], "ctim-b-2:12 ") {
				t.Errorf("moved %d, not re-established %d, unexplained %d %v; want 0, 2 (the call change, the live frame), 1 (the snapshot)",
					rep.FramesNoChangeMoved, rep.FramesNotReestablished, rep.LostReconciling, rep.ReconcilingList)
			}
		})
	}
}

// TestCheckCallNeverKnown: after the failover, the first frame of B's
// leg (handle 40) of call 30 that the new session receives is its
// DISCONNECTED, before B's device's snapshot: the call began while the
// link was down, the leg's earlier frames never reached a session the
// engine read. Whether the call is unknown or known only from another
// leg's snapshot in this session (C, handle 41), the engine never
// described B's leg and nothing is owed. The same frame after the
// session's snapshots, after an earlier frame of the leg, or in a call
// read before the failover and not re-read since (the call itself is not
// re-established yet), is not excused by that rule. A call read before
// the failover and re-read in this session from C's snapshot (it was up
// across the gap; B's leg joined it during the gap — seen in
// TestHAFiftyHandovers/cold, where the gap is a hand-over) is excused
// like a call that began during the gap.
func TestCheckCallNeverKnown(t *testing.T) {
	const (
		none            = iota
		offered         // B's OFFERING, without event, before
		otherSnap       // C's snapshot of call 30 (with events) before
		otherBefore     // C's frame of call 30 read before the failover
		otherBeforeSnap // otherBefore, then otherSnap
	)
	for _, tc := range []struct {
		name                          string
		prior                         int
		afterSnapshots                bool
		unknown, lost, reconcile, not int
	}{
		{"call unknown, while reconciling", none, false, 1, 0, 0, 0},
		{"call known from another leg's snapshot", otherSnap, false, 1, 0, 0, 0},
		{"call unknown, after the snapshots", none, true, 0, 1, 0, 0},
		{"after the leg's OFFERING without event", offered, false, 0, 0, 2, 0},
		{"call read before the failover", otherBefore, false, 0, 0, 0, 1},
		{"call read before the failover, re-read from another leg's snapshot", otherBeforeSnap, false, 1, 0, 0, 0},
		{"call read before the failover, re-read, after the snapshots", otherBeforeSnap, true, 0, 1, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScene()
			s.before()
			if tc.prior == otherBefore || tc.prior == otherBeforeSnap {
				s.state("ctim-a-1", 4, 30, 41, ctilink.CallStateConnected, false)
				s.event("br-p1", schema.EvCallActive, 30, "ctim-a-1", 4)
			}
			if tc.afterSnapshots {
				s.snapDone("ctim-b-2", 5)
			}
			s.state("ctim-b-2", 10, 7, 10, ctilink.CallStateConnected, true)
			s.event("br-p2", schema.EvCallActive, 7, "ctim-b-2", 10)
			if !tc.afterSnapshots {
				s.snapDone("ctim-b-2", 20)
			}
			switch tc.prior {
			case offered:
				s.state("ctim-b-2", 11, 30, 40, ctilink.CallStateOffering, false)
			case otherSnap, otherBeforeSnap:
				s.state("ctim-b-2", 11, 30, 41, ctilink.CallStateAccepted, true)
				s.event("br-p2", schema.EvCallActive, 30, "ctim-b-2", 11)
			}
			s.state("ctim-b-2", 12, 30, 40, ctilink.CallStateDisconnected, false)
			s.state("ctim-b-2", 21, 7, 10, ctilink.CallStateOnHold, false)
			s.event("br-p2", schema.EvCallCtlTermConnHeld, 7, "ctim-b-2", 21)

			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if rep.FramesNeverKnown != tc.unknown || rep.Lost != tc.lost || rep.LostReconciling != tc.reconcile ||
				rep.FramesNotReestablished != tc.not {
				t.Errorf("never known %d, lost %d, unexplained while reconciling %d, not re-established %d; want %d, %d, %d, %d",
					rep.FramesNeverKnown, rep.Lost, rep.LostReconciling, rep.FramesNotReestablished,
					tc.unknown, tc.lost, tc.reconcile, tc.not)
			}
		})
	}
}

// TestCheckMovedLegNeverKnown: after the failover (a stalled CTIManager
// withheld the consult call's frames of C's leg), B's snapshot describes
// the consult call 8, then a blind transfer moves C's leg (handle 21) from
// call 8 to call 7 before C's device is snapshotted. The engine never
// heard of that leg: it reports nothing for the call change, and C's own
// frames in call 7 describe it. A call change of a leg read before (a
// frame of handle 21 in the old session), without events, is not excused
// by that rule.
func TestCheckMovedLegNeverKnown(t *testing.T) {
	for _, legRead := range []bool{false, true} {
		t.Run("leg read before "+strconv.FormatBool(legRead), func(t *testing.T) {
			s := newScene()
			s.state("ctim-a-1", 1, 7, 10, ctilink.CallStateConnected, false)
			s.event("br-p1", schema.EvCallActive, 7, "ctim-a-1", 1)
			if legRead {
				s.state("ctim-a-1", 2, 8, 21, ctilink.CallStateAccepted, false)
				s.event("br-p1", schema.EvCallActive, 8, "ctim-a-1", 2)
			}
			s.event("br-p1", schema.EvCallObservationEnded, 7, "", 0)
			// After the failover A's snapshot re-opens call 7, B's
			// describes call 8.
			s.state("ctim-b-2", 9, 7, 10, ctilink.CallStateConnected, true)
			s.event("br-p2", schema.EvCallActive, 7, "ctim-b-2", 9)
			s.state("ctim-b-2", 10, 8, 11, ctilink.CallStateRingback, true)
			s.event("br-p2", schema.EvCallActive, 8, "ctim-b-2", 10)
			s.changed("ctim-b-2", 11, 8, 7, 21) // no event
			s.state("ctim-b-2", 12, 7, 21, ctilink.CallStateAccepted, false)
			s.event("br-p2", schema.EvConnCreated, 7, "ctim-b-2", 12)
			s.snapDone("ctim-b-2", 13)
			s.state("ctim-b-2", 14, 7, 21, ctilink.CallStateConnected, false)
			s.event("br-p2", schema.EvConnConnected, 7, "ctim-b-2", 14)

			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			known, unexplained := 1, 0
			if legRead {
				known, unexplained = 0, 1
			}
			if rep.FramesNeverKnown != known || rep.LostReconciling != unexplained || rep.Lost != 0 {
				t.Errorf("never known %d, unexplained %d, lost %d; want %d, %d, 0",
					rep.FramesNeverKnown, rep.LostReconciling, rep.Lost, known, unexplained)
			}
		})
	}
}

// TestCheckMovedLegKnownToAnotherEngine: a cold high-availability group
// (Checker.HA). Tenure t1's engine read C's leg (handle 21) in the consult
// call 8, then released the lease; tenure t2's engine — a new engine,
// seeded with the calls the log held (no legs) — re-describes calls 7 and
// 8 by snapshot, and a blind transfer moves C's leg from 8 to 7 before C's
// device is snapshotted. t2's engine never heard of that leg: like a leg
// whose frames a failover withheld, it reports nothing for the call
// change, and C's own frames in call 7 describe it. The same sequence in
// one engine across a failover (its model still holds the leg: it reports
// the move) is still flagged, high-availability rules or not.
func TestCheckMovedLegKnownToAnotherEngine(t *testing.T) {
	for _, tc := range []struct {
		name         string
		before, next string // engine sessions before and after the hand-over
		known, unexp int
	}{
		{"another tenure's engine", "a-t1-p1", "b-t2-p1", 1, 0},
		{"the same engine after a failover", "a-t1-p1", "a-t1-p2", 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScene()
			s.c.HA = true
			s.state("ctim-a-1", 1, 7, 10, ctilink.CallStateConnected, false)
			s.event(tc.before, schema.EvCallActive, 7, "ctim-a-1", 1)
			s.state("ctim-a-1", 2, 8, 21, ctilink.CallStateAccepted, false)
			s.event(tc.before, schema.EvCallActive, 8, "ctim-a-1", 2)
			s.gapOpened(tc.before, "a-t1-gap1")
			s.bridgeEvent(tc.next, schema.EvProvInService, "ctim-a-2", 8)
			s.state("ctim-a-2", 9, 7, 10, ctilink.CallStateConnected, true)
			s.event(tc.next, schema.EvCallActive, 7, "ctim-a-2", 9)
			s.state("ctim-a-2", 10, 8, 11, ctilink.CallStateRingback, true)
			s.event(tc.next, schema.EvCallActive, 8, "ctim-a-2", 10)
			s.changed("ctim-a-2", 11, 8, 7, 21) // no event
			s.state("ctim-a-2", 12, 7, 21, ctilink.CallStateAccepted, false)
			s.event(tc.next, schema.EvConnCreated, 7, "ctim-a-2", 12)
			s.snapDoneIn(tc.next, "ctim-a-2", 13)
			s.state("ctim-a-2", 14, 7, 21, ctilink.CallStateConnected, false)
			s.event(tc.next, schema.EvConnConnected, 7, "ctim-a-2", 14)

			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if rep.FramesNeverKnown != tc.known || rep.LostReconciling != tc.unexp || rep.Lost != 0 || rep.FramesSeenByPeer != 0 {
				t.Errorf("never known %d, unexplained %d, lost %d, seen by a peer %d; want %d, %d, 0, 0",
					rep.FramesNeverKnown, rep.LostReconciling, rep.Lost, rep.FramesSeenByPeer, tc.known, tc.unexp)
			}
		})
	}
}

// The high-availability rules: two bridges' sessions receive the same
// change (frames with equal content). A takeover may split one frame's
// events between them (the predecessor stored the first, the successor
// recovered the rest): no duplicate, and the uncovered copy of another
// frame is accounted for by the covered one; the same event stored from
// both sessions is a duplicate.
func TestCheckerHACopiesAcrossBridges(t *testing.T) {
	build := func(bothStoreConnected bool) *Report {
		s := newScene()
		s.c.HA = true
		for _, sim := range []string{"ctim-a-1", "ctim-a-2"} {
			s.c.AddFrame(Frame{Session: sim, Seq: 1, Type: ctilink.TypeCallState, Time: t0, Content: 11,
				CallState: &ctilink.CallStateEvent{Device: "SEP1", Line: "1", CallHandle: 1, GlobalCallID: 9, State: ctilink.CallStateDialTone}})
			s.c.AddFrame(Frame{Session: sim, Seq: 2, Type: ctilink.TypeCallState, Time: t0, Content: 22,
				CallState: &ctilink.CallStateEvent{Device: "SEP1", Line: "1", CallHandle: 1, GlobalCallID: 9, State: ctilink.CallStateDialing}})
		}
		// a stored frame 1's first event; b the rest of it, and frame 2.
		s.event("a-p1", schema.EvCallActive, 9, "ctim-a-1", 1)
		s.event("b-p2", schema.EvConnConnected, 9, "ctim-a-2", 1)
		if bothStoreConnected {
			s.event("a-p1", schema.EvConnConnected, 9, "ctim-a-1", 1)
		}
		s.event("b-p2", schema.EvCallCtlConnDialing, 9, "ctim-a-2", 2)
		return s.c.Report()
	}
	rep := build(false)
	if !rep.OK() || rep.FramesSeenByPeer != 1 || rep.DuplicatedAcrossBridges != 0 {
		t.Fatalf("a frame split across a takeover:\n%s", rep)
	}
	rep = build(true)
	if rep.DuplicatedAcrossBridges != 1 || rep.OK() {
		t.Fatalf("an event stored from both sessions:\n%s", rep)
	}
}

// A hot standby's session that stored nothing itself: its copy of a
// change the active member stored is the peer's; its later frame repeating
// the leg's state (a snapshot answer, or a RINGBACK after the far end
// alerted) is no JTAPI change, for the standby's engine read the first one
// — and so the active member's copy of that second frame, past its last
// stored event, is accounted for too.
func TestCheckerHAStandbyRepeatsAStateThePeerStored(t *testing.T) {
	s := newScene()
	s.c.HA = true
	for _, sim := range []string{"ctim-a-1", "ctim-a-2"} {
		s.c.AddFrame(Frame{Session: sim, Seq: 1, Type: ctilink.TypeCallState, Time: t0, Content: 11,
			CallState: &ctilink.CallStateEvent{Device: "SEP1", Line: "1", CallHandle: 1, GlobalCallID: 9, State: ctilink.CallStateDialTone}})
		s.c.AddFrame(Frame{Session: sim, Seq: 2, Type: ctilink.TypeCallState, Time: t0, Content: 22,
			CallState: &ctilink.CallStateEvent{Device: "SEP1", Line: "1", CallHandle: 1, GlobalCallID: 9, State: ctilink.CallStateDialTone, Snapshot: true}})
	}
	s.event("a-p1", schema.EvCallActive, 9, "ctim-a-1", 1)
	if rep := s.c.Report(); !rep.OK() || rep.FramesWithEvents != 1 || rep.FramesSeenByPeer != 3 {
		t.Fatalf("a state the standby's engine already held:\n%s", rep)
	}
}

// A change that only a hot standby's session received (after a CTIManager
// failover the standby had reopened the device on the backup, the active
// bridge had not yet): inside the active's open provider gap it is covered
// by that gap; the same frame outside any gap is lost.
func TestCheckerHAStandbyOnlyChangeInsideTheActivesGap(t *testing.T) {
	for _, inGap := range []bool{true, false} {
		t.Run("in gap "+strconv.FormatBool(inGap), func(t *testing.T) {
			s := newScene()
			s.c.HA = true
			// The active's session stored frame 1 before the loss.
			s.activeStoredCall9()
			opened := t0.Add(time.Second)
			s.providerGapOpened("a-p1", "HEARTBEAT_MISSED", opened)
			// The standby's session on the backup, 2 s later: its copy only.
			at := opened.Add(2 * time.Second)
			if !inGap {
				at = opened.Add(-time.Minute)
			}
			s.haCall("ctim-b-2", 1, at, 33, 10, 2, ctilink.CallStateOffering)
			rep := s.c.Report()
			checkOneSessionOnly(t, rep, inGap, rep.FramesStandbyOnlyInGap, "a change only the standby received, in the active's gap "+strconv.FormatBool(inGap))
		})
	}
}

// The same after a hand-over: the member that stepped down keeps its
// provider, and a change only its session received after its last stored
// event (its successor's link had just failed, and the successor
// published that provider gap with what it recovered) is covered by the
// successor's gap; outside any gap it is lost.
func TestCheckerHAChangeAfterStepDownInsideTheSuccessorsGap(t *testing.T) {
	for _, inGap := range []bool{true, false} {
		t.Run("in gap "+strconv.FormatBool(inGap), func(t *testing.T) {
			s := newScene()
			s.c.HA = true
			// a's session stored frame 1, then a stepped down.
			s.activeStoredCall9()
			// b, the successor, lost its link just before: its gap.
			opened := t0.Add(time.Second)
			s.providerGapOpened("b-p1", "UNEXPECTEDSHUTDOWN", opened)
			// a's session received a new call after its last stored event.
			at := opened.Add(100 * time.Millisecond)
			if !inGap {
				at = opened.Add(-100 * time.Millisecond)
			}
			s.haCall("ctim-a-1", 2, at, 44, 10, 2, ctilink.CallStateDialing)
			rep := s.c.Report()
			checkOneSessionOnly(t, rep, inGap, rep.FramesStandbyOnlyInGap, "a change only the stepped-down member received, in its successor's gap "+strconv.FormatBool(inGap))
		})
	}
}

// A change that only a hot standby's session received, before the
// stream's first provider came into service (both members started
// together; the standby had opened the device first): the log begins
// with the active's provider, whose snapshot describes the call, so the
// change is accounted for; the same frame after that is lost.
func TestCheckerHAStandbyOnlyChangeBeforeTheLogBegins(t *testing.T) {
	for _, before := range []bool{true, false} {
		t.Run("before "+strconv.FormatBool(before), func(t *testing.T) {
			s := newScene()
			s.c.HA = true
			inService := t0.Add(time.Second)
			s.store(&schema.Event{Family: schema.FamilyProvider, Name: schema.EvProvInService, Session: "a-p1", Time: inService})
			s.haCall("ctim-a-1", 1, inService, 11, 9, 1, ctilink.CallStateDialTone)
			s.event("a-p1", schema.EvCallActive, 9, "ctim-a-1", 1)
			at := inService.Add(-500 * time.Millisecond)
			if !before {
				at = inService.Add(500 * time.Millisecond)
			}
			s.haCall("ctim-b-2", 1, at, 33, 10, 2, ctilink.CallStateDialTone)
			rep := s.c.Report()
			checkOneSessionOnly(t, rep, before, rep.FramesStandbyBeforeLog, "a change only the standby received, before the log began "+strconv.FormatBool(before))
		})
	}
}

// TestCheckSharedLineAppearanceOffered: a shared line's second appearance
// (another leg, same directory number, same call) is offered after the
// first: the address's Connection is OFFERED already and JTAPI has no
// terminal connection before ALERTING, so the frame has no event and is
// "no change". The same frame for an address not yet read is lost.
func TestCheckSharedLineAppearanceOffered(t *testing.T) {
	for _, shared := range []bool{true, false} {
		t.Run("shared "+strconv.FormatBool(shared), func(t *testing.T) {
			s := newScene()
			appearance := func(seq uint32, handle uint32, st ctilink.CallState) {
				cs := ctilink.CallStateEvent{Device: "SEP" + strconv.Itoa(int(handle)), Line: "2005",
					CallHandle: handle, GlobalCallID: 7, State: st}
				s.c.AddFrame(Frame{Session: "ctim-a-1", Seq: seq, Type: ctilink.TypeCallState, Time: t0, CallState: &cs})
			}
			if shared {
				appearance(1, 11, ctilink.CallStateOffering)
				s.event("br-p1", schema.EvCallActive, 7, "ctim-a-1", 1)
			}
			appearance(2, 12, ctilink.CallStateOffering) // no event
			appearance(3, 12, ctilink.CallStateAccepted)
			s.event("br-p1", schema.EvTermConnCreated, 7, "ctim-a-1", 3)
			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if shared && (!rep.OK() || rep.FramesNoChange != 1) {
				t.Errorf("shared appearance: ok %v, no change %d; want ok, 1", rep.OK(), rep.FramesNoChange)
			}
			if !shared && (rep.OK() || rep.Lost != 1) {
				t.Errorf("unshared: ok %v, lost %d; want a failure, 1 lost", rep.OK(), rep.Lost)
			}
		})
	}
}

// TestCheckRoutePointLegNeverKnown: a call reached route point R while
// the link was down; after the failover R's snapshot never comes (route
// points get none), so R's DISCONNECTED at the route-select timeout, after
// the session's snapshots, has no Connection to end: "never known". The
// same frame for a phone's leg after the snapshots is lost.
func TestCheckRoutePointLegNeverKnown(t *testing.T) {
	for _, rp := range []bool{true, false} {
		t.Run("route point "+strconv.FormatBool(rp), func(t *testing.T) {
			s := newScene()
			if rp {
				s.c.RoutePoints = map[string]bool{"SEP40": true}
			}
			s.before()
			s.snapDone("ctim-b-2", 20)
			s.state("ctim-b-2", 21, 30, 40, ctilink.CallStateDisconnected, false) // no event
			s.state("ctim-b-2", 22, 7, 10, ctilink.CallStateConnected, false)
			s.event("br-p2", schema.EvCallActive, 7, "ctim-b-2", 22)
			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if rp && (!rep.OK() || rep.FramesNeverKnown != 1) {
				t.Errorf("route point: ok %v, never known %d; want ok, 1", rep.OK(), rep.FramesNeverKnown)
			}
			if !rp && (rep.OK() || rep.Lost != 1) {
				t.Errorf("phone: ok %v, lost %d; want a failure, 1 lost", rep.OK(), rep.Lost)
			}
		})
	}
}

// TestCheckSharedLineReconfirmedByOtherAppearance: a shared line 2005 on
// two phones is in a call (one appearance TALKING, the other INUSE) when
// the CTIManager is lost. After the failover a live event of the first
// appearance re-opens the call and re-describes the whole Connection,
// the second appearance's terminal connection included; that
// appearance's snapshot then changes nothing: "no JTAPI change".
func TestCheckSharedLineReconfirmedByOtherAppearance(t *testing.T) {
	s := newScene()
	appearance := func(sim string, seq uint32, handle uint32, st ctilink.CallState, snapshot bool) {
		cs := ctilink.CallStateEvent{Device: "SEP" + strconv.Itoa(int(handle)), Line: "2005",
			CallHandle: handle, GlobalCallID: 7, State: st, Snapshot: snapshot}
		s.c.AddFrame(Frame{Session: sim, Seq: seq, Type: ctilink.TypeCallState, Time: t0, CallState: &cs})
	}
	appearance("ctim-a-1", 1, 11, ctilink.CallStateConnected, false)
	s.event("br-p1", schema.EvCallActive, 7, "ctim-a-1", 1)
	appearance("ctim-a-1", 2, 12, ctilink.CallStateRemoteInUse, false)
	s.event("br-p1", schema.EvCallCtlTermConnInUse, 7, "ctim-a-1", 2)
	s.event("br-p1", schema.EvCallObservationEnded, 7, "", 0)
	appearance("ctim-b-2", 10, 11, ctilink.CallStateOnHold, false)
	s.event("br-p2", schema.EvCallActive, 7, "ctim-b-2", 10)
	appearance("ctim-b-2", 11, 12, ctilink.CallStateRemoteInUse, true) // no event
	s.snapDone("ctim-b-2", 12)
	appearance("ctim-b-2", 13, 11, ctilink.CallStateConnected, false)
	s.event("br-p2", schema.EvCallCtlTermConnTalking, 7, "ctim-b-2", 13)
	rep := s.c.Report()
	t.Logf("report:\n%s", rep)
	if !rep.OK() || rep.FramesNoChange != 1 {
		t.Errorf("ok %v, no change %d; want ok, 1", rep.OK(), rep.FramesNoChange)
	}
}

// TestCheckLinkNeverBackInService reproduces what TestNATSDownUnderLoad
// once reported as a lost frame: ctim-a closed the provider
// (HEARTBEAT_MISSED) and the gap opened; the bridge was stopped while the
// new link to ctim-b was still opening its devices. A call frame that
// arrived meanwhile was held back (no call event may precede
// ProvInServiceEv) and discarded with the link: the provider never came
// back into service, the gap is still open at the end of the stream, and
// that open gap covers the frame — it is counted in the provider gaps
// (on a link never back in service), not lost. The same frame is not
// excused once the provider did come back in service on that link (the
// engine applied it: it had to report it), nor without a gap open when
// the link began.
func TestCheckLinkNeverBackInService(t *testing.T) {
	for _, tc := range []struct {
		name                string
		inService, gapOpen  bool
		inGap, lost, unexpl int
	}{
		{"never back in service, gap open", false, true, 1, 0, 0},
		{"back in service, gap open", true, true, 0, 0, 1},
		{"never back in service, no gap open", false, false, 0, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScene()
			s.before()
			if tc.gapOpen {
				s.gapOpened("br-p1", "br-gap1")
			}
			// ProviderOpenResponse, then (opens answered) ProvInServiceEv.
			s.bridgeEvent("br-p2", schema.EvCTIManagerConnected, "ctim-b-2", 1)
			if tc.inService {
				s.bridgeEvent("br-p2", schema.EvProvInService, "ctim-b-2", 4)
			}
			// A call that began while the link was down: ringing at B.
			s.state("ctim-b-2", 5, 50, 60, ctilink.CallStateOffering, false) // no event
			// Close: ProviderClosed.
			s.bridgeEvent("br-p2", schema.EvCTIManagerLost, "ctim-b-2", 8)
			s.bridgeEvent("br-p2", schema.EvProvShutdown, "ctim-b-2", 8)

			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if rep.FramesInGap != tc.inGap || rep.FramesNotBackInService != tc.inGap || rep.Lost != tc.lost || rep.LostReconciling != tc.unexpl {
				t.Errorf("in provider gaps %d (never back in service %d), lost %d, unexplained while reconciling %d; want %d (%d), %d, %d",
					rep.FramesInGap, rep.FramesNotBackInService, rep.Lost, rep.LostReconciling, tc.inGap, tc.inGap, tc.lost, tc.unexpl)
			}
			if ok := tc.inGap == 1; rep.OK() != ok {
				t.Errorf("check ok %v, want %v", rep.OK(), ok)
			}
		})
	}
}

// TestCheckStreamEndsWhileReconciling: the bridge stops while the new
// session is still snapshotting (some SnapshotCompleted sent, not all;
// the gap never closed). A live DISCONNECTED of a leg that began during
// the gap, after the last SnapshotCompleted sent, is still inside the
// reconciliation: "never known", as before the last snapshot. Once the
// gap closed on the session the same frame is lost.
func TestCheckStreamEndsWhileReconciling(t *testing.T) {
	for _, closed := range []bool{false, true} {
		t.Run("gap closed "+strconv.FormatBool(closed), func(t *testing.T) {
			s := newScene()
			s.before()
			s.state("ctim-b-2", 10, 7, 10, ctilink.CallStateConnected, true)
			s.event("br-p2", schema.EvCallActive, 7, "ctim-b-2", 10)
			if closed {
				s.snapDone("ctim-b-2", 11)
			} else {
				// One device's snapshot completed, others pending.
				s.c.AddFrame(Frame{Session: "ctim-b-2", Seq: 11, Type: ctilink.TypeSnapshotCompleted, Time: t0})
			}
			s.state("ctim-b-2", 12, 30, 40, ctilink.CallStateDisconnected, false) // no event
			s.state("ctim-b-2", 13, 7, 10, ctilink.CallStateOnHold, false)
			s.event("br-p2", schema.EvCallCtlTermConnHeld, 7, "ctim-b-2", 13)
			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			known, lost := 1, 0
			if closed {
				known, lost = 0, 1
			}
			if rep.FramesNeverKnown != known || rep.Lost != lost {
				t.Errorf("never known %d, lost %d; want %d, %d", rep.FramesNeverKnown, rep.Lost, known, lost)
			}
		})
	}
}

// TestCheckCallsUpAtStart: a bridge (or HA member) that waited for NATS
// opens its first provider session while calls are up. Call 30 ends
// before that session's snapshots describe it: the bridge never knew it,
// and with CallsUpAtStart that DISCONNECTED is "leg never known". After
// the last SnapshotCompleted, or without CallsUpAtStart, the same
// unexplained frame is a loss.
func TestCheckCallsUpAtStart(t *testing.T) {
	for _, tc := range []struct {
		name          string
		upAtStart     bool
		afterSnapshot bool
		known, lost   int
	}{
		{"calls up, before the snapshots", true, false, 1, 0},
		{"calls up, after the snapshots", true, true, 0, 1},
		{"no calls up at start", false, false, 0, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newScene()
			s.c.CallsUpAtStart = tc.upAtStart
			s.state("ctim-a-1", 1, 7, 10, ctilink.CallStateConnected, true)
			s.event("br-p1", schema.EvCallActive, 7, "ctim-a-1", 1)
			seq := uint32(2)
			if tc.afterSnapshot {
				s.c.AddFrame(Frame{Session: "ctim-a-1", Seq: seq, Type: ctilink.TypeSnapshotCompleted, Time: t0})
				seq++
			}
			s.state("ctim-a-1", seq, 30, 40, ctilink.CallStateDisconnected, false) // no event
			if !tc.afterSnapshot {
				s.c.AddFrame(Frame{Session: "ctim-a-1", Seq: seq + 1, Type: ctilink.TypeSnapshotCompleted, Time: t0})
			}
			s.state("ctim-a-1", seq+2, 7, 10, ctilink.CallStateOnHold, false)
			s.event("br-p1", schema.EvCallCtlTermConnHeld, 7, "ctim-a-1", seq+2)
			rep := s.c.Report()
			t.Logf("report:\n%s", rep)
			if rep.FramesNeverKnown != tc.known || rep.Lost != tc.lost {
				t.Errorf("never known %d, lost %d; want %d, %d", rep.FramesNeverKnown, rep.Lost, tc.known, tc.lost)
			}
		})
	}
}
