package ctisim

import (
	"fmt"
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
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []*session
	for sess := range s.sessions {
		if sess.node == n {
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

// FailCallManager simulates a CallManager node failure: for each device
// registered to it (configuration order), sessions that opened the device
// get DeviceService{inService=false, CALLMANAGER_FAILURE}, sessions that
// opened a line get LineService (same) for it, and device observers get
// DeviceRegistration{registered=false}; then calls in setup on those
// devices are dropped (TEMPORARYFAILURE), connected calls survive. The
// providers stay open.
func (s *Server) FailCallManager(cm string) error {
	return s.setCallManager(cm, false)
}

// RestoreCallManager brings a failed CallManager's devices back:
// DeviceRegistration{registered=true}, DeviceService{inService=true} and
// LineService{inService=true} per line.
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
	ts := now.UnixNano()
	reason := ctilink.OOSCallManagerFailure
	if up {
		reason = ctilink.OOSNone
	}
	var names []string
	for _, d := range s.devOrder {
		if d.cfg.CallManager != cm {
			continue
		}
		names = append(names, d.cfg.Name)
		d.inService, d.registered = up, up
		reg := ctilink.DeviceRegistrationEvent{Device: d.cfg.Name, Registered: up, CallManager: cm, TimeNs: ts}
		if up {
			s.deliverLocked(reg)
		}
		s.deliverLocked(ctilink.DeviceServiceEvent{Device: d.cfg.Name, InService: up, Reason: reason, TimeNs: ts})
		for _, dn := range d.cfg.Lines {
			s.deliverLocked(ctilink.LineServiceEvent{Device: d.cfg.Name, Line: dn, InService: up, Reason: reason, TimeNs: ts})
		}
		if !up {
			s.deliverLocked(reg)
		}
	}
	if !up {
		s.fanoutLocked(s.model.FailDevices(names, now))
	}
	ev := s.log.Warn().Str("callmanager", cm).Int("devices", len(names))
	if up {
		ev.Msg("fault cleared: CallManager restored, devices back in service")
	} else {
		ev.Msg("fault: CallManager failed, devices out of service")
	}
	return nil
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
