package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Party slots of a call.
const (
	pCalling = iota
	pCalled
	pCurCalling
	pCurCalled
	pLastRedirecting
	nParties
)

// Call flags.
const (
	// callRouting: a route session on this call selected a destination
	// (RouteUsed) and has not ended; the route point's leg leaving must not
	// end the call.
	callRouting uint8 = 1 << iota
	// callBusyDone: the busy treatment (a connection FAILED) was applied.
	callBusyDone
	// callObsEnded: CallObservationEndedEv was sent (EndObservation) and
	// no snapshot has rebuilt the call since.
	callObsEnded
	// callBeforeGap: the call was tracked when observation ended; Reconcile
	// decides whether it continued or ended during the gap.
	callBeforeGap
	// callDiscovered: a snapshot reported the call while the model did not
	// know it.
	callDiscovered
	// callAwaitRecovery: the call was known before the gap only at route
	// points (no snapshot for them) and nothing has named it since: it
	// continues, waiting for the new CTIManager's recovery of it (a route
	// event, its legs' events). ExpireRecovery forgets it if none comes.
	callAwaitRecovery
	// callFinal: the primary call of a transfer or conference in progress,
	// the one that survives: it stays while the feature runs even when no
	// line of this session is in it for a moment (the controller left, the
	// destination joins next).
	callFinal
)

// Features in progress on a call.
const (
	featNone uint8 = iota
	featTransfer
	featConference
)

// call is one tracked Call. It holds no map: connections are a short slice
// searched linearly (calls have two to a handful of parties).
type call struct {
	id          uint32
	idStr       string
	callManager string
	parties     [nParties]ctilink.Party
	// pp caches the parties as schema pointers shared by the events of the
	// call until the parties change.
	pp      *[nParties]*schema.Party
	conns   []*conn
	state   uint8 // schema.CallIdle/Active/Invalid
	feature uint8
	flags   uint8
	// snapEpoch is the model epoch in which the call was created or a
	// snapshot last rebuilt it; seenEpoch the last epoch in which any wire
	// event concerned it.
	snapEpoch uint32
	seenEpoch uint32
	// markEpoch is the epoch in which a live event last set the feature,
	// routing or busy mark: marks set since the gap are current, a
	// snapshot rebuilding the call keeps them.
	markEpoch uint32
}

// connFlags are a connection's flags.
type connFlags uint16

// Connection flags.
const (
	// connLine: the connection is driven by its own line's events (a
	// controlled line of this session). Others are synthesized from party
	// information ("remote").
	connLine connFlags = 1 << iota
	// connParty: created by a CallPartyEvent; only CallPartyEvents remove it.
	connParty
	// connTransient: the party is not really in the call (calling-party
	// transformation); ConnectionData.Transient.
	connTransient
	// connControlled: the address is in the control list.
	connControlled
	// connRedirecting: the route point leg whose route session selected a
	// destination; its disconnection is a redirect.
	connRedirecting
	// connStale: the connection was known when observation last ended
	// (EndObservation) and neither a snapshot nor a live event has
	// confirmed it since. The consumer was told the call's observation
	// ended, so a stale connection is re-described (ConnCreatedEv and its
	// states) when something confirms it; one still stale at Reconcile
	// left during the gap and is removed without events.
	connStale
	// connMoved: the line's connection moved to another call
	// (CallChangedEvent during a transfer or conference): it is still in
	// this call until the call is cleared — JTAPI drops it there after the
	// parties that stay (guide Table 8) — but it no longer keeps the call
	// alive.
	connMoved
	// connLost: the line's CallManager node failed during the call
	// (UNKNOWN, CALLMANAGER_FAILURE): the connection is in the call, no
	// longer observed; it does not keep the call observed.
	connLost
	// connHunt: the hunt pilot of a hunt-list call (hunt.go); created
	// with CiscoHuntConnCreatedEv, kept while the call hunts.
	connHunt
)

// tconn is a TerminalConnection: the connection's appearance on one
// terminal. A line has one per device it is on (a shared line, one
// directory number on several phones, has several).
type tconn struct {
	term string
	// st is the CallControlTerminalConnection state (schema.CCTermConn*).
	st uint8
	// lost: the terminal's CallManager node failed during the call (see
	// connLost).
	lost bool
}

func (t *tconn) core() int { return schema.CoreTermConnState(int(t.st)) }

// conn is a Connection with its TerminalConnections.
type conn struct {
	addr string
	// far is, for a line connection, the DN of the party at the other end
	// as its latest event named it. Synthesized connections live as long as
	// some live line connection names them as its far end.
	far string
	// cc is the CallControlConnection state (schema.CCConn*); 0 means
	// created but not yet announced (no ConnCreatedEv yet).
	cc uint8
	// tcs are its TerminalConnections in creation order (tc0 holds the
	// first, so that a line's single one costs no allocation).
	tcs    []tconn
	tc0    [1]tconn
	flags  connFlags
	reason ctilink.ConnReason
}

func (cn *conn) core() int { return schema.CoreConnState(int(cn.cc)) }

// tc returns the TerminalConnection on term, nil when none.
func (cn *conn) tc(term string) *tconn {
	for i := range cn.tcs {
		if cn.tcs[i].term == term {
			return &cn.tcs[i]
		}
	}
	return nil
}

// addTC creates an (idle) TerminalConnection on term.
func (cn *conn) addTC(term string) *tconn {
	if cn.tcs == nil {
		cn.tcs = cn.tc0[:0]
	}
	cn.tcs = append(cn.tcs, tconn{term: term, st: schema.CCTermConnIdle})
	return &cn.tcs[len(cn.tcs)-1]
}

// allTCsLost reports whether every TerminalConnection still in the call
// lost its CallManager node (a shared line observed on another phone
// still is).
func (cn *conn) allTCsLost() bool {
	for _, t := range cn.tcs {
		if t.st != schema.CCTermConnDropped && !t.lost {
			return false
		}
	}
	return true
}

// liveTCs counts TerminalConnections not DROPPED (nor lost to a
// CallManager failure) other than on except.
func (cn *conn) liveTCs(except string) int {
	n := 0
	for _, t := range cn.tcs {
		if t.term != except && t.st != schema.CCTermConnDropped && !t.lost {
			n++
		}
	}
	return n
}

// live reports an announced connection that is not final. FAILED is live:
// it still moves to DISCONNECTED.
func (cn *conn) live() bool { return cn.cc != 0 && cn.cc != schema.CCConnDisconnected }

func (cn *conn) isLine() bool { return cn.flags&connLine != 0 }

func (c *call) find(addr string) *conn {
	for _, cn := range c.conns {
		if cn.addr == addr {
			return cn
		}
	}
	return nil
}

// add appends a new (unannounced) connection; nil when the call is full.
func (c *call) add(cn *conn) *conn {
	if len(c.conns) >= maxConnsPerCall {
		return nil
	}
	c.conns = append(c.conns, cn)
	return cn
}

// removeUnannounced drops connections created but never announced (a
// handler that found nothing to report for them).
func (c *call) removeUnannounced() {
	kept := c.conns[:0]
	for _, cn := range c.conns {
		if cn.cc != 0 {
			kept = append(kept, cn)
		}
	}
	clear(c.conns[len(kept):])
	c.conns = kept
}

// hasLiveLine reports whether a live line connection other than except
// exists.
func (c *call) hasLiveLine(except *conn) bool {
	for _, cn := range c.conns {
		if cn != except && cn.isLine() && cn.live() && cn.flags&(connMoved|connLost) == 0 {
			return true
		}
	}
	return false
}

// liveParties counts live, non-transient connections other than except.
func (c *call) liveParties(except *conn) int {
	n := 0
	for _, cn := range c.conns {
		if cn != except && cn.live() && cn.flags&(connTransient|connHunt) == 0 {
			n++
		}
	}
	return n
}

// referenced reports whether a live line connection names addr as its far
// end.
func (c *call) referenced(addr string) bool {
	for _, cn := range c.conns {
		if cn.isLine() && cn.live() && cn.far == addr {
			return true
		}
	}
	return false
}

// setParties records the parties of a wire event; empty parties do not
// erase known ones (events of different legs carry what they know).
func (c *call) setParties(ev *ctilink.CallStateEvent) {
	ps := [nParties]ctilink.Party{ev.Calling, ev.Called, ev.CurrentCalling, ev.CurrentCalled, ev.LastRedirecting}
	for i, p := range ps {
		if p.DN != "" && p != c.parties[i] {
			c.parties[i] = p
			c.pp = nil
		}
	}
	if ev.CallManager != "" {
		c.callManager = ev.CallManager
	}
}

func (c *call) partyPtrs() *[nParties]*schema.Party {
	if c.pp == nil {
		var pp [nParties]*schema.Party
		for i, p := range c.parties {
			if p.DN != "" {
				pp[i] = &schema.Party{Address: p.DN, Terminal: p.Device, External: p.External}
			}
		}
		c.pp = &pp
	}
	return c.pp
}

// tombstones remembers recently ended calls so that stray late events
// (after CallInvalidEv) neither resurrect them nor grow the model. It is a
// fixed ring plus an index: bounded memory whatever the input.
const tombstoneCap = 256

type tombstones struct {
	ring [tombstoneCap]uint32
	next int
	set  map[uint32]struct{}
}

func (t *tombstones) add(id uint32) {
	if t.set == nil {
		t.set = make(map[uint32]struct{}, tombstoneCap)
	}
	if _, ok := t.set[id]; ok {
		return
	}
	if old := t.ring[t.next]; old != 0 {
		delete(t.set, old)
	}
	t.ring[t.next] = id
	t.next = (t.next + 1) % tombstoneCap
	t.set[id] = struct{}{}
}

func (t *tombstones) has(id uint32) bool {
	_, ok := t.set[id]
	return ok
}

// forget removes id (a call that legitimately comes back, rejoins.go).
func (t *tombstones) forget(id uint32) {
	if _, ok := t.set[id]; !ok {
		return
	}
	delete(t.set, id)
	for i, v := range t.ring {
		if v == id {
			t.ring[i] = 0
		}
	}
}

// remove forgets id (a snapshot says the call exists after all).
func (t *tombstones) remove(id uint32) {
	if !t.has(id) {
		return
	}
	delete(t.set, id)
	for i, v := range t.ring {
		if v == id {
			t.ring[i] = 0
		}
	}
}
