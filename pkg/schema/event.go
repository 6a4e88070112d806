package schema

import "time"

// Family groups event kinds by the entity they concern. It selects the
// subject branch (cti.<cluster>.<family>...) and the data schema.
type Family string

// Families.
const (
	FamilyProvider Family = "provider"
	FamilyTerminal Family = "terminal"
	FamilyAddress  Family = "address"
	FamilyCall     Family = "call"
	FamilyRoute    Family = "route"
	FamilyBridge   Family = "bridge"
)

// Families lists every family in subject order.
var Families = []Family{FamilyProvider, FamilyTerminal, FamilyAddress, FamilyCall, FamilyRoute, FamilyBridge}

// Event is one domain event as the engine (or the bridge itself) produces
// it, before it becomes a CloudEvent. The CloudEvent envelope is derived
// from it: id from Session and SessionSeq, subject from Family and Entity,
// type from Family and Name.
type Event struct {
	// Family and Entity name the entity: the provider ("" entity), a
	// terminal name, an address DN, a global call id, a route point
	// address, or a bridge component.
	Family Family
	Entity string
	// Name is the JTAPI event name (e.g. "CallCtlConnEstablishedEv") or the
	// bridge event name (e.g. "GapOpened").
	Name string
	// Session is the provider session that produced the event; SessionSeq
	// numbers every event of the session from 1. Together they form the
	// deterministic CloudEvent id.
	Session    string
	SessionSeq uint64
	// Sequence numbers the events of one entity within the session, from 1.
	Sequence uint64
	// CTIManager is the CTIManager that delivered the underlying message
	// ("" for events the bridge originates while no CTIManager is up).
	CTIManager string
	// Time is when CTI reported the change (upstream time); Received is
	// when the bridge read it.
	Time     time.Time
	Received time.Time
	// TraceParent is an optional W3C trace context.
	TraceParent string
	// Frame is the provenance of the event: "<providerId>:<sequence>" of
	// the CTI link frame it was derived from (the CTIManager's provider id
	// and the frame header's per-session sequence), so the stream can be
	// compared with what the CTIManager sent. Empty for events the bridge
	// originates (timers, link loss, its own lifecycle). Carried as the
	// ctiframe extension.
	Frame string
	Data  Data
}

// Timestamps are the three instants of an event's life. Published is set
// when the event is encoded for publishing.
type Timestamps struct {
	Upstream  time.Time `json:"upstream" jsonschema:"description=When CTI reported the change (CTIManager clock)"`
	Received  time.Time `json:"received" jsonschema:"description=When the bridge read the message"`
	Published time.Time `json:"published,omitzero" jsonschema:"description=When the bridge encoded the event for publishing"`
}

// Data is the CloudEvent data of every event type. Exactly one of the
// family sections (Provider, Terminal, Address, Call, Route, Bridge) is
// set, matching the event's family; Media and Feature accompany call and
// terminal events where relevant.
type Data struct {
	Event   string `json:"event" jsonschema:"description=JTAPI or bridge event name"`
	EventID int    `json:"eventId,omitempty" jsonschema:"description=JTAPI numeric event id (0 for bridge events)"`
	// Cause is the JTAPI Ev cause (NORMAL 100 … SNAPSHOT 110) or a
	// CiscoOutOfServiceEv cause (1001…1010).
	Cause     int    `json:"cause,omitempty"`
	CauseName string `json:"causeName,omitempty"`
	// CallControlCause is the CallCtlEv cause (ALTERNATE 202 … UNHOLD 214).
	CallControlCause int    `json:"callControlCause,omitempty"`
	MetaCode         int    `json:"metaCode,omitempty" jsonschema:"description=JTAPI meta code (CALL_STARTING 128 … UNKNOWN 136)"`
	MetaName         string `json:"metaName,omitempty"`
	// CiscoCause is CiscoCallEv.getCiscoCause(): CUCM's own cause of a
	// call event, from the line event it derives from (Q.850 values such
	// as NORMALCALLCLEARING 16, and Cisco's, such as CALLMANAGER_FAILURE
	// 508); CiscoCauseName names it.
	CiscoCause     int    `json:"ciscoCause,omitempty"`
	CiscoCauseName string `json:"ciscoCauseName,omitempty"`
	// Snapshot marks events that replay existing state after (re)connect.
	Snapshot bool `json:"snapshot,omitempty"`
	// Inferred marks events the bridge derived (gap accounting) rather than
	// received from CTI.
	Inferred bool `json:"inferred,omitempty"`
	// Recovered marks events a hot standby bridge observed while the
	// active bridge could not store them, published when it took over
	// (docs/ha.md).
	Recovered bool       `json:"recovered,omitempty"`
	Times     Timestamps `json:"times"`

	Provider *ProviderData `json:"provider,omitempty"`
	Terminal *TerminalData `json:"terminal,omitempty"`
	Address  *AddressData  `json:"address,omitempty"`
	Call     *CallData     `json:"call,omitempty"`
	Route    *RouteData    `json:"route,omitempty"`
	Media    *MediaData    `json:"media,omitempty"`
	Bridge   *BridgeData   `json:"bridge,omitempty"`
}

// ProviderData describes the provider and its link.
type ProviderData struct {
	State      string `json:"state" jsonschema:"enum=OUT_OF_SERVICE,enum=IN_SERVICE,enum=SHUTDOWN"`
	StateCode  int    `json:"stateCode" jsonschema:"description=JTAPI Provider state (16 IN_SERVICE 17 OUT_OF_SERVICE 18 SHUTDOWN)"`
	CTIManager string `json:"ctiManager,omitempty"`
	// PreviousCTIManager is set on switches.
	PreviousCTIManager string `json:"previousCtiManager,omitempty"`
	LeastPriority      bool   `json:"leastPriority,omitempty"`
	// Reason is the PROVIDERCLOSEREASON name for losses and shutdowns.
	Reason     string `json:"reason,omitempty"`
	ReasonCode int    `json:"reasonCode,omitempty"`
	Detail     string `json:"detail,omitempty"`
	ProviderID string `json:"providerId,omitempty"`
	// Heartbeat intervals negotiated with the CTIManager, in milliseconds.
	ServerHeartbeatMs int64 `json:"serverHeartbeatMs,omitempty"`
	ClientHeartbeatMs int64 `json:"clientHeartbeatMs,omitempty"`
	// LastHeardAt is the last time anything was received from the
	// CTIManager (set on link loss).
	LastHeardAt *time.Time `json:"lastHeardAt,omitempty"`
	Devices     int        `json:"devices,omitempty"`
	Attempt     int        `json:"attempt,omitempty"`
	// Reachable lists CTIManagers known reachable (least-priority events).
	Reachable []string `json:"reachable,omitempty"`
	// Device names the device a DeviceRejected event skipped: the name as
	// CTIManager sent it, Go-quoted with control and non-ASCII bytes
	// escaped (it may hold what no subject or log line should carry raw).
	Device string `json:"device,omitempty"`
}

// TerminalData describes a terminal (device).
type TerminalData struct {
	Name        string `json:"name"`
	Type        string `json:"type,omitempty" jsonschema:"enum=phone,enum=ctiport,enum=routepoint"`
	State       string `json:"state,omitempty" jsonschema:"enum=IN_SERVICE,enum=OUT_OF_SERVICE"`
	CallManager string `json:"callManager,omitempty"`
	Registered  *bool  `json:"registered,omitempty"`
	// Media parameters of a registered CTI port.
	MediaIP     string   `json:"mediaIp,omitempty"`
	MediaPort   int      `json:"mediaPort,omitempty"`
	MediaCodecs []string `json:"mediaCodecs,omitempty"`
	Addresses   []string `json:"addresses,omitempty"`
	Observed    bool     `json:"observed,omitempty"`
}

// AddressData describes an address (line, directory number).
type AddressData struct {
	DN       string `json:"dn"`
	Terminal string `json:"terminal,omitempty"`
	State    string `json:"state,omitempty" jsonschema:"enum=IN_SERVICE,enum=OUT_OF_SERVICE"`
	Observed bool   `json:"observed,omitempty"`
}

// Party is one side of a call.
type Party struct {
	Address  string `json:"address,omitempty"`
	Terminal string `json:"terminal,omitempty"`
	// External marks a party outside the cluster, reached through a trunk
	// (Terminal then names the trunk).
	External bool `json:"external,omitempty"`
}

// CallData describes a call and, for connection-level events, the
// connection and terminal connection concerned.
type CallData struct {
	CallID      string `json:"callId" jsonschema:"description=Global call id as a string"`
	State       string `json:"state,omitempty" jsonschema:"enum=IDLE,enum=ACTIVE,enum=INVALID"`
	StateCode   int    `json:"stateCode,omitempty"`
	CallManager string `json:"callManager,omitempty"`

	Calling         *Party `json:"calling,omitempty"`
	Called          *Party `json:"called,omitempty"`
	CurrentCalling  *Party `json:"currentCalling,omitempty"`
	CurrentCalled   *Party `json:"currentCalled,omitempty"`
	LastRedirecting *Party `json:"lastRedirecting,omitempty"`

	Connection         *ConnectionData         `json:"connection,omitempty"`
	TerminalConnection *TerminalConnectionData `json:"terminalConnection,omitempty"`
	Feature            *FeatureData            `json:"feature,omitempty"`
	// OriginalCallID is set on CiscoCallChangedEv and on merges.
	OriginalCallID string `json:"originalCallId,omitempty"`
	// Gap accounting for inferred call events.
	GapID string `json:"gapId,omitempty"`
}

// ConnectionData is a Connection (address ↔ call) with both state layers.
type ConnectionData struct {
	Address              string `json:"address"`
	State                string `json:"state"`
	StateCode            int    `json:"stateCode"`
	CallControlState     string `json:"callControlState"`
	CallControlStateCode int    `json:"callControlStateCode"`
	Reason               string `json:"reason,omitempty" jsonschema:"description=CiscoConnection reason (DIRECTCALL, REDIRECT, ...)"`
	// Transient marks a connection for a party that is not really in the
	// call (calling-party transformation): consumers should ignore it.
	Transient bool `json:"transient,omitempty"`
	// Controlled is true when the address is in the provider's control list.
	Controlled bool `json:"controlled,omitempty"`
}

// TerminalConnectionData is a TerminalConnection (terminal ↔ connection).
type TerminalConnectionData struct {
	Terminal             string `json:"terminal"`
	Address              string `json:"address"`
	State                string `json:"state"`
	StateCode            int    `json:"stateCode"`
	CallControlState     string `json:"callControlState"`
	CallControlStateCode int    `json:"callControlStateCode"`
}

// FeatureData accompanies transfer and conference events.
type FeatureData struct {
	Feature       string `json:"feature" jsonschema:"enum=transfer,enum=conference"`
	Phase         string `json:"phase" jsonschema:"enum=started,enum=ended"`
	Controller    *Party `json:"controller,omitempty"`
	PrimaryCallID string `json:"primaryCallId"`
	ConsultCallID string `json:"consultCallId,omitempty"`
	ResultCallID  string `json:"resultCallId,omitempty"`
	Blind         bool   `json:"blind,omitempty"`
	// Failed, on the end event: the feature did not complete (JTAPI
	// CiscoTransferEndEv.isSuccess() false).
	Failed bool `json:"failed,omitempty"`
}

// RouteData describes a route-session event on a route point.
type RouteData struct {
	Address   string `json:"address"`
	Terminal  string `json:"terminal,omitempty"`
	SessionID string `json:"sessionId,omitempty"`
	CallID    string `json:"callId,omitempty"`
	Calling   *Party `json:"calling,omitempty"`
	Called    *Party `json:"called,omitempty"`
	Selected  string `json:"selected,omitempty"`
	State     string `json:"state,omitempty" jsonschema:"description=RouteSession state (ROUTE, ROUTE_USED, ROUTE_END, RE_ROUTE, ROUTE_CALLBACK_ENDED)"`
	Cause     int    `json:"cause,omitempty"`
	CauseName string `json:"causeName,omitempty"`
	// Registered reports a route point (re)registration; CallbackKept
	// reports that its route callback survived a failover.
	Registered   *bool `json:"registered,omitempty"`
	CallbackKept bool  `json:"callbackKept,omitempty"`
}

// MediaData describes RTP activity on a CTI port or route point.
type MediaData struct {
	Terminal string `json:"terminal"`
	Kind     string `json:"kind"`
	IP       string `json:"ip,omitempty"`
	Port     int    `json:"port,omitempty"`
	Codec    string `json:"codec,omitempty"`
	PacketMs int    `json:"packetMs,omitempty"`
}

// BridgeData describes the bridge's own lifecycle and gap accounting.
type BridgeData struct {
	Instance string `json:"instance,omitempty" jsonschema:"description=Bridge run identifier"`
	Version  string `json:"version,omitempty"`
	Reason   string `json:"reason,omitempty"`
	Detail   string `json:"detail,omitempty"`
	Gap      *Gap   `json:"gap,omitempty"`
	// Leader describes a leader change (LeaderAcquired, LeaderLost).
	Leader *Leader `json:"leader,omitempty"`
	// NATS describes the event log (NATSLeaderChanged, StreamRecreated).
	NATS *NATSData `json:"nats,omitempty"`
}

// Leader describes one tenure of the active bridge of a high-availability
// pair (docs/ha.md): who holds it, since which epoch, and how it began or
// ended.
type Leader struct {
	// Epoch numbers the tenure: the revision of the lease write that began
	// it, growing with every takeover.
	Epoch uint64 `json:"epoch" jsonschema:"description=Tenure number (lease revision at acquisition)"`
	// Mode is the standby mode of the pair: cold (one certificate shared,
	// provider opened only by the active) or hot (each instance its own
	// provider).
	Mode string `json:"mode,omitempty" jsonschema:"enum=cold,enum=hot"`
	// Previous names the instance and epoch of the tenure this one
	// follows, and how that one ended: released (orderly hand-over),
	// expired (it stopped renewing: killed, paused, cut off), none (no
	// earlier tenure).
	PreviousInstance string `json:"previousInstance,omitempty"`
	PreviousEpoch    uint64 `json:"previousEpoch,omitempty"`
	PreviousEnd      string `json:"previousEnd,omitempty" jsonschema:"enum=released,enum=expired,enum=none"`
	// WaitMs is how long a cold standby waits after acquiring the lease
	// before opening its provider (the previous holder's lease waited out
	// in full).
	WaitMs int64 `json:"waitMs,omitempty"`
	// ProviderState and CTIManager are the new active's provider at
	// takeover (hot standby: its provider was already open).
	ProviderState string `json:"providerState,omitempty"`
	CTIManager    string `json:"ctiManager,omitempty"`
}

// NATSData describes the event stream on the NATS side, in the bridge's
// records of what happened to it.
type NATSData struct {
	Stream string `json:"stream" jsonschema:"description=JetStream stream name"`
	// Leader is the server leading the stream's Raft group (replicated
	// streams), PreviousLeader the one before.
	Leader         string `json:"leader,omitempty"`
	PreviousLeader string `json:"previousLeader,omitempty"`
	// Replicas are the other peers and whether each was current.
	Replicas []NATSPeer `json:"replicas,omitempty"`
	// LostLastSeq (StreamRecreated) is the deleted stream's last sequence
	// when the bridge last saw it: sequences start again from 1.
	LostLastSeq uint64 `json:"lostLastSeq,omitempty"`
}

// NATSPeer is one follower of a replicated stream.
type NATSPeer struct {
	Name    string `json:"name"`
	Current bool   `json:"current"`
}

// Gap is an interval during which the bridge could not observe CTI (the
// provider was out of service) or could not publish (the outbound buffer
// overflowed).
type Gap struct {
	ID string `json:"id"`
	// Kind: provider (the engine's observation gaps), publish (PublishGap),
	// restart (a killed previous run, found once NATS answered after the
	// provider had opened), stream (StreamRecreated).
	Kind string `json:"kind" jsonschema:"enum=provider,enum=publish,enum=restart,enum=stream"`
	// OpenedAt is when observation was last known good: for a CTIManager
	// lost by silence, a broken link or a ProviderClosed it did not ask
	// for, the time of the last frame heard, so that a point in time
	// inside the silent window is inside the gap.
	OpenedAt time.Time `json:"openedAt"`
	// DetectedAt is when the bridge noticed the loss (heartbeat timeout,
	// link error, a ProviderClosed it did not ask for); after OpenedAt by
	// up to twice the server heartbeat. Absent when the two are the same
	// moment (a close the bridge asked for, a publish gap).
	DetectedAt *time.Time `json:"detectedAt,omitempty"`
	ClosedAt   *time.Time `json:"closedAt,omitempty"`
	// DurationMs is set when the gap closes.
	DurationMs int64  `json:"durationMs,omitempty"`
	Reason     string `json:"reason,omitempty"`
	// Reconciliation counts (provider gaps).
	CallsBefore     int `json:"callsBefore,omitempty"`
	CallsAfter      int `json:"callsAfter,omitempty"`
	CallsEnded      int `json:"callsEnded,omitempty"`
	CallsDiscovered int `json:"callsDiscovered,omitempty"`
	CallsContinued  int `json:"callsContinued,omitempty"`
	// Dropped counts events that could not be published (publish gaps),
	// with the first and last dropped event ids.
	Dropped      int    `json:"dropped,omitempty"`
	FirstDropped string `json:"firstDropped,omitempty"`
	LastDropped  string `json:"lastDropped,omitempty"`
	// WavesFrom and Waves (a provider gap's GapClosed, when the gap ends a
	// CTIManager failover): the id of the CTIManagerLost event the
	// failover began with, and the waves of device and call events the
	// engine emitted from it up to this GapClosed, counted as they were
	// emitted (see WaveCounter). `replay timeline` tells a failover's
	// waves from them without reading the failover's events.
	WavesFrom string    `json:"wavesFrom,omitempty"`
	Waves     []GapWave `json:"waves,omitempty"`
}

// GapWave is one wave of a failover: the events of one kind the engine
// emitted between the CTIManager's loss and the gap's close.
type GapWave struct {
	// Event is the JTAPI or bridge event name (CallObservationEndedEv,
	// CiscoAddrOutOfServiceEv, CiscoTermOutOfServiceEv,
	// CiscoAddrInServiceEv, CiscoTermInServiceEv,
	// CiscoTermSnapshotCompletedEv, CallEndedDuringGap,
	// CallDiscoveredBySnapshot), or WaveSnapshot for the call events of
	// the snapshots.
	Event string `json:"event" jsonschema:"description=Event name counted, or Snapshot for the call snapshots' events"`
	Count int    `json:"count" jsonschema:"description=Events of this kind emitted in the failover"`
	// Entities counts distinct addresses (address waves; a shared line
	// has one event per terminal) or calls (the snapshot wave).
	Entities int `json:"entities,omitempty" jsonschema:"description=Distinct addresses (address waves) or calls (Snapshot)"`
	// First and Last are the wave's first and last CTI times (for the
	// snapshot wave, when the bridge received the snapshot's events; First
	// is then the first event's).
	First time.Time `json:"first"`
	Last  time.Time `json:"last"`
	// FirstID is the event id (ce-id) of the wave's first event: its place
	// in the engine's emission order.
	FirstID string `json:"firstId" jsonschema:"description=ce-id of the wave's first event"`
}
