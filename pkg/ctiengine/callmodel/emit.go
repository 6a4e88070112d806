package callmodel

import (
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// evctx is what the events produced by one wire event share: time, causes
// and meta code.
type evctx struct {
	at      time.Time
	cause   int // Ev cause (CAUSE_NORMAL 100 …)
	ccCause int // CallCtlEv cause (BUSY 203 …), 0 for none
	meta    int // meta code (META_CALL_STARTING 128 …)
	// ciscoCause is the wire cause of the line event the events derive
	// from (CiscoCallEv.getCiscoCause()), 0 for none.
	ciscoCause ctilink.Cause
	snap       bool
}

func snapshotCtx(at time.Time) evctx {
	return evctx{at: at, cause: schema.CauseSnapshot, meta: schema.MetaSnapshot, snap: true}
}

func (m *Model) emit(o Out) {
	if m.out == nil {
		// Most wire events yield a handful of JTAPI events (up to seven
		// for a line first heard of).
		m.out = make([]Out, 0, 8)
	}
	m.out = append(m.out, o)
}

// data builds the common part of an event's data.
func data(name string, x evctx) schema.Data {
	d := schema.Data{Event: name, Snapshot: x.snap}
	if sp, ok := schema.Spec(name); ok {
		d.EventID = sp.ID
	}
	if x.cause != 0 {
		d.Cause = x.cause
		d.CauseName = schema.CauseNames[x.cause]
	}
	if x.meta != 0 {
		d.MetaCode = x.meta
		d.MetaName = schema.CauseNames[x.meta]
	}
	if x.ciscoCause != 0 {
		d.CiscoCause = int(x.ciscoCause)
		d.CiscoCauseName = x.ciscoCause.String()
	}
	// Only call-control events (CallCtlEv and the Cisco call events that
	// extend it) carry a call-control cause in JTAPI.
	if x.ccCause != 0 && (strings.HasPrefix(name, "CallCtl") || strings.HasPrefix(name, "Cisco")) {
		d.CallControlCause = x.ccCause
	}
	return d
}

func (c *call) callData() *schema.CallData {
	pp := c.partyPtrs()
	return &schema.CallData{
		CallID:          c.idStr,
		State:           schema.StateNames[int(c.state)],
		StateCode:       int(c.state),
		CallManager:     c.callManager,
		Calling:         pp[pCalling],
		Called:          pp[pCalled],
		CurrentCalling:  pp[pCurCalling],
		CurrentCalled:   pp[pCurCalled],
		LastRedirecting: pp[pLastRedirecting],
	}
}

func (cn *conn) connData() *schema.ConnectionData {
	d := &schema.ConnectionData{
		Address:              cn.addr,
		State:                schema.StateNames[cn.core()],
		StateCode:            cn.core(),
		CallControlState:     schema.StateNames[int(cn.cc)],
		CallControlStateCode: int(cn.cc),
		Transient:            cn.flags&connTransient != 0,
		Controlled:           cn.flags&connControlled != 0,
	}
	if cn.reason != 0 {
		d.Reason = cn.reason.String()
	}
	return d
}

func (cn *conn) tcData(t *tconn) *schema.TerminalConnectionData {
	return &schema.TerminalConnectionData{
		Terminal:             t.term,
		Address:              cn.addr,
		State:                schema.StateNames[t.core()],
		StateCode:            t.core(),
		CallControlState:     schema.StateNames[int(t.st)],
		CallControlStateCode: int(t.st),
	}
}

// emitCall emits a call-level event (CallActiveEv, CallInvalidEv, ...).
func (m *Model) emitCall(c *call, name string, x evctx) *schema.CallData {
	d := data(name, x)
	d.Call = c.callData()
	m.emit(Out{Family: schema.FamilyCall, Entity: c.idStr, Name: name, Time: x.at, Data: d})
	return d.Call
}

// emitConn emits a Connection event; the data shows the state after it.
func (m *Model) emitConn(c *call, cn *conn, name string, x evctx) {
	d := data(name, x)
	d.Call = c.callData()
	d.Call.Connection = cn.connData()
	m.emit(Out{Family: schema.FamilyCall, Entity: c.idStr, Name: name, Time: x.at, Data: d})
}

// emitTC emits a TerminalConnection event, with its Connection for
// context.
func (m *Model) emitTC(c *call, cn *conn, t *tconn, name string, x evctx) {
	d := data(name, x)
	d.Call = c.callData()
	d.Call.Connection = cn.connData()
	d.Call.TerminalConnection = cn.tcData(t)
	m.emit(Out{Family: schema.FamilyCall, Entity: c.idStr, Name: name, Time: x.at, Data: d})
}
