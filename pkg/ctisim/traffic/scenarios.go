package traffic

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// start runs the first step of f now and schedules the rest; it returns
// the primary call's global id.
func (m *Model) begin(f *flow) uint32 {
	m.stats.Started[f.sc]++
	switch f.sc {
	case BlindTransfer, ConsultTransfer, Conference, FailedTransfer:
		m.startTransfer(f)
	case Park:
		m.startPark(f)
	case Hunt:
		m.startHunt(f)
	case RoutePoint:
		m.startRoute(f)
	case CTIPort:
		m.startCTIPort(f)
	case Pickup:
		m.startPickup(f)
	case Outbound:
		m.startOutbound(f)
	case Inbound:
		m.startInbound(f)
	case SharedLine:
		m.startShared(f)
	default:
		m.startTwoParty(f)
	}
	return f.call1.gid
}

// startTwoParty plays basic, noanswer, busy, hold and transform.
func (m *Model) startTwoParty(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		var presented ctilink.Party
		if f.sc == Transform {
			presented = ctilink.Party{DN: f.masked}
		}
		// A forward always (or when busy) sends the call elsewhere
		// before it rings: the caller's PROCEEDING already names the
		// destination (forward.go).
		fwd, reason := m.forwardOf(f, f.b)
		target := f.b
		if fwd >= 0 {
			target = fwd
			la.called, la.curCalled = m.party(f.b), m.party(f.b)
			m.set(la, ctilink.CallStateDialing, ctilink.CauseNoError)
			la.curCalled, la.lastRedir = m.party(fwd), m.party(f.b)
			if presented.DN != "" {
				la.curCalling = presented
			}
			m.set(la, ctilink.CallStateProceeding, ctilink.CauseNoError)
		} else {
			m.dialed(la, m.party(f.b), presented)
		}
		if !m.reachable(f, target) || (fwd >= 0 && m.sameDevice(fwd, []int{f.a})) {
			// (A call forwarded back to the caller's own phone is busy.)
			m.busyOut(f, la, nil)
			return
		}
		if f.sc == Transform {
			m.emit(m.partyEvent(la, f.masked, true))
		}
		var lb *leg
		if fwd >= 0 {
			lb = m.offerForwarded(la, f.b, fwd, reason)
		} else {
			lb = m.offer(la, f.b, ctilink.ReasonDirectCall)
		}
		f.lb = lb
		m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
		if f.sc == Transform {
			m.emit(m.partyEvent(la, f.masked, false))
		}
		if f.sc == NoAnswer || f.sc == ForwardNoAnswer {
			m.after(m.cfg.NoAnswerTime, f, func() {
				if fwd < 0 && m.forwardNoAnswer(f, la, lb) {
					return
				}
				m.set(la, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
				m.set(lb, ctilink.CallStateDisconnected, ctilink.CauseNoAnswerFromUser)
			})
			return
		}
		m.after(m.ringTime(), f, func() {
			m.answer(la, lb)
			if f.sc != Hold {
				m.clearAfterTalk(f, la, lb)
				return
			}
			m.after(m.talkTime(), f, func() {
				// No feature from a device out of service, or one whose leg
				// lost its CallManager (no call control left).
				if !m.inService(f.a) || la.lost {
					m.clearAfterTalk(f, la, lb)
					return
				}
				m.set(la, ctilink.CallStateOnHold, ctilink.CauseNoError)
				m.after(m.holdTime(), f, func() {
					m.set(la, ctilink.CallStateConnected, ctilink.CauseNoError)
					m.clearAfterTalk(f, la, lb)
				})
			})
		})
	})
}

func (m *Model) partyEvent(l *leg, dn string, added bool) ctilink.CallPartyEvent {
	ln := m.lines[l.line]
	return ctilink.CallPartyEvent{Device: ln.Device, Line: ln.DN, GlobalCallID: l.c.gid,
		Party: ctilink.Party{DN: dn}, Added: added, Transient: true, TimeNs: m.nowNs()}
}

// applyMask applies a calling-party transformation mask: every X (or x)
// takes the caller's digit at the same position counted from the right;
// other mask characters are kept. X positions beyond the caller's length
// are dropped.
func applyMask(mask, number string) string {
	out := make([]byte, 0, len(mask))
	j := len(number) - 1
	for i := len(mask) - 1; i >= 0; i-- {
		ch := mask[i]
		if ch == 'X' || ch == 'x' {
			if j < 0 {
				continue
			}
			ch = number[j]
			j--
		}
		out = append(out, ch)
	}
	for i, k := 0, len(out)-1; i < k; i, k = i+1, k-1 {
		out[i], out[k] = out[k], out[i]
	}
	return string(out)
}
