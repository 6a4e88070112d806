package ctiengine

import (
	"fmt"
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// send queues msg for the current link and returns the header sequence the
// frame will carry: the runner writes exactly the machine's messages, in
// order, on a fresh ctilink.Conn, so numbering here matches the wire.
func (m *Machine) send(msg ctilink.Message, now time.Time) uint32 {
	m.txSeq++
	m.lastTx = now
	m.stats.FramesOut++
	m.out.Send = append(m.out.Send, msg)
	return m.txSeq
}

func (m *Machine) arm(id TimerID, at time.Time) {
	m.timers[id] = at
	m.out.Timers = append(m.out.Timers, TimerOp{ID: id, At: at})
}

func (m *Machine) cancel(id TimerID) {
	if m.timers[id].IsZero() {
		return
	}
	m.timers[id] = time.Time{}
	m.out.Timers = append(m.out.Timers, TimerOp{ID: id})
}

func (m *Machine) cancelLinkTimers() {
	for _, id := range []TimerID{TimerHeartbeatRecv, TimerHeartbeatSend, TimerPhase, TimerRequest, TimerProbe, TimerFallback} {
		m.cancel(id)
	}
}

func (m *Machine) note(level zerolog.Level, msg string, err error) {
	m.out.Notes = append(m.out.Notes, Note{Level: level, Msg: msg, CTIManager: m.nodeName, Err: err})
}

func (m *Machine) setLink(to LinkState, reason string, _ time.Time) {
	if m.link == to {
		return
	}
	m.out.Transitions = append(m.out.Transitions, Transition{Kind: "link", From: m.link.String(), To: to.String(),
		Reason: reason, CTIManager: m.nodeName})
	m.link = to
}

func (m *Machine) setProvider(to ProviderState, reason string) {
	if m.prov == to {
		return
	}
	m.out.Transitions = append(m.out.Transitions, Transition{Kind: "provider", From: m.prov.String(), To: to.String(),
		Reason: reason, CTIManager: m.nodeName})
	m.prov = to
}

// newRound orders the CTIManagers for the next pass: the normal ones
// starting after the one last in service (wrapping, so that one comes last),
// then the least-priority one.
func (m *Machine) newRound(after int) {
	cms := m.cfg.CTIManagers
	m.round = m.round[:0]
	start := 0
	if after >= 0 && after < len(cms) && !cms[after].LeastPriority {
		start = after + 1
	}
	lp := -1
	for i := range cms {
		j := (start + i) % len(cms)
		if cms[j].LeastPriority {
			lp = j
			continue
		}
		m.round = append(m.round, j)
	}
	if lp >= 0 {
		m.round = append(m.round, lp)
	}
	m.roundPos = 0
}

// connectNext dials the next CTIManager of the round, or ends the round.
func (m *Machine) connectNext(now time.Time) {
	if m.roundPos >= len(m.round) {
		m.roundFailed(now)
		return
	}
	node := m.round[m.roundPos]
	m.roundPos++
	if m.newSession {
		m.startSession()
	}
	cm := m.cfg.CTIManagers[node]
	m.lastLinkID++
	m.linkID = m.lastLinkID
	m.node = node
	m.nodeName = cm.Name
	m.announced = false
	m.closing = closeNone
	m.pendingDetail = ""
	addr, useTLS := cm.Addr, false
	if m.cfg.TLS.Enabled() && cm.TLSAddr != "" {
		addr, useTLS = cm.TLSAddr, true
	}
	m.linkTLS = useTLS
	m.linkProtoErrs = 0
	m.stats.ConnectAttempts++
	m.attempts[node].at = now
	m.connectAt = now
	m.setLink(LinkConnecting, "connect", now)
	m.out.Dial = &DialRequest{Link: m.linkID, Node: node, CTIManager: cm.Name, Addr: addr, TLS: useTLS}
	ev := m.providerEvent(schema.EvCTIManagerConnecting, now)
	ev.Data.Provider.LeastPriority = cm.LeastPriority
	ev.Data.Provider.Attempt = m.failedRounds + 1
	ev.Data.Provider.Detail = addr
	m.emit(ev)
}

// attemptFailed records why the current CTIManager's attempt or link
// ended.
func (m *Machine) attemptFailed(detail string, now time.Time) {
	m.lastErr = detail
	if m.node >= 0 && m.node < len(m.attempts) {
		m.attempts[m.node].err, m.attempts[m.node].errAt = detail, now
	}
}

func (m *Machine) roundFailed(now time.Time) {
	m.failedRounds++
	m.nodeName = ""
	m.node = -1
	if m.everInService && m.cfg.ProviderOpenRetryAttempts > 0 && m.failedRounds >= m.cfg.ProviderOpenRetryAttempts {
		err := fmt.Errorf("%w: %d consecutive rounds over %d CTIManagers failed (ProviderOpenRetryAttempts %d); last error: %s",
			ErrRetryAttemptsExceeded, m.failedRounds, len(m.cfg.CTIManagers), m.cfg.ProviderOpenRetryAttempts, m.lastErr)
		m.stop(now, ctilink.CloseRetryAttemptsExceeded, err.Error(), err)
		return
	}
	m.setLink(LinkWaitingRetry, fmt.Sprintf("round %d over the CTIManager list failed", m.failedRounds), now)
	m.arm(TimerRetry, now.Add(m.cfg.ProviderRetryInterval))
}

// hangup drops the current link (if any) and forgets its requests.
func (m *Machine) hangup(now time.Time) {
	if m.linkID != 0 {
		m.out.Hangup = m.linkID
	}
	m.linkID = 0
	m.cancelLinkTimers()
	m.cancel(TimerClose)
	clear(m.pending)
	m.deadlines = m.deadlines[:0]
	clear(m.queue)
	m.queue = m.queue[:0]
	m.queueHead = 0
	m.openPending = 0
	m.snapPending = 0
	m.listBuf = m.listBuf[:0]
	m.closing = closeNone
	m.discardHeldBack()
}

// discardHeldBack forgets the call messages held back on a link that
// ended before the provider came into service on it (lost, or closed by
// Close, during the device opens). They are never applied: JTAPI reports
// no call event before ProvInServiceEv, and the provider never came back
// on that link. They lie inside the provider gap that is open (it stays
// open until a later link's snapshots reconcile the calls, or to the end
// of the stream); on the very first link there is none, and nothing was
// ever observed. Counted (Counters.HeldBackDiscarded) and logged, never
// silent.
func (m *Machine) discardHeldBack() {
	n := len(m.buffered)
	if n == 0 {
		return
	}
	m.stats.HeldBackDiscarded += uint64(n)
	where := "before the provider first came into service: nothing was observed yet"
	if m.gap != nil {
		where = "inside provider gap " + m.gap.id + ", still open"
	}
	m.note(zerolog.InfoLevel, fmt.Sprintf("%d call message(s) held back until the provider came into service discarded: the link ended first; they lie %s",
		n, where), nil)
	clear(m.buffered)
	m.buffered = m.buffered[:0]
	m.bufferAt = m.bufferAt[:0]
	m.bufferSeq = m.bufferSeq[:0]
}

// lose handles the end of the current link for any reason other than an
// orderly close: the link events, then (if the provider was in service) the
// JTAPI CTIManager-failure sequence and the gap, then the next attempt.
func (m *Machine) lose(now time.Time, reason ctilink.CloseReason, detail string) {
	wasInService := m.prov == ProviderInService
	m.attemptFailed(detail, now)
	lostNode := m.node
	if m.announced {
		ev := m.providerEvent(schema.EvCTIManagerLost, now)
		ev.Data.Provider.Reason = reason.String()
		ev.Data.Provider.ReasonCode = int(reason)
		ev.Data.Provider.Detail = detail
		if !m.lastRx.IsZero() {
			t := m.lastRx
			ev.Data.Provider.LastHeardAt = &t
		}
		m.emit(ev)
		m.stats.Failovers++
		// A failover begins: its waves are counted up to the GapClosed
		// that ends it (a later loss before that starts them again, as
		// replay timeline starts a new failover there).
		m.waves = schema.NewWaveCounter(schema.EventID(m.session, m.sessionSeq))
	} else {
		m.stats.ConnectFailures++
		ev := m.providerEvent(schema.EvCTIManagerFailed, now)
		ev.Data.Provider.Reason = reason.String()
		ev.Data.Provider.ReasonCode = int(reason)
		ev.Data.Provider.Detail = detail
		m.emit(ev)
	}
	m.note(zerolog.WarnLevel, "CTIManager link ended: "+detail, nil)
	m.hangup(now)
	m.setLink(LinkConnecting, "link lost: "+detail, now)
	if wasInService {
		m.outOfService(now, reason, detail)
	}
	if m.done {
		return
	}
	if wasInService {
		// A provider that was in service starts a fresh round after the
		// lost CTIManager (the next one in the list).
		m.newRound(lostNode)
		if m.fallingBack {
			m.newRound(-1)
		}
	}
	m.connectNext(now)
}

// outOfService emits the CTIManager-failure sequence (jtapi-facts §4):
// CallObservationEndedEv, per observed terminal its observed addresses'
// CiscoAddrOutOfServiceEv then CiscoTermOutOfServiceEv, provider
// OUT_OF_SERVICE with ProvOutOfServiceEv, then GapOpened. The session ends
// with it.
func (m *Machine) outOfService(now time.Time, reason ctilink.CloseReason, detail string) {
	m.out.Events = slices.Grow(m.out.Events, 2*len(m.devices)+m.model.Stats().Tracked+8)
	for _, o := range m.model.EndObservation(now) {
		m.emitOut(o, now)
	}
	cause := schema.OOSCauseCTIManagerFailure
	for _, d := range m.devices {
		for i := range d.lines {
			l := &d.lines[i]
			if l.observed && l.inService {
				l.inService = false
				m.emit(m.addressEvent(schema.EvCiscoAddrOutOfService, d, l, cause, now))
			}
		}
		if d.observed && d.inService {
			d.inService = false
			m.emit(m.terminalEvent(schema.EvCiscoTermOutOfService, d, cause, now))
		}
		// Unobserved objects are out of service too; they just get no event.
		d.inService, d.oosCause = false, cause
		for i := range d.lines {
			d.lines[i].inService, d.lines[i].oosCause = false, cause
		}
	}
	m.onLP = false
	m.primReachable = false
	m.setProvider(ProviderOutOfService, detail)
	ev := m.providerEvent(schema.EvProvOutOfService, now)
	ev.Data.Provider.Reason = reason.String()
	ev.Data.Provider.ReasonCode = int(reason)
	ev.Data.Provider.Detail = detail
	m.emit(ev)
	m.openLossGap(now, reason.String()+": "+detail)
	m.newSession = true
}

// adoptGap takes over a gap an earlier run opened and recorded: it is
// closed (GapClosed with this run's reconciliation) under its own id.
func (m *Machine) adoptGap(g *PriorGap) {
	if m.gap != nil {
		return
	}
	m.stats.Gaps++
	m.gap = &gapState{id: g.ID, openedAt: g.OpenedAt, detectedAt: g.OpenedAt, reason: g.Reason}
}

// stop shuts the provider down for good.
func (m *Machine) stop(now time.Time, reason ctilink.CloseReason, detail string, err error) {
	if m.done {
		return
	}
	if m.prov == ProviderInService {
		for _, o := range m.model.EndObservation(now) {
			m.emitOut(o, now)
		}
	}
	m.cancelLinkTimers()
	for id := TimerID(0); id < numTimers; id++ {
		m.cancel(id)
	}
	m.setProvider(ProviderShutdown, detail)
	ev := m.providerEvent(schema.EvProvShutdown, now)
	ev.Data.Provider.Reason = reason.String()
	ev.Data.Provider.ReasonCode = int(reason)
	ev.Data.Provider.Detail = detail
	m.emit(ev)
	m.openGapAt(now, now, "provider shut down: "+reason.String())
	m.setLink(LinkStopped, detail, now)
	m.done = true
	m.err = err
	if err != nil {
		m.note(zerolog.ErrorLevel, "provider shut down", err)
	} else {
		m.note(zerolog.InfoLevel, "provider shut down: "+detail, nil)
	}
}

// closeDone ends an orderly close (ProviderClosed arrived, the link
// dropped, or CloseTimeout passed).
func (m *Machine) closeDone(now time.Time, detail string) {
	intent := m.closing
	m.closing = closeNone
	switch intent {
	case closeShutdown:
		if m.announced {
			ev := m.providerEvent(schema.EvCTIManagerLost, now)
			ev.Data.Provider.Reason = ctilink.CloseApplicationRequest.String()
			ev.Data.Provider.ReasonCode = int(ctilink.CloseApplicationRequest)
			ev.Data.Provider.Detail = "closed on application request (" + detail + ")"
			if !m.lastRx.IsZero() {
				t := m.lastRx
				ev.Data.Provider.LastHeardAt = &t
			}
			m.emit(ev)
		}
		m.hangup(now)
		m.stop(now, ctilink.CloseApplicationRequest, "closed on application request", nil)
	case closeFallback:
		m.lose(now, ctilink.CloseApplicationRequest, "fallback to a normal CTIManager ("+detail+")")
	}
}

// heartbeatRecvDue tears the link down when nothing arrived for twice the
// server heartbeat interval; otherwise it re-arms for the new deadline.
func (m *Machine) heartbeatRecvDue(now time.Time) {
	if !m.link.established() || m.serverHB <= 0 {
		return
	}
	deadline := m.lastRx.Add(2 * m.serverHB)
	if now.Before(deadline) {
		m.arm(TimerHeartbeatRecv, deadline)
		return
	}
	m.stats.HeartbeatMisses++
	m.lose(now, ctilink.CloseHeartbeatMissed,
		fmt.Sprintf("nothing received for %v (2 × server heartbeat %v)", now.Sub(m.lastRx), m.serverHB))
}

// heartbeatSendDue sends a Heartbeat when nothing else was sent for the
// client interval.
func (m *Machine) heartbeatSendDue(now time.Time) {
	if !m.link.established() || m.clientHB <= 0 {
		return
	}
	due := m.lastTx.Add(m.clientHB)
	if now.Before(due) {
		m.arm(TimerHeartbeatSend, due)
		return
	}
	m.send(ctilink.Heartbeat{}, now)
	m.stats.HeartbeatsSent++
	m.lastHBSent = now
	m.arm(TimerHeartbeatSend, now.Add(m.clientHB))
}

func (m *Machine) phaseTimeout(now time.Time) {
	switch m.link {
	case LinkOpening, LinkAwaitingOpenCompleted:
		m.stats.RequestTimeouts++
		m.lose(now, ctilink.CloseProviderOpenFailure,
			fmt.Sprintf("provider open not completed within ProviderOpenRequestTimeout %v", m.cfg.ProviderOpenRequestTimeout))
	case LinkFetchingDevices:
		m.stats.RequestTimeouts++
		m.lose(now, ctilink.CloseUnknown,
			fmt.Sprintf("device list not received within CtiRequestTimeout %v", m.cfg.CtiRequestTimeout))
	}
}

// request queues a pipelined request; pump sends within the window.
func (m *Machine) request(q queuedReq) {
	m.queue = append(m.queue, q)
}

func (m *Machine) pump(now time.Time) {
	for m.queueHead < len(m.queue) && len(m.pending) < m.cfg.RequestWindow {
		q := m.queue[m.queueHead]
		m.queue[m.queueHead] = queuedReq{}
		m.queueHead++
		seq := m.send(q.msg, now)
		m.pending[seq] = pendingReq{kind: q.kind, dev: q.dev, line: q.line, since: q.since}
		m.deadlines = append(m.deadlines, reqDeadline{seq: seq, at: now.Add(m.cfg.CtiRequestTimeout)})
		if m.timers[TimerRequest].IsZero() {
			m.arm(TimerRequest, now.Add(m.cfg.CtiRequestTimeout))
		}
	}
	if m.queueHead == len(m.queue) {
		m.queue = m.queue[:0]
		m.queueHead = 0
		if cap(m.queue) > maxRetained {
			m.queue = nil
		}
	}
}

// requestTimeoutDue finds the oldest request still unanswered; requests are
// sent in order with one timeout, so deadlines are in order too.
func (m *Machine) requestTimeoutDue(now time.Time) {
	i := 0
	for i < len(m.deadlines) {
		d := m.deadlines[i]
		if _, ok := m.pending[d.seq]; !ok {
			i++
			continue
		}
		if now.Before(d.at) {
			break
		}
		p := m.pending[d.seq]
		m.stats.RequestTimeouts++
		m.deadlines = m.deadlines[:0]
		m.lose(now, ctilink.CloseUnknown, fmt.Sprintf("%s (frame %d) not answered within CtiRequestTimeout %v",
			p.kind, d.seq, m.cfg.CtiRequestTimeout))
		return
	}
	n := copy(m.deadlines, m.deadlines[i:])
	m.deadlines = m.deadlines[:n]
	if n > 0 {
		m.arm(TimerRequest, m.deadlines[0].at)
	}
}

// probeDue asks the runner to probe every normal CTIManager.
func (m *Machine) probeDue(now time.Time) {
	if !m.onLP || m.primReachable {
		return
	}
	for i, cm := range m.cfg.CTIManagers {
		if cm.LeastPriority {
			continue
		}
		addr := cm.Addr
		if m.cfg.TLS.Enabled() && cm.TLSAddr != "" {
			addr = cm.TLSAddr
		}
		m.out.Probes = append(m.out.Probes, ProbeRequest{Node: i, CTIManager: cm.Name, Addr: addr})
	}
	m.arm(TimerProbe, now.Add(m.cfg.ProviderRetryInterval))
}

// startFallback begins the orderly switch off the least-priority
// CTIManager: ProviderCloseRequest, then (on ProviderClosed) the normal
// failover sequence to the first normal CTIManager of the list.
func (m *Machine) startFallback(now time.Time, why string) {
	if !m.onLP || m.closing != closeNone || !m.link.established() {
		m.note(zerolog.InfoLevel, "fallback ignored: not on the least-priority CTIManager", nil)
		return
	}
	m.fallingBack = true
	m.closing = closeFallback
	m.cancelLinkTimers()
	m.cancel(TimerFallback)
	m.note(zerolog.InfoLevel, "falling back off the least-priority CTIManager: "+why, nil)
	m.send(ctilink.ProviderCloseRequest{Reason: ctilink.CloseApplicationRequest}, now)
	m.setLink(LinkClosing, why, now)
	m.arm(TimerClose, now.Add(m.cfg.CloseTimeout))
}
