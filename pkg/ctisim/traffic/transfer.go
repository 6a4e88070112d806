package traffic

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// startTransfer plays blindtransfer, consulttransfer and conference: A
// calls B; B holds A, calls C (the consult call) and then transfers A to C
// or joins the three.
func (m *Model) startTransfer(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		m.dialed(la, m.party(f.b), ctilink.Party{})
		if !m.reachable(f, f.b) {
			m.busyOut(f, la, nil)
			return
		}
		lb := m.offer(la, f.b, ctilink.ReasonDirectCall)
		f.lb = lb
		m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
		m.after(m.ringTime(), f, func() {
			m.answer(la, lb)
			m.after(m.talkTime(), f, func() { m.consult(f) })
		})
	})
}

// consult: B holds the primary call and dials C. A device out of service
// keeps its connected call (call preservation) but starts no feature: the
// call then ends as a basic one.
func (m *Model) consult(f *flow) {
	if !m.inService(f.b) || f.lb.lost {
		m.clearAfterTalk(f, f.la, f.lb)
		return
	}
	m.set(f.lb, ctilink.CallStateOnHold, ctilink.CauseNoError)
	c2, lb2 := m.dialTone(f, f.b)
	f.call2, f.lb2 = c2, lb2
	m.after(m.cfg.DialTime, f, func() {
		m.dialed(lb2, m.party(f.c), ctilink.Party{})
		if !m.reachable(f, f.c) {
			m.busyOut(f, lb2, func() { m.resume(f) })
			return
		}
		lc := m.offer(lb2, f.c, ctilink.ReasonDirectCall)
		f.lc = lc
		m.set(lb2, ctilink.CallStateRingback, ctilink.CauseNoError)
		if f.sc == BlindTransfer {
			m.after(m.cfg.DialTime, f, func() {
				if !m.controlLost(f) {
					m.completeTransfer(f)
				}
			})
			return
		}
		m.after(m.ringTime(), f, func() {
			m.answer(lb2, lc)
			m.after(m.talkTime(), f, func() {
				if m.controlLost(f) {
					return
				}
				switch f.sc {
				case Conference:
					m.completeConference(f)
				case FailedTransfer:
					m.failTransfer(f)
				default:
					m.completeTransfer(f)
				}
			})
		})
	})
}

// controlLost: a CallManager node failure took a leg of the feature out of
// CTI's hands (guide: setup, transfer, conference in progress are lost,
// connected media survive). The feature is not invoked: both calls are
// hung up after a talk time, as far as CTI still sees them.
func (m *Model) controlLost(f *flow) bool {
	for _, l := range []*leg{f.la, f.lb, f.lb2, f.lc} {
		if l != nil && l.lost {
			m.clearAfterTalk(f, f.la, f.lb)
			m.clearAfterTalk(f, f.lb2, f.lc)
			return true
		}
	}
	return false
}

// resume: the consult call failed (C busy, or dropped in setup); B takes
// the primary call back and the call ends as a basic one.
func (m *Model) resume(f *flow) {
	if f.lb.dead || f.la.dead {
		return
	}
	m.set(f.lb, ctilink.CallStateConnected, ctilink.CauseNoError)
	m.clearAfterTalk(f, f.la, f.lb)
}

func (m *Model) featureEvent(f *flow, feature string, started bool) ctilink.FeatureEvent {
	ln := m.lines[f.b]
	ev := ctilink.FeatureEvent{Feature: feature, Started: started, Device: ln.Device, Line: ln.DN,
		PrimaryCallID: f.call1.gid, ConsultCallID: f.call2.gid, TimeNs: m.nowNs()}
	if !started {
		ev.ResultCallID = f.call1.gid
	}
	if feature == ctilink.FeatureTransfer {
		ev.Blind = f.sc == BlindTransfer
		ev.TransferredParty = m.party(f.a)
	}
	// Every line of the two calls: the event reaches their observers too.
	ev.Parties = []ctilink.Party{m.party(f.a), m.party(f.b), m.party(f.c)}
	return ev
}

// completeTransfer joins A and C in the primary call and drops B; for a
// blind transfer C is still ringing.
func (m *Model) completeTransfer(f *flow) {
	la, lb, lb2, lc := f.la, f.lb, f.lb2, f.lc
	blind := f.sc == BlindTransfer
	// The guide's order (JTAPI guide, Transfer Scenarios, Table 8): the
	// controller leaves the primary call, the destination joins it, then
	// the consult call is cleared.
	m.emit(m.featureEvent(f, ctilink.FeatureTransfer, true))
	m.set(lb, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	m.moveLeg(lc, f.call1)
	lc.calling, lc.called = la.calling, la.called
	lc.curCalling, lc.curCalled = m.party(f.a), m.party(f.c)
	lc.lastRedir, lc.reason = m.party(f.b), ctilink.ReasonTransferredCall
	m.set(lb2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	la.curCalled, la.lastRedir = m.party(f.c), m.party(f.b)
	if blind {
		m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
		m.set(lc, ctilink.CallStateAccepted, ctilink.CauseNoError)
	} else {
		m.set(la, ctilink.CallStateConnected, ctilink.CauseNoError)
		m.set(lc, ctilink.CallStateConnected, ctilink.CauseNoError)
	}
	m.emit(m.featureEvent(f, ctilink.FeatureTransfer, false))
	if !blind {
		m.clearAfterTalk(f, la, lc)
		return
	}
	m.after(m.ringTime(), f, func() {
		m.answer(la, lc)
		m.clearAfterTalk(f, la, lc)
	})
}

// failTransfer: B starts the transfer and C hangs up before CallProcessing
// completes it (JTAPI guide, Transfer and DirectTransfer: the transfer then
// ends with isSuccess() false). The consult call ends, the transfer ends
// failed, and B takes the primary call back.
func (m *Model) failTransfer(f *flow) {
	m.emit(m.featureEvent(f, ctilink.FeatureTransfer, true))
	m.hangup(f.lc, f.lb2)
	end := m.featureEvent(f, ctilink.FeatureTransfer, false)
	end.Failed = true
	m.emit(end)
	m.after(m.cfg.DialTime, f, func() { m.resume(f) })
}

// completeConference joins C into the primary call; B retrieves it.
func (m *Model) completeConference(f *flow) {
	la, lb, lb2, lc := f.la, f.lb, f.lb2, f.lc
	// The guide's order for the final call (JTAPI guide, chained
	// conference chart): the controller retrieves it, the new party joins
	// it, then the merged call is cleared.
	m.emit(m.featureEvent(f, ctilink.FeatureConference, true))
	m.set(lb, ctilink.CallStateConnected, ctilink.CauseNoError)
	m.moveLeg(lc, f.call1)
	m.set(lb2, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
	m.set(la, ctilink.CallStateConnected, ctilink.CauseNoError)
	m.set(lc, ctilink.CallStateConnected, ctilink.CauseNoError)
	m.emit(m.featureEvent(f, ctilink.FeatureConference, false))
	order := []*leg{la, lb, lc}
	if !f.placed {
		m.rng.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
	}
	m.leaveOneByOne(f, order)
}

// leaveOneByOne: after a talk time the first party leaves; when fewer
// than two would remain, the last one is disconnected too.
func (m *Model) leaveOneByOne(f *flow, legs []*leg) {
	m.after(m.talkTime(), f, func() {
		m.set(legs[0], ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
		rest := legs[1:]
		if len(rest) >= 2 {
			m.leaveOneByOne(f, rest)
			return
		}
		for _, l := range rest {
			m.set(l, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
		}
	})
}
