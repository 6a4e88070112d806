package callmodel

import (
	"fmt"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Fuzz input encoding: 8 bytes per operation, missing bytes read as 0.
//
//	b0 % 16: 0-7 call state, 8 snapshot call state, 9 feature, 10 call
//	         changed, 11 call party, 12 route, 13 media, 14 EndObservation,
//	         15 Reconcile
//	call state: b1 call (1-4), b2 line, b3 state, b4 cause, b5 bit0 origin
//	            and called party, b6 calling and current called party,
//	            b7 reason and last redirecting party
var (
	fuzzLines  = []line{lnA, lnB, lnC, lnD, lnR, lnY, {}}
	fuzzStates = []ctilink.CallState{
		ctilink.CallStateDialTone, ctilink.CallStateDialing, ctilink.CallStateProceeding, ctilink.CallStateOffering,
		ctilink.CallStateAccepted, ctilink.CallStateRingback, ctilink.CallStateConnected, ctilink.CallStateDisconnected,
		ctilink.CallStateBusy, ctilink.CallStateOnHold, ctilink.CallStateUnknown, ctilink.CallStateIdle,
		ctilink.CallStateOnHoldPending, ctilink.CallStateTransferOnHold, ctilink.CallStateTransferOnHoldPending,
		ctilink.CallStateWaiting, ctilink.CallStateRemoteInUse, ctilink.CallStateProgressing, ctilink.CallStateWhisper,
		ctilink.CallStateQueued,
	}
	fuzzCauses  = []ctilink.Cause{0, 16, 17, 19, 41, 1, 21, 102, 38, 42}
	fuzzReasons = []ctilink.ConnReason{0, 1, 2, 6}
)

type fuzzReader struct {
	b []byte
	i int
}

func (r *fuzzReader) next() byte {
	if r.i >= len(r.b) {
		return 0
	}
	v := r.b[r.i]
	r.i++
	return v
}

func pick[T any](s []T, b byte) T { return s[int(b)%len(s)] }

// fuzzOp decodes one operation: a wire message, or (msg nil) one of the
// model's other calls.
func fuzzOp(r *fuzzReader, ns int64) (msg ctilink.Message, endObs, reconcile bool) {
	var b [8]byte
	for i := range b {
		b[i] = r.next()
	}
	call := uint32(b[1]%4) + 1
	ln := pick(fuzzLines[:5], b[2])
	switch op := b[0] % 16; {
	case op <= 8:
		ev := ctilink.CallStateEvent{
			Device: ln.dev, Line: ln.dn, CallHandle: call*10 + uint32(b[2]%5) + 1, GlobalCallID: call,
			State: pick(fuzzStates, b[3]), Cause: pick(fuzzCauses, b[4]), Origin: b[5]&1 == 1,
			Called: pick(fuzzLines, b[5]>>1).party(), Calling: pick(fuzzLines, b[6]).party(),
			CurrentCalled: pick(fuzzLines, b[6]>>4).party(), Reason: pick(fuzzReasons, b[7]),
			LastRedirecting: pick(fuzzLines, b[7]>>4).party(), Snapshot: op == 8, TimeNs: ns,
		}
		ev.CurrentCalling = ev.Calling
		if b[7]&8 != 0 {
			ev.CurrentCalling = lnY.party()
		}
		return ev, false, false
	case op == 9:
		f := ctilink.FeatureTransfer
		if b[3]&1 == 1 {
			f = ctilink.FeatureConference
		}
		return ctilink.FeatureEvent{Feature: f, Started: b[3]&2 == 0, Device: ln.dev, Line: ln.dn,
			PrimaryCallID: call, ConsultCallID: uint32(b[4] % 5), ResultCallID: call, Blind: b[3]&4 != 0, TimeNs: ns}, false, false
	case op == 10:
		return ctilink.CallChangedEvent{Device: ln.dev, Line: ln.dn, OriginalCallID: call, SurvivingCall: uint32(b[3]%4) + 1, TimeNs: ns}, false, false
	case op == 11:
		return ctilink.CallPartyEvent{Device: ln.dev, Line: ln.dn, GlobalCallID: call, Party: pick(fuzzLines[:6], b[3]).party(),
			Added: b[4]&1 == 1, Transient: b[4]&2 == 0, TimeNs: ns}, false, false
	case op == 12:
		return ctilink.RouteEvent{Kind: pick([]string{ctilink.RouteKindRoute, ctilink.RouteKindReRoute, ctilink.RouteKindUsed, ctilink.RouteKindEnd}, b[3]),
			Device: lnR.dev, Line: ln.dn, SessionID: 1, GlobalCallID: call, Selected: lnD.dn, Cause: int(b[4] % 3), TimeNs: ns}, false, false
	case op == 13:
		return ctilink.MediaEvent{Kind: pick([]string{ctilink.MediaOpenLogicalChannel, ctilink.MediaRTPInputStarted, ctilink.MediaRTPOutputStarted,
			ctilink.MediaRTPInputStopped, ctilink.MediaRTPOutputStopped}, b[3]), Device: lnP.dev, GlobalCallID: call, TimeNs: ns}, false, false
	case op == 14:
		return nil, true, false
	}
	return nil, false, true
}

// FuzzApply feeds random sequences of valid wire events (and observation
// interruptions and reconciliations) to a model and checks it never
// panics, never tracks more than MaxCalls calls or more than the
// per-call bound of connections, produces only catalogued events with
// consistent state pairs, and reports nothing for a Connection after its
// disconnection, nor for a call after its CallInvalidEv (but its
// CallObservationEndedEv), unless a snapshot rebuilt the call.
func FuzzApply(f *testing.F) {
	f.Add([]byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 0, 2, 0, 0, 2, 0, 0, 2, 0, 2, 0, 0, 3, 0, 1, 3, 0, 0, 0, 0})
	f.Add([]byte{0, 1, 0, 6, 0, 3, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 8, 1, 0, 6, 0, 3, 0, 0, 15, 0, 0, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		const maxCalls = 3
		cfg := controlled(lnA, lnB, lnC, lnR)
		cfg.MaxCalls = maxCalls
		m := New(cfg)
		r := &fuzzReader{b: data}
		inv := newInvariants()
		for op := 0; r.i < len(data) && op < 512; op++ {
			ns := t0 + int64(op)*int64(time.Millisecond)
			msg, endObs, reconcile := fuzzOp(r, ns)
			var outs []Out
			switch {
			case endObs:
				outs = m.EndObservation(wireTime(ns))
			case reconcile:
				outs, _ = m.Reconcile(wireTime(ns))
			default:
				outs = m.Apply(msg)
			}
			checkEvents(t, outs)
			if err := inv.check(outs); err != nil {
				t.Fatalf("op %d (%s): %v", op, fmt.Sprint(msg), err)
			}
			st := m.Stats()
			calls := m.Calls()
			if st.Tracked > maxCalls || st.Tracked != len(calls) {
				t.Fatalf("op %d: tracked %d (max %d), Calls() %d", op, st.Tracked, maxCalls, len(calls))
			}
			for _, c := range calls {
				if len(c.Connections) > maxConnsPerCall {
					t.Fatalf("op %d: call %s has %d connections", op, c.CallID, len(c.Connections))
				}
			}
			if len(m.tomb.set) > tombstoneCap {
				t.Fatalf("op %d: %d tombstones", op, len(m.tomb.set))
			}
		}
	})
}
