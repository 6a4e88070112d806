package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Hunt-list calls (JTAPI guide 15 p.168): "there are three connections,
// Calling, Hunt Pilot, and Hunt Member ... If members are observed,
// connection to member goes to Offering state and the connection to Hunt
// Pilot goes to Established state ... If the Hunt List member is the
// called address and is not observed by the application, connection to
// the member is created only when the call is answered." The pilot's
// connection is a CiscoHuntConnection, announced with
// CiscoHuntConnCreatedEv (p.1092: "GC1: CiscoHuntConnCreatedEv B"); it
// stays while the call hunts and leaves with the call. A member passed
// over leaves with REDIRECTED (p.1092: "getCallControlCause() =
// CAUSE.REDIRECTED").
//
// Where the model departs from p.1092's order: the guide creates an
// observed member's connection before the caller's and the pilot's; the
// model keeps its terminating order (caller first, doc.go) and reports the
// pilot, when it first appears, before the other parties of that event.

// huntPilot makes sure the hunt pilot a line event names has its
// connection in the call, ESTABLISHED, once the call is routed to it. A
// pilot is not a party to count (liveParties).
func (m *Model) huntPilot(c *call, ev *ctilink.CallStateEvent, x evctx) {
	pilot := ev.HuntPilot
	switch {
	case pilot == "" || stateClass(ev.State) == classEnding || c.find(pilot) != nil:
		return
	case ev.State == ctilink.CallStateDialTone || ev.State == ctilink.CallStateDialing:
		return // dialled, not yet routed to the pilot
	}
	hp := c.add(&conn{addr: pilot, flags: connHunt})
	if hp == nil {
		m.ignored++
		return
	}
	m.setConn(c, hp, schema.CCConnEstablished, x)
}

// createdEvent is the event that announces a connection.
func createdEvent(cn *conn) string {
	if cn.flags&connHunt != 0 {
		return schema.EvCiscoHuntConnCreated
	}
	return schema.EvConnCreated
}

// huntFarState: an unobserved member of a hunt-list call is created only
// when the call is answered (p.168), so the caller's ringback synthesizes
// nobody.
func huntFarState(ev *ctilink.CallStateEvent, farCC uint8) uint8 {
	if ev.HuntPilot != "" && ev.State == ctilink.CallStateRingback {
		return 0
	}
	return farCC
}
