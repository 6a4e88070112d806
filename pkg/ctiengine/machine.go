package ctiengine

import (
	"errors"
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

// Sentinel errors returned by Engine.Run (wrapped with detail) and carried
// by Output.Err when the machine stops.
var (
	// ErrRetryAttemptsExceeded: ProviderOpenRetryAttempts consecutive
	// rounds over the CTIManager list failed (RETRY_ATTEMPTS_EXCEEDED).
	ErrRetryAttemptsExceeded = errors.New("ctiengine: provider retry attempts exceeded")
	// ErrCertCompromised: CTIManager marked the client certificate
	// compromised; a new instanceId and certificate must be configured.
	ErrCertCompromised = errors.New("ctiengine: client certificate compromised")
	// ErrOpenRefused: the very first provider open was refused for a
	// reason retrying cannot fix (login failed, not allowed, incompatible
	// protocol, not authorised for TLS).
	ErrOpenRefused = errors.New("ctiengine: provider open refused")
	// ErrClosed: the engine was closed.
	ErrClosed = errors.New("ctiengine: engine closed")
)

// reqKind is what a pipelined request was for.
type reqKind uint8

const (
	reqDeviceOpen reqKind = iota + 1
	reqLineOpen
	reqCTIPortRegister
	reqRoutePointRegister
	reqSnapshot
	reqRouteSelect
)

func (k reqKind) String() string {
	switch k {
	case reqDeviceOpen:
		return "DeviceOpenRequest"
	case reqLineOpen:
		return "LineOpenRequest"
	case reqCTIPortRegister:
		return "CTIPortRegisterRequest"
	case reqRoutePointRegister:
		return "RoutePointRegisterRequest"
	case reqSnapshot:
		return "SnapshotRequest"
	case reqRouteSelect:
		return "RouteSelectRequest"
	}
	return "request"
}

type queuedReq struct {
	msg  ctilink.Message
	kind reqKind
	dev  *device
	line int
	// since is when the work the request answers began (a route select:
	// the route request's arrival), for MeasureRouteSelect.
	since time.Time
}

type pendingReq struct {
	kind  reqKind
	dev   *device
	line  int
	since time.Time
}

// attemptRecord is what the machine remembers of one CTIManager's
// attempts, for Status and readiness.
type attemptRecord struct {
	at    time.Time // the last connect attempt began
	err   string    // why the last attempt or link ended ("" none yet)
	errAt time.Time
}

// routeSession is a route request being answered: when it began and
// whether it was re-routed already.
type routeSession struct {
	at       time.Time
	rerouted bool
}

type reqDeadline struct {
	seq uint32
	at  time.Time
}

// closeIntent says what an orderly ProviderCloseRequest is for.
type closeIntent uint8

const (
	closeNone closeIntent = iota
	closeShutdown
	closeFallback
)

type seqKey struct {
	fam schema.Family
	ent string
}

// Counters are the machine's running totals.
type Counters struct {
	FramesIn        uint64 `json:"framesIn"`
	FramesOut       uint64 `json:"framesOut"`
	Events          uint64 `json:"events"`
	HeartbeatsSent  uint64 `json:"heartbeatsSent"`
	HeartbeatMisses uint64 `json:"heartbeatMisses"`
	ConnectAttempts uint64 `json:"connectAttempts"`
	ConnectFailures uint64 `json:"connectFailures"`
	Failovers       uint64 `json:"failovers"`
	RequestTimeouts uint64 `json:"requestTimeouts"`
	RequestFailures uint64 `json:"requestFailures"`
	Gaps            uint64 `json:"gaps"`
	ProtocolErrors  uint64 `json:"protocolErrors"`
	DevicesIgnored  uint64 `json:"devicesIgnored"`
	// DevicesRejected counts devices skipped because they broke the
	// link protocol's device rules (one DeviceRejected event each).
	DevicesRejected  uint64 `json:"devicesRejected"`
	RouteSelects     uint64 `json:"routeSelects"`
	ProbeResults     uint64 `json:"probeResults"`
	BufferedMessages uint64 `json:"bufferedMessages"`
	// HeldBackDiscarded counts call messages held back until the
	// provider came into service on a link that ended first (lost, or
	// closed by Close, during the device opens): never applied, they lie
	// inside the provider gap then open.
	HeldBackDiscarded uint64 `json:"heldBackDiscarded"`
}

// maxBuffered bounds call messages held back while devices are being
// opened (so that no call event precedes ProvInServiceEv). Beyond it the
// buffer is flushed and messages pass straight through: order relaxes,
// nothing is lost.
const maxBuffered = 1 << 16

// Machine is the engine's deterministic core: the JTAPI provider with its
// CTIManager list, link handshake, heartbeats, devices and observers,
// failover, least-priority fallback and gap accounting. It performs no I/O
// and reads no clock: every input carries the current time and every
// effect comes back in an Output. It is not safe for concurrent use; the
// Engine drives it from one goroutine.
type Machine struct {
	cfg   settings
	model *callmodel.Model
	// modelOut is the memory the call model's events are appended to, one
	// wire event at a time (Model.AppendApply).
	modelOut []callmodel.Out
	out      Output

	prov ProviderState
	link LinkState

	// Current link.
	linkID        LinkID
	lastLinkID    LinkID
	node          int
	nodeName      string
	providerID    string
	serverHB      time.Duration
	clientHB      time.Duration
	lastRx        time.Time
	lastTx        time.Time
	lastHBSent    time.Time
	txSeq         uint32
	openSeq       uint32
	listSeq       uint32
	announced     bool      // CTIManagerConnected emitted for this link
	linkTLS       bool      // the current link is a TLS link
	linkProtoErrs int       // unusable or unexpected frames on the current link
	untrackedNote time.Time // when the MaxCalls warning was last logged
	closing       closeIntent
	pendingDetail string

	// Failover rounds.
	attempts      []attemptRecord // per CTIManager, in configuration order
	connectAt     time.Time       // the current link's connect began
	round         []int
	roundPos      int
	failedRounds  int
	lastNode      int
	everInService bool
	lastErr       string

	// Least priority and fallback.
	onLP          bool
	primReachable bool
	reachable     []string
	fallingBack   bool

	// Requests.
	pending     map[uint32]pendingReq
	deadlines   []reqDeadline
	queue       []queuedReq
	queueHead   int
	openPending int
	snapPending int

	// Devices.
	devices   []*device
	byName    map[string]*device
	byDN      map[string]*device   // a DN's first device
	dnDevices map[string][]*device // every device with the DN (a shared line has several)
	listBuf   []ctilink.DeviceInfo
	listTotal int
	// listPages and listRejected count the pages and the rejected devices
	// of the device list being fetched (devicereject.go).
	listPages    int
	listRejected int
	observeAll   bool
	observeSet   map[string]struct{}
	created      []*device
	removed      []*device
	routeRR      map[string]int
	routeSess    map[uint32]routeSession

	// Held back call messages (see maxBuffered), with the header
	// sequence of each.
	buffered  []ctilink.Message
	bufferAt  []time.Time
	bufferSeq []uint32

	// Provenance of the events being produced: the inbound frame's header
	// sequence (0: none) and its "<providerId>:<seq>" (built on first use).
	rxSeq   uint32
	rxFrame string

	// Session and sequences.
	sessionN   int
	session    string
	sessionSeq uint64
	newSession bool
	seqs       map[seqKey]uint64
	seqTomb    seqTombstones // sequences of calls forgotten this session
	callSeqs   int

	// passive: observe only, answer no route request (PassiveMode).
	passive bool

	gap *gapState
	// waves counts the current failover's device and call events, from
	// its CTIManagerLost to the GapClosed that ends it (GapClosed.Waves).
	waves    *schema.WaveCounter
	gapN     int
	priorGap *PriorGap // opened by Start (SetPriorGap)

	timers [numTimers]time.Time

	stats Counters
	done  bool
	err   error
}

// NewMachine returns a machine for cfg, which must be valid (see
// Config.Validate); Sink, Logger and Clock are not used by the machine.
func NewMachine(cfg Config) *Machine {
	s := cfg.withDefaults()
	m := &Machine{
		passive:    cfg.Passive,
		cfg:        s,
		prov:       ProviderOutOfService,
		node:       -1,
		lastNode:   -1,
		pending:    make(map[uint32]pendingReq),
		byName:     make(map[string]*device),
		byDN:       make(map[string]*device),
		dnDevices:  make(map[string][]*device),
		routeRR:    make(map[string]int),
		routeSess:  make(map[uint32]routeSession),
		seqs:       make(map[seqKey]uint64),
		newSession: true,
		attempts:   make([]attemptRecord, len(s.CTIManagers)),
	}
	if cfg.Observe == nil {
		m.observeAll = true
	} else {
		m.observeSet = make(map[string]struct{}, len(cfg.Observe))
		for _, o := range cfg.Observe {
			m.observeSet[o] = struct{}{}
		}
	}
	m.model = callmodel.New(callmodel.Config{
		// The lines whose events reach this session (the call model
		// synthesizes the far parties it does not hear from).
		Controlled: func(dn string) bool {
			for _, d := range m.dnDevices[dn] {
				if l := d.line(dn); l != nil && d.needsOpen() && d.lineOpenWanted(l) {
					return true
				}
			}
			return false
		},
		// Route points get no snapshot (seed p.216); their calls are
		// recovered live.
		NoSnapshot: func(dn string) bool {
			d, ok := m.byDN[dn]
			return ok && d.typ == ctilink.DeviceRoutePoint
		},
		TerminalOf: func(dn string) string {
			if d, ok := m.byDN[dn]; ok {
				return d.name
			}
			return ""
		},
		MaxCalls: s.MaxCalls,
	})
	return m
}

// Provider returns the provider state.
func (m *Machine) Provider() ProviderState { return m.prov }

// Link returns the link state.
func (m *Machine) Link() LinkState { return m.link }

// Session returns the current provider session id.
func (m *Machine) Session() string { return m.session }

// Done reports whether the machine has stopped for good.
func (m *Machine) Done() bool { return m.done }

// Model exposes the call model (read-only use: Calls, Stats).
func (m *Machine) Model() *callmodel.Model { return m.model }

func (m *Machine) begin() *Output {
	m.out.reset()
	return &m.out
}

func (m *Machine) finish() *Output {
	if len(m.out.Send) > 0 {
		m.out.SendLink = m.linkID
	}
	m.out.Done = m.done
	if m.done {
		m.out.Err = m.err
	}
	return &m.out
}

// PriorGap describes an outage that began before this run: the bridge's
// previous run ended without an orderly stop (killed), so what CTIManager
// reported between its last published event and this run is unknown.
type PriorGap struct {
	// Reason is the gap's reason (GapOpened/GapClosed Reason).
	Reason string
	// OpenedAt is when the outage began: the time of the previous run's
	// last event.
	OpenedAt time.Time
	// ID, if set, is the id of a gap the previous run already recorded as
	// opened (its GapOpened is in the log): this run closes that gap
	// instead of opening one of its own (no second GapOpened).
	ID string
	// Calls lists the calls the previous run's log still held up when it
	// ended (a cold standby folds the log before taking over): the first
	// snapshot reconciles them like calls known before a failover — those
	// still up continue (re-opened by their snapshot), the others get
	// CallEndedDuringGap — instead of every call being discovered anew.
	Calls []uint32
}

// SetPriorGap makes Start open a provider gap for an outage that began
// before this run: GapOpened comes first, and once the first provider is in
// service and its snapshots are in, the call model reconciles (every call a
// snapshot reports is CallDiscoveredBySnapshot, since nothing is known from
// before) and GapClosed records the gap with its counts. It must be called
// before Start.
func (m *Machine) SetPriorGap(g PriorGap) {
	m.priorGap = &g
}

// start begins connecting to the first CTIManager.
func (m *Machine) start(now time.Time) {
	if m.link != LinkIdle || m.done {
		return
	}
	if m.cfg.fallbackWarning != "" {
		m.note(zerolog.WarnLevel, m.cfg.fallbackWarning, nil)
	}
	if g := m.priorGap; g != nil {
		m.priorGap = nil
		m.model.SeedBeforeGap(g.Calls)
		if g.ID != "" {
			m.adoptGap(g)
		} else {
			m.openGapAt(now, g.OpenedAt, g.Reason)
		}
	}
	m.newRound(-1)
	m.connectNext(now)
}

func (m *Machine) linkUp(link LinkID, now time.Time) {
	if link != m.linkID || m.link != LinkConnecting {
		m.out.Hangup = link
		return
	}
	m.txSeq = 0
	m.lastRx = now
	// A new link's events get its provider id once the open response
	// names it.
	m.providerID, m.rxFrame = "", ""
	m.setLink(LinkOpening, "connected", now)
	seq := m.send(ctilink.ProviderOpenRequest{
		Login:                    m.cfg.Login,
		Password:                 m.cfg.Password,
		AppInfo:                  m.cfg.AppInfo,
		InstanceID:               m.cfg.InstanceID,
		DesiredServerHeartbeatMs: m.cfg.DesiredServerHeartbeatInterval.Milliseconds(),
		ClientVersion:            ClientVersion,
		ProtocolVersions:         []int{int(ctilink.ProtocolVersion)},
		ApplicationPriority:      2,
	}, now)
	m.openSeq = seq
	m.arm(TimerPhase, now.Add(m.cfg.ProviderOpenRequestTimeout))
}

func (m *Machine) linkFailed(link LinkID, err error, now time.Time) {
	if link != m.linkID || m.done {
		return
	}
	detail := "connect failed"
	if err != nil {
		detail = err.Error()
	}
	if errors.Is(err, ErrServerTrust) {
		m.emitCertProblem(now, "SERVER_TRUST", 0, detail)
	}
	m.clientCertRefused(err, now)
	m.lose(now, ctilink.CloseNone, detail)
}

func (m *Machine) linkDown(link LinkID, err error, now time.Time) {
	if link != m.linkID || m.done {
		return
	}
	detail := "connection lost"
	if err != nil {
		detail = err.Error()
	}
	if m.closing != closeNone {
		m.closeDone(now, detail)
		return
	}
	m.clientCertRefused(err, now)
	m.lose(now, ctilink.CloseUnexpectedShutdown, detail)
}

func (m *Machine) frameError(link LinkID, err error, now time.Time) {
	if link == m.linkID && !m.done {
		m.lastRx = now
		m.protocolError("unusable frame from CTIManager", err)
	}
}

func (m *Machine) timer(id TimerID, now time.Time) {
	if id < 0 || id >= numTimers || m.done {
		return
	}
	at := m.timers[id]
	if at.IsZero() || now.Before(at) {
		return
	}
	m.timers[id] = time.Time{}
	switch id {
	case TimerHeartbeatRecv:
		m.heartbeatRecvDue(now)
	case TimerHeartbeatSend:
		m.heartbeatSendDue(now)
	case TimerPhase:
		m.phaseTimeout(now)
	case TimerRequest:
		m.requestTimeoutDue(now)
	case TimerRetry:
		if m.link == LinkWaitingRetry {
			m.newRound(m.lastNode)
			m.connectNext(now)
		}
	case TimerProbe:
		m.probeDue(now)
	case TimerFallback:
		m.startFallback(now, "fallback initiation time elapsed")
	case TimerClose:
		if m.closing != closeNone {
			m.closeDone(now, "no ProviderClosed within CloseTimeout")
		}
	case TimerRecovery:
		m.recoveryDue()
	}
}

func (m *Machine) probeResult(node int, ok bool, now time.Time) {
	m.stats.ProbeResults++
	if m.done || !ok || !m.onLP || m.primReachable || node < 0 || node >= len(m.cfg.CTIManagers) ||
		m.cfg.CTIManagers[node].LeastPriority {
		return
	}
	m.primReachable = true
	m.reachable = append(m.reachable[:0], m.cfg.CTIManagers[node].Name)
	m.cancel(TimerProbe)
	ev := m.providerEvent(schema.EvCiscoProvPrimNwReachable, now)
	ev.Data.Provider.LeastPriority = true
	ev.Data.Provider.Reachable = append([]string(nil), m.reachable...)
	m.emit(ev)
	m.arm(TimerFallback, now.Add(m.cfg.FallbackInitiationTime))
	m.note(zerolog.InfoLevel, fmt.Sprintf("normal CTIManager %s reachable; falling back in %v",
		m.cfg.CTIManagers[node].Name, m.cfg.FallbackInitiationTime), nil)
}

func (m *Machine) shutdown(now time.Time) {
	if m.done || m.closing == closeShutdown {
		return
	}
	if m.linkID != 0 && m.link.established() {
		m.closing = closeShutdown
		m.cancelLinkTimers()
		m.send(ctilink.ProviderCloseRequest{Reason: ctilink.CloseApplicationRequest}, now)
		m.setLink(LinkClosing, "close requested", now)
		m.arm(TimerClose, now.Add(m.cfg.CloseTimeout))
		return
	}
	m.hangup(now)
	m.stop(now, ctilink.CloseApplicationRequest, "closed on application request", nil)
}

// ClientVersion is sent in ProviderOpenRequest.
const ClientVersion = "ctibridge-ctiengine/1"
