package ctisim

import (
	"fmt"
	"slices"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// handle processes one inbound message; it returns false when the session
// is over.
func (sess *session) handle(h ctilink.Header, msg ctilink.Message) bool {
	switch m := msg.(type) {
	case ctilink.Heartbeat:
		return true
	case ctilink.ProviderOpenRequest:
		return sess.handleOpen(h, m)
	case ctilink.ProviderCloseRequest:
		sess.log.Info().Stringer("reason", m.Reason).Msg("client closed the provider")
		sess.closeGracefully(ctilink.ProviderClosed{Reason: m.Reason, Description: "closed on the application's request"})
		return false
	case ctilink.ErrorMessage:
		sess.log.Info().Uint32("req_seq", m.ReqSeq).Uint16("code", uint16(m.Code)).Str("text", m.Text).Msg("client reported an error")
		return true
	}
	s := sess.srv
	s.mu.Lock()
	defer s.mu.Unlock()
	if !sess.opened {
		sess.send(ctilink.ErrorMessage{ReqSeq: h.Sequence, Code: ctilink.ErrCodeNotOpen,
			Text: fmt.Sprintf("ctisim: %s before the provider is open", h.Type)})
		return true
	}
	switch m := msg.(type) {
	case ctilink.DeviceListRequest:
		sess.deviceListLocked(h)
	case ctilink.DeviceOpenRequest:
		d, res, why := sess.checkDeviceLocked(m.Device)
		if d != nil {
			sess.devices[m.Device] = true
			watch(s.devWatch, m.Device, sess)
		}
		sess.respond(h, res, why)
	case ctilink.DeviceCloseRequest:
		res, why := ctilink.ResultOK, ""
		if !sess.devices[m.Device] {
			res, why = ctilink.ResultNotOpen, "device "+m.Device+" is not open on this session"
		}
		delete(sess.devices, m.Device)
		unwatch(s.devWatch, m.Device, sess)
		sess.respond(h, res, why)
	case ctilink.LineOpenRequest:
		d, res, why := sess.checkDeviceLocked(m.Device)
		if d != nil && !slices.Contains(d.cfg.Lines, m.Line) {
			res, why = ctilink.ResultUnknownDevice, fmt.Sprintf("device %s has no line %s", m.Device, m.Line)
		} else if d != nil {
			k := lineKey{m.Device, m.Line}
			sess.lines[k] = true
			watch(s.lineWatch, k, sess)
		}
		sess.respond(h, res, why)
	case ctilink.LineCloseRequest:
		k := lineKey{m.Device, m.Line}
		res, why := ctilink.ResultOK, ""
		if !sess.lines[k] {
			res, why = ctilink.ResultNotOpen, fmt.Sprintf("line %s/%s is not open on this session", m.Device, m.Line)
		}
		delete(sess.lines, k)
		unwatch(s.lineWatch, k, sess)
		sess.respond(h, res, why)
	case ctilink.CTIPortRegisterRequest:
		res, why := sess.registerLocked(s.ports, m.Device, ctilink.DeviceCTIPort, m.Media, m.Dynamic)
		sess.respond(h, res, why)
	case ctilink.RoutePointRegisterRequest:
		res, why := sess.registerLocked(s.routePoints, m.Device, ctilink.DeviceRoutePoint, ctilink.MediaParams{}, m.DynamicMedia)
		sess.respond(h, res, why)
		if res == ctilink.ResultOK {
			// The calls waiting at the route point are recovered on this
			// session: their route requests are offered to it again.
			now := s.catchUpLocked()
			for _, ev := range s.model.RecoverRoutes(m.Device, now) {
				sess.send(ev)
			}
			s.nudge()
		}
	case ctilink.DeviceUnregisterRequest:
		res, why := ctilink.ResultNotOpen, "device "+m.Device+" is not registered by this session"
		for _, regs := range []map[string]*registration{s.ports, s.routePoints} {
			if r := regs[m.Device]; r != nil {
				if _, mine := r.sessions[sess]; mine {
					unregister(regs, m.Device, sess)
					res, why = ctilink.ResultOK, ""
				}
			}
		}
		delete(sess.ports, m.Device)
		delete(sess.rps, m.Device)
		sess.respond(h, res, why)
	case ctilink.SnapshotRequest:
		d, res, why := sess.checkDeviceLocked(m.Device)
		if d == nil {
			sess.respond(h, res, why)
			break
		}
		s.catchUpLocked()
		legs := s.model.Snapshot(m.Device)
		for _, leg := range legs {
			leg.Snapshot = true
			if !sess.send(leg) {
				return true
			}
		}
		sess.send(ctilink.SnapshotCompleted{ReqSeq: h.Sequence, Device: m.Device, Calls: len(legs)})
	case ctilink.RouteSelectRequest:
		now := s.catchUpLocked()
		if err := s.model.RouteSelect(m.SessionID, m.Destinations, now); err != nil {
			sess.respond(h, ctilink.ResultUnknownSession, err.Error())
			break
		}
		sess.respond(h, ctilink.ResultOK, "")
		s.nudge()
	default:
		sess.send(ctilink.ErrorMessage{ReqSeq: h.Sequence, Code: ctilink.ErrCodeUnexpected,
			Text: fmt.Sprintf("ctisim: %s is not a client request", h.Type)})
	}
	return true
}

func (sess *session) respond(h ctilink.Header, res ctilink.Result, why string) {
	sess.send(ctilink.Response{ReqSeq: h.Sequence, Result: res, Error: why})
}

// checkDeviceLocked finds a device the session's user controls.
func (sess *session) checkDeviceLocked(name string) (*device, ctilink.Result, string) {
	d := sess.srv.devices[name]
	switch {
	case d == nil:
		return nil, ctilink.ResultUnknownDevice, "no device " + name + " in the cluster"
	case !sess.user.allowed[name]:
		return nil, ctilink.ResultNotControlled, "device " + name + " is not in the control list of " + sess.user.cfg.Login
	}
	return d, ctilink.ResultOK, ""
}

// registerLocked registers a CTI port or route point for the session. A
// device may be registered by several sessions (e.g. the old and the new
// session of a client failing over) only with identical parameters.
func (sess *session) registerLocked(regs map[string]*registration, name string, want ctilink.DeviceType,
	media ctilink.MediaParams, dynamic bool) (ctilink.Result, string) {
	d, res, why := sess.checkDeviceLocked(name)
	if d == nil {
		return res, why
	}
	if d.cfg.Type != want {
		return ctilink.ResultInvalidRequest, fmt.Sprintf("device %s is a %s, not a %s", name, d.cfg.Type, want)
	}
	r := regs[name]
	if r == nil {
		r = &registration{sessions: map[*session]struct{}{}}
		regs[name] = r
	} else {
		others := len(r.sessions)
		if _, mine := r.sessions[sess]; mine {
			others--
		}
		if others > 0 && (r.dynamic != dynamic || !sameMedia(r.media, media)) {
			return ctilink.ResultMediaMismatch, fmt.Sprintf(
				"device %s is already registered by another session with different media parameters", name)
		}
	}
	r.media, r.dynamic = media, dynamic
	r.sessions[sess] = struct{}{}
	if want == ctilink.DeviceCTIPort {
		sess.ports[name] = true
	} else {
		sess.rps[name] = true
	}
	return ctilink.ResultOK, ""
}

func sameMedia(a, b ctilink.MediaParams) bool {
	return a.IP == b.IP && a.Port == b.Port && a.PacketMs == b.PacketMs && slices.Equal(a.Codecs, b.Codecs)
}

func unregister(regs map[string]*registration, name string, sess *session) {
	r := regs[name]
	if r == nil {
		return
	}
	delete(r.sessions, sess)
	if len(r.sessions) == 0 {
		delete(regs, name)
	}
}

func watch[K comparable](m map[K]map[*session]struct{}, k K, sess *session) {
	set := m[k]
	if set == nil {
		set = map[*session]struct{}{}
		m[k] = set
	}
	set[sess] = struct{}{}
}

func unwatch[K comparable](m map[K]map[*session]struct{}, k K, sess *session) {
	if set := m[k]; set != nil {
		delete(set, sess)
		if len(set) == 0 {
			delete(m, k)
		}
	}
}

func (sess *session) deviceListLocked(h ctilink.Header) {
	devs := sess.user.control
	page := sess.srv.cfg.DeviceListPage
	total := len(devs)
	for start := 0; ; start += page {
		end := min(start+page, total)
		infos := make([]ctilink.DeviceInfo, 0, end-start)
		for _, d := range devs[start:end] {
			info := d.cfg.info()
			// The node it is registered to now (it re-homes when its
			// CallManager fails).
			info.CallManager = d.cm
			info.Registered, info.InService = d.registered, d.inService
			infos = append(infos, info)
		}
		if !sess.send(ctilink.DeviceListResponse{ReqSeq: h.Sequence, Devices: infos, More: end < total, Total: total}) {
			return
		}
		if end >= total {
			return
		}
	}
}

// handleOpen runs the two-phase provider open: the synchronous
// ProviderOpenResponse fixing the heartbeat intervals, then the outcome
// (ProviderOpenCompleted, plus ProviderClosed on failure).
func (sess *session) handleOpen(h ctilink.Header, m ctilink.ProviderOpenRequest) bool {
	s := sess.srv
	s.mu.Lock()
	if sess.opening {
		s.mu.Unlock()
		sess.send(ctilink.ErrorMessage{ReqSeq: h.Sequence, Code: ctilink.ErrCodeUnexpected,
			Text: "ctisim: ProviderOpenRequest on a session that already sent one"})
		return true
	}
	sess.opening = true
	serverHB, clientHB := sess.node.cfg.Heartbeat.negotiate(m.DesiredServerHeartbeatMs)
	resp := ctilink.ProviderOpenResponse{
		ReqSeq: h.Sequence, Result: ctilink.ResultOK, ProtocolVersion: int(ctilink.ProtocolVersion),
		ServerHeartbeatMs: serverHB.Milliseconds(), ClientHeartbeatMs: clientHB.Milliseconds(),
		ProviderID: sess.id, ServerInfo: "ctisim (simulated CUCM CTIManager)", CTIManager: sess.node.cfg.Name,
	}
	fail := func(reason ctilink.CloseReason, desc string) bool {
		sess.log.Info().Stringer("reason", reason).Str("login", m.Login).Msg("provider open refused: " + desc)
		sess.send(ctilink.ProviderOpenCompleted{ReqSeq: h.Sequence, Reason: reason, FailureDescription: desc,
			ProviderID: sess.id, ClusterID: s.cfg.Cluster.Name})
		sess.closeWith(ctilink.ProviderClosed{Reason: reason, Description: desc})
		s.mu.Unlock()
		sess.waitWriter()
		return false
	}
	if !slices.Contains(m.ProtocolVersions, int(ctilink.ProtocolVersion)) {
		resp.Result, resp.ProtocolVersion = ctilink.ResultInvalidRequest, 0
		sess.send(resp)
		return fail(ctilink.CloseIncompatibleProtocol,
			fmt.Sprintf("client speaks protocol versions %v, this CTIManager speaks %d", m.ProtocolVersions, ctilink.ProtocolVersion))
	}
	sess.serverHB.Store(int64(serverHB))
	sess.clientHB.Store(int64(clientHB))
	sess.send(resp)
	u := s.users[m.Login]
	if u == nil || u.cfg.Password != m.Password {
		return fail(ctilink.CloseLoginFailed, "invalid user name or password")
	}
	if sess.tls {
		cs := s.certs[sess.certFP]
		if cs == nil {
			cs = &certState{cn: sess.certCN}
			s.certs[sess.certFP] = cs
		}
		switch {
		case cs.compromised:
			return fail(ctilink.CloseCertCompromised, "client certificate "+sess.certCN+" is marked compromised")
		case m.InstanceID != "" && m.InstanceID != sess.certCN:
			return fail(ctilink.CloseUserNotAuthorizedForSecurity,
				fmt.Sprintf("instanceId %q does not match the client certificate's CommonName %q", m.InstanceID, sess.certCN))
		case cs.open != nil && cs.open != sess:
			cs.clashes++
			reason := ctilink.CloseDuplicateCertUsed
			if cs.clashes >= s.cfg.Cluster.certRetryCount() {
				reason, cs.compromised = ctilink.CloseCertCompromised, true
			}
			desc := fmt.Sprintf("client certificate %s used by two providers (clash %d of %d allowed)",
				sess.certCN, cs.clashes, s.cfg.Cluster.certRetryCount())
			other := cs.open
			cs.open = nil
			other.log.Info().Stringer("reason", reason).Msg("closing provider: " + desc)
			other.closeWith(ctilink.ProviderClosed{Reason: reason, Description: desc})
			return fail(reason, desc)
		}
		cs.open = sess
	}
	sess.opened, sess.user = true, u
	sess.send(ctilink.ProviderOpenCompleted{
		ReqSeq: h.Sequence, ProviderID: sess.id, ClusterID: s.cfg.Cluster.Name,
		LoginUserName: u.cfg.Login, TotalControllableDevices: len(u.control),
	})
	s.mu.Unlock()
	sess.log.Info().Str("login", u.cfg.Login).Str("instance_id", sess.certCN).Dur("server_hb", serverHB).Dur("client_hb", clientHB).Msg("provider open")
	return true
}

// removeSession forgets a finished session: its observations, its CTI port
// and route point registrations and its hold on a client certificate.
func (s *Server) removeSession(sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	delete(s.sessions, sess)
	for name := range sess.devices {
		unwatch(s.devWatch, name, sess)
	}
	for k := range sess.lines {
		unwatch(s.lineWatch, k, sess)
	}
	for name := range sess.ports {
		unregister(s.ports, name, sess)
	}
	for name := range sess.rps {
		unregister(s.routePoints, name, sess)
	}
	if cs := s.certs[sess.certFP]; cs != nil && cs.open == sess {
		cs.open = nil
	}
}
