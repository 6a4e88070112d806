package ctiengine

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

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
	// DevicesOutOfService and LinesOutOfService count the devices and
	// lines not in service by the JTAPI cause of their last out-of-service
	// event: CTIMANAGER_FAILURE while the provider is out of service; for
	// one the device list gives as out of service, the cause its
	// CiscoTermOutOfServiceEv carries (DEVICE_UNREGISTERED or
	// CALLMANAGER_FAILURE); UNKNOWN when CTIManager gave none.
	DevicesOutOfService map[string]int `json:"devicesOutOfService,omitempty"`
	LinesOutOfService   map[string]int `json:"linesOutOfService,omitempty"`
	Calls               int            `json:"calls"`
	CallsUntracked      int            `json:"callsUntracked,omitempty"`
	RouteSessions       int            `json:"routeSessions,omitempty"`

	// Gap is the observation gap currently open, if any.
	Gap *GapStatus `json:"gap,omitempty"`
	// FailedRounds counts consecutive failed rounds over the list.
	FailedRounds int    `json:"failedRounds,omitempty"`
	LastError    string `json:"lastError,omitempty"`
	// NextRetryAt is when the next round over the CTIManager list starts,
	// while a failed round waits ProviderRetryInterval (zero otherwise).
	NextRetryAt time.Time `json:"nextRetryAt,omitzero"`
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
	// Current: the link in progress or up is to this CTIManager;
	// Connected: that link is established (the provider is open or
	// opening on it).
	Current   bool `json:"current,omitempty"`
	Connected bool `json:"connected,omitempty"`
	// LastAttemptAt is when the last connect to it began; LastError why
	// its last attempt or link ended, at LastErrorAt (kept after a
	// success, as history).
	LastAttemptAt time.Time `json:"lastAttemptAt,omitzero"`
	LastError     string    `json:"lastError,omitempty"`
	LastErrorAt   time.Time `json:"lastErrorAt,omitzero"`
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
		NextRetryAt:         m.timers[TimerRetry],
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
		} else {
			s.DevicesOutOfService = countCause(s.DevicesOutOfService, d.oosCause)
		}
		for i := range d.lines {
			s.Lines++
			if d.lines[i].observed {
				s.LinesObserved++
			}
			if d.lines[i].inService {
				s.LinesInService++
			} else {
				s.LinesOutOfService = countCause(s.LinesOutOfService, d.lines[i].oosCause)
			}
		}
	}
	st := m.model.Stats()
	s.Calls, s.CallsUntracked = st.Tracked, st.Untracked
	if m.gap != nil {
		s.Gap = &GapStatus{ID: m.gap.id, OpenedAt: m.gap.openedAt, Reason: m.gap.reason}
	}
	for i, cm := range m.cfg.CTIManagers {
		current := m.linkID != 0 && i == m.node
		a := m.attempts[i]
		s.CTIManagers = append(s.CTIManagers, CTIManagerStatus{Name: cm.Name, Addr: cm.Addr, TLSAddr: cm.TLSAddr,
			LeastPriority: cm.LeastPriority, Current: current, Connected: current && m.link.established(),
			LastAttemptAt: a.at, LastError: a.err, LastErrorAt: a.errAt})
	}
	return s
}

// OutOfServiceCauses are the cause names DevicesOutOfService and
// LinesOutOfService use: the CiscoOutOfServiceEv causes (schema.CauseNames
// 1001–1010) and UNKNOWN.
var OutOfServiceCauses = func() []string {
	var out []string
	for code := schema.OOSCauseCallManagerFailure; code <= schema.OOSCauseEnergyWisePowerSave; code++ {
		out = append(out, schema.CauseNames[code])
	}
	return append(out, causeUnknown)
}()

const causeUnknown = "UNKNOWN"

func countCause(m map[string]int, code int) map[string]int {
	if m == nil {
		m = make(map[string]int)
	}
	name, ok := schema.CauseNames[code]
	if !ok || code < schema.OOSCauseCallManagerFailure || code > schema.OOSCauseEnergyWisePowerSave {
		name = causeUnknown
	}
	m[name]++
	return m
}
