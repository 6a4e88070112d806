package callmodel

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// After a failover the engine snapshots device after device and applies
// live events in between. A call's first snapshot event must not drop a
// connection that live events taught the model since the loss (the soak's
// unreported route point DISCONNECTED frames came from that).

// TestSnapshotKeepsLiveLearnedConnection: call 1 A↔B is up across the
// loss; after it C (a third controlled line, on its own device) is offered
// the call by a live event, before or between A's and B's snapshots. C's
// connection survives the snapshots and Reconcile, is announced once, and
// its later ACCEPTED and DISCONNECTED are reported.
func TestSnapshotKeepsLiveLearnedConnection(t *testing.T) {
	for _, tc := range []struct {
		name string
		// liveAfter: how many of the two snapshot events precede C's
		// live OFFERING. Before the fix the first case lost C (the call's
		// first snapshot event rebuilt it without C).
		liveAfter int
	}{
		{"live before the call's first snapshot", 0},
		{"live between the two devices' snapshots", 1},
		{"live after both snapshots", 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &wire{}
			m := New(controlled(lnA, lnB, lnC))
			applyAll(m, connect(w, 1, lnA, lnB))
			_, a1, b1 := setup(1, lnA, lnB)
			c1 := leg{call: 1, ln: lnC, calling: lnA, called: lnC}

			lost := time.Unix(1_800_000_000, 0).UTC()
			outs := m.EndObservation(lost)
			snaps := []ctilink.Message{
				snap(w.st(a1, ctilink.CallStateConnected, 0)),
				snap(w.st(b1, ctilink.CallStateConnected, 0)),
			}
			outs = append(outs, applyAll(m, snaps[:tc.liveAfter])...)
			outs = append(outs, m.Apply(w.st(c1, ctilink.CallStateOffering, 0))...)
			outs = append(outs, applyAll(m, snaps[tc.liveAfter:])...)
			rec, counts := reconcile(m, "gap-1", lost.Add(time.Second))
			outs = append(outs, rec...)
			if want := (Reconciliation{Before: 1, Continued: 1, After: 1}); counts != want {
				t.Errorf("Reconcile = %+v, want %+v", counts, want)
			}
			if got := m.Calls(); len(got) != 1 || len(got[0].Connections) != 3 ||
				!slices.ContainsFunc(got[0].Connections, func(c ConnView) bool {
					return c.Address == lnC.dn && c.CallControlState == "OFFERED"
				}) {
				t.Fatalf("after Reconcile the call is %+v, want A, B and C (OFFERED)", got)
			}
			live := applyAll(m, []ctilink.Message{
				w.st(c1, ctilink.CallStateAccepted, 0),
				w.st(c1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
			})
			outs = append(outs, live...)
			checkEvents(t, outs)

			got := formatAll(outs)
			if n := count(got, "ConnCreatedEv 1 1003 "); n != 1 {
				t.Errorf("C's connection announced %d times, want once:\n\t%s", n, strings.Join(got, "\n\t"))
			}
			for _, name := range []string{"ConnCreatedEv 1 1001 ", "ConnCreatedEv 1 1002 ", "CallActiveEv 1 "} {
				if n := count(got, name); n != 1 {
					t.Errorf("%q appears %d times after the loss, want once (re-described):\n\t%s", name, n, strings.Join(got, "\n\t"))
				}
			}
			diff(t, []string{
				"ConnAlertingEv 1 1003 ALERTING/ALERTING c100 m128",
				"CallCtlConnAlertingEv 1 1003 ALERTING/ALERTING c100 m128",
				"TermConnCreatedEv 1 1003@SEPC IDLE/IDLE c100 m128",
				"TermConnRingingEv 1 1003@SEPC RINGING/RINGING c100 m128",
				"CallCtlTermConnRingingEv 1 1003@SEPC RINGING/RINGING c100 m128",
				"TermConnDroppedEv 1 1003@SEPC DROPPED/DROPPED c100 m131",
				"CallCtlTermConnDroppedEv 1 1003@SEPC DROPPED/DROPPED c100 m131",
				"ConnDisconnectedEv 1 1003 DISCONNECTED/DISCONNECTED c100 m131",
				"CallCtlConnDisconnectedEv 1 1003 DISCONNECTED/DISCONNECTED c100 m131",
			}, formatAll(live))
		})
	}
}

// TestLiveEventConfirmsStaleConnection: B holds the call after the loss,
// before any snapshot of it. The live event re-opens the call and
// re-describes B's connection (it was known before the gap); A's snapshot
// then does not drop it, and B's own snapshot (held) reports nothing new.
func TestLiveEventConfirmsStaleConnection(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB))
	applyAll(m, connect(w, 1, lnA, lnB))
	_, a1, b1 := setup(1, lnA, lnB)
	outs := m.EndObservation(time.Time{})
	outs = append(outs, applyAll(m, []ctilink.Message{
		w.st(b1, ctilink.CallStateOnHold, 0),
		snap(w.st(a1, ctilink.CallStateConnected, 0)),
		snap(w.st(b1, ctilink.CallStateOnHold, 0)),
	})...)
	rec, counts := reconcile(m, "g", time.Time{})
	outs = append(outs, rec...)
	outs = append(outs, m.Apply(w.st(b1, ctilink.CallStateConnected, 0))...)
	checkEvents(t, outs)
	diff(t, []string{
		"CallObservationEndedEv 1 c100",
		// B's live ONHOLD re-opens the call and re-describes B as it was.
		"CallActiveEv 1 c100 m129",
		"ConnCreatedEv 1 1002 IDLE/IDLE c100",
		"ConnConnectedEv 1 1002 CONNECTED/ESTABLISHED c100",
		"CallCtlConnEstablishedEv 1 1002 CONNECTED/ESTABLISHED c100",
		"TermConnCreatedEv 1 1002@SEPB IDLE/IDLE c100",
		"TermConnActiveEv 1 1002@SEPB ACTIVE/TALKING c100",
		"CallCtlTermConnTalkingEv 1 1002@SEPB ACTIVE/TALKING c100",
		"CallCtlTermConnHeldEv 1 1002@SEPB ACTIVE/HELD c100 m129",
		// A's snapshot describes A afresh; B stays.
		"ConnCreatedEv 1 1001 IDLE/IDLE c110 m135 snap",
		"ConnConnectedEv 1 1001 CONNECTED/ESTABLISHED c110 m135 snap",
		"CallCtlConnEstablishedEv 1 1001 CONNECTED/ESTABLISHED c110 m135 snap",
		"TermConnCreatedEv 1 1001@SEPA IDLE/IDLE c110 m135 snap",
		"TermConnActiveEv 1 1001@SEPA ACTIVE/TALKING c110 m135 snap",
		"CallCtlTermConnTalkingEv 1 1001@SEPA ACTIVE/TALKING c110 m135 snap",
		// B's snapshot: nothing differs. B resumes live.
		"CallCtlTermConnTalkingEv 1 1002@SEPB ACTIVE/TALKING c100/214 m129",
	}, formatAll(outs))
	if want := (Reconciliation{Before: 1, Continued: 1, After: 1}); counts != want {
		t.Errorf("Reconcile = %+v, want %+v", counts, want)
	}
}

// TestReconcileSettlesUnconfirmedConnection: a conference A, B, C is up
// across the loss; C left during the gap (no snapshot, no live event for
// it). C's connection stays until Reconcile (a live event could still
// confirm it, and a route point's leg never gets a snapshot), then is
// removed without events (it was not described since the call re-opened);
// the call continues with A and B.
func TestReconcileSettlesUnconfirmedConnection(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB, lnC))
	applyAll(m, connect(w, 1, lnA, lnB))
	c1 := leg{call: 1, ln: lnC, calling: lnA, called: lnC}
	applyAll(m, []ctilink.Message{
		w.st(c1, ctilink.CallStateOffering, 0),
		w.st(c1, ctilink.CallStateAccepted, 0),
		w.st(c1, ctilink.CallStateConnected, 0),
	})
	_, a1, b1 := setup(1, lnA, lnB)
	m.EndObservation(time.Time{})
	applyAll(m, []ctilink.Message{
		snap(w.st(a1, ctilink.CallStateConnected, 0)),
		snap(w.st(b1, ctilink.CallStateConnected, 0)),
	})
	if got := m.Calls(); len(got) != 1 || len(got[0].Connections) != 3 {
		t.Fatalf("before Reconcile: %+v, want C still held", got)
	}
	outs, counts := reconcile(m, "g", time.Time{})
	if len(outs) != 0 {
		t.Errorf("Reconcile emitted %v, want nothing", formatAll(outs))
	}
	if want := (Reconciliation{Before: 1, Continued: 1, After: 1}); counts != want {
		t.Errorf("Reconcile = %+v, want %+v", counts, want)
	}
	got := m.Calls()
	if len(got) != 1 || len(got[0].Connections) != 2 || got[0].Connections[0].Address != lnA.dn || got[0].Connections[1].Address != lnB.dn {
		t.Fatalf("after Reconcile: %+v, want A and B only", got)
	}
	// C's straggler is not reported (a disconnect of a leg the model no
	// longer holds creates nothing).
	if outs := m.Apply(w.st(c1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)); len(outs) != 0 {
		t.Errorf("C's straggler produced %v", formatAll(outs))
	}
}

func count(lines []string, prefix string) int {
	n := 0
	for _, l := range lines {
		if strings.HasPrefix(l, prefix) {
			n++
		}
	}
	return n
}

// TestRoutePointLegAcrossGapReported: A calls route point R before the
// loss; CTIManager sends no snapshot for route points, so only A's
// snapshot rebuilds the call. R's later live DISCONNECTED is still
// reported (R is re-described, then leaves), as the soak needs.
func TestRoutePointLegAcrossGapReported(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnR))
	ad, ac, _ := setup(1, lnA, lnR)
	r1 := leg{call: 1, ln: lnR, calling: lnA, called: lnR}
	applyAll(m, []ctilink.Message{
		w.st(ad, ctilink.CallStateDialTone, 0),
		w.st(ac, ctilink.CallStateDialing, 0),
		w.st(ac, ctilink.CallStateProceeding, 0),
		w.st(r1, ctilink.CallStateOffering, 0),
	})
	m.EndObservation(time.Time{})
	m.Apply(snap(w.st(ac, ctilink.CallStateProceeding, 0)))
	outs := m.Apply(w.st(r1, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing))
	checkEvents(t, outs)
	got := formatAll(outs)
	if count(got, "ConnCreatedEv 1 2000 ") != 1 || count(got, "CallCtlConnDisconnectedEv 1 2000 ") != 1 {
		t.Errorf("R's DISCONNECTED after A's snapshot gave:\n\t%s\nwant R re-described then disconnected", strings.Join(got, "\n\t"))
	}
}
