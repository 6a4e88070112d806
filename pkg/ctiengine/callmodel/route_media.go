package callmodel

import (
	"strconv"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

var routeNames = map[string][2]string{
	ctilink.RouteKindRoute:   {schema.EvRoute, "ROUTE"},
	ctilink.RouteKindReRoute: {schema.EvReRoute, "RE_ROUTE"},
	ctilink.RouteKindUsed:    {schema.EvRouteUsed, "ROUTE_USED"},
	ctilink.RouteKindEnd:     {schema.EvRouteEnd, "ROUTE_END"},
}

// onRoute reports a route-session event on the route point (FamilyRoute,
// entity = the route point's DN). RouteUsed marks the call as being
// redirected: the route point's leg leaving it is a redirect (REDIRECTED),
// and the call does not end with it. RouteEnd clears the mark.
func (m *Model) onRoute(ev *ctilink.RouteEvent) {
	n, ok := routeNames[ev.Kind]
	if !ok {
		m.ignored++
		return
	}
	x := evctx{at: wireTime(ev.TimeNs)}
	d := data(n[0], x)
	rd := &schema.RouteData{
		Address:   ev.Line,
		Terminal:  ev.Device,
		SessionID: strconv.FormatUint(uint64(ev.SessionID), 10),
		Selected:  ev.Selected,
		State:     n[1],
	}
	if ev.GlobalCallID != 0 {
		rd.CallID = callIDString(ev.GlobalCallID)
	}
	if ev.Calling.DN != "" {
		rd.Calling = &schema.Party{Address: ev.Calling.DN, Terminal: ev.Calling.Device, External: ev.Calling.External}
	}
	if ev.Called.DN != "" {
		rd.Called = &schema.Party{Address: ev.Called.DN, Terminal: ev.Called.Device}
	}
	if ev.Cause != 0 {
		rd.Cause = ev.Cause
		rd.CauseName = routeCauseNames[ev.Cause]
	}
	d.Route = rd
	m.emit(Out{Family: schema.FamilyRoute, Entity: ev.Line, Name: n[0], Time: x.at, Data: d})

	c := m.calls[ev.GlobalCallID]
	if c == nil {
		return
	}
	// A route event names a call CTIManager still has: one kept across a
	// gap at its route point is recovered, and re-opens here (its legs
	// re-described) so that the consumer knows it again before it moves.
	c.seenEpoch = m.epoch
	if c.flags&callAwaitRecovery != 0 {
		rx := evctx{at: x.at, cause: schema.CauseNormal}
		m.reopen(c, rx)
		m.recoverRouteLegs(c, rx)
	}
	switch ev.Kind {
	case ctilink.RouteKindUsed:
		c.flags |= callRouting
		c.markEpoch = m.epoch
		if r := c.find(ev.Line); r != nil {
			r.flags |= connRedirecting
		}
	case ctilink.RouteKindEnd:
		if c.flags&callRouting == 0 {
			return
		}
		c.flags &^= callRouting
		cx := evctx{at: x.at, cause: schema.CauseNormal, ccCause: schema.CCCauseRedirected, meta: schema.MetaCallRemovingParty}
		if !m.checkEnd(c, cx) {
			m.prune(c, cx)
		}
	}
}

var mediaNames = map[string]string{
	ctilink.MediaOpenLogicalChannel: schema.EvCiscoMediaOpenLogicalChannel,
	ctilink.MediaRTPInputStarted:    schema.EvCiscoRTPInputStarted,
	ctilink.MediaRTPOutputStarted:   schema.EvCiscoRTPOutputStarted,
	ctilink.MediaRTPInputStopped:    schema.EvCiscoRTPInputStopped,
	ctilink.MediaRTPOutputStopped:   schema.EvCiscoRTPOutputStopped,
}

// onMedia reports a media event on the CTI port or route point's terminal
// (FamilyTerminal, entity = the device). Media events change no call
// state.
func (m *Model) onMedia(ev *ctilink.MediaEvent) {
	name, ok := mediaNames[ev.Kind]
	if !ok {
		m.ignored++
		return
	}
	x := evctx{at: wireTime(ev.TimeNs)}
	d := data(name, x)
	d.Terminal = &schema.TerminalData{Name: ev.Device}
	d.Media = &schema.MediaData{Terminal: ev.Device, Kind: ev.Kind, IP: ev.IP, Port: ev.Port, Codec: ev.Codec, PacketMs: ev.PacketMs}
	m.emit(Out{Family: schema.FamilyTerminal, Entity: ev.Device, Name: name, Time: x.at, Data: d})
}
