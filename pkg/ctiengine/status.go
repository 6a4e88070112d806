package ctiengine

import "time"

// Status is a snapshot of the engine for /status and /readyz.
type Status struct {
	// Provider is the JTAPI provider state; Link the link state.
	Provider string `json:"provider"`
	Link     string `json:"link"`
	// Ready: the provider is in service (and not shut down).
	Ready bool `json:"ready"`
	// CTIManager is the CTIManager of the current link ("" if none).
	CTIManager    string `json:"ctiManager,omitempty"`
	LeastPriority bool   `json:"leastPriority,omitempty"`
	// PrimaryReachable: on the least-priority CTIManager, a normal one
	// answered a probe (fallback pending).
	PrimaryReachable bool   `json:"primaryReachable,omitempty"`
	Session          string `json:"session,omitempty"`
	ProviderID       string `json:"providerId,omitempty"`
	// Negotiated heartbeat intervals.
	ServerHeartbeatMs int64 `json:"serverHeartbeatMs,omitempty"`
	ClientHeartbeatMs int64 `json:"clientHeartbeatMs,omitempty"`
	// LastHeardAt is when anything was last received from a CTIManager;
	// LastHeartbeatSentAt when the engine last sent a Heartbeat.
	LastHeardAt         time.Time `json:"lastHeardAt,omitzero"`
	LastHeartbeatSentAt time.Time `json:"lastHeartbeatSentAt,omitzero"`

	Devices          int `json:"devices"`
	DevicesObserved  int `json:"devicesObserved"`
	DevicesInService int `json:"devicesInService"`
	Lines            int `json:"lines"`
	LinesObserved    int `json:"linesObserved"`
	LinesInService   int `json:"linesInService"`
	Calls            int `json:"calls"`
	CallsUntracked   int `json:"callsUntracked,omitempty"`
	RouteSessions    int `json:"routeSessions,omitempty"`

	// Gap is the observation gap currently open, if any.
	Gap *GapStatus `json:"gap,omitempty"`
	// FailedRounds counts consecutive failed rounds over the list.
	FailedRounds int    `json:"failedRounds,omitempty"`
	LastError    string `json:"lastError,omitempty"`
	// Err is why the provider shut down (empty while running or after an
	// orderly close).
	Err string `json:"err,omitempty"`

	CTIManagers []CTIManagerStatus `json:"ctiManagers"`
	Counters    Counters           `json:"counters"`
}

// GapStatus describes an open gap.
type GapStatus struct {
	ID       string    `json:"id"`
	OpenedAt time.Time `json:"openedAt"`
	Reason   string    `json:"reason"`
}

// CTIManagerStatus describes one configured CTIManager.
type CTIManagerStatus struct {
	Name          string `json:"name"`
	Addr          string `json:"addr,omitempty"`
	TLSAddr       string `json:"tlsAddr,omitempty"`
	LeastPriority bool   `json:"leastPriority,omitempty"`
	Current       bool   `json:"current,omitempty"`
}

// Status reports the machine's state. It walks the device table (O(n)).
func (m *Machine) Status() Status {
	s := Status{
		Provider:            m.prov.String(),
		Link:                m.link.String(),
		Ready:               m.prov == ProviderInService,
		LeastPriority:       m.onLP,
		PrimaryReachable:    m.primReachable,
		Session:             m.session,
		FailedRounds:        m.failedRounds,
		LastError:           m.lastErr,
		LastHeardAt:         m.lastRx,
		LastHeartbeatSentAt: m.lastHBSent,
		Counters:            m.stats,
		RouteSessions:       len(m.routeSess),
	}
	if m.linkID != 0 {
		s.CTIManager = m.nodeName
		if m.link.established() {
			s.ProviderID = m.providerID
			s.ServerHeartbeatMs = m.serverHB.Milliseconds()
			s.ClientHeartbeatMs = m.clientHB.Milliseconds()
		}
	}
	if m.err != nil {
		s.Err = m.err.Error()
	}
	for _, d := range m.devices {
		s.Devices++
		if d.observed {
			s.DevicesObserved++
		}
		if d.inService {
			s.DevicesInService++
		}
		for i := range d.lines {
			s.Lines++
			if d.lines[i].observed {
				s.LinesObserved++
			}
			if d.lines[i].inService {
				s.LinesInService++
			}
		}
	}
	st := m.model.Stats()
	s.Calls, s.CallsUntracked = st.Tracked, st.Untracked
	if m.gap != nil {
		s.Gap = &GapStatus{ID: m.gap.id, OpenedAt: m.gap.openedAt, Reason: m.gap.reason}
	}
	for i, cm := range m.cfg.CTIManagers {
		s.CTIManagers = append(s.CTIManagers, CTIManagerStatus{Name: cm.Name, Addr: cm.Addr, TLSAddr: cm.TLSAddr,
			LeastPriority: cm.LeastPriority, Current: m.linkID != 0 && i == m.node})
	}
	return s
}
