package faultmatrix

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// PhoneBlockFirstDN is the first line of RigConfig.Phones' phones (they
// are numbered on from it).
const PhoneBlockFirstDN = 100000

// RigConfig configures a Rig. Zero values take the defaults noted.
type RigConfig struct {
	// DataDir holds the JetStream store (required).
	DataDir string
	// Cluster names the simulated CUCM cluster (default "lab").
	Cluster string
	// Rate is the simulator's call rate (calls/s) and Seed its seed.
	Rate float64
	Seed int64
	// Traffic sets the simulator's call timing (dial, ring, talk, route
	// select …; zero durations take the simulator's defaults). Its Rate
	// and Seed are ignored: the fields above set them.
	Traffic traffic.Config
	// Phones adds that many phones (a phone block) to the simulated
	// cluster, for high call rates.
	Phones int
	// SimCluster is the simulated cluster (nil: ctisim.DefaultCluster()), for
	// a test whose setup must not follow changes of the default. The rig
	// names it Cluster and gives it ephemeral ports and the heartbeat
	// bounds. EngineConfig registers the CTI ports CTIP0001–CTIP0004 and
	// routes the route points 5000 and 5001, so such a cluster has them.
	SimCluster *ctisim.ClusterConfig
	// Heartbeat is the server heartbeat interval the simulator imposes
	// (default 500 ms): a dead link is detected within twice that.
	Heartbeat time.Duration
	// GroundTruth receives the simulator's ground truth as JSON lines
	// (nil: memory only); GroundTruthLimit bounds the records kept in
	// memory (ctisim.Config.GroundTruthLimit).
	GroundTruth      io.Writer
	GroundTruthLimit int
	// NATSListen is the embedded server's client address (default
	// 127.0.0.1:0, a free port kept across restarts).
	NATSListen string
	// Publisher tunes the bridge's publisher (buffer bounds).
	Publisher jetstream.Config
	// Duplicates is the stream's dedupe window (default 10 minutes, as
	// provisioned by the bridge). The embedded server keeps every id of
	// the window in memory, in this process.
	Duplicates time.Duration
	// NATSCluster, if 3 (or 2..9), runs NATS as an embedded cluster of that
	// many nodes (jetstream.EmbeddedCluster: one process, loopback routes,
	// a store per node) with the stream and buckets provisioned R3 (or
	// R<n>); the bridge connects to it over TCP with every node's URL.
	// 0 runs one embedded server.
	NATSCluster int
	// NATSLater leaves NATS down: StartRig starts only the simulator, on a
	// NATS address fixed in advance, and StartNATS starts the server later
	// (a bridge started before its NATS server). The stream is then
	// provisioned by the bridge.
	NATSLater bool
	// StateView provisions the state view's KV bucket (cti-state, with
	// the stream's replicas) and runs the view in every bridge, as
	// `bridge run` and the demo do by default (nats.stateView).
	StateView bool
	// Logger receives every component's logs (default: none).
	Logger zerolog.Logger
	// ManualTime runs the simulator's call model on Sim.Advance only
	// (ctisim.Config.ManualTime), for scripted calls compared event by
	// event; RouteSelectTimeout overrides the model's route-select timeout
	// (0: its default).
	ManualTime         bool
	RouteSelectTimeout time.Duration
	// TLSInstances, if set, serves the simulator's TLS ports with a
	// development PKI (in DataDir/pki) holding a client certificate for
	// each of these instanceIds; the simulator then enforces one provider
	// per certificate (see MemberConfig.InstanceID).
	TLSInstances []string
	// LeaderTTL is the TTL of the lease bucket the rig and its bridges
	// provision (default jetstream.DefaultLeaderTTL).
	LeaderTTL time.Duration
}

// Rig runs the simulator, an embedded NATS server with JetStream and the
// bridge in one process, the way the fault-matrix tests and the soak need
// them: faults are injected through Sim and NATS, the bridge is stopped
// and started by the caller, and Check compares the stream with the ground
// truth.
type Rig struct {
	cfg     RigConfig
	cluster ctisim.ClusterConfig
	Sim     *ctisim.Server
	// NATS is the embedded server, or NATSCluster its nodes (the other
	// is nil).
	NATS        *jetstream.Embedded
	NATSCluster *jetstream.EmbeddedCluster
	// Conn is the rig's own in-process connection (provisioning, reading).
	Conn *nats.Conn

	bridge *runningBridge
	runs   int
	// members are the running members of a high-availability group
	// (harig.go).
	members map[string]*runningBridge
}

type runningBridge struct {
	b      *bridge.Bridge
	nc     *nats.Conn
	cancel context.CancelCauseFunc
	done   chan error
}

// StartRig starts NATS (and provisions the stream) and the simulator. The
// bridge is started with StartBridge.
func StartRig(cfg RigConfig) (*Rig, error) {
	if cfg.DataDir == "" {
		return nil, errors.New("faultmatrix: RigConfig.DataDir is required")
	}
	if cfg.Cluster == "" {
		cfg.Cluster = "lab"
	}
	if cfg.Heartbeat == 0 {
		cfg.Heartbeat = 500 * time.Millisecond
	}
	if cfg.NATSListen == "" {
		cfg.NATSListen = "127.0.0.1:0"
	}
	if cfg.NATSLater && cfg.NATSCluster == 0 {
		listen, err := fixedListen(cfg.NATSListen)
		if err != nil {
			return nil, err
		}
		cfg.NATSListen = listen
	}
	r := &Rig{cfg: cfg}
	natsLog := cfg.Logger.Level(zerolog.WarnLevel)
	var err error
	if cfg.NATSCluster > 0 {
		r.NATSCluster, err = jetstream.NewEmbeddedCluster(jetstream.EmbeddedClusterConfig{
			DataDir: filepath.Join(cfg.DataDir, "js"), Nodes: cfg.NATSCluster, Logger: natsLog})
	} else {
		r.NATS, err = jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: filepath.Join(cfg.DataDir, "js"), Listen: cfg.NATSListen,
			Logger: natsLog})
	}
	if err != nil {
		return nil, err
	}
	if !cfg.NATSLater {
		if err := r.StartNATS(); err != nil {
			r.Close()
			return nil, err
		}
		js, err := natsjs.New(r.Conn)
		if err != nil {
			r.Close()
			return nil, fmt.Errorf("faultmatrix: %w", err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		if _, err := jetstream.ProvisionUntilDone(ctx, js, r.ProvisionConfig(), 10*time.Second); err != nil {
			r.Close()
			return nil, err
		}
	}
	base := ctisim.DefaultCluster()
	if cfg.SimCluster != nil {
		base = *cfg.SimCluster
	}
	cluster := base.WithEphemeralPorts().WithHeartbeat(ctisim.HeartbeatConfig{
		Min: 100 * time.Millisecond, Max: cfg.Heartbeat, Default: cfg.Heartbeat})
	cluster.Name = cfg.Cluster
	if cfg.Phones > 0 {
		cluster.PhoneBlocks = append(cluster.PhoneBlocks, ctisim.PhoneBlock{Prefix: "SEPB", Count: cfg.Phones, FirstDN: PhoneBlockFirstDN})
	}
	var pki *ctisim.PKI
	if len(cfg.TLSInstances) > 0 {
		if pki, err = ctisim.WriteDevPKI(filepath.Join(cfg.DataDir, "pki"), nil, cfg.TLSInstances); err != nil {
			r.Close()
			return nil, err
		}
	}
	tc := cfg.Traffic
	tc.Rate, tc.Seed = cfg.Rate, cfg.Seed
	if cfg.RouteSelectTimeout > 0 {
		tc.RouteSelectTimeout = cfg.RouteSelectTimeout
	}
	sim, err := ctisim.New(ctisim.Config{
		PKI:              pki,
		Cluster:          cluster,
		Traffic:          tc,
		ManualTime:       cfg.ManualTime,
		GroundTruth:      cfg.GroundTruth,
		GroundTruthLimit: cfg.GroundTruthLimit,
		Logger:           cfg.Logger.Level(zerolog.WarnLevel),
	})
	if err != nil {
		r.Close()
		return nil, err
	}
	if err := sim.Start(); err != nil {
		r.Close()
		return nil, err
	}
	r.Sim, r.cluster = sim, cluster
	return r, nil
}

// Cluster is the simulated cluster's configuration (devices, users,
// CallManagers), e.g. to script another CTI server with the same cluster.
func (r *Rig) Cluster() ctisim.ClusterConfig { return r.cluster }

// StartNATS starts the NATS server (after NATSLater) and opens the rig's
// own connection; it provisions nothing.
func (r *Rig) StartNATS() error {
	var err error
	if r.NATSCluster != nil {
		err = r.NATSCluster.Start()
	} else {
		err = r.NATS.Start()
	}
	if err != nil {
		return err
	}
	if r.Conn == nil {
		nc, err := r.connect("faultmatrix")
		if err != nil {
			return err
		}
		r.Conn = nc
		if !testwait.Poll(30*time.Second, nc.IsConnected) {
			return errors.New("faultmatrix: the rig's connection did not come up")
		}
	}
	return nil
}

// connect opens a connection to NATS: in-process to the embedded
// server, or over TCP to every node of the cluster (moving to another
// node when its own stops).
func (r *Rig) connect(name string) (*nats.Conn, error) {
	if r.NATSCluster != nil {
		return r.NATSCluster.Connect(name)
	}
	return r.NATS.Connect(name)
}

// ProvisionConfig is how the rig, and every bridge it starts, provision
// the stream and buckets: R1 on one server, one replica per node (R3) on
// a cluster.
func (r *Rig) ProvisionConfig() jetstream.ProvisionConfig {
	return jetstream.ProvisionConfig{Duplicates: r.cfg.Duplicates, Replicas: r.replicas(), StateView: r.cfg.StateView, LeaderTTL: r.cfg.LeaderTTL, Leader: r.cfg.LeaderTTL != 0}
}

func (r *Rig) replicas() int {
	if r.NATSCluster != nil {
		return r.NATSCluster.Size()
	}
	return 1
}

// fixedListen turns a port-0 address into one with a port that was free
// a moment ago: a server started later must have an address its clients
// can be given now.
func fixedListen(listen string) (string, error) {
	host, port, err := net.SplitHostPort(listen)
	if err != nil {
		return "", fmt.Errorf("faultmatrix: NATSListen %q: %w", listen, err)
	}
	if port != "0" {
		return listen, nil
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return "", fmt.Errorf("faultmatrix: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// RoutePoints names the simulated cluster's route point devices (for
// Checker.RoutePoints).
func (r *Rig) RoutePoints() map[string]bool {
	out := map[string]bool{}
	for _, d := range r.cluster.Devices {
		if d.Type == ctilink.DeviceRoutePoint {
			out[d.Name] = true
		}
	}
	return out
}

// EngineConfig is the bridge's CTI configuration against the rig's
// simulator: the three CTIManagers (the third least priority), every CTI
// port of the cluster, its route points, and short timers.
func (r *Rig) EngineConfig() ctiengine.Config {
	var managers []ctiengine.CTIManager
	for _, n := range r.Sim.Nodes() {
		managers = append(managers, ctiengine.CTIManager{Name: n.Name, Addr: n.Addr, TLSAddr: n.TLSAddr, LeastPriority: n.LeastPriority})
	}
	ports := map[string]ctiengine.CTIPortConfig{}
	for _, d := range r.cluster.Devices {
		if d.Type == ctilink.DeviceCTIPort {
			ports[d.Name] = ctiengine.CTIPortConfig{Media: ctilink.MediaParams{
				IP: "127.0.0.1", Port: 40000 + 2*(len(ports)+1), Codecs: []string{"G711U"}, PacketMs: 20}}
		}
	}
	return ctiengine.Config{
		CTIManagers: managers, Login: "ctibridge", Password: "secret", AppInfo: "faultmatrix",
		DesiredServerHeartbeatInterval: r.cfg.Heartbeat,
		ProviderRetryInterval:          500 * time.Millisecond,
		ProviderOpenRequestTimeout:     5 * time.Second,
		CtiRequestTimeout:              5 * time.Second,
		CloseTimeout:                   3 * time.Second,
		ProviderOpenRetryAttempts:      -1,
		AllowShortTimers:               true,
		CTIPorts:                       ports,
		RoutePoints: map[string]ctiengine.RoutePointConfig{
			"5000": {Destinations: []string{"1001", "1002", "1003"}, Policy: ctiengine.RouteRoundRobin},
			"5001": {Destinations: []string{"1004", "1005"}, Policy: ctiengine.RouteRoundRobin},
		},
	}
}

// StartBridge starts an in-process bridge with a new instance id (a
// bridge must not already run). tune, if set, adjusts its configuration.
func (r *Rig) StartBridge(tune func(*bridge.Config)) (*bridge.Bridge, error) {
	if r.bridge != nil {
		return nil, errors.New("faultmatrix: a bridge is already running")
	}
	r.runs++
	rb, err := r.runBridge(fmt.Sprintf("bridge-%d", r.runs), fmt.Sprintf("fm%d-%d", time.Now().UnixNano()%1_000_000_000, r.runs), tune)
	if err != nil {
		return nil, err
	}
	r.bridge = rb
	return rb.b, nil
}

// runBridge connects to the rig's NATS as connName and runs a bridge
// named instance on the rig's defaults, adjusted by tune.
func (r *Rig) runBridge(connName, instance string, tune func(*bridge.Config)) (*runningBridge, error) {
	nc, err := r.connect(connName)
	if err != nil {
		return nil, err
	}
	pc := r.ProvisionConfig()
	cfg := bridge.Config{
		Instance:  instance,
		Engine:    r.EngineConfig(),
		Encoder:   schema.EncoderConfig{Cluster: r.cfg.Cluster},
		Conn:      nc,
		Publisher: r.cfg.Publisher,
		// The bridge provisions (idempotently) as `bridge run` does.
		Provision:      &pc,
		HeartbeatEvery: -1,
		DrainTimeout:   10 * time.Second,
		Logger:         r.cfg.Logger,
	}
	if r.cfg.StateView {
		cfg.StateView = &stateview.Config{}
	}
	if tune != nil {
		tune(&cfg)
	}
	b, err := bridge.New(cfg)
	if err != nil {
		nc.Close()
		return nil, err
	}
	ctx, cancel := context.WithCancelCause(context.Background())
	rb := &runningBridge{b: b, nc: nc, cancel: cancel, done: make(chan error, 1)}
	go func() { rb.done <- b.Run(ctx) }()
	return rb, nil
}

// Bridge returns the running bridge (nil when none runs).
func (r *Rig) Bridge() *bridge.Bridge {
	if r.bridge == nil {
		return nil
	}
	return r.bridge.b
}

// StopBridge stops the running bridge in order (as on SIGTERM: provider
// closed, everything flushed) and returns what Run returned.
func (r *Rig) StopBridge() error {
	rb := r.bridge
	if rb == nil {
		return nil
	}
	r.bridge = nil
	rb.cancel(nil)
	var err error
	select {
	case err = <-rb.done:
	case <-time.After(30 * time.Second):
		err = errors.New("faultmatrix: bridge did not stop within 30s")
	}
	rb.nc.Close()
	return err
}

// WaitInService waits (bounded by d) until the running bridge's provider
// is in service on a CTIManager accepted by on (nil: any) with its
// snapshots in.
func (r *Rig) WaitInService(d time.Duration, on func(ctimanager string) bool) error {
	deadline := time.Now().Add(d)
	for {
		if b := r.Bridge(); b != nil {
			st := b.Engine().Status()
			if st.Ready && st.Link == ctiengine.LinkUp.String() && (on == nil || on(st.CTIManager)) {
				return nil
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("faultmatrix: provider not in service within %v (provider %s, link %s, ctimanager %s)",
					d, st.Provider, st.Link, st.CTIManager)
			}
		} else if time.Now().After(deadline) {
			return errors.New("faultmatrix: no bridge running")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// CheckStream reads the whole stream into c.
func (r *Rig) CheckStream(ctx context.Context, c *Checker) error {
	js, err := natsjs.New(r.Conn)
	if err != nil {
		return fmt.Errorf("faultmatrix: %w", err)
	}
	return ReadStream(ctx, js, jetstream.DefaultStream, c)
}

// ReadStream decodes every message of stream into c, in stream order.
func ReadStream(ctx context.Context, js natsjs.JetStream, stream string, c *Checker) error {
	return jetstream.ReadAll(ctx, js, stream, "", func(m natsjs.Msg) error {
		meta, err := m.Metadata()
		if err != nil {
			return err
		}
		env, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			c.undecoded = append(c.undecoded, fmt.Sprintf("stream seq %d (%s): %v", meta.Sequence.Stream, m.Subject(), err))
			return nil
		}
		c.AddEvent(meta.Sequence.Stream, env.ID, &ev)
		return nil
	})
}

// Close stops everything (the bridge abruptly if one still runs).
func (r *Rig) Close() {
	if r.bridge != nil {
		_ = r.StopBridge()
	}
	for name := range r.members {
		_ = r.StopMember(name)
	}
	if r.Sim != nil {
		_ = r.Sim.Close()
	}
	if r.Conn != nil {
		r.Conn.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if r.NATS != nil {
		_ = r.NATS.Shutdown(ctx)
	}
	if r.NATSCluster != nil {
		_ = r.NATSCluster.Shutdown(ctx)
	}
}

// DaemonOptions adjusts the configuration DaemonConfig writes.
type DaemonOptions struct {
	// Instance is the bridge's instance name (default "daemon").
	Instance string
	// HTTPListen is the ops endpoints' address ("": none).
	HTTPListen string
	// DuplicateWindow is the stream's dedupe window the daemon
	// provisions (default: the rig's, so the daemon reports no drift).
	DuplicateWindow time.Duration
	// LogLevel is the daemon's log level (default warn); logs are JSON.
	LogLevel string
	// Pprof serves the Go profiler on the ops address (http.pprof).
	Pprof bool
	// HA, if set, makes the daemon a member of a high-availability group
	// (its lease TTL is the rig's LeaderTTL).
	HA *DaemonHA
	// NATSURL overrides the NATS URL (a proxy in front of the rig's server).
	NATSURL string
}

// DaemonHA is the ha section of a daemon's configuration.
type DaemonHA struct {
	// Mode is cold or hot.
	Mode string
	// InstanceID is the TLS client certificate (RigConfig.TLSInstances)
	// the daemon's provider opens with; "" plain TCP.
	InstanceID string
}

// DaemonConfig is the YAML configuration of a `bridge run` process
// against the rig: the simulator's CTIManagers, the CTI ports and route
// points of EngineConfig, the rig's heartbeat (whole seconds, as
// jtapi.ini has it) and its NATS server. Everything else takes the
// daemon's defaults, so a process run exercises what operators run.
func (r *Rig) DaemonConfig(o DaemonOptions) []byte {
	if o.Instance == "" {
		o.Instance = "daemon"
	}
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	if o.DuplicateWindow == 0 {
		o.DuplicateWindow = r.cfg.Duplicates
	}
	hb := int((r.cfg.Heartbeat + time.Second - 1) / time.Second)
	var b strings.Builder
	fmt.Fprintf(&b, "cluster: %s\ninstance: %s\ncti:\n  ctiManagers:\n", r.cfg.Cluster, o.Instance)
	for _, n := range r.Sim.Nodes() {
		fmt.Fprintf(&b, "    - {name: %s, address: %q, tlsAddress: %q, leastPriority: %v}\n", n.Name, n.Addr, n.TLSAddr, n.LeastPriority)
	}
	fmt.Fprintf(&b, "  login: ctibridge\n  password: secret\n  DesiredServerHeartbeatInterval: %d\n", hb)
	if o.HA != nil && o.HA.InstanceID != "" {
		var ec ctiengine.Config
		r.withTLS(&ec, o.HA.InstanceID, o.Instance)
		fmt.Fprintf(&b, "  instanceId: %s\n  tls: {enabled: true, clientCert: %q, clientKey: %q, trustStore: %q}\n",
			ec.InstanceID, ec.TLS.ClientCert, ec.TLS.ClientKey, ec.TLS.TrustStore)
	}
	b.WriteString("  ctiPorts:\n")
	ec := r.EngineConfig()
	for _, name := range slices.Sorted(maps.Keys(ec.CTIPorts)) {
		m := ec.CTIPorts[name].Media
		fmt.Fprintf(&b, "    %s: {ip: %s, port: %d, codecs: [%s], packetMs: %d}\n", name, m.IP, m.Port, strings.Join(m.Codecs, ", "), m.PacketMs)
	}
	b.WriteString("  routePoints:\n")
	for _, dn := range slices.Sorted(maps.Keys(ec.RoutePoints)) {
		fmt.Fprintf(&b, "    %q: [%s]\n", dn, quoteAll(ec.RoutePoints[dn].Destinations))
	}
	url := r.NATSURL()
	if o.NATSURL != "" {
		url = o.NATSURL
	}
	fmt.Fprintf(&b, "nats:\n  embedded: false\n  urls: [%s]\n  replicas: %d\n", quoteAll(strings.Split(url, ",")), r.replicas())
	if o.DuplicateWindow > 0 {
		fmt.Fprintf(&b, "  duplicateWindow: %s\n", o.DuplicateWindow)
	}
	fmt.Fprintf(&b, "http:\n  listen: %q\n  pprof: %v\nlog:\n  level: %s\n  format: json\n", o.HTTPListen, o.Pprof, o.LogLevel)
	if o.HA != nil {
		ttl := r.cfg.LeaderTTL
		if ttl == 0 {
			ttl = jetstream.DefaultLeaderTTL
		}
		fmt.Fprintf(&b, "ha:\n  enabled: true\n  mode: %s\n  leaseTTL: %s\n", o.HA.Mode, ttl)
	}
	return []byte(b.String())
}

func quoteAll(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}

// NATSURL is the embedded server's client URL (for a bridge process).
// With NATSLater it is known before the server starts; on a cluster it
// lists every node, comma-separated.
func (r *Rig) NATSURL() string {
	if r.NATSCluster != nil {
		return strings.Join(r.NATSCluster.ClientURLs(), ",")
	}
	return r.NATS.ClientURL()
}

// RemoveData deletes the rig's data directory (after Close).
func (r *Rig) RemoveData() error { return os.RemoveAll(r.cfg.DataDir) }
