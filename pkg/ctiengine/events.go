package ctiengine

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Sink receives the engine's events. Emit is called from the engine's
// single goroutine, in order; a slow Sink slows the engine (and, through
// TCP, the CTIManager), it never reorders or drops events. The engine has
// filled Family, Entity, Name, Session, SessionSeq, Sequence, CTIManager,
// Time, Received and Data (Event, EventID, causes, states, Snapshot and
// Inferred flags, Times.Upstream and Times.Received). The Sink must not
// keep pointers into Data beyond Emit unless it treats them as read-only.
type Sink interface {
	Emit(ev schema.Event)
}

// SinkFunc adapts a function to Sink.
type SinkFunc func(ev schema.Event)

// Emit calls f.
func (f SinkFunc) Emit(ev schema.Event) { f(ev) }

var trueV, falseV = true, false

func (m *Machine) startSession() {
	m.sessionN++
	m.session = fmt.Sprintf("%s-p%d", m.cfg.BridgeInstance, m.sessionN)
	m.sessionSeq = 0
	clear(m.seqs)
	m.seqTomb.reset()
	m.callSeqs = 0
	m.newSession = false
}

func (m *Machine) newEvent(fam schema.Family, entity, name string, now, upstream time.Time) schema.Event {
	spec, _ := schema.Spec(name)
	ev := schema.Event{Family: fam, Entity: entity, Name: name, Time: upstream, Received: now}
	ev.Data.Event = name
	ev.Data.EventID = spec.ID
	return ev
}

func (m *Machine) providerEvent(name string, now time.Time) schema.Event {
	ev := m.newEvent(schema.FamilyProvider, "", name, now, now)
	ev.Data.Provider = &schema.ProviderData{State: m.prov.String(), StateCode: int(m.prov), CTIManager: m.nodeName}
	return ev
}

func (m *Machine) bridgeEvent(name string, now time.Time) schema.Event {
	ev := m.newEvent(schema.FamilyBridge, "", name, now, now)
	ev.Data.Bridge = &schema.BridgeData{Instance: m.cfg.BridgeInstance}
	return ev
}

func setCause(d *schema.Data, cause int) {
	if cause != 0 {
		d.Cause = cause
		d.CauseName = schema.CauseNames[cause]
	}
}

func serviceState(in bool) string {
	if in {
		return "IN_SERVICE"
	}
	return "OUT_OF_SERVICE"
}

func (m *Machine) terminalEvent(name string, d *device, cause int, now time.Time) schema.Event {
	ev := m.newEvent(schema.FamilyTerminal, d.name, name, now, now)
	// Registered and Addresses point to shared read-only values (see the
	// Sink contract): a failover emits tens of thousands of these.
	reg := &falseV
	if d.registered {
		reg = &trueV
	}
	td := &schema.TerminalData{Name: d.name, Type: string(d.typ), State: serviceState(d.inService),
		CallManager: d.callManager, Registered: reg, Observed: d.observed, Addresses: d.addrs}
	if d.port != nil && !d.port.Dynamic {
		td.MediaIP, td.MediaPort = d.port.Media.IP, d.port.Media.Port
		td.MediaCodecs = d.port.Media.Codecs
	}
	ev.Data.Terminal = td
	setCause(&ev.Data, cause)
	return ev
}

func (m *Machine) addressEvent(name string, d *device, l *line, cause int, now time.Time) schema.Event {
	ev := m.newEvent(schema.FamilyAddress, l.dn, name, now, now)
	ev.Data.Address = &schema.AddressData{DN: l.dn, Terminal: d.name, State: serviceState(l.inService), Observed: l.observed}
	setCause(&ev.Data, cause)
	return ev
}

func (m *Machine) emitCertProblem(now time.Time, reason string, code int, detail string) {
	ev := m.providerEvent(schema.EvCertificateProblem, now)
	ev.Data.Provider.Reason = reason
	ev.Data.Provider.ReasonCode = code
	ev.Data.Provider.Detail = detail
	m.emit(ev)
}

// emitAt emits ev with the upstream time set to up (when CTI reported it).
func (m *Machine) emitAt(ev schema.Event, up time.Time) {
	ev.Time = up
	m.emit(ev)
}

func (m *Machine) emitOut(o callmodel.Out, received time.Time) {
	ev := schema.Event{Family: o.Family, Entity: o.Entity, Name: o.Name, Time: o.Time, Received: received, Data: o.Data}
	m.emit(ev)
}

// emit stamps ev with the session, the session-wide and per-entity
// sequences and the CTIManager, and queues it for the Sink.
func (m *Machine) emit(ev schema.Event) {
	if m.session == "" {
		m.startSession()
	}
	m.sessionSeq++
	ev.Session = m.session
	ev.SessionSeq = m.sessionSeq
	k := seqKey{fam: ev.Family, ent: ev.Entity}
	n, known := m.seqs[k]
	if !known && ev.Family == schema.FamilyCall {
		// A call forgotten a moment ago can come back in the same session
		// (after a failover a call rebuilt from one device's snapshot may
		// end before another device's snapshot reports it again): its
		// sequence continues, it never restarts.
		n = m.seqTomb.take(ev.Entity)
	}
	n++
	ev.Sequence = n
	if ev.CTIManager == "" {
		ev.CTIManager = m.nodeName
	}
	if ev.Frame == "" {
		ev.Frame = m.frameID()
	}
	ev.Data.Times.Upstream = ev.Time
	ev.Data.Times.Received = ev.Received
	m.stats.Events++
	m.out.Events = append(m.out.Events, ev)
	if m.waves != nil {
		m.waves.Add(&m.out.Events[len(m.out.Events)-1])
	}
	if ev.Family == schema.FamilyCall && (ev.Name == schema.EvCallObservationEnded || ev.Name == schema.EvCallEndedInGap) {
		// The call's last event in this session: forget its counter so
		// that memory follows live calls, not calls ever seen.
		if known {
			delete(m.seqs, k)
			m.callSeqs--
		}
		m.seqTomb.put(ev.Entity, n)
		return
	}
	m.seqs[k] = n
	if !known && ev.Family == schema.FamilyCall {
		m.callSeqs++
		if m.callSeqs > 2*m.model.Stats().Tracked+4096 {
			m.pruneCallSeqs()
		}
	}
}

// pruneCallSeqs drops the counters of calls the model no longer tracks
// (amortised: it runs when the counters outnumber live calls by far).
func (m *Machine) pruneCallSeqs() {
	live := make(map[string]struct{}, m.model.Stats().Tracked)
	for _, c := range m.model.Calls() {
		live[c.CallID] = struct{}{}
	}
	for k := range m.seqs {
		if k.fam != schema.FamilyCall {
			continue
		}
		if _, ok := live[k.ent]; !ok {
			m.seqTomb.put(k.ent, m.seqs[k])
			delete(m.seqs, k)
			m.callSeqs--
		}
	}
}

// seqTombSize bounds the forgotten call sequences kept (the calls ended
// last, about the last tens of seconds at a high call rate).
const seqTombSize = 8192

// seqTombstones remembers the last sequence of the calls whose counters
// were dropped, so that a call reported again in the same session goes on
// from there. It is a bounded FIFO.
type seqTombstones struct {
	seqs map[string]uint64
	ring []string
	next int
}

func (t *seqTombstones) put(callID string, seq uint64) {
	if t.seqs == nil {
		t.seqs = make(map[string]uint64)
		t.ring = make([]string, seqTombSize)
	}
	if _, ok := t.seqs[callID]; !ok {
		if old := t.ring[t.next]; old != "" {
			delete(t.seqs, old)
		}
		t.ring[t.next] = callID
		t.next = (t.next + 1) % len(t.ring)
	}
	t.seqs[callID] = seq
}

// take returns (and forgets) a forgotten call's last sequence, 0 if none.
func (t *seqTombstones) take(callID string) uint64 {
	n, ok := t.seqs[callID]
	if ok {
		delete(t.seqs, callID)
	}
	return n
}

func (t *seqTombstones) reset() {
	clear(t.seqs)
	clear(t.ring)
	t.next = 0
}
