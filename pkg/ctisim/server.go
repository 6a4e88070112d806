package ctisim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// Config configures a Server. Only Cluster is required; every other zero
// value takes the documented default.
type Config struct {
	// Cluster is the simulated cluster (DefaultCluster, LoadCluster, …).
	Cluster ClusterConfig
	// Traffic configures the call model (rate, seed, scenario mix, timings).
	// Traffic.Start is the model's time origin; zero means the time New is
	// called.
	Traffic traffic.Config
	// ManualTime stops the simulator from advancing the call model with the
	// wall clock: model time only moves when Server.Advance is called.
	// Tests use it to get byte-identical output for a seed. Heartbeats and
	// fault timing still use the wall clock.
	ManualTime bool
	// Tick bounds how long the traffic driver sleeps between model
	// advances when nothing is due (default 50ms).
	Tick time.Duration
	// PKI enables the TLS ports (nil: plain TCP only).
	PKI *PKI
	// GroundTruth receives every ground-truth record as a JSON line (nil:
	// memory only).
	GroundTruth io.Writer
	// GroundTruthLimit is how many records are kept in memory (0:
	// DefaultGroundTruthLimit; negative: none).
	GroundTruthLimit int
	// SessionQueue bounds each session's outbound queue in frames (0:
	// DefaultSessionQueue). A session whose queue overflows is closed.
	SessionQueue int
	// WriteTimeout bounds each socket write (default 10s); a client that
	// stops reading for that long is closed.
	WriteTimeout time.Duration
	// OpenTimeout is how long a new connection may stay silent before its
	// ProviderOpenRequest (default 10s).
	OpenTimeout time.Duration
	// DeviceListPage is the number of devices per DeviceListResponse page
	// (1-500, default 500).
	DeviceListPage int
	// ControlAddr, when set (e.g. "127.0.0.1:0"), serves the HTTP control
	// API there.
	ControlAddr string
	// RunID distinguishes provider ids of different simulator runs (default:
	// random). Provider ids are "<node>-<runid>-<n>".
	RunID string
	// Logger receives the simulator's logs (default zerolog.Nop()).
	Logger zerolog.Logger
}

// Validate reports every problem of the configuration.
func (c Config) Validate() error {
	var errs []error
	if err := c.Cluster.Validate(); err != nil {
		errs = append(errs, err)
	}
	if c.Traffic.Rate < 0 {
		errs = append(errs, fmt.Errorf("ctisim: Traffic.Rate %v is negative; use 0 (scripted calls only) or a positive rate", c.Traffic.Rate))
	}
	if c.Tick < 0 || c.WriteTimeout < 0 || c.OpenTimeout < 0 {
		errs = append(errs, errors.New("ctisim: Tick, WriteTimeout and OpenTimeout must not be negative; use 0 for defaults"))
	}
	if c.SessionQueue < 0 {
		errs = append(errs, fmt.Errorf("ctisim: SessionQueue %d is negative; use 0 for the default (%d)", c.SessionQueue, DefaultSessionQueue))
	}
	if c.DeviceListPage < 0 || c.DeviceListPage > 500 {
		errs = append(errs, fmt.Errorf("ctisim: DeviceListPage %d out of range; use 1-500, or 0 for 500", c.DeviceListPage))
	}
	if c.PKI != nil {
		if err := c.PKI.check(c.Cluster); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Server is a running simulated cluster: its CTIManager nodes, the shared
// device and call state, the traffic driver and the ground-truth log.
type Server struct {
	cfg   Config
	log   zerolog.Logger
	gt    *groundTruth
	runID string

	nodes      []*node
	nodeByName map[string]*node
	devices    map[string]*device // static device data plus state guarded by mu
	devOrder   []*device
	byDN       map[string]*device
	users      map[string]*user
	cms        map[string]bool

	mu          sync.Mutex // guards the following fields and every device's state
	model       *traffic.Model
	rate        float64   // current generated call rate
	now         time.Time // model time (ManualTime) or last advance
	sessions    map[*session]struct{}
	devWatch    map[string]map[*session]struct{}
	lineWatch   map[lineKey]map[*session]struct{}
	ports       map[string]*registration // CTI port registrations
	routePoints map[string]*registration // route point registrations
	cmFailed    map[string]bool
	rehoming    int // devices waiting to re-home (device.rehoming)
	certs       map[string]*certState
	// cutInstances holds the client certificate names CutInstance cut off.
	cutInstances map[string]bool
	nextID       uint64
	started      bool
	closed       bool

	wake    chan struct{} // nudges the traffic driver
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup // driver, accept loops, sessions
	control *http.Server
	ctlLn   net.Listener
}

type lineKey struct{ device, line string }

// device is one configured device and its live state.
type device struct {
	cfg DeviceConfig
	// guarded by Server.mu
	inService  bool
	registered bool
	// cm is the CallManager node the device is registered to (or, out of
	// service, was last registered to): cfg.CallManager until a failure
	// re-homes it to the next node of its group.
	cm string
	// rehoming: the device's node failed while it had calls; it re-homes
	// once they are over.
	rehoming bool
}

type user struct {
	cfg     UserConfig
	control []*device
	allowed map[string]bool
}

// registration is a CTI port or route point registration shared by the
// sessions that registered it with the same parameters.
type registration struct {
	media    ctilink.MediaParams
	dynamic  bool
	sessions map[*session]struct{}
}

// certState tracks one client certificate's providers and clashes.
type certState struct {
	cn          string
	open        *session
	clashes     int
	compromised bool
}

// New validates cfg and builds the simulator. It opens no socket; call
// Start (or Run).
func New(cfg Config) (*Server, error) {
	cfg.Cluster = cfg.Cluster.Expand()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Tick == 0 {
		cfg.Tick = 50 * time.Millisecond
	}
	if cfg.WriteTimeout == 0 {
		cfg.WriteTimeout = 10 * time.Second
	}
	if cfg.OpenTimeout == 0 {
		cfg.OpenTimeout = 10 * time.Second
	}
	if cfg.DeviceListPage == 0 {
		cfg.DeviceListPage = 500
	}
	if cfg.SessionQueue == 0 {
		cfg.SessionQueue = DefaultSessionQueue
	}
	if cfg.Traffic.Start.IsZero() {
		cfg.Traffic.Start = time.Now()
	}
	runID := cfg.RunID
	if runID == "" {
		var b [3]byte
		_, _ = rand.Read(b[:])
		runID = hex.EncodeToString(b[:])
	}
	s := &Server{
		cfg:         cfg,
		log:         cfg.Logger.With().Str("component", "ctisim").Logger(),
		gt:          newGroundTruth(cfg.GroundTruth, cfg.GroundTruthLimit),
		runID:       runID,
		nodeByName:  map[string]*node{},
		devices:     map[string]*device{},
		byDN:        map[string]*device{},
		users:       map[string]*user{},
		cms:         map[string]bool{},
		now:         cfg.Traffic.Start,
		rate:        cfg.Traffic.Rate,
		sessions:    map[*session]struct{}{},
		devWatch:    map[string]map[*session]struct{}{},
		lineWatch:   map[lineKey]map[*session]struct{}{},
		ports:       map[string]*registration{},
		routePoints: map[string]*registration{},
		cmFailed:    map[string]bool{},
		certs:       map[string]*certState{},
		wake:        make(chan struct{}, 1),
	}
	for _, cm := range cfg.Cluster.CallManagers {
		s.cms[cm] = true
	}
	for _, dc := range cfg.Cluster.Devices {
		d := &device{cfg: dc, inService: true, registered: true, cm: dc.CallManager}
		s.devices[dc.Name] = d
		s.devOrder = append(s.devOrder, d)
		for _, dn := range dc.Lines {
			s.byDN[dn] = d
		}
	}
	for _, uc := range cfg.Cluster.Users {
		u := &user{cfg: uc, allowed: map[string]bool{}}
		for _, d := range s.devOrder {
			if uc.ControlAll {
				u.allowed[d.cfg.Name] = true
			}
		}
		for _, name := range uc.ControlList {
			u.allowed[name] = true
		}
		for _, d := range s.devOrder {
			if u.allowed[d.cfg.Name] {
				u.control = append(u.control, d)
			}
		}
		s.users[uc.Login] = u
	}
	for _, nc := range cfg.Cluster.CTIManagers {
		n := &node{srv: s, cfg: nc, log: s.log.With().Str("node", nc.Name).Logger()}
		s.nodes = append(s.nodes, n)
		s.nodeByName[nc.Name] = n
	}
	model, err := traffic.New(cfg.Traffic, s.directory(), hooks{s})
	if err != nil {
		return nil, fmt.Errorf("ctisim: building the call model: %w", err)
	}
	s.model = model
	return s, nil
}

// directory converts the cluster's devices into the call model's view.
func (s *Server) directory() traffic.Directory {
	var dir traffic.Directory
	for _, d := range s.devOrder {
		for _, dn := range d.cfg.Lines {
			l := traffic.Line{Device: d.cfg.Name, DN: dn, CallManager: d.cfg.CallManager}
			switch d.cfg.Type {
			case ctilink.DevicePhone:
				dir.Phones = append(dir.Phones, l)
			case ctilink.DeviceCTIPort:
				dir.CTIPorts = append(dir.CTIPorts, l)
			case ctilink.DeviceRoutePoint:
				dir.RoutePoints = append(dir.RoutePoints, l)
			}
		}
	}
	for _, p := range s.cfg.Cluster.Patterns {
		dir.Patterns = append(dir.Patterns, traffic.Pattern{Prefix: p.Prefix, CallingMask: p.CallingMask})
	}
	dir.ParkNumbers = append(dir.ParkNumbers, s.cfg.Cluster.ParkNumbers...)
	for _, h := range s.cfg.Cluster.HuntPilots {
		dir.HuntPilots = append(dir.HuntPilots, traffic.HuntPilot{Number: h.Number, Members: append([]string(nil), h.Members...)})
	}
	for _, g := range s.cfg.Cluster.PickupGroups {
		dir.PickupGroups = append(dir.PickupGroups, append([]string(nil), g.Lines...))
	}
	for _, fw := range s.cfg.Cluster.Forwards {
		dir.Forwards = append(dir.Forwards, traffic.Forward{DN: fw.Line, All: fw.All, Busy: fw.Busy, NoAnswer: fw.NoAnswer})
	}
	for _, t := range s.cfg.Cluster.Trunks {
		dir.Trunks = append(dir.Trunks, traffic.Trunk{Name: t.Name, CallManager: t.CallManager,
			Prefixes: t.Prefixes, Numbers: t.Numbers})
	}
	return dir
}

// Start binds every node's listeners (and the control API when
// configured) and starts the traffic driver. It returns once the ports are
// open.
func (s *Server) Start() error {
	s.mu.Lock()
	if s.started {
		s.mu.Unlock()
		return errors.New("ctisim: Start called twice")
	}
	s.started = true
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.mu.Unlock()
	for _, n := range s.nodes {
		if err := n.listen(); err != nil {
			s.Close()
			return err
		}
	}
	if s.cfg.ControlAddr != "" {
		if err := s.serveControl(s.cfg.ControlAddr); err != nil {
			s.Close()
			return err
		}
	}
	if !s.cfg.ManualTime {
		s.wg.Add(1)
		go s.drive()
	}
	s.log.Info().Str("cluster", s.cfg.Cluster.Name).Int("devices", len(s.devOrder)).
		Float64("rate", s.cfg.Traffic.Rate).Int64("seed", s.cfg.Traffic.Seed).Msg("simulator started")
	return nil
}

// Run starts the simulator, blocks until ctx is done, then closes it.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Start(); err != nil {
		return err
	}
	<-ctx.Done()
	return s.Close()
}

// Close stops the listeners, closes every session abruptly and stops the
// driver. It is idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed || !s.started {
		s.closed = true
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.cancel()
	sessions := make([]*session, 0, len(s.sessions))
	for sess := range s.sessions {
		sessions = append(sessions, sess)
	}
	s.mu.Unlock()
	for _, n := range s.nodes {
		n.closeListeners()
	}
	for _, sess := range sessions {
		sess.abort("simulator closed")
	}
	if s.control != nil {
		_ = s.control.Close()
	}
	s.wg.Wait()
	_, _, werr := s.gt.stats()
	if werr != nil {
		return fmt.Errorf("ctisim: writing ground truth: %w", werr)
	}
	return nil
}

// NodeInfo describes a CTIManager node for tests and the control API.
type NodeInfo struct {
	Name          string `json:"name"`
	Addr          string `json:"addr"`
	TLSAddr       string `json:"tlsAddr,omitempty"`
	LeastPriority bool   `json:"leastPriority,omitempty"`
	Up            bool   `json:"up"`
	Stalled       bool   `json:"stalled"`
	SlowLinkMs    int64  `json:"slowLinkMs"`
	Sessions      int    `json:"sessions"`
}

// Nodes lists the CTIManager nodes in configuration order.
func (s *Server) Nodes() []NodeInfo {
	counts := map[*node]int{}
	s.mu.Lock()
	for sess := range s.sessions {
		counts[sess.node]++
	}
	s.mu.Unlock()
	out := make([]NodeInfo, 0, len(s.nodes))
	for _, n := range s.nodes {
		info := n.info()
		info.Sessions = counts[n]
		out = append(out, info)
	}
	return out
}

// Addr returns the plain TCP address of a node ("" if unknown or never
// started). The address stays the same across KillNode/RestoreNode.
func (s *Server) Addr(node string) string {
	if n := s.nodeByName[node]; n != nil {
		return n.info().Addr
	}
	return ""
}

// TLSAddr returns the TLS address of a node ("" without a PKI).
func (s *Server) TLSAddr(node string) string {
	if n := s.nodeByName[node]; n != nil {
		return n.info().TLSAddr
	}
	return ""
}

// SessionInfo describes one open session.
type SessionInfo struct {
	ID         string `json:"id"`
	Node       string `json:"node"`
	Remote     string `json:"remote"`
	TLS        bool   `json:"tls"`
	InstanceID string `json:"instanceId,omitempty"`
	Login      string `json:"login,omitempty"`
	Open       bool   `json:"open"`
	Devices    int    `json:"devices"`
	Lines      int    `json:"lines"`
	Queued     int    `json:"queued"`
	ServerHBMs int64  `json:"serverHeartbeatMs"`
	ClientHBMs int64  `json:"clientHeartbeatMs"`
}

// Sessions lists the open sessions, sorted by id.
func (s *Server) Sessions() []SessionInfo {
	s.mu.Lock()
	out := make([]SessionInfo, 0, len(s.sessions))
	for sess := range s.sessions {
		out = append(out, sess.infoLocked())
	}
	s.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// GroundTruth returns the records kept in memory, in order (all sessions
// when session is empty). See Config.GroundTruthLimit for the bound.
func (s *Server) GroundTruth(session string) []Record { return s.gt.snapshot(session) }

// Now returns the call model's current time.
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.now
}

// Rate reports the current generated call rate.
func (s *Server) Rate() float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rate
}

// ActiveCalls reports how many calls the model has in progress.
func (s *Server) ActiveCalls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.model.ActiveCalls()
}

func (s *Server) nudge() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}
