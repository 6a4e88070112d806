package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// onCallState handles a line call-state event (live or snapshot).
func (m *Model) onCallState(ev *ctilink.CallStateEvent) {
	if ev.Snapshot {
		m.onSnapshotState(ev)
		return
	}
	c := m.calls[ev.GlobalCallID]
	if c == nil {
		// A disconnect for a call we do not know has nothing to end; an
		// event for a call that already ended (CallInvalidEv sent) is a
		// straggler and must not resurrect it.
		if stateClass(ev.State) == classEnding || (m.tomb.has(ev.GlobalCallID) && !rejoins(ev)) {
			m.ignored++
			return
		}
		m.tomb.forget(ev.GlobalCallID)
		if c = m.newCall(ev.GlobalCallID); c == nil {
			return
		}
		c.setParties(ev)
		m.activate(c, m.lineCtx(c, ev))
	} else {
		c.setParties(ev)
		// The call's first event since its observation ended (a live
		// event can precede the call's snapshots, which come device by
		// device): re-open it.
		m.reopen(c, m.lineCtx(c, ev))
	}
	c.seenEpoch = m.epoch
	c.flags &^= callObsEnded
	x := m.lineCtx(c, ev)
	m.applyLine(c, ev, x)
	m.recoverRouteLegs(c, x)
}

// newCall starts tracking a call; nil (and counted) beyond MaxCalls.
func (m *Model) newCall(id uint32) *call {
	if len(m.calls) >= m.cfg.MaxCalls {
		m.untracked++
		return nil
	}
	// A call first heard of in this epoch is current: a snapshot of it
	// extends it rather than rebuilding it.
	c := &call{id: id, idStr: callIDString(id), state: schema.CallIdle, snapEpoch: m.epoch}
	m.calls[id] = c
	return c
}

// activate moves a call to ACTIVE (CallActiveEv).
func (m *Model) activate(c *call, x evctx) {
	c.state = schema.CallActive
	m.emitCall(c, schema.EvCallActive, x)
}

// lineCtx derives causes and meta code of a live line event's JTAPI
// events.
func (m *Model) lineCtx(c *call, ev *ctilink.CallStateEvent) evctx {
	core, cc, _ := mapCause(ev.Cause)
	x := evctx{at: wireTime(ev.TimeNs), cause: core, meta: metaFor(ev.State), ciscoCause: ev.Cause}
	switch ev.State {
	case ctilink.CallStateBusy, ctilink.CallStateDisconnected, ctilink.CallStateIdle:
		x.ccCause = cc
	case ctilink.CallStateOffering:
		if redirectedHere(ev.Reason) {
			x.ccCause = schema.CCCauseRedirected
		}
	}
	return featureCtx(featureReasonCtx(x, ev), c.feature)
}

// farDN is the party at the other end of the line's leg: the called side
// for the originating leg, the calling side for the terminating one, the
// current party when known.
func farDN(ev *ctilink.CallStateEvent, origin bool) string {
	if origin {
		if ev.CurrentCalled.DN != "" {
			return ev.CurrentCalled.DN
		}
		return ev.Called.DN
	}
	if ev.CurrentCalling.DN != "" {
		return ev.CurrentCalling.DN
	}
	return ev.Calling.DN
}

// lineTargets maps a wire state to the CallControlConnection and
// CallControlTerminalConnection states of the line's own connection and
// the state its far party moves to when that party is synthesized. A tc of
// 0 means the state creates no TerminalConnection; a farCC of 0 means the
// far party is not (yet) known. BUSY, DISCONNECTED and IDLE are handled
// apart (busy treatment, teardown). farExternal selects JTAPI's network
// states for a far end outside the cluster (network.go). The table is in
// doc.go.
func lineTargets(s ctilink.CallState, farExternal bool) (cc, tc, farCC uint8) {
	switch s {
	case ctilink.CallStateDialTone:
		return schema.CCConnInitiated, schema.CCTermConnTalking, 0
	case ctilink.CallStateDialing:
		return schema.CCConnDialing, schema.CCTermConnTalking, 0
	case ctilink.CallStateProceeding, ctilink.CallStateProgressing:
		if farExternal {
			return schema.CCConnNetworkReached, schema.CCTermConnTalking, schema.CCConnOffered
		}
		return schema.CCConnEstablished, schema.CCTermConnTalking, schema.CCConnOffered
	case ctilink.CallStateRingback:
		if farExternal {
			return schema.CCConnNetworkAlerting, schema.CCTermConnTalking, schema.CCConnAlerting
		}
		return schema.CCConnEstablished, schema.CCTermConnTalking, schema.CCConnAlerting
	case ctilink.CallStateOffering:
		return schema.CCConnOffered, 0, schema.CCConnEstablished
	case ctilink.CallStateQueued, ctilink.CallStateWaiting:
		return schema.CCConnQueued, 0, schema.CCConnEstablished
	case ctilink.CallStateAccepted:
		return schema.CCConnAlerting, schema.CCTermConnRinging, schema.CCConnEstablished
	case ctilink.CallStateConnected, ctilink.CallStateWhisper:
		return schema.CCConnEstablished, schema.CCTermConnTalking, schema.CCConnEstablished
	case ctilink.CallStateOnHold, ctilink.CallStateOnHoldPending,
		ctilink.CallStateTransferOnHold, ctilink.CallStateTransferOnHoldPending:
		return schema.CCConnEstablished, schema.CCTermConnHeld, schema.CCConnEstablished
	case ctilink.CallStateRemoteInUse:
		return schema.CCConnEstablished, schema.CCTermConnInUse, schema.CCConnEstablished
	}
	return schema.CCConnUnknown, schema.CCTermConnUnknown, 0
}

// applyLine applies a line event (live or snapshot) to the line's
// connection, its far party and the call.
func (m *Model) applyLine(c *call, ev *ctilink.CallStateEvent, x evctx) {
	class := stateClass(ev.State)
	// The line's appearance: the device whose line this event is about (a
	// shared line has one per device).
	term := ev.Device
	if term == "" {
		term = m.terminalOf(ev.Line)
	}
	cn := c.find(ev.Line)
	isNew := false
	if cn != nil && cn.flags&connStale != 0 && cn.live() {
		// Known from before the gap: its own line confirms it. A
		// snapshot describes it afresh in its current state; a live
		// event re-describes it as it was, then applies its change.
		if x.snap {
			unstale(cn)
			isNew = true
		} else {
			m.confirm(c, cn, evctx{at: x.at})
		}
	}
	switch {
	case cn == nil:
		if class == classEnding {
			m.ignored++
			return
		}
		if cn = c.add(&conn{addr: ev.Line, flags: connLine | connControlled}); cn == nil {
			m.ignored++
			return
		}
		isNew = true
	case cn.cc != 0 && !cn.live():
		// No event for a Connection after its DISCONNECTED.
		m.ignored++
		return
	case !cn.isLine():
		// A party synthesized from party information turns out to be a
		// line of ours: from now on its own events drive it.
		cn.flags |= connLine | connControlled
	}
	if ev.Reason != 0 {
		cn.reason = ev.Reason
	}
	origin := class == classOrigin || (class != classTerminating && ev.Origin)
	prevFar := cn.far
	far := farDN(ev, origin)
	if far != "" {
		cn.far = far
	}
	// The far party changed (a transfer or redirect completed elsewhere):
	// the new party arrives and the old one leaves with the cause of the
	// change.
	rx := x
	if prevFar != "" && far != "" && prevFar != far && !x.snap {
		rx = m.changeCtx(c, ev, x)
	}

	switch ev.State {
	case ctilink.CallStateDisconnected, ctilink.CallStateIdle:
		m.lineEnded(c, cn, term, ev, x)
		return
	case ctilink.CallStateBusy:
		if isNew {
			// First heard of at BUSY: the line dialed and hears busy tone.
			m.setConn(c, cn, schema.CCConnEstablished, x)
			m.setTC(c, cn, term, schema.CCTermConnTalking, x)
		}
		m.busy(c, cn, x)
		return
	}

	cc, tc, farCC := lineTargets(ev.State, farExternal(ev, origin))
	farCC = huntFarState(ev, farStateFor(ev, farCC))
	// The far party's change is reported first when it causes the line's
	// own change (the callee answered, the callee is ringing) or when the
	// line receives the call (the caller was there first).
	farFirst := !origin || (!isNew && (ev.State == ctilink.CallStateRingback || ev.State == ctilink.CallStateConnected))
	// A controlled far party's own line events precede this line's in
	// every wire sequence except after PROCEEDING (the callee is offered
	// next). A controlled party still missing at a later live state does
	// not report to this session (its line is not observed): synthesize
	// it. Snapshots arrive device by device, so there the model waits.
	synthControlled := !x.snap && ev.State != ctilink.CallStateProceeding && ev.State != ctilink.CallStateProgressing
	if prevFar != "" && far != "" && prevFar != far && !x.snap && ev.FeatureReason != ctilink.FeatureUnpark {
		// A transfer or redirect done elsewhere: the old party leaves
		// before the new one arrives (guide Table 8: B dropped, then C
		// created; a park is a transfer to the park number, guide p.146).
		// A parked call leaving its park number is the other way round:
		// the party it goes to is created, then the park number's
		// connection is disconnected (guide p.1284, "ConnCreatedEv F …
		// ConnDisconnectedEv P1"); the prune after the far party's change
		// removes it.
		m.prune(c, rx)
	}
	m.huntPilot(c, ev, x)
	if farFirst {
		m.advanceFar(c, cn, far, farCC, synthControlled, rx)
	}
	m.setConn(c, cn, cc, x)
	if tc != 0 && (tc != schema.CCTermConnUnknown || cn.tc(term) != nil) {
		m.setTC(c, cn, term, tc, x)
	}
	if ev.State == ctilink.CallStateUnknown && ev.Cause == ctilink.CauseCallManagerFailure && !x.snap {
		// The line's CallManager node failed during the call: its media go
		// on, but it is no longer observed or controlled (guide: Cisco
		// Unified Communications Manager Server Failure). The connection
		// stays UNKNOWN until the call ends; with no other line of this
		// session in the call, the call's observation ends.
		if t := cn.tc(term); t != nil {
			t.lost = true
		}
		if cn.allTCsLost() {
			cn.flags |= connLost
		}
		if !c.hasLiveLine(nil) {
			m.emitCall(c, schema.EvCallObservationEnded, x)
			m.forget(c)
			return
		}
	}
	if !farFirst {
		m.advanceFar(c, cn, far, farCC, synthControlled, rx)
	}
	m.prune(c, rx)
}

// changeCtx is the context of a far party replaced without its own line
// events: the feature in progress, else a redirect when the event says
// so, else a transfer (the only other way CUCM replaces the far party of
// a connected leg).
func (m *Model) changeCtx(c *call, ev *ctilink.CallStateEvent, x evctx) evctx {
	if c.feature != featNone {
		return featureCtx(x, c.feature)
	}
	if cc := featureCause(ev.FeatureReason); cc != 0 {
		x.ccCause = cc
		return x
	}
	if redirectedHere(ev.Reason) || ev.LastRedirecting.DN != "" || ev.HuntPilot != "" || c.flags&callRouting != 0 {
		x.ccCause = schema.CCCauseRedirected
		return x
	}
	x.ccCause, x.meta = schema.CCCauseTransfer, schema.MetaCallTransferring
	return x
}

// advanceFar creates (if needed) and moves forward the synthesized
// connection of the line's far party. Parties that are lines of this
// session move by their own events; transient parties only by
// CallPartyEvents. A controlled far party is synthesized only when
// synthControlled says its events would have arrived by now.
func (m *Model) advanceFar(c *call, cn *conn, far string, farCC uint8, synthControlled bool, x evctx) {
	if farCC == 0 || far == "" || far == cn.addr {
		return
	}
	f := c.find(far)
	if f != nil && x.snap && !f.isLine() && f.flags&connParty == 0 {
		// A synthesized party known from before the gap: the snapshot
		// describes it afresh.
		unstale(f)
	}
	if f == nil {
		var flags connFlags
		if m.controlled(far) {
			if !synthControlled {
				return
			}
			flags = connControlled
		}
		if f = c.add(&conn{addr: far, flags: flags}); f == nil {
			m.ignored++
			return
		}
		switch x.ccCause {
		case schema.CCCauseRedirected:
			f.reason = ctilink.ReasonRedirect
		case schema.CCCauseTransfer:
			f.reason = ctilink.ReasonTransferredCall
		}
	}
	if f.isLine() || f.flags&connParty != 0 || !f.live() && f.cc != 0 {
		return
	}
	m.setConn(c, f, farCC, x)
}

// prune disconnects synthesized parties no live line connection names as
// its far end any more (they left the call as far as this session can
// tell). While a route session redirects the call, the caller stays.
func (m *Model) prune(c *call, x evctx) {
	if c.flags&callRouting != 0 {
		return
	}
	for _, f := range c.conns {
		if f.isLine() || f.flags&(connParty|connHunt) != 0 || !f.live() {
			continue
		}
		if !c.referenced(f.addr) {
			m.drop(c, f, x)
		}
	}
}

// lineEnded handles DISCONNECTED (and IDLE) on a line.
func (m *Model) lineEnded(c *call, cn *conn, term string, ev *ctilink.CallStateEvent, x evctx) {
	if cn.liveTCs(term) > 0 && cn.flags&connStale == 0 {
		// One appearance of a shared line leaves; the line stays in the
		// call on its other terminals.
		m.setTC(c, cn, term, schema.CCTermConnDropped, x)
		return
	}
	_, _, failure := mapCause(ev.Cause)
	if c.feature == featNone {
		switch {
		case cn.flags&connRedirecting != 0:
			x.ccCause, x.meta = schema.CCCauseRedirected, schema.MetaCallRemovingParty
		case c.liveParties(cn) >= 2:
			x.meta = schema.MetaCallRemovingParty
		}
	}
	switch {
	case ev.Cause == ctilink.CauseUserBusy:
		m.busy(c, cn, x)
	case failure:
		m.setConn(c, cn, schema.CCConnFailed, x)
	}
	m.drop(c, cn, x)
	if !m.checkEnd(c, x) {
		m.prune(c, x)
	}
}

// busy applies the busy treatment once per call: the far party's
// connection FAILED (cause BUSY), created for the purpose when the busy
// party has none (a busy line gets no events for the call); when the far
// party is a line of ours or already gone, the line's own connection
// fails instead.
func (m *Model) busy(c *call, cn *conn, x evctx) {
	if c.flags&callBusyDone != 0 {
		return
	}
	c.flags |= callBusyDone
	c.markEpoch = m.epoch
	x.ccCause = schema.CCCauseBusy
	var f *conn
	if cn.far != "" && cn.far != cn.addr {
		if f = c.find(cn.far); f == nil {
			var flags connFlags
			if m.controlled(cn.far) {
				flags = connControlled
			}
			f = c.add(&conn{addr: cn.far, flags: flags})
		}
	}
	if f != nil && !f.isLine() && f.flags&connParty == 0 &&
		f.cc != schema.CCConnDisconnected && f.cc != schema.CCConnFailed {
		m.setConn(c, f, schema.CCConnFailed, x)
		return
	}
	c.removeUnannounced()
	m.setConn(c, cn, schema.CCConnFailed, x)
}

// checkEnd ends the call when no line of this session is in it any more
// (a line that moved to another call does not count): the remaining
// connections are disconnected, then CallInvalidEv and
// CallObservationEndedEv (jtapi-facts §12), and the call is forgotten. It
// reports whether the call ended.
func (m *Model) checkEnd(c *call, x evctx) bool {
	if c.flags&callRouting != 0 || c.hasLiveLine(nil) || (c.flags&callFinal != 0 && c.feature != featNone) {
		return false
	}
	if !x.snap && c.feature == featNone {
		x.meta = schema.MetaCallEnding
	}
	// The parties that stay go first, a line that moved to another call
	// last (guide Table 8: B, then C dropped from Call2).
	for _, f := range c.conns {
		if f.flags&connMoved == 0 {
			m.drop(c, f, x)
		}
	}
	for _, f := range c.conns {
		m.drop(c, f, x)
	}
	// A transfer's or conference's consult call ends here too, before the
	// feature's end event on the final call (guide Table 8: CallInvalidEv
	// of Call2, then CiscoTransferEndEv).
	m.endCall(c, x)
	return true
}

func (m *Model) endCall(c *call, x evctx) {
	c.state = schema.CallInvalid
	m.emitCall(c, schema.EvCallInvalid, x)
	if c.flags&callObsEnded == 0 {
		m.emitCall(c, schema.EvCallObservationEnded, x)
	}
	m.forget(c)
}

func (m *Model) forget(c *call) {
	delete(m.calls, c.id)
	m.tomb.add(c.id)
}
