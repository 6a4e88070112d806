package ctisim

import (
	"errors"
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// hooks answers the call model's questions about registrations and
// service state. The model only runs with Server.mu held, so these read the
// server's state directly.
type hooks struct{ s *Server }

func (h hooks) CTIPort(device string) (ctilink.MediaParams, bool, bool) {
	r := h.s.ports[device]
	if r == nil {
		return ctilink.MediaParams{}, false, false
	}
	return r.media, r.dynamic, true
}

func (h hooks) RoutePointRegistered(device string) bool {
	_, ok := h.s.routePoints[device]
	return ok
}

func (h hooks) DeviceInService(device string) bool {
	d := h.s.devices[device]
	return d != nil && d.inService
}

// drive is the traffic goroutine (not used with ManualTime): it advances
// the model to the wall clock whenever something is due, at least every
// Tick, and fans the emissions out.
func (s *Server) drive() {
	defer s.wg.Done()
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		s.mu.Lock()
		s.catchUpLocked()
		next, now := s.model.NextAt(), s.now
		s.mu.Unlock()
		wait := s.cfg.Tick
		if !next.IsZero() {
			wait = min(wait, max(next.Sub(now), 0))
		}
		t.Reset(wait)
		select {
		case <-t.C:
		case <-s.wake:
		case <-s.ctx.Done():
			return
		}
	}
}

// catchUpLocked advances the model to the current time (the wall clock, or
// the manual time) and delivers what happened; it returns that time.
func (s *Server) catchUpLocked() time.Time {
	now := s.now
	if !s.cfg.ManualTime {
		if t := time.Now(); t.After(now) {
			now = t
		}
	}
	s.now = now
	s.fanoutLocked(s.model.Advance(now))
	s.rehomeLocked(now)
	return now
}

// ErrNotManual is returned by Advance when the simulator runs on the wall
// clock.
var ErrNotManual = errors.New("ctisim: Advance needs Config.ManualTime")

// Advance moves the model's clock forward by d (ManualTime only) and
// delivers everything that happened meanwhile to the sessions' queues.
func (s *Server) Advance(d time.Duration) error {
	if !s.cfg.ManualTime {
		return ErrNotManual
	}
	if d < 0 {
		return fmt.Errorf("ctisim: Advance(%v): time does not go backwards", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.now = s.now.Add(d)
	s.catchUpLocked()
	return nil
}

// Place scripts one call now (see traffic.Model.Place) and returns its
// global call id.
func (s *Server) Place(sc traffic.Scenario, from, to, third string) (uint32, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.catchUpLocked()
	id, err := s.model.Place(sc, from, to, third, now)
	if err != nil {
		return 0, fmt.Errorf("ctisim: placing a %s call: %w", sc, err)
	}
	s.catchUpLocked()
	s.nudge()
	return id, nil
}

// SetRate changes the generated call rate (calls per second) from now on;
// 0 stops new calls (calls in progress finish).
func (s *Server) SetRate(rate float64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.catchUpLocked()
	if err := s.model.SetRate(rate, now); err != nil {
		return fmt.Errorf("ctisim: %w", err)
	}
	s.rate = rate
	s.nudge()
	return nil
}

// fanoutLocked delivers model emissions in order.
func (s *Server) fanoutLocked(ems []traffic.Emission) {
	for _, e := range ems {
		s.deliverLocked(e.Msg)
	}
}

// deliverLocked queues one event for every session entitled to it:
// line-level events to the sessions that opened the line, device-level
// events to those that opened the device, route events to the sessions
// that registered the route point, media events to those that registered
// the CTI port (or route point).
func (s *Server) deliverLocked(msg ctilink.Message) {
	switch m := msg.(type) {
	case ctilink.CallStateEvent:
		s.toLineLocked(m.Device, m.Line, msg)
	case ctilink.FeatureEvent:
		s.toPartiesLocked(m, msg)
	case ctilink.CallChangedEvent:
		s.toLineLocked(m.Device, m.Line, msg)
	case ctilink.CallPartyEvent:
		s.toLineLocked(m.Device, m.Line, msg)
	case ctilink.LineServiceEvent:
		s.toLineLocked(m.Device, m.Line, msg)
	case ctilink.DeviceServiceEvent:
		s.toSetLocked(s.devWatch[m.Device], msg)
	case ctilink.DeviceRegistrationEvent:
		s.toSetLocked(s.devWatch[m.Device], msg)
	case ctilink.RouteEvent:
		if r := s.routePoints[m.Device]; r != nil {
			s.toSetLocked(r.sessions, msg)
		}
	case ctilink.MediaEvent:
		if r := s.ports[m.Device]; r != nil {
			s.toSetLocked(r.sessions, msg)
		} else if r := s.routePoints[m.Device]; r != nil {
			s.toSetLocked(r.sessions, msg)
		}
	default:
		s.log.Warn().Stringer("type", msg.Type()).Msg("call model emitted a message the simulator does not route")
	}
}

// toPartiesLocked delivers a feature event once to every session that
// opened the controller's line or any line of Parties.
func (s *Server) toPartiesLocked(m ctilink.FeatureEvent, msg ctilink.Message) {
	sent := map[*session]bool{}
	deliver := func(device, line string) {
		for sess := range s.lineWatch[lineKey{device, line}] {
			if sess.opened && !sent[sess] {
				sent[sess] = true
				sess.send(msg)
			}
		}
	}
	deliver(m.Device, m.Line)
	for _, p := range m.Parties {
		deliver(p.Device, p.DN)
	}
}

func (s *Server) toLineLocked(device, line string, msg ctilink.Message) {
	s.toSetLocked(s.lineWatch[lineKey{device, line}], msg)
}

func (s *Server) toSetLocked(set map[*session]struct{}, msg ctilink.Message) {
	for sess := range set {
		if sess.opened {
			sess.send(msg)
		}
	}
}
