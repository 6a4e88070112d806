package callmodel

import (
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// A transfer or conference completed right after a failover, before the
// calls' snapshots: the feature and call-changed events name calls whose
// observation ended. The soak found the model reporting them (feature
// start, CiscoCallChangedEv, the moved leg's ConnCreatedEv…) before the
// surviving call's re-opening CallActiveEv; a consumer folding the stream
// (pkg/callstate) describes a re-opened call afresh from CallActiveEv on,
// so it lost the moved leg, and the later snapshot of that leg reported
// nothing (the model already knew it), so nothing brought it back.

// fold applies the model's events to a consumer's state, as the stream
// delivers them.
func fold(st *callstate.State, outs []Out) {
	for _, o := range outs {
		st.Apply(schema.Event{Family: o.Family, Entity: o.Entity, Name: o.Name, Time: o.Time, Data: o.Data})
	}
}

// connStates lists a folded call's connections as
// "address CALLCONTROLSTATE[/TERMINALCONNSTATE]".
func connStates(c callstate.Call) []string {
	var out []string
	for _, cn := range c.Connections {
		s := cn.Address + " " + cn.CallControlState
		for _, tc := range cn.TerminalConnections {
			s += "/" + tc.CallControlState
		}
		out = append(out, s)
	}
	return out
}

func TestFeatureAfterFailoverReopensCallsFirst(t *testing.T) {
	l := newTransferLegs()
	// C's leg in call 1 after a blind transfer, as the simulator sends it:
	// redirected by B.
	cBlind := leg{call: 1, ln: lnC, calling: lnA, called: lnB, curCalling: lnA, curCalled: lnC,
		lastRedirecting: lnB, reason: ctilink.ReasonRedirect}
	cConf := leg{call: 1, ln: lnC, calling: lnB, called: lnC}
	for _, tc := range []struct {
		name string
		// before: the wire events up to the loss; live: those after it,
		// before the snapshots; snaps: the snapshot of every device.
		before, live, snaps func(w *wire) []ctilink.Message
		// want: the folded call 1 once reconciled.
		want []string
	}{
		{
			name:   "blind transfer (C still ringing)",
			before: func(w *wire) []ctilink.Message { return consultUpTo(w, l, false) },
			live: func(w *wire) []ctilink.Message {
				return []ctilink.Message{
					feature(w, ctilink.FeatureTransfer, true, true),
					callChangedC(w),
					w.st(l.b2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
					w.st(l.b1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
					w.st(l.a1After, ctilink.CallStateRingback, 0),
					w.st(cBlind, ctilink.CallStateAccepted, 0),
					feature(w, ctilink.FeatureTransfer, false, true),
				}
			},
			snaps: func(w *wire) []ctilink.Message {
				return []ctilink.Message{
					snap(w.st(cBlind, ctilink.CallStateAccepted, 0)),
					snap(w.st(l.a1After, ctilink.CallStateRingback, 0)),
				}
			},
			want: []string{"1001 ESTABLISHED/TALKING", "1003 ALERTING/RINGING"},
		},
		{
			name:   "conference",
			before: func(w *wire) []ctilink.Message { return consultUpTo(w, l, true) },
			live: func(w *wire) []ctilink.Message {
				return []ctilink.Message{
					feature(w, ctilink.FeatureConference, true, false),
					callChangedC(w),
					w.st(l.b2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
					w.st(l.b1, ctilink.CallStateConnected, 0),
					w.st(l.a1, ctilink.CallStateConnected, 0),
					w.st(cConf, ctilink.CallStateConnected, 0),
					feature(w, ctilink.FeatureConference, false, false),
				}
			},
			snaps: func(w *wire) []ctilink.Message {
				return []ctilink.Message{
					snap(w.st(cConf, ctilink.CallStateConnected, 0)),
					snap(w.st(l.b1, ctilink.CallStateConnected, 0)),
					snap(w.st(l.a1, ctilink.CallStateConnected, 0)),
				}
			},
			want: []string{"1001 ESTABLISHED/TALKING", "1002 ESTABLISHED/TALKING", "1003 ESTABLISHED/TALKING"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &wire{}
			m := New(controlled(lnA, lnB, lnC))
			st := callstate.New()
			fold(st, applyAll(m, tc.before(w)))

			lost := time.Unix(1_800_000_000, 0).UTC()
			outs := m.EndObservation(lost)
			live := applyAll(m, tc.live(w))
			outs = append(outs, live...)
			// The live events told everything the snapshots confirm.
			if got := applyAll(m, tc.snaps(w)); len(got) != 0 {
				t.Errorf("the snapshots reported %d events, want none (nothing differs):\n\t%s", len(got), strings.Join(formatAll(got), "\n\t"))
			}
			rec, counts := reconcile(m, "gap-1", lost.Add(time.Second))
			outs = append(outs, rec...)
			if want := (Reconciliation{Before: 1, Continued: 1, After: 1}); counts != want {
				t.Errorf("Reconcile = %+v, want %+v", counts, want)
			}
			// Nothing follows a call's CallObservationEndedEv but its
			// re-opening.
			checkEvents(t, outs)
			got := formatAll(live)
			if len(got) == 0 || !strings.HasPrefix(got[0], "CallActiveEv 1 ") {
				t.Errorf("the first event after the loss is not call 1's re-opening:\n\t%s", strings.Join(got, "\n\t"))
			}

			fold(st, outs)
			c1, ok := st.Call("1")
			if !ok {
				t.Fatal("call 1 missing from the folded state")
			}
			if d := strings.Join(connStates(c1), ", "); d != strings.Join(tc.want, ", ") {
				t.Errorf("folded call 1 = %s, want %s", d, strings.Join(tc.want, ", "))
			}
			if c2, ok := st.Call("2"); ok {
				t.Errorf("consult call 2 still in the folded state: %+v", c2)
			}
		})
	}
}

// TestFeatureMarkSurvivesFirstSnapshot: a transfer starts right after the
// failover, then A's snapshot (call 1's first since the gap) arrives
// before the transfer completes. The snapshot replaces what was known
// before the gap, not the transfer that started since: the transfer's
// events keep the cause TRANSFER (212) and meta TRANSFERRING (134), as
// without a failover. Before, the snapshot cleared the mark and B's
// leaving call 1 read as a party leaving (REMOVING_PARTY 131).
func TestFeatureMarkSurvivesFirstSnapshot(t *testing.T) {
	l := newTransferLegs()
	w := &wire{}
	m := New(controlled(lnA, lnB, lnC))
	applyAll(m, consultUpTo(w, l, true))
	outs := m.EndObservation(time.Time{})
	outs = append(outs, applyAll(m, []ctilink.Message{
		feature(w, ctilink.FeatureTransfer, true, false),
		snap(w.st(l.a1, ctilink.CallStateConnected, 0)),
		callChangedC(w),
		w.st(l.b2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
	})...)
	left := applyAll(m, []ctilink.Message{w.st(l.b1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)})
	outs = append(outs, left...)
	outs = append(outs, applyAll(m, []ctilink.Message{
		w.st(l.a1After, ctilink.CallStateConnected, 0),
		w.st(l.c1After, ctilink.CallStateConnected, 0),
		feature(w, ctilink.FeatureTransfer, false, false),
	})...)
	checkEvents(t, outs)
	got := formatAll(left)
	// B is re-described as it was (held), then leaves with the
	// transfer's cause.
	diff(t, []string{
		"ConnCreatedEv 1 1002 IDLE/IDLE c100",
		"ConnConnectedEv 1 1002 CONNECTED/ESTABLISHED c100",
		"CallCtlConnEstablishedEv 1 1002 CONNECTED/ESTABLISHED c100",
		"TermConnCreatedEv 1 1002@SEPB IDLE/IDLE c100",
		"TermConnActiveEv 1 1002@SEPB ACTIVE/HELD c100",
		"CallCtlTermConnHeldEv 1 1002@SEPB ACTIVE/HELD c100",
		"TermConnDroppedEv 1 1002@SEPB DROPPED/DROPPED c100 m134",
		"CallCtlTermConnDroppedEv 1 1002@SEPB DROPPED/DROPPED c100/212 m134",
		"ConnDisconnectedEv 1 1002 DISCONNECTED/DISCONNECTED c100 m134",
		"CallCtlConnDisconnectedEv 1 1002 DISCONNECTED/DISCONNECTED c100/212 m134",
	}, got)
}
