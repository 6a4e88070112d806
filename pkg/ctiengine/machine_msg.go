package ctiengine

import (
	"fmt"
	"strconv"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// frame handles one decoded frame received on link whose header carried
// sequence seq: every event derived from it (directly, or later for a call
// message held back while devices are opened) has Event.Frame
// "<providerId>:<seq>", so the stream can be compared with what CTIManager
// sent. Any inbound frame counts as a heartbeat.
func (m *Machine) frame(link LinkID, seq uint32, msg ctilink.Message, now time.Time) {
	if link != m.linkID || m.done || msg == nil {
		return
	}
	m.setRx(seq)
	defer m.setRx(0)
	heard := m.lastRx
	m.lastRx = now
	m.stats.FramesIn++
	switch v := msg.(type) {
	case ctilink.Heartbeat:
	case ctilink.CallStateEvent, ctilink.FeatureEvent, ctilink.CallChangedEvent, ctilink.MediaEvent,
		ctilink.CallPartyEvent:
		m.callMessage(msg, now)
	case ctilink.RouteEvent:
		m.callMessage(msg, now)
		if v.Kind == ctilink.RouteKindRoute || v.Kind == ctilink.RouteKindReRoute {
			m.routeRequested(v, now)
		} else if v.Kind == ctilink.RouteKindEnd {
			delete(m.routeSess, v.SessionID)
		}
	case ctilink.ProviderOpenResponse:
		m.openResponse(v, now)
	case ctilink.ProviderOpenCompleted:
		m.openCompleted(v, now)
	case ctilink.DeviceListResponse:
		m.deviceList(v, now)
	case ctilink.Response:
		m.response(v.ReqSeq, v.Result, v.Error, now)
	case ctilink.SnapshotCompleted:
		m.snapshotCompleted(v, now)
	case ctilink.DeviceServiceEvent:
		m.deviceService(v, now)
	case ctilink.LineServiceEvent:
		m.lineService(v, now)
	case ctilink.DeviceRegistrationEvent:
		m.deviceRegistration(v, now)
	case ctilink.ProviderClosed:
		m.providerClosed(v, heard, now)
	case ctilink.ErrorMessage:
		m.protocolError(fmt.Sprintf("CTIManager reported an error for frame %d: code %d: %s", v.ReqSeq, v.Code, v.Text), nil)
		if _, ok := m.pending[v.ReqSeq]; ok {
			m.response(v.ReqSeq, ctilink.ResultInvalidRequest, v.Text, now)
		} else if v.ReqSeq != 0 && (v.ReqSeq == m.openSeq && m.link == LinkOpening) {
			m.lose(now, ctilink.CloseProviderOpenFailure, "provider open rejected: "+v.Text)
		}
	default:
		m.protocolError(fmt.Sprintf("unexpected %s from CTIManager ignored", msg.Type()), nil)
	}
}

func (m *Machine) openResponse(v ctilink.ProviderOpenResponse, now time.Time) {
	if m.link != LinkOpening || v.ReqSeq != m.openSeq {
		m.protocolError(fmt.Sprintf("unexpected ProviderOpenResponse (reqSeq %d) in state %s", v.ReqSeq, m.link), nil)
		return
	}
	if v.Result != ctilink.ResultOK {
		m.lose(now, ctilink.CloseProviderOpenFailure, "provider open rejected: "+v.Result.String())
		return
	}
	m.serverHB = time.Duration(v.ServerHeartbeatMs) * time.Millisecond
	m.clientHB = time.Duration(v.ClientHeartbeatMs) * time.Millisecond
	m.providerID = v.ProviderID
	m.rxFrame = ""
	m.announced = true
	m.setLink(LinkAwaitingOpenCompleted, "provider open accepted", now)
	ev := m.providerEvent(schema.EvCTIManagerConnected, now)
	ev.Data.Provider.ProviderID = v.ProviderID
	ev.Data.Provider.ServerHeartbeatMs = v.ServerHeartbeatMs
	ev.Data.Provider.ClientHeartbeatMs = v.ClientHeartbeatMs
	ev.Data.Provider.LeastPriority = m.cfg.CTIManagers[m.node].LeastPriority
	if v.ServerInfo != "" {
		ev.Data.Provider.Detail = v.ServerInfo
	}
	m.emit(ev)
	m.arm(TimerHeartbeatRecv, m.lastRx.Add(2*m.serverHB))
	m.arm(TimerHeartbeatSend, m.lastTx.Add(m.clientHB))
}

// loginRefusal lists open failures that retrying cannot fix.
func loginRefusal(r ctilink.CloseReason) bool {
	switch r {
	case ctilink.CloseLoginFailed, ctilink.CloseLoginNotAllowed, ctilink.CloseUserNotAuthorizedForSecurity,
		ctilink.CloseUnauthorizedForTLS, ctilink.CloseIncompatibleProtocol, ctilink.CloseAuthTypeOnUnsupportedPort,
		ctilink.CloseUserDeleted, ctilink.CloseStandardCTIPermissionRemoved:
		return true
	}
	return false
}

func (m *Machine) openCompleted(v ctilink.ProviderOpenCompleted, now time.Time) {
	if m.link != LinkAwaitingOpenCompleted {
		m.protocolError(fmt.Sprintf("unexpected ProviderOpenCompleted in state %s", m.link), nil)
		return
	}
	if v.Reason != ctilink.CloseNone {
		detail := "provider open failed: " + v.Reason.String()
		if v.FailureDescription != "" {
			detail += ": " + v.FailureDescription
		}
		m.closedBy(v.Reason, detail, now)
		return
	}
	if v.ProviderID != "" && v.ProviderID != m.providerID {
		m.providerID, m.rxFrame = v.ProviderID, ""
	}
	m.cancel(TimerPhase)
	m.setLink(LinkFetchingDevices, "provider open completed", now)
	m.listBuf = m.listBuf[:0]
	m.listTotal, m.listPages, m.listRejected = 0, 0, 0
	m.listSeq = m.send(ctilink.DeviceListRequest{}, now)
	m.arm(TimerPhase, now.Add(m.cfg.CtiRequestTimeout))
}

// closedBy handles a provider closed by CTIManager (ProviderClosed, or a
// failed ProviderOpenCompleted) for reason.
func (m *Machine) closedBy(reason ctilink.CloseReason, detail string, now time.Time) {
	switch {
	case reason == ctilink.CloseCertCompromised:
		msg := "CTIManager marked the client certificate of instanceId " + m.cfg.InstanceID +
			" compromised (it was used by more than one provider); configure a new instanceId and certificate"
		m.emitCertProblem(now, reason.String(), int(reason), msg)
		m.hangup(now)
		m.stop(now, reason, msg, fmt.Errorf("%w: %s", ErrCertCompromised, msg))
	case reason == ctilink.CloseDuplicateCertUsed:
		m.emitCertProblem(now, reason.String(), int(reason),
			"another provider is using the client certificate of instanceId "+m.cfg.InstanceID+"; retrying")
		m.lose(now, reason, detail)
	case loginRefusal(reason) && !m.everInService:
		err := fmt.Errorf("%w by %s: %s", ErrOpenRefused, m.nodeName, detail)
		m.attemptFailed(detail, now)
		m.stats.ConnectFailures++
		ev := m.providerEvent(schema.EvCTIManagerFailed, now)
		ev.Data.Provider.Reason = reason.String()
		ev.Data.Provider.ReasonCode = int(reason)
		ev.Data.Provider.Detail = detail
		m.emit(ev)
		m.hangup(now)
		m.stop(now, reason, detail, err)
	default:
		m.lose(now, reason, detail)
	}
}

// providerClosed handles ProviderClosed; heard is when the frame before it
// arrived.
func (m *Machine) providerClosed(v ctilink.ProviderClosed, heard, now time.Time) {
	if m.closing != closeNone {
		m.closeDone(now, "ProviderClosed "+v.Reason.String())
		return
	}
	// Unasked, the close announces a loss (a CTIManager stopping, a gateway
	// whose JTAPI provider went out of service): observation was last known
	// good at the frame before it, where the gap opens, and the close is when
	// the bridge noticed (detectedAt), as for a link that just breaks
	// (docs/engine.md §10).
	m.lastRx = heard
	detail := "provider closed by CTIManager: " + v.Reason.String()
	if v.Description != "" {
		detail += ": " + v.Description
	}
	m.closedBy(v.Reason, detail, now)
}

func (m *Machine) deviceList(v ctilink.DeviceListResponse, now time.Time) {
	if m.link != LinkFetchingDevices || v.ReqSeq != m.listSeq {
		m.protocolError(fmt.Sprintf("unexpected DeviceListResponse (reqSeq %d) in state %s", v.ReqSeq, m.link), nil)
		return
	}
	m.listPages++
	m.devicesRejected(m.listPages, v.Rejected, now)
	for _, d := range v.Devices {
		if len(m.listBuf) >= m.cfg.MaxDevices {
			m.stats.DevicesIgnored++
			continue
		}
		m.listBuf = append(m.listBuf, d)
	}
	if v.Total > m.listTotal {
		m.listTotal = v.Total
	}
	if v.More {
		m.arm(TimerPhase, now.Add(m.cfg.CtiRequestTimeout))
		return
	}
	m.cancel(TimerPhase)
	m.devicesRejectedSummary()
	if m.stats.DevicesIgnored > 0 && len(m.listBuf) >= m.cfg.MaxDevices {
		m.note(zerolog.WarnLevel, fmt.Sprintf("control list has more than MaxDevices %d devices; %d not tracked nor opened",
			m.cfg.MaxDevices, m.stats.DevicesIgnored), nil)
	}
	m.applyDeviceList(now)
	m.setLink(LinkOpeningDevices, fmt.Sprintf("device list known (%d devices)", len(m.devices)), now)
	m.queueOpens()
	m.pump(now)
	m.checkOpened(now)
}

func (m *Machine) response(reqSeq uint32, result ctilink.Result, text string, now time.Time) {
	p, ok := m.pending[reqSeq]
	if !ok {
		return
	}
	if p.kind == reqSnapshot && result == ctilink.ResultOK {
		// Accepted; the snapshot ends with SnapshotCompleted.
		return
	}
	delete(m.pending, reqSeq)
	if result != ctilink.ResultOK {
		m.stats.RequestFailures++
		m.requestFailed(p, result, text, now)
	} else {
		m.requestOK(p, now)
	}
	switch p.kind {
	case reqSnapshot:
		// A failed snapshot still completes: there is nothing more to wait for.
		if result != ctilink.ResultOK {
			m.snapPending--
		}
	case reqRouteSelect:
		if !p.since.IsZero() {
			m.out.Measurements = append(m.out.Measurements, Measurement{Kind: MeasureRouteSelect, Duration: now.Sub(p.since)})
		}
	default:
		m.openPending--
	}
	m.requestsSettled()
	m.pump(now)
	m.checkOpened(now)
	m.checkSnapshots(now)
}

// requestsSettled drops the timeout bookkeeping once nothing is pending.
func (m *Machine) requestsSettled() {
	if len(m.pending) == 0 && len(m.deadlines) > 0 {
		m.deadlines = m.deadlines[:0]
		if cap(m.deadlines) > maxRetained {
			m.deadlines = nil
		}
		m.cancel(TimerRequest)
	}
}

func (m *Machine) snapshotCompleted(v ctilink.SnapshotCompleted, now time.Time) {
	p, ok := m.pending[v.ReqSeq]
	if !ok || p.kind != reqSnapshot {
		return
	}
	delete(m.pending, v.ReqSeq)
	m.snapPending--
	m.requestsSettled()
	m.pump(now)
	m.checkSnapshots(now)
}

// callMessage feeds the call model. Until the provider is in service on
// this link the message is held back, so that no call event precedes
// ProvInServiceEv: while devices are being opened (applied right after
// the in-service events), and while a link that never brought the
// provider into service is being closed (Close during the opens: the
// provider never comes back on it, so they are discarded with the link,
// inside the provider gap still open; see discardHeldBack).
func (m *Machine) callMessage(msg ctilink.Message, now time.Time) {
	holdBack := m.link == LinkOpeningDevices || m.link == LinkClosing && m.prov != ProviderInService
	if holdBack && len(m.buffered) < maxBuffered {
		m.buffered = append(m.buffered, msg)
		m.bufferAt = append(m.bufferAt, now)
		m.bufferSeq = append(m.bufferSeq, m.rxSeq)
		m.stats.BufferedMessages++
		return
	}
	if len(m.buffered) > 0 {
		m.flushBuffered()
	}
	m.applyCall(msg, now)
}

func (m *Machine) flushBuffered() {
	// Each held-back message keeps its own provenance.
	cur := m.rxSeq
	for i, b := range m.buffered {
		m.setRx(m.bufferSeq[i])
		m.applyCall(b, m.bufferAt[i])
		m.buffered[i] = nil
	}
	m.setRx(cur)
	m.buffered = m.buffered[:0]
	m.bufferAt = m.bufferAt[:0]
	m.bufferSeq = m.bufferSeq[:0]
}

// setRx sets the inbound frame whose events are being produced (0: none).
func (m *Machine) setRx(seq uint32) {
	if seq != m.rxSeq {
		m.rxSeq, m.rxFrame = seq, ""
	}
}

// frameID is the provenance of the events being produced: "" outside a
// frame or before the provider id is known.
func (m *Machine) frameID() string {
	if m.rxSeq == 0 || m.providerID == "" {
		return ""
	}
	if m.rxFrame == "" {
		m.rxFrame = m.providerID + ":" + strconv.FormatUint(uint64(m.rxSeq), 10)
	}
	return m.rxFrame
}

func (m *Machine) applyCall(msg ctilink.Message, now time.Time) {
	untracked := m.model.Stats().Untracked
	m.modelOut = m.model.AppendApply(m.modelOut[:0], msg)
	for _, o := range m.modelOut {
		m.emitOut(o, now)
	}
	clear(m.modelOut) // holds no event's data until the next wire event
	if m.model.Stats().Untracked > untracked {
		m.callsUntracked(now)
	}
}

// routeRequested answers a route request from the configured route
// callback: all destinations, in order or rotated round robin. A re-route
// (no destination could take the call) is answered once per route
// session: the destinations are the same, and answering every re-route
// at once would loop with CTIManager at network speed while they stay
// busy (a storm of route events); after that CTIManager's route-select
// timer ends the session.
func (m *Machine) routeRequested(v ctilink.RouteEvent, now time.Time) {
	rc, ok := m.cfg.RoutePoints[v.Line]
	if !ok || len(rc.Destinations) == 0 || m.passive {
		return
	}
	for id, s := range m.routeSess {
		if now.Sub(s.at) > m.cfg.RouteSelectTimeout {
			delete(m.routeSess, id)
		}
	}
	s, known := m.routeSess[v.SessionID]
	switch {
	case v.Kind == ctilink.RouteKindRoute:
		s = routeSession{at: now}
	case s.rerouted:
		m.note(zerolog.DebugLevel, fmt.Sprintf("route session %d on %s re-routed again: not answered (its destinations are all busy)",
			v.SessionID, v.Line), nil)
		return
	case !known:
		s.at = now
	}
	s.rerouted = v.Kind == ctilink.RouteKindReRoute
	if known || len(m.routeSess) < 4096 {
		m.routeSess[v.SessionID] = s
	}
	dests := rc.Destinations
	if rc.Policy == RouteRoundRobin {
		n := m.routeRR[v.Line] % len(dests)
		m.routeRR[v.Line] = n + 1
		dests = append(append(make([]string, 0, len(dests)), dests[n:]...), dests[:n]...)
	}
	m.stats.RouteSelects++
	m.request(queuedReq{msg: ctilink.RouteSelectRequest{SessionID: v.SessionID, Destinations: dests}, kind: reqRouteSelect, since: now})
	m.pump(now)
}
