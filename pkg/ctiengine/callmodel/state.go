package callmodel

import "github.com/ctibridge/ctibridge/pkg/schema"

// Event names per state entered.
var (
	coreConnEv = map[int]string{
		schema.ConnInProgress:   schema.EvConnInProgress,
		schema.ConnAlerting:     schema.EvConnAlerting,
		schema.ConnConnected:    schema.EvConnConnected,
		schema.ConnDisconnected: schema.EvConnDisconnected,
		schema.ConnFailed:       schema.EvConnFailed,
		schema.ConnUnknown:      schema.EvConnUnknown,
	}
	ccConnEv = map[uint8]string{
		schema.CCConnOffered:         schema.EvCallCtlConnOffered,
		schema.CCConnQueued:          schema.EvCallCtlConnQueued,
		schema.CCConnAlerting:        schema.EvCallCtlConnAlerting,
		schema.CCConnInitiated:       schema.EvCallCtlConnInitiated,
		schema.CCConnDialing:         schema.EvCallCtlConnDialing,
		schema.CCConnNetworkReached:  schema.EvCallCtlConnNetworkReached,
		schema.CCConnNetworkAlerting: schema.EvCallCtlConnNetworkAlerting,
		schema.CCConnEstablished:     schema.EvCallCtlConnEstablished,
		schema.CCConnDisconnected:    schema.EvCallCtlConnDisconnected,
		schema.CCConnFailed:          schema.EvCallCtlConnFailed,
		schema.CCConnUnknown:         schema.EvCallCtlConnUnknown,
	}
	coreTCEv = map[int]string{
		schema.TermConnRinging: schema.EvTermConnRinging,
		schema.TermConnPassive: schema.EvTermConnPassive,
		schema.TermConnActive:  schema.EvTermConnActive,
		schema.TermConnDropped: schema.EvTermConnDropped,
		schema.TermConnUnknown: schema.EvTermConnUnknown,
	}
	ccTCEv = map[uint8]string{
		schema.CCTermConnRinging: schema.EvCallCtlTermConnRinging,
		schema.CCTermConnTalking: schema.EvCallCtlTermConnTalking,
		schema.CCTermConnHeld:    schema.EvCallCtlTermConnHeld,
		schema.CCTermConnBridged: schema.EvCallCtlTermConnBridged,
		schema.CCTermConnInUse:   schema.EvCallCtlTermConnInUse,
		schema.CCTermConnDropped: schema.EvCallCtlTermConnDropped,
		schema.CCTermConnUnknown: schema.EvCallCtlTermConnUnknown,
	}
)

// connRank orders CallControlConnection states along the JTAPI 1.4
// diagrams (originating IDLE→INITIATED→DIALING→NETWORK_REACHED→
// NETWORK_ALERTING→ESTABLISHED, terminating IDLE→OFFERED→QUEUED→ALERTING→
// ESTABLISHED, any→FAILED→DISCONNECTED). A connection only moves forward;
// UNKNOWN may be entered and left at any time (rank -1).
func connRank(cc uint8) int {
	switch cc {
	case 0, schema.CCConnIdle:
		return 0
	case schema.CCConnInitiated, schema.CCConnOffered:
		return 1
	case schema.CCConnDialing, schema.CCConnQueued:
		return 2
	case schema.CCConnNetworkReached, schema.CCConnAlerting:
		return 3
	case schema.CCConnNetworkAlerting:
		return 4
	case schema.CCConnEstablished:
		return 5
	case schema.CCConnFailed:
		return 6
	case schema.CCConnDisconnected:
		return 7
	}
	return -1 // UNKNOWN
}

// canMove reports whether a connection may go from cur to next.
func canMove(cur, next uint8) bool {
	if cur == next || cur == schema.CCConnDisconnected {
		return false
	}
	if cur == schema.CCConnFailed {
		return next == schema.CCConnDisconnected
	}
	if next == schema.CCConnUnknown || cur == schema.CCConnUnknown {
		return true
	}
	return connRank(next) > connRank(cur)
}

// setConn moves cn to cc, announcing it first (ConnCreatedEv) if needed,
// and emits the core event when the core state changes and the
// call-control event. Backward moves are ignored.
func (m *Model) setConn(c *call, cn *conn, cc uint8, x evctx) {
	m.confirm(c, cn, x)
	m.announce(c, cn, x)
	if !canMove(cn.cc, cc) {
		return
	}
	oldCore := cn.core()
	cn.cc = cc
	if newCore := cn.core(); newCore != oldCore {
		m.emitConn(c, cn, coreConnEv[newCore], x)
	}
	m.emitConn(c, cn, ccConnEv[cc], x)
}

// announce emits ConnCreatedEv for a connection created by the current
// wire event.
func (m *Model) announce(c *call, cn *conn, x evctx) {
	if cn.cc != 0 {
		return
	}
	cn.cc = schema.CCConnIdle
	m.emitConn(c, cn, createdEvent(cn), x)
}

// tcRank: IDLE, then RINGING, then the answered states (TALKING, HELD,
// BRIDGED, INUSE, which move between themselves), then DROPPED.
func tcRank(tc uint8) int {
	switch tc {
	case 0, schema.CCTermConnIdle:
		return 0
	case schema.CCTermConnRinging:
		return 1
	case schema.CCTermConnDropped:
		return 3
	case schema.CCTermConnUnknown:
		return -1
	}
	return 2
}

func canMoveTC(cur, next uint8) bool {
	if cur == next || cur == schema.CCTermConnDropped {
		return false
	}
	if next == schema.CCTermConnUnknown || cur == schema.CCTermConnUnknown {
		return true
	}
	r, n := tcRank(cur), tcRank(next)
	return n > r || (n == 2 && r == 2)
}

// setTC moves cn's TerminalConnection on term to tc, creating it first
// (TermConnCreatedEv) when the connection has none there. Leaving HELD for
// TALKING carries the call-control cause UNHOLD unless the context names
// another.
func (m *Model) setTC(c *call, cn *conn, term string, tc uint8, x evctx) {
	m.confirm(c, cn, x)
	t := cn.tc(term)
	if t == nil {
		if tc == schema.CCTermConnDropped {
			return // nothing to drop
		}
		t = cn.addTC(term)
		m.emitTC(c, cn, t, schema.EvTermConnCreated, x)
	}
	if !canMoveTC(t.st, tc) {
		return
	}
	oldCore := t.core()
	if t.st == schema.CCTermConnHeld && tc == schema.CCTermConnTalking && x.ccCause == 0 && !x.snap {
		x.ccCause = schema.CCCauseUnhold
	}
	t.st = tc
	if newCore := t.core(); newCore != oldCore {
		m.emitTC(c, cn, t, coreTCEv[newCore], x)
	}
	m.emitTC(c, cn, t, ccTCEv[tc], x)
}

// drop ends a connection: its TerminalConnection dropped, then the
// connection disconnected (jtapi-facts §12 teardown order).
func (m *Model) drop(c *call, cn *conn, x evctx) {
	if cn.cc == 0 || !cn.live() {
		return
	}
	if cn.flags&connStale != 0 {
		// Not described to the consumer since observation ended: it
		// leaves as silently as the gap hid it.
		cn.cc = schema.CCConnDisconnected
		for i := range cn.tcs {
			cn.tcs[i].st = schema.CCTermConnDropped
		}
		return
	}
	for i := range cn.tcs {
		m.setTC(c, cn, cn.tcs[i].term, schema.CCTermConnDropped, x)
	}
	m.setConn(c, cn, schema.CCConnDisconnected, x)
}
