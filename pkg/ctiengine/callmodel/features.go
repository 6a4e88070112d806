package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// onFeature reports a transfer or conference starting or ending on both
// calls concerned, and marks the calls so that the events in between carry
// the feature's cause (TRANSFER 212 / CONFERENCE 207) and meta code
// (TRANSFERRING / MERGING).
func (m *Model) onFeature(ev *ctilink.FeatureEvent) {
	var feat uint8
	var name string
	switch {
	case ev.Feature == ctilink.FeatureTransfer && ev.Started:
		feat, name = featTransfer, schema.EvCiscoTransferStart
	case ev.Feature == ctilink.FeatureTransfer:
		feat, name = featTransfer, schema.EvCiscoTransferEnd
	case ev.Feature == ctilink.FeatureConference && ev.Started:
		feat, name = featConference, schema.EvCiscoConferenceStart
	case ev.Feature == ctilink.FeatureConference:
		feat, name = featConference, schema.EvCiscoConferenceEnd
	default:
		m.ignored++
		return
	}
	x := featureCtx(evctx{at: wireTime(ev.TimeNs), cause: schema.CauseNormal}, feat)
	fd := &schema.FeatureData{
		Feature:       ev.Feature,
		Phase:         "ended",
		Controller:    &schema.Party{Address: ev.Line, Terminal: ev.Device},
		PrimaryCallID: callIDString(ev.PrimaryCallID),
		Blind:         ev.Blind,
	}
	if ev.Started {
		fd.Phase = "started"
	}
	if ev.ConsultCallID != 0 {
		fd.ConsultCallID = callIDString(ev.ConsultCallID)
	}
	if ev.ResultCallID != 0 {
		fd.ResultCallID = callIDString(ev.ResultCallID)
	}
	ids := [2]uint32{ev.PrimaryCallID, ev.ConsultCallID}
	emitted := false
	for i, id := range ids {
		if id == 0 || (i == 1 && id == ids[0]) {
			continue
		}
		c := m.calls[id]
		if c == nil {
			// Not tracked, or already ended: nothing may follow a call's
			// CallObservationEndedEv.
			continue
		}
		// A live event about a call whose observation ended re-opens it
		// (CallActiveEv) before anything else is reported on it: the
		// consumer was told CallObservationEndedEv, and describes the call
		// afresh from its re-opening on.
		m.reopen(c, x)
		m.recoverRouteLegs(c, x)
		c.seenEpoch = m.epoch
		if ev.Started {
			c.feature = feat
			c.markEpoch = m.epoch
		} else if c.feature == feat {
			c.feature = featNone
		}
		d := data(name, x)
		d.Call = c.callData()
		d.Call.Feature = fd
		m.emit(Out{Family: schema.FamilyCall, Entity: c.idStr, Name: name, Time: x.at, Data: d})
		emitted = true
	}
	if !emitted {
		m.ignored++
		return
	}
	if ev.Started {
		return
	}
	// The consult call, emptied while the feature ran, ends now.
	for _, id := range ids {
		if c := m.calls[id]; c != nil && c.feature == featNone {
			m.checkEnd(c, evctx{at: x.at, cause: schema.CauseNormal})
		}
	}
}

// onCallChanged moves a line's connection from one call to another
// (CiscoCallChangedEv): the connection leaves the original call (dropped,
// disconnected) and a connection in the same states joins the surviving
// call (created, state events), with the cause of the feature in progress.
func (m *Model) onCallChanged(ev *ctilink.CallChangedEvent) {
	orig := m.calls[ev.OriginalCallID]
	var cn *conn
	if orig != nil {
		cn = orig.find(ev.Line)
	}
	if cn == nil || !cn.live() || ev.OriginalCallID == ev.SurvivingCall {
		m.ignored++
		return
	}
	surv := m.calls[ev.SurvivingCall]
	feat := orig.feature
	if feat == featNone && surv != nil {
		feat = surv.feature
	}
	x := featureCtx(evctx{at: wireTime(ev.TimeNs), cause: schema.CauseNormal, meta: schema.MetaCallProgress}, feat)
	var existing *conn
	if surv == nil {
		if m.tomb.has(ev.SurvivingCall) {
			m.ignored++
			return
		}
		if surv = m.newCall(ev.SurvivingCall); surv == nil {
			return
		}
		surv.feature = feat
		m.activate(surv, x)
	} else if existing = surv.find(ev.Line); existing != nil && !existing.live() {
		m.ignored++
		return
	}
	// The surviving call is reported on: re-open it first if its
	// observation ended (a leg moved into a call that was up across a
	// failover, before that call's own events or snapshots re-opened it).
	// Nothing is reported on the original call here: its moved connection,
	// if not described since the gap, leaves silently.
	m.reopen(surv, x)
	m.recoverRouteLegs(surv, x)
	surv.seenEpoch = m.epoch
	orig.seenEpoch = m.epoch

	d := data(schema.EvCiscoCallChanged, x)
	d.Call = surv.callData()
	d.Call.OriginalCallID = orig.idStr
	d.Call.Connection = cn.connData()
	m.emit(Out{Family: schema.FamilyCall, Entity: surv.idStr, Name: schema.EvCiscoCallChanged, Time: x.at, Data: d})

	cc, tc := cn.cc, cn.tc
	m.drop(orig, cn, x)
	if existing == nil {
		// The far party is unknown in the surviving call until the line's
		// next event names it.
		nc := surv.add(&conn{addr: cn.addr, term: cn.term, flags: cn.flags &^ (connRedirecting | connStale), reason: cn.reason})
		if nc == nil {
			m.ignored++
		} else {
			m.setConn(surv, nc, cc, x)
			if tc != 0 {
				m.setTC(surv, nc, tc, x)
			}
		}
	}
	if !m.checkEnd(orig, x) {
		m.prune(orig, x)
	}
}

// onCallParty adds or removes a party that has no line of its own in the
// call (calling-party transformation: the masked number, transient).
func (m *Model) onCallParty(ev *ctilink.CallPartyEvent) {
	c := m.calls[ev.GlobalCallID]
	if c == nil || ev.Party.DN == "" {
		m.ignored++
		return
	}
	c.seenEpoch = m.epoch
	x := evctx{at: wireTime(ev.TimeNs), cause: schema.CauseNormal}
	m.reopen(c, x)
	m.recoverRouteLegs(c, x)
	f := c.find(ev.Party.DN)
	if ev.Added {
		if f != nil {
			m.ignored++
			return
		}
		x.meta = schema.MetaCallAdditionalParty
		flags := connParty
		if ev.Transient {
			flags |= connTransient
		}
		if m.controlled(ev.Party.DN) {
			flags |= connControlled
		}
		if f = c.add(&conn{addr: ev.Party.DN, flags: flags}); f == nil {
			m.ignored++
			return
		}
		m.setConn(c, f, schema.CCConnEstablished, x)
		return
	}
	if f == nil || f.flags&connParty == 0 || !f.live() {
		m.ignored++
		return
	}
	x.meta = schema.MetaCallRemovingParty
	m.drop(c, f, x)
	m.checkEnd(c, x)
}
