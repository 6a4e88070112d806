package callstate

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Link states of the CTIManager link as the bridge reports it
// (CTIManagerConnecting / Connected / Lost / ConnectFailed).
const (
	LinkDown       = "DOWN"
	LinkConnecting = "CONNECTING"
	LinkUp         = "UP"
)

// Service states of terminals and addresses.
const (
	InService    = "IN_SERVICE"
	OutOfService = "OUT_OF_SERVICE"
)

// Provider is the JTAPI provider and the CTIManager link it runs on.
type Provider struct {
	// State is IN_SERVICE, OUT_OF_SERVICE or SHUTDOWN; "" until the log
	// says.
	State     string    `json:"state,omitempty"`
	StateCode int       `json:"stateCode,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	// Session is the provider session of the last event seen.
	Session    string `json:"session,omitempty"`
	ProviderID string `json:"providerId,omitempty"`
	// CTIManager is the CTIManager the provider is (or was last) served by;
	// PreviousCTIManager the one before the last switch.
	CTIManager         string `json:"ctiManager,omitempty"`
	PreviousCTIManager string `json:"previousCtiManager,omitempty"`
	LeastPriority      bool   `json:"leastPriority,omitempty"`
	// Link is the state of the link to CTIManager (DOWN, CONNECTING, UP).
	Link string `json:"link,omitempty"`
	// Connecting is the CTIManager being dialled while Link is CONNECTING.
	Connecting        string `json:"connecting,omitempty"`
	ServerHeartbeatMs int64  `json:"serverHeartbeatMs,omitempty"`
	ClientHeartbeatMs int64  `json:"clientHeartbeatMs,omitempty"`
	// Reason and ReasonCode describe the last loss or shutdown
	// (PROVIDERCLOSEREASON names such as HEARTBEAT_MISSED).
	Reason     string `json:"reason,omitempty"`
	ReasonCode int    `json:"reasonCode,omitempty"`
	Detail     string `json:"detail,omitempty"`
	// LastLostAt is when the last CTIManager loss was detected and
	// LastHeardAt the last time anything was received before it.
	LastLostAt  time.Time `json:"lastLostAt,omitzero"`
	LastHeardAt time.Time `json:"lastHeardAt,omitzero"`
	Devices     int       `json:"devices,omitempty"`
	Failovers   int       `json:"failovers,omitempty"`
	// Reachable lists CTIManagers reported reachable (least-priority
	// events).
	Reachable []string `json:"reachable,omitempty"`
	// CertificateProblem is the last TLS certificate problem reported.
	CertificateProblem string `json:"certificateProblem,omitempty"`
	// RejectedDevices names (quoted) the control-list devices the bridge
	// skipped because they broke the link protocol's rules (DeviceRejected),
	// each once.
	RejectedDevices []string `json:"rejectedDevices,omitempty"`
}

// CTIManager is what the log tells about one CTIManager of the cluster.
type CTIManager struct {
	Name string `json:"name"`
	// Link is DOWN, CONNECTING or UP for this CTIManager.
	Link        string    `json:"link"`
	Since       time.Time `json:"since,omitzero"`
	Connects    int       `json:"connects,omitempty"`
	Losses      int       `json:"losses,omitempty"`
	Failures    int       `json:"failures,omitempty"`
	LastReason  string    `json:"lastReason,omitempty"`
	LastHeardAt time.Time `json:"lastHeardAt,omitzero"`
}

// Bridge is the bridge's own lifecycle as its events report it.
type Bridge struct {
	Instance      string    `json:"instance,omitempty"`
	Version       string    `json:"version,omitempty"`
	StartedAt     time.Time `json:"startedAt,omitzero"`
	StoppingAt    time.Time `json:"stoppingAt,omitzero"`
	LastHeartbeat time.Time `json:"lastHeartbeat,omitzero"`
	Heartbeats    uint64    `json:"heartbeats,omitempty"`
	LeaderChanges int       `json:"leaderChanges,omitempty"`
	// Epoch is the tenure of the active bridge of a high-availability
	// pair (LeaderAcquired); Active says whether a tenure is running
	// (false after a LeaderLost until the next LeaderAcquired).
	Epoch  uint64 `json:"epoch,omitempty"`
	Active bool   `json:"active,omitempty"`
	// NATSLeader is the event stream's Raft leader at its last change
	// (NATSLeaderChanged), NATSLeaderChanges how many the bridge saw.
	NATSLeader        string `json:"natsLeader,omitempty"`
	NATSLeaderChanges int    `json:"natsLeaderChanges,omitempty"`
}

// Terminal is a device (phone, CTI port, route point).
type Terminal struct {
	Name string `json:"name"`
	Type string `json:"type,omitempty"`
	// State is IN_SERVICE or OUT_OF_SERVICE ("" until reported).
	State string    `json:"state,omitempty"`
	Since time.Time `json:"since,omitzero"`
	// Cause and CauseName say why the terminal last went out of service
	// (CiscoOutOfServiceEv causes, e.g. 1007 CTIMANAGER_FAILURE).
	Cause       int    `json:"cause,omitempty"`
	CauseName   string `json:"causeName,omitempty"`
	CallManager string `json:"callManager,omitempty"`
	Registered  *bool  `json:"registered,omitempty"`
	// RegistrationError is the cause of the last CiscoTermRegistrationFailedEv.
	RegistrationError string   `json:"registrationError,omitempty"`
	Addresses         []string `json:"addresses,omitempty"`
	Observed          bool     `json:"observed,omitempty"`
	MediaIP           string   `json:"mediaIp,omitempty"`
	MediaPort         int      `json:"mediaPort,omitempty"`
	MediaCodecs       []string `json:"mediaCodecs,omitempty"`
	// RTPInput and RTPOutput report RTP streams currently started.
	RTPInput     bool      `json:"rtpInput,omitempty"`
	RTPOutput    bool      `json:"rtpOutput,omitempty"`
	LastSnapshot time.Time `json:"lastSnapshot,omitzero"`
}

// Address is a line (directory number).
type Address struct {
	DN        string    `json:"dn"`
	Terminal  string    `json:"terminal,omitempty"`
	State     string    `json:"state,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Cause     int       `json:"cause,omitempty"`
	CauseName string    `json:"causeName,omitempty"`
	Observed  bool      `json:"observed,omitempty"`
}

// TerminalConnection is a terminal's presence on a connection.
type TerminalConnection struct {
	Terminal             string `json:"terminal"`
	State                string `json:"state,omitempty"`
	StateCode            int    `json:"stateCode,omitempty"`
	CallControlState     string `json:"callControlState,omitempty"`
	CallControlStateCode int    `json:"callControlStateCode,omitempty"`
}

// Connection is an address's presence in a call, with the terminal
// connections on it.
type Connection struct {
	Address              string `json:"address"`
	State                string `json:"state,omitempty"`
	StateCode            int    `json:"stateCode,omitempty"`
	CallControlState     string `json:"callControlState,omitempty"`
	CallControlStateCode int    `json:"callControlStateCode,omitempty"`
	Reason               string `json:"reason,omitempty"`
	// Transient marks the short-lived connection of a transformed calling
	// party (§3.3 rule 8): it is not a real party and is not counted.
	Transient           bool                 `json:"transient,omitempty"`
	Controlled          bool                 `json:"controlled,omitempty"`
	TerminalConnections []TerminalConnection `json:"terminalConnections,omitempty"`
}

// Feature is a transfer or conference in progress on a call.
type Feature struct {
	Kind          string        `json:"kind"`
	Controller    *schema.Party `json:"controller,omitempty"`
	PrimaryCallID string        `json:"primaryCallId,omitempty"`
	ConsultCallID string        `json:"consultCallId,omitempty"`
	Blind         bool          `json:"blind,omitempty"`
	Since         time.Time     `json:"since,omitzero"`
}

// Call is a call with its connections.
type Call struct {
	ID          string    `json:"id"`
	State       string    `json:"state,omitempty"`
	CallManager string    `json:"callManager,omitempty"`
	Started     time.Time `json:"started,omitzero"`
	LastEvent   time.Time `json:"lastEvent,omitzero"`

	Calling         *schema.Party `json:"calling,omitempty"`
	Called          *schema.Party `json:"called,omitempty"`
	CurrentCalling  *schema.Party `json:"currentCalling,omitempty"`
	CurrentCalled   *schema.Party `json:"currentCalled,omitempty"`
	LastRedirecting *schema.Party `json:"lastRedirecting,omitempty"`

	Connections []Connection `json:"connections,omitempty"`

	// Unobserved is set by CallObservationEndedEv while the call is still
	// up (CTIManager loss): the call is kept as it was known, but its
	// state is unconfirmed until a snapshot or a live event describes it,
	// or CallEndedDuringGap ends it.
	Unobserved      bool      `json:"unobserved,omitempty"`
	UnobservedSince time.Time `json:"unobservedSince,omitzero"`
	// SnapshotPending is set with Unobserved: the call's next snapshot
	// event replaces its connections.
	SnapshotPending bool `json:"snapshotPending,omitempty"`
	// Snapshot is set once a snapshot event has (re)described the call.
	Snapshot bool `json:"snapshot,omitempty"`
	// Discovered marks a call first seen through a snapshot after a gap
	// (CallDiscoveredBySnapshot).
	Discovered bool   `json:"discovered,omitempty"`
	GapID      string `json:"gapId,omitempty"`
	// Feature is the transfer or conference in progress on the call.
	Feature *Feature `json:"feature,omitempty"`
	// ConsultFor is the primary call a consult call was made for.
	ConsultFor string `json:"consultFor,omitempty"`
	// MergedFrom lists calls whose legs moved into this one
	// (CiscoCallChangedEv), oldest first.
	MergedFrom []string `json:"mergedFrom,omitempty"`
	Events     uint64   `json:"events"`
}

// Parties returns the addresses really in the call: connections that are
// neither transient nor finished, in address order.
func (c Call) Parties() []string {
	var out []string
	for _, cn := range c.Connections {
		if cn.Transient || cn.StateCode == schema.ConnDisconnected || cn.StateCode == schema.ConnFailed {
			continue
		}
		out = append(out, cn.Address)
	}
	return out
}

// Connection returns the call's connection for an address.
func (c Call) Connection(address string) (Connection, bool) {
	for _, cn := range c.Connections {
		if cn.Address == address {
			return cn, true
		}
	}
	return Connection{}, false
}

// RoutePoint is a route address and its route callback.
type RoutePoint struct {
	Address      string `json:"address"`
	Terminal     string `json:"terminal,omitempty"`
	Registered   bool   `json:"registered,omitempty"`
	CallbackKept bool   `json:"callbackKept,omitempty"`
	// Sessions are the open route sessions, by session id order.
	Sessions []RouteSession `json:"sessions,omitempty"`
	Routed   uint64         `json:"routed,omitempty"`
}

// RouteSession is one route request in progress on a route point.
type RouteSession struct {
	ID       string        `json:"id"`
	CallID   string        `json:"callId,omitempty"`
	State    string        `json:"state,omitempty"`
	Calling  *schema.Party `json:"calling,omitempty"`
	Called   *schema.Party `json:"called,omitempty"`
	Selected string        `json:"selected,omitempty"`
	Since    time.Time     `json:"since,omitzero"`
}

// Gap is an observation or publish gap as the bridge recorded it.
type Gap struct {
	ID              string    `json:"id"`
	Kind            string    `json:"kind,omitempty"`
	OpenedAt        time.Time `json:"openedAt,omitzero"`
	ClosedAt        time.Time `json:"closedAt,omitzero"`
	DurationMs      int64     `json:"durationMs,omitempty"`
	Reason          string    `json:"reason,omitempty"`
	CallsBefore     int       `json:"callsBefore,omitempty"`
	CallsAfter      int       `json:"callsAfter,omitempty"`
	CallsEnded      int       `json:"callsEnded,omitempty"`
	CallsDiscovered int       `json:"callsDiscovered,omitempty"`
	CallsContinued  int       `json:"callsContinued,omitempty"`
	Dropped         int       `json:"dropped,omitempty"`
}

// Open reports whether the gap has not closed yet.
func (g Gap) Open() bool { return g.ClosedAt.IsZero() }

// Stats counts what the fold has seen.
type Stats struct {
	Events   uint64    `json:"events"`
	Ignored  uint64    `json:"ignored,omitempty"`
	LastTime time.Time `json:"lastTime,omitzero"`
	// LastSession and LastSessionSeq identify the last event applied (its
	// CloudEvent id is schema.EventID(LastSession, LastSessionSeq)).
	LastSession    string `json:"lastSession,omitempty"`
	LastSessionSeq uint64 `json:"lastSessionSeq,omitempty"`
	CallsStarted   uint64 `json:"callsStarted,omitempty"`
	CallsEnded     uint64 `json:"callsEnded,omitempty"`
	CallsInGap     uint64 `json:"callsEndedInGap,omitempty"`
	CallsMerged    uint64 `json:"callsMerged,omitempty"`
	CallsPruned    uint64 `json:"callsPruned,omitempty"`
	SnapshotEvts   uint64 `json:"snapshotEvents,omitempty"`
	InferredEvts   uint64 `json:"inferredEvents,omitempty"`
	UnknownEvents  uint64 `json:"unknownEvents,omitempty"`
}

// Summary is a count of what the state holds.
type Summary struct {
	ProviderState      string `json:"providerState"`
	CTIManager         string `json:"ctiManager,omitempty"`
	Terminals          int    `json:"terminals"`
	TerminalsOOS       int    `json:"terminalsOutOfService"`
	Addresses          int    `json:"addresses"`
	AddressesOOS       int    `json:"addressesOutOfService"`
	Calls              int    `json:"calls"`
	UnobservedCalls    int    `json:"unobservedCalls"`
	Connections        int    `json:"connections"`
	TransientConns     int    `json:"transientConnections"`
	RouteSessions      int    `json:"routeSessions"`
	OpenGaps           int    `json:"openGaps"`
	EventsApplied      uint64 `json:"eventsApplied"`
	CallsEndedTotal    uint64 `json:"callsEndedTotal"`
	CallsEndedInGapTot uint64 `json:"callsEndedInGapTotal"`
}
