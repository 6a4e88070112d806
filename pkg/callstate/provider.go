package callstate

import (
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

func (s *State) manager(name string) *CTIManager {
	if name == "" {
		return nil
	}
	m, ok := s.managers[name]
	if !ok {
		m = &CTIManager{Name: name, Link: LinkDown}
		s.managers[name] = m
	}
	return m
}

func (s *State) setProviderState(code int, ev *schema.Event) {
	if s.provider.StateCode != code {
		s.provider.Since = ev.Time
	}
	s.provider.StateCode = code
	s.provider.State = schema.StateNames[code]
}

func (s *State) applyProvider(ev *schema.Event) {
	p := &s.provider
	d := ev.Data.Provider
	if d == nil {
		d = &schema.ProviderData{}
	}
	mgr := d.CTIManager
	if mgr == "" {
		mgr = ev.CTIManager
	}
	if d.ProviderID != "" {
		p.ProviderID = d.ProviderID
	}
	if d.Devices > 0 {
		p.Devices = d.Devices
	}
	if d.ServerHeartbeatMs > 0 {
		p.ServerHeartbeatMs = d.ServerHeartbeatMs
	}
	if d.ClientHeartbeatMs > 0 {
		p.ClientHeartbeatMs = d.ClientHeartbeatMs
	}
	switch ev.Name {
	case schema.EvProvInService:
		s.setProviderState(schema.ProviderInService, ev)
		s.switchManager(mgr, d.PreviousCTIManager)
		p.LeastPriority = d.LeastPriority
	case schema.EvProvOutOfService:
		s.setProviderState(schema.ProviderOutOfService, ev)
		s.setReason(d)
	case schema.EvProvShutdown:
		s.setProviderState(schema.ProviderShutdown, ev)
		s.setReason(d)
		p.Link = LinkDown
		p.Connecting = ""
	case schema.EvProvObservationEnd:
		// The provider stays as it is; only observation ended.
	case schema.EvCiscoProvConnToLeastPriorCtiServer:
		p.LeastPriority = true
		s.switchManager(mgr, d.PreviousCTIManager)
	case schema.EvCiscoProvPrimNwReachable:
		p.Reachable = slices.Clone(d.Reachable)
	case schema.EvCiscoProvFallbackToPrimNwCompltd:
		p.LeastPriority = false
		p.Reachable = nil
		s.switchManager(mgr, d.PreviousCTIManager)
	case schema.EvCTIManagerConnecting:
		p.Link = LinkConnecting
		p.Connecting = mgr
		if m := s.manager(mgr); m != nil {
			m.Link = LinkConnecting
			m.Since = ev.Time
		}
	case schema.EvCTIManagerConnected:
		p.Link = LinkUp
		p.Connecting = ""
		s.switchManager(mgr, d.PreviousCTIManager)
		if d.LeastPriority {
			p.LeastPriority = true
		}
		if m := s.manager(mgr); m != nil {
			m.Link = LinkUp
			m.Since = ev.Time
			m.Connects++
		}
	case schema.EvCTIManagerLost:
		p.Link = LinkDown
		p.Connecting = ""
		p.Failovers++
		p.LastLostAt = ev.Time
		if d.LastHeardAt != nil {
			p.LastHeardAt = *d.LastHeardAt
		}
		s.setReason(d)
		if m := s.manager(mgr); m != nil {
			m.Link = LinkDown
			m.Since = ev.Time
			m.Losses++
			m.LastReason = d.Reason
			if d.LastHeardAt != nil {
				m.LastHeardAt = *d.LastHeardAt
			}
		}
	case schema.EvCTIManagerFailed:
		if p.Link == LinkConnecting && p.Connecting == mgr {
			p.Link = LinkDown
			p.Connecting = ""
		}
		if m := s.manager(mgr); m != nil {
			m.Link = LinkDown
			m.Since = ev.Time
			m.Failures++
			m.LastReason = firstNonEmpty(d.Reason, d.Detail)
		}
	case schema.EvDeviceRejected:
		if d.Device != "" && !slices.Contains(p.RejectedDevices, d.Device) {
			p.RejectedDevices = append(p.RejectedDevices, d.Device)
		}
	case schema.EvCertificateProblem:
		p.CertificateProblem = firstNonEmpty(d.Reason, d.Detail)
		if ev.Data.Bridge != nil && p.CertificateProblem == "" {
			p.CertificateProblem = firstNonEmpty(ev.Data.Bridge.Reason, ev.Data.Bridge.Detail)
		}
	default:
		s.stats.UnknownEvents++
	}
}

// switchManager records the CTIManager now serving the provider.
func (s *State) switchManager(mgr, previous string) {
	p := &s.provider
	if mgr == "" {
		return
	}
	if p.CTIManager != mgr {
		if previous == "" {
			previous = p.CTIManager
		}
		p.CTIManager = mgr
	}
	if previous != "" && previous != mgr {
		p.PreviousCTIManager = previous
	}
}

func (s *State) setReason(d *schema.ProviderData) {
	if d.Reason == "" && d.ReasonCode == 0 && d.Detail == "" {
		return
	}
	s.provider.Reason = d.Reason
	s.provider.ReasonCode = d.ReasonCode
	s.provider.Detail = d.Detail
}

func (s *State) applyBridge(ev *schema.Event) {
	b := &s.bridge
	d := ev.Data.Bridge
	if d == nil {
		d = &schema.BridgeData{}
	}
	switch ev.Name {
	case schema.EvBridgeStarted:
		if d.Instance != "" {
			b.Instance = d.Instance
		}
		if d.Version != "" {
			b.Version = d.Version
		}
		b.StartedAt = ev.Time
		b.StoppingAt = time.Time{}
	case schema.EvBridgeStopping:
		b.StoppingAt = ev.Time
	case schema.EvBridgeHeartbeat:
		b.LastHeartbeat = ev.Time
		b.Heartbeats++
		if d.Instance != "" {
			b.Instance = d.Instance
		}
	case schema.EvLeaderAcquired:
		b.LeaderChanges++
		b.Active = true
		if d.Instance != "" {
			b.Instance = d.Instance
		}
		if d.Leader != nil {
			b.Epoch = d.Leader.Epoch
		}
	case schema.EvLeaderLost:
		if d.Leader == nil || d.Leader.Epoch == b.Epoch {
			b.Active = false
		}
	case schema.EvNATSLeaderChanged:
		b.NATSLeaderChanges++
		if d.NATS != nil {
			b.NATSLeader = d.NATS.Leader
		}
	case schema.EvStreamRecreated:
		g := Gap{ID: schema.EventID(ev.Session, ev.SessionSeq), Kind: "stream", OpenedAt: ev.Time, ClosedAt: ev.Time}
		if d.Gap != nil {
			g = gapFrom(d.Gap, ev)
		}
		s.addGap(g)
	case schema.EvGapOpened:
		if d.Gap == nil {
			s.addGap(Gap{ID: schema.EventID(ev.Session, ev.SessionSeq), Kind: "provider", OpenedAt: ev.Time, Reason: d.Reason})
			return
		}
		s.addGap(gapFrom(d.Gap, ev))
	case schema.EvGapClosed:
		if d.Gap == nil {
			// A close without details closes the newest open gap.
			for i := len(s.gaps) - 1; i >= 0; i-- {
				if s.gaps[i].Open() {
					s.gaps[i].ClosedAt = ev.Time
					s.gaps[i].DurationMs = ev.Time.Sub(s.gaps[i].OpenedAt).Milliseconds()
					break
				}
			}
		} else {
			g := gapFrom(d.Gap, ev)
			if g.ClosedAt.IsZero() {
				g.ClosedAt = ev.Time
			}
			found := false
			for i := range s.gaps {
				if s.gaps[i].ID == g.ID {
					if g.OpenedAt.IsZero() {
						g.OpenedAt = s.gaps[i].OpenedAt
					}
					s.gaps[i] = g
					found = true
					break
				}
			}
			if !found {
				s.addGap(g)
			}
		}
	case schema.EvPublishGap:
		g := Gap{Kind: "publish", OpenedAt: ev.Time, ClosedAt: ev.Time}
		if d.Gap != nil {
			g = gapFrom(d.Gap, ev)
			if g.Kind == "" {
				g.Kind = "publish"
			}
			if g.ClosedAt.IsZero() {
				g.ClosedAt = ev.Time
			}
		}
		if g.ID == "" {
			g.ID = schema.EventID(ev.Session, ev.SessionSeq)
		}
		s.addGap(g)
	default:
		s.stats.UnknownEvents++
	}
}

func gapFrom(g *schema.Gap, ev *schema.Event) Gap {
	out := Gap{
		ID:              g.ID,
		Kind:            g.Kind,
		OpenedAt:        g.OpenedAt,
		DurationMs:      g.DurationMs,
		Reason:          g.Reason,
		CallsBefore:     g.CallsBefore,
		CallsAfter:      g.CallsAfter,
		CallsEnded:      g.CallsEnded,
		CallsDiscovered: g.CallsDiscovered,
		CallsContinued:  g.CallsContinued,
		Dropped:         g.Dropped,
	}
	if g.ClosedAt != nil {
		out.ClosedAt = *g.ClosedAt
	}
	if out.ID == "" {
		out.ID = schema.EventID(ev.Session, ev.SessionSeq)
	}
	if out.OpenedAt.IsZero() && ev.Name == schema.EvGapOpened {
		out.OpenedAt = ev.Time
	}
	return out
}

func (s *State) addGap(g Gap) {
	s.gaps = append(s.gaps, g)
	if len(s.gaps) <= maxGaps {
		return
	}
	// Forget the oldest closed gap; if every gap is open (a broken log),
	// the oldest one.
	for i := range s.gaps {
		if !s.gaps[i].Open() {
			s.gaps = slices.Delete(s.gaps, i, i+1)
			return
		}
	}
	s.gaps = slices.Delete(s.gaps, 0, 1)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}
