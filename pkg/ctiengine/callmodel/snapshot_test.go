package callmodel

import (
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

func snap(ev ctilink.CallStateEvent) ctilink.CallStateEvent {
	ev.Snapshot = true
	return ev
}

// failoverSetup: call 1 A↔B connected with A holding; call 2 C calling an
// uncontrolled E, ringing. Lines A, B, C are controlled.
func failoverSetup(w *wire) (msgs []ctilink.Message, a1, b1 leg) {
	lnE := line{"9999", ""}
	_, a1, b1 = setup(1, lnA, lnB)
	cd, c2, _ := setup(2, lnC, lnE)
	msgs = append(connect(w, 1, lnA, lnB),
		w.st(a1, ctilink.CallStateOnHold, 0),
		w.st(cd, ctilink.CallStateDialTone, 0),
		w.st(c2, ctilink.CallStateDialing, 0),
		w.st(c2, ctilink.CallStateProceeding, 0),
		w.st(c2, ctilink.CallStateRingback, 0))
	return msgs, a1, b1
}

// TestSnapshotAfterFailover: observation ends on every call; the snapshot
// rebuilds call 1 (both lines, A still held) with SNAPSHOT causes,
// reports call 3 that began during the gap and not call 2 that ended;
// Reconcile infers the end of call 2 and the discovery of call 3; live
// events then continue on the rebuilt call.
func TestSnapshotAfterFailover(t *testing.T) {
	w := &wire{}
	cfg := controlled(lnA, lnB, lnC)
	m := New(cfg)
	setupMsgs, a1, b1 := failoverSetup(w)
	for _, msg := range setupMsgs {
		m.Apply(msg)
	}
	if got := len(m.Calls()); got != 2 {
		t.Fatalf("tracked calls before the gap = %d, want 2", got)
	}

	lost := time.Unix(1_800_000_000, 0).UTC()
	var outs []Out
	outs = append(outs, m.EndObservation(lost)...)
	// A second loss before the snapshot must not end observation twice.
	outs = append(outs, m.EndObservation(lost.Add(time.Second))...)

	lnF := line{"8888", ""}
	c3 := leg{call: 3, ln: lnC, origin: true, calling: lnC, called: lnF}
	for _, msg := range []ctilink.Message{
		snap(w.st(a1, ctilink.CallStateOnHold, 0)),
		snap(w.st(b1, ctilink.CallStateConnected, 0)),
		snap(w.st(c3, ctilink.CallStateConnected, 0)),
	} {
		outs = append(outs, m.Apply(msg)...)
	}
	recOuts, rec := reconcile(m, "gap-1", lost.Add(2*time.Second))
	outs = append(outs, recOuts...)
	// Live again: A resumes the call.
	outs = append(outs, m.Apply(w.st(a1, ctilink.CallStateConnected, 0))...)
	checkEvents(t, outs)

	diff(t, []string{
		"CallObservationEndedEv 1 c100",
		"CallObservationEndedEv 2 c100",
		// Call 1 rebuilt from A's snapshot, then B's.
		"CallActiveEv 1 c110 m135 snap",
		"ConnCreatedEv 1 1001 IDLE/IDLE c110 m135 snap",
		"ConnConnectedEv 1 1001 CONNECTED/ESTABLISHED c110 m135 snap",
		"CallCtlConnEstablishedEv 1 1001 CONNECTED/ESTABLISHED c110 m135 snap",
		"TermConnCreatedEv 1 1001@SEPA IDLE/IDLE c110 m135 snap",
		"TermConnActiveEv 1 1001@SEPA ACTIVE/HELD c110 m135 snap",
		"CallCtlTermConnHeldEv 1 1001@SEPA ACTIVE/HELD c110 m135 snap",
		"ConnCreatedEv 1 1002 IDLE/IDLE c110 m135 snap",
		"ConnConnectedEv 1 1002 CONNECTED/ESTABLISHED c110 m135 snap",
		"CallCtlConnEstablishedEv 1 1002 CONNECTED/ESTABLISHED c110 m135 snap",
		"TermConnCreatedEv 1 1002@SEPB IDLE/IDLE c110 m135 snap",
		"TermConnActiveEv 1 1002@SEPB ACTIVE/TALKING c110 m135 snap",
		"CallCtlTermConnTalkingEv 1 1002@SEPB ACTIVE/TALKING c110 m135 snap",
		// Call 3, unknown before: C's connection, then its uncontrolled
		// far party from the snapshot's parties.
		"CallActiveEv 3 c110 m135 snap",
		"ConnCreatedEv 3 1003 IDLE/IDLE c110 m135 snap",
		"ConnConnectedEv 3 1003 CONNECTED/ESTABLISHED c110 m135 snap",
		"CallCtlConnEstablishedEv 3 1003 CONNECTED/ESTABLISHED c110 m135 snap",
		"TermConnCreatedEv 3 1003@SEPC IDLE/IDLE c110 m135 snap",
		"TermConnActiveEv 3 1003@SEPC ACTIVE/TALKING c110 m135 snap",
		"CallCtlTermConnTalkingEv 3 1003@SEPC ACTIVE/TALKING c110 m135 snap",
		"ConnCreatedEv 3 8888 IDLE/IDLE c110 m135 snap",
		"ConnConnectedEv 3 8888 CONNECTED/ESTABLISHED c110 m135 snap",
		"CallCtlConnEstablishedEv 3 8888 CONNECTED/ESTABLISHED c110 m135 snap",
		// Reconcile.
		"CallEndedDuringGap 2 gap=gap-1 inferred",
		"CallDiscoveredBySnapshot 3 gap=gap-1 inferred",
		// Live: A resumes.
		"CallCtlTermConnTalkingEv 1 1001@SEPA ACTIVE/TALKING c100/214 m129",
	}, formatAll(outs))

	if want := (Reconciliation{Before: 2, After: 2, Ended: 1, Discovered: 1, Continued: 1}); rec != want {
		t.Errorf("Reconcile = %+v, want %+v", rec, want)
	}
	for _, o := range outs {
		if o.Data.Inferred && (o.Data.Call == nil || o.Data.Call.GapID != "gap-1" || !o.Time.Equal(lost.Add(2*time.Second))) {
			t.Errorf("inferred event %s lacks gap id or time: %+v", o.Name, o.Data.Call)
		}
		if o.Data.Snapshot && (o.Data.Cause != 110 || o.Data.MetaCode != 135) {
			t.Errorf("snapshot event %s has cause %d meta %d", o.Name, o.Data.Cause, o.Data.MetaCode)
		}
	}
	if o := outs[0]; !o.Time.Equal(lost) {
		t.Errorf("CallObservationEndedEv time = %v, want %v", o.Time, lost)
	}
	wantCalls := []CallView{
		{CallID: "1", State: "ACTIVE", Connections: []ConnView{
			{Address: "1001", State: "CONNECTED", CallControlState: "ESTABLISHED", Terminal: "SEPA", TermConnState: "ACTIVE", TermConnCCState: "TALKING"},
			{Address: "1002", State: "CONNECTED", CallControlState: "ESTABLISHED", Terminal: "SEPB", TermConnState: "ACTIVE", TermConnCCState: "TALKING"},
		}},
		{CallID: "3", State: "ACTIVE", Connections: []ConnView{
			{Address: "1003", State: "CONNECTED", CallControlState: "ESTABLISHED", Terminal: "SEPC", TermConnState: "ACTIVE", TermConnCCState: "TALKING"},
			{Address: "8888", State: "CONNECTED", CallControlState: "ESTABLISHED"},
		}},
	}
	if d := cmp.Diff(wantCalls, m.Calls(), cmpopts.IgnoreFields(ConnView{}, "TerminalConnections")); d != "" {
		t.Errorf("Calls() (-want +got):\n%s", d)
	}
	// A second Reconcile finds nothing left to infer.
	if outs, rec := reconcile(m, "gap-2", lost); len(outs) != 0 || rec != (Reconciliation{After: 2}) {
		t.Errorf("second Reconcile = %v, %+v; want nothing, After 2", formatAll(outs), rec)
	}
}

// TestSnapshotOfKnownCall: a snapshot for a call the model tracks without
// any interruption since the call began is not a rebuild: only what
// differs is reported (A was held meanwhile), with snapshot causes, and
// the call is not "discovered".
func TestSnapshotOfKnownCall(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB))
	for _, msg := range connect(w, 1, lnA, lnB) {
		m.Apply(msg)
	}
	_, a1, b1 := setup(1, lnA, lnB)
	outs := m.Apply(snap(w.st(a1, ctilink.CallStateOnHold, 0)))
	outs = append(outs, m.Apply(snap(w.st(b1, ctilink.CallStateConnected, 0)))...)
	diff(t, []string{
		"CallCtlTermConnHeldEv 1 1001@SEPA ACTIVE/HELD c110 m135 snap",
	}, formatAll(outs))
	if _, rec := reconcile(m, "g", time.Time{}); rec != (Reconciliation{After: 1}) {
		t.Errorf("Reconcile = %+v, want only After 1", rec)
	}
	// A snapshot never reports a disconnected leg; one that does is ignored.
	if outs := m.Apply(snap(w.st(a1, ctilink.CallStateDisconnected, 16))); len(outs) != 0 {
		t.Errorf("snapshot DISCONNECTED produced %v", formatAll(outs))
	}
}

// TestSnapshotOfCallStartedAfterLoss: a call that began after the loss
// (live events already reported it) is not rebuilt by its snapshot;
// a call known from before the loss is, even when live events for it
// arrived first.
func TestSnapshotOfCallStartedAfterLoss(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB, lnC, lnD))
	applyAll(m, connect(w, 1, lnA, lnB))
	m.EndObservation(time.Time{})
	applyAll(m, connect(w, 2, lnC, lnD))
	_, c2, _ := setup(2, lnC, lnD)
	_, a1, _ := setup(1, lnA, lnB)
	outs := m.Apply(snap(w.st(c2, ctilink.CallStateConnected, 0)))
	if len(outs) != 0 {
		t.Errorf("snapshot of a current call produced %v", formatAll(outs))
	}
	outs = m.Apply(snap(w.st(a1, ctilink.CallStateConnected, 0)))
	if len(outs) == 0 || outs[0].Name != "CallActiveEv" || !outs[0].Data.Snapshot {
		t.Errorf("snapshot of a call from before the loss: %v, want a rebuild", formatAll(outs))
	}
	if _, rec := reconcile(m, "g", time.Time{}); rec != (Reconciliation{Before: 1, Continued: 1, After: 2}) {
		t.Errorf("Reconcile = %+v", rec)
	}
}

// TestReconcileAllEnded: nothing reported after the gap: every call known
// before ended during it, in call id order.
func TestReconcileAllEnded(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB, lnC, lnD))
	for _, msg := range append(connect(w, 5, lnC, lnD), connect(w, 4, lnA, lnB)...) {
		m.Apply(msg)
	}
	m.EndObservation(time.Time{})
	outs, rec := reconcile(m, "g7", time.Time{})
	diff(t, []string{
		"CallEndedDuringGap 4 gap=g7 inferred",
		"CallEndedDuringGap 5 gap=g7 inferred",
	}, formatAll(outs))
	if want := (Reconciliation{Before: 2, Ended: 2}); rec != want {
		t.Errorf("Reconcile = %+v, want %+v", rec, want)
	}
	if st := m.Stats(); st.Tracked != 0 {
		t.Errorf("Tracked = %d after all calls ended", st.Tracked)
	}
	// Their stragglers do not resurrect them.
	_, a, _ := setup(4, lnA, lnB)
	if outs := m.Apply(w.st(a, ctilink.CallStateConnected, 0)); len(outs) != 0 {
		t.Errorf("event for a call ended during the gap produced %v", formatAll(outs))
	}
}

// TestLiveEventDuringGapContinuesCall: a live event for a call before its
// snapshot arrives proves the call continued.
func TestLiveEventDuringGapContinuesCall(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB))
	for _, msg := range connect(w, 1, lnA, lnB) {
		m.Apply(msg)
	}
	m.EndObservation(time.Time{})
	_, a, _ := setup(1, lnA, lnB)
	m.Apply(w.st(a, ctilink.CallStateOnHold, 0))
	if _, rec := reconcile(m, "g", time.Time{}); rec != (Reconciliation{Before: 1, Continued: 1, After: 1}) {
		t.Errorf("Reconcile = %+v", rec)
	}
}

// TestAppendApplyReusesTheCallersSlice: AppendApply yields exactly Apply's
// events after what dst held, in dst's memory when it has room, so the
// engine's one slice serves every wire event.
func TestAppendApplyReusesTheCallersSlice(t *testing.T) {
	wa, wb := &wire{}, &wire{}
	byApply, byAppend := New(controlled(lnA, lnB)), New(controlled(lnA, lnB))
	var want []Out
	for _, msg := range connect(wa, 1, lnA, lnB) {
		want = append(want, byApply.Apply(msg)...)
	}
	buf := make([]Out, 0, 64)
	var got []Out
	for _, msg := range connect(wb, 1, lnA, lnB) {
		buf = byAppend.AppendApply(buf[:0], msg)
		if cap(buf) != 64 {
			t.Fatalf("AppendApply grew a slice with room (cap %d)", cap(buf))
		}
		got = append(got, buf...)
	}
	diff(t, formatAll(want), formatAll(got))
	if len(got) == 0 {
		t.Fatal("a connected call produced no events")
	}
	_, a1, _ := setup(1, lnA, lnB)
	prefix := []Out{{Name: "kept"}}
	out := byAppend.AppendApply(prefix, snap(wb.st(a1, ctilink.CallStateOnHold, 0)))
	if len(out) < 2 || out[0].Name != "kept" {
		t.Errorf("AppendApply lost what dst held: %v", formatAll(out))
	}
}
