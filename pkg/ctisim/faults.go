package ctisim

import (
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

func (s *Server) lookupNode(name string) (*node, error) {
	if n := s.nodeByName[name]; n != nil {
		return n, nil
	}
	names := make([]string, 0, len(s.nodes))
	for _, n := range s.nodes {
		names = append(names, n.cfg.Name)
	}
	return nil, fmt.Errorf("ctisim: unknown CTIManager %q (nodes: %v)", name, names)
}

func (s *Server) sessionsOf(n *node) []*session {
	return s.sessionsWhere(func(sess *session) bool { return sess.node == n })
}

// sessionsWhere lists the sessions keep accepts, sorted by id.
func (s *Server) sessionsWhere(keep func(*session) bool) []*session {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for sess := range s.sessions {
		if keep(sess) {
			out = append(out, sess)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	return out
}

// KillNode simulates a CTIManager crash: the node's listeners close (new
// connections are refused) and every session on it is closed at once,
// without ProviderClosed. Frames still queued for those sessions are
// recorded in the ground truth as not sent ("killed").
func (s *Server) KillNode(name string) error {
	n, err := s.lookupNode(name)
	if err != nil {
		return err
	}
	n.closeListeners()
	sessions := s.sessionsOf(n)
	for _, sess := range sessions {
		sess.abort("node killed")
	}
	n.log.Warn().Int("sessions", len(sessions)).Msg("fault: CTIManager killed")
	return nil
}

// RestoreNode reopens a killed node's listeners on the same ports.
func (s *Server) RestoreNode(name string) error {
	n, err := s.lookupNode(name)
	if err != nil {
		return err
	}
	if err := n.listen(); err != nil {
		return err
	}
	n.log.Warn().Msg("fault cleared: CTIManager restored")
	return nil
}

// StallHeartbeats makes a node go silent: it keeps its connections and
// keeps reading (and acting on) requests, but sends nothing to its
// sessions — no heartbeats, no responses, no events. Every frame that
// would have been sent during the stall is dropped for good and recorded
// in the ground truth with Sent=false, Dropped="stall"; ResumeHeartbeats
// does not replay them. The server still drops clients that stay silent.
func (s *Server) StallHeartbeats(name string) error {
	n, err := s.lookupNode(name)
	if err != nil {
		return err
	}
	n.stalled.Store(true)
	n.log.Warn().Msg("fault: CTIManager stalled (sends nothing)")
	return nil
}

// ResumeHeartbeats ends a stall: the node sends again (frames dropped
// during the stall are not resent).
func (s *Server) ResumeHeartbeats(name string) error {
	n, err := s.lookupNode(name)
	if err != nil {
		return err
	}
	n.stalled.Store(false)
	n.log.Warn().Msg("fault cleared: CTIManager sends again")
	return nil
}

// ResetConnections resets every TCP connection of a node (RST, via
// SO_LINGER 0); the listeners stay open. Data the kernel had not yet
// delivered is lost although the ground truth records it as sent.
func (s *Server) ResetConnections(name string) error {
	n, err := s.lookupNode(name)
	if err != nil {
		return err
	}
	sessions := s.sessionsOf(n)
	for _, sess := range sessions {
		sess.reset()
	}
	n.log.Warn().Int("sessions", len(sessions)).Msg("fault: TCP connections reset")
	return nil
}

// ResetInstance resets the TCP connection (RST) of every session whose
// client certificate names instanceID, on any node: one application's
// link fails while the others' go on (a network fault between one bridge
// and the CTIManager; in a hot high-availability group, the standby's
// link alone). The listeners stay open. It reports how many sessions it
// reset; none is an error.
func (s *Server) ResetInstance(instanceID string) (int, error) {
	sessions := s.sessionsWhere(func(sess *session) bool { return sess.certCN == instanceID })
	if len(sessions) == 0 {
		return 0, fmt.Errorf("ctisim: no session of instance %q", instanceID)
	}
	for _, sess := range sessions {
		sess.reset()
		sess.node.log.Warn().Str("instance", instanceID).Str("session", sess.id).Msg("fault: TCP connection reset")
	}
	return len(sessions), nil
}

// CutInstance cuts one application off from every CTIManager: the TCP
// connection of each session whose client certificate names instanceID
// is reset, as ResetInstance does, and until RestoreInstance every new
// connection presenting that certificate is reset right after its TLS
// handshake (a firewall between one bridge's host and the cluster; in a
// hot high-availability group, the standby cut off while the active goes
// on). Unlike ResetInstance, an instance without sessions is not an
// error: the cut also holds for connections still to come.
func (s *Server) CutInstance(instanceID string) int {
	if instanceID == "" {
		return 0
	}
	s.mu.Lock()
	if s.cutInstances == nil {
		s.cutInstances = map[string]bool{}
	}
	s.cutInstances[instanceID] = true
	s.mu.Unlock()
	sessions := s.sessionsWhere(func(sess *session) bool { return sess.certCN == instanceID })
	for _, sess := range sessions {
		sess.reset()
	}
	s.log.Warn().Str("instance", instanceID).Int("sessions", len(sessions)).Msg("fault: instance cut off from every node")
	return len(sessions)
}

// RestoreInstance lifts CutInstance: the instance's next connections are
// served again.
func (s *Server) RestoreInstance(instanceID string) {
	s.mu.Lock()
	delete(s.cutInstances, instanceID)
	s.mu.Unlock()
	s.log.Info().Str("instance", instanceID).Msg("fault cleared: instance reachable again")
}

// instanceCut reports whether CutInstance holds for instanceID.
func (s *Server) instanceCut(instanceID string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cutInstances[instanceID]
}

// SlowLink delays every frame the node sends by d (one-way latency: each
// frame leaves no earlier than d after it was queued, order kept). Zero
// clears it.
func (s *Server) SlowLink(name string, d time.Duration) error {
	n, err := s.lookupNode(name)
	if err != nil {
		return err
	}
	if d < 0 {
		return fmt.Errorf("ctisim: SlowLink delay %v is negative", d)
	}
	n.delay.Store(int64(d))
	n.log.Warn().Dur("delay", d).Msg("fault: slow link set")
	return nil
}

// FailCallManager simulates a CallManager node failure (JTAPI guide, Cisco
// Unified Communications Manager Server Failure): every device registered
// to the node goes out of service — sessions that opened the device get
// DeviceService{inService=false, CALLMANAGER_FAILURE}, sessions that opened
// a line LineService (same) for it, device observers
// DeviceRegistration{registered=false} — then calls in setup on those
// devices are dropped (TEMPORARYFAILURE) and their legs in connected calls
// are lost to CTI (UNKNOWN, cause CALLMANAGER_FAILURE; the media go on).
// Each device then re-homes to the next node of its CallManager group
// that is up — at once when it has no call, when its calls are over
// otherwise: DeviceRegistration{registered=true, callManager=next},
// DeviceService and LineService in service. With no node left it stays out
// of service until one is restored. The providers stay open.
func (s *Server) FailCallManager(cm string) error {
	return s.setCallManager(cm, false)
}

// RestoreCallManager brings a failed CallManager back: its devices still
// out of service register to it again (DeviceRegistration, DeviceService,
// LineService in service); devices whose primary it is and that re-homed
// elsewhere come back to it when idle (out of service with
// REHOME_TO_HIGHER_PRIORITY_CM, then in service on it).
func (s *Server) RestoreCallManager(cm string) error {
	return s.setCallManager(cm, true)
}

func (s *Server) setCallManager(cm string, up bool) error {
	if !s.cms[cm] {
		return fmt.Errorf("ctisim: unknown CallManager %q (have %v)", cm, s.cfg.Cluster.CallManagers)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmFailed[cm] == !up {
		if up {
			return fmt.Errorf("ctisim: CallManager %s is not failed", cm)
		}
		return fmt.Errorf("ctisim: CallManager %s is already failed", cm)
	}
	s.cmFailed[cm] = !up
	now := s.catchUpLocked()
	var names []string
	for _, d := range s.devOrder {
		switch {
		case !up && d.cm == cm:
			names = append(names, d.cfg.Name)
			s.deviceDownLocked(d, ctilink.OOSCallManagerFailure, now)
			if !d.rehoming {
				d.rehoming = true
				s.rehoming++
			}
		case up && d.cm == cm && !d.inService:
			if d.rehoming {
				d.rehoming = false
				s.rehoming--
			}
			s.deviceUpLocked(d, cm, now)
		case up && d.cfg.CallManager == cm && d.cm != cm && d.inService && s.model.DeviceIdle(d.cfg.Name):
			s.deviceDownLocked(d, ctilink.OOSRehomeToHigherPriorityCM, now)
			s.deviceUpLocked(d, cm, now)
		}
	}
	if !up {
		s.fanoutLocked(s.model.FailDevices(names, now))
		s.rehomeLocked(now)
	}
	ev := s.log.Warn().Str("callmanager", cm).Int("devices", len(names))
	if up {
		ev.Msg("fault cleared: CallManager restored, devices back in service")
	} else {
		ev.Msg("fault: CallManager failed, devices out of service, re-homing to the next CallManager of their group")
	}
	return nil
}

// deviceDownLocked reports a device out of service for reason.
func (s *Server) deviceDownLocked(d *device, reason ctilink.OutOfServiceReason, now time.Time) {
	ts := now.UnixNano()
	d.inService, d.registered = false, false
	s.deliverLocked(ctilink.DeviceServiceEvent{Device: d.cfg.Name, InService: false, Reason: reason, TimeNs: ts})
	for _, dn := range d.cfg.Lines {
		s.deliverLocked(ctilink.LineServiceEvent{Device: d.cfg.Name, Line: dn, InService: false, Reason: reason, TimeNs: ts})
	}
	s.deliverLocked(ctilink.DeviceRegistrationEvent{Device: d.cfg.Name, Registered: false, CallManager: d.cm, TimeNs: ts})
}

// deviceUpLocked registers a device to node cm and reports it in service.
func (s *Server) deviceUpLocked(d *device, cm string, now time.Time) {
	ts := now.UnixNano()
	d.cm, d.inService, d.registered = cm, true, true
	s.deliverLocked(ctilink.DeviceRegistrationEvent{Device: d.cfg.Name, Registered: true, CallManager: cm, TimeNs: ts})
	s.deliverLocked(ctilink.DeviceServiceEvent{Device: d.cfg.Name, InService: true, TimeNs: ts})
	for _, dn := range d.cfg.Lines {
		s.deliverLocked(ctilink.LineServiceEvent{Device: d.cfg.Name, Line: dn, InService: true, TimeNs: ts})
	}
}

// nextCallManager is the node a device whose node failed re-homes to: the
// next one of its group that is up. The group is the cluster's CallManager
// list in order, starting after the device's primary node (CUCM's
// CallManager group of the device pool; the simulator's configuration has
// one group per primary). "" when every other node is down.
func (s *Server) nextCallManager(d *device) string {
	cms := s.cfg.Cluster.CallManagers
	start := slices.Index(cms, d.cfg.CallManager)
	for i := 1; i <= len(cms); i++ {
		cm := cms[(start+i)%len(cms)]
		if !s.cmFailed[cm] {
			return cm
		}
	}
	return ""
}

// rehomeLocked re-homes the devices waiting for it whose calls are over.
func (s *Server) rehomeLocked(now time.Time) {
	if s.rehoming == 0 {
		return
	}
	for _, d := range s.devOrder {
		if !d.rehoming || !s.model.DeviceIdle(d.cfg.Name) {
			continue
		}
		if next := s.nextCallManager(d); next != "" {
			d.rehoming = false
			s.rehoming--
			s.deviceUpLocked(d, next, now)
		}
	}
}

// CallManagers reports each CallManager node and whether it is failed.
func (s *Server) CallManagers() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]bool{}
	for cm := range s.cms {
		out[cm] = !s.cmFailed[cm]
	}
	return out
}
