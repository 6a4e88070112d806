package callmodel

import (
	"slices"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// onFeature reports a transfer or conference starting or ending, and marks
// the calls concerned so that the events in between carry the feature's
// cause (TRANSFER 212 / CONFERENCE 207) and meta code (TRANSFERRING /
// MERGING). The guide gives the Start and End events on the final call —
// the primary call, which survives (Table 8: CiscoTransferStartEv Call1
// META_UNKNOWN, …, CiscoTransferEndEv) — so they are reported once, on the
// primary call when it is tracked, else on the consult call (an observer
// of the transfer destination only knows that one until the call change
// moves its line). CTIManager sends the feature events to the sessions of
// every involved line (ctilink.FeatureEvent.Parties), as JTAPI delivers
// them to the observers of every involved address.
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
	fd := &schema.FeatureData{
		Feature:       ev.Feature,
		Phase:         "ended",
		Controller:    &schema.Party{Address: ev.Line, Terminal: ev.Device},
		PrimaryCallID: callIDString(ev.PrimaryCallID),
		Blind:         ev.Blind,
		Failed:        ev.Failed && !ev.Started,
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
	at := wireTime(ev.TimeNs)
	var report *call
	for _, id := range [...]uint32{ev.ResultCallID, ev.PrimaryCallID, ev.ConsultCallID} {
		c := m.calls[id]
		if id == 0 || c == nil {
			// Not tracked, or already ended: nothing may follow a call's
			// CallObservationEndedEv.
			continue
		}
		if report == nil {
			report = c
		}
		c.seenEpoch = m.epoch
		if ev.Started {
			c.feature = feat
			c.markEpoch = m.epoch
			if id == ev.PrimaryCallID {
				c.flags |= callFinal
			}
		} else if c.feature == feat {
			c.feature = featNone
			c.flags &^= callFinal
		}
	}
	if report == nil {
		// The end of a feature whose calls this session saw end (its
		// lines left both) is no inconsistency.
		if ev.Started || !m.tomb.has(ev.PrimaryCallID) && !m.tomb.has(ev.ConsultCallID) {
			m.ignored++
		}
		return
	}
	// A live event about a call whose observation ended re-opens it
	// (CallActiveEv) before anything else is reported on it.
	x := featureCtx(evctx{at: at, cause: schema.CauseNormal}, feat)
	m.reopen(report, x)
	m.recoverRouteLegs(report, x)
	// The guide's tables give the Start event META_UNKNOWN; for the End
	// event they are silent, and it gets the same.
	x.meta = schema.MetaUnknown
	d := data(name, x)
	d.Call = report.callData()
	d.Call.Feature = fd
	m.emit(Out{Family: schema.FamilyCall, Entity: report.idStr, Name: name, Time: x.at, Data: d})
	if ev.Started {
		return
	}
	// A call left without a line of this session ends now.
	for _, id := range [...]uint32{ev.PrimaryCallID, ev.ConsultCallID} {
		if c := m.calls[id]; c != nil && c.feature == featNone {
			m.checkEnd(c, evctx{at: at, cause: schema.CauseNormal})
		}
	}
}

// onCallChanged moves a line's connection from one call to another. During
// a transfer or conference (guide Table 8) the connection is created in
// the surviving call directly in its states (ConnCreatedEv, the state
// events, TermConnCreatedEv, the TC state events) and stays in the
// original call, marked moved, until that call is cleared: it is dropped
// there after the parties that remain. Outside a feature the move is a
// CiscoCallChangedEv on the surviving call and the connection leaves the
// original call at once.
func (m *Model) onCallChanged(ev *ctilink.CallChangedEvent) {
	orig := m.calls[ev.OriginalCallID]
	var cn *conn
	if orig != nil {
		cn = orig.find(ev.Line)
	}
	if cn == nil || !cn.live() || cn.flags&connMoved != 0 || ev.OriginalCallID == ev.SurvivingCall {
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

	if feat == featNone {
		d := data(schema.EvCiscoCallChanged, x)
		d.Call = surv.callData()
		d.Call.OriginalCallID = orig.idStr
		d.Call.Connection = cn.connData()
		m.emit(Out{Family: schema.FamilyCall, Entity: surv.idStr, Name: schema.EvCiscoCallChanged, Time: x.at, Data: d})
	}
	cc, tcs := cn.cc, slices.Clone(cn.tcs)
	if feat == featNone || cn.flags&connStale != 0 {
		m.drop(orig, cn, x)
	} else {
		cn.flags |= connMoved
	}
	if existing == nil {
		// The far party is unknown in the surviving call until the line's
		// next event names it.
		nc := surv.add(&conn{addr: cn.addr, flags: cn.flags &^ (connRedirecting | connStale | connMoved), reason: cn.reason})
		if nc == nil {
			m.ignored++
		} else {
			m.setConn(surv, nc, cc, x)
			for _, t := range tcs {
				if t.st != schema.CCTermConnDropped {
					m.setTC(surv, nc, t.term, t.st, x)
				}
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
