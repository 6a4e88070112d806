package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

const (
	benchCluster  = "bench"
	benchLogin    = "ctibridge"
	benchPassword = "secret"
	// firstDN numbers the phone lines 100000, 100001, …
	firstDN = 100000
)

var runSeq atomic.Int64

// uniqueInstance names a bridge run; event ids derive from it, so two runs
// in one process never share ids.
func uniqueInstance(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, os.Getpid(), runSeq.Add(1))
}

// natsEnv is an embedded nats-server (JetStream, file storage in a
// temporary directory, in-process connections only, as the bridge's
// embedded mode uses it) with the provisioned stream and one client
// connection.
type natsEnv struct {
	emb    *jetstream.Embedded
	nc     *nats.Conn
	js     natsjs.JetStream
	stream natsjs.Stream
}

func startNATS(tb testing.TB) *natsEnv { return startNATSLayout(tb, layoutV2) }

// startNATSLayout is startNATS with the stream of layout l.
func startNATSLayout(tb testing.TB, l storeLayout) *natsEnv {
	tb.Helper()
	emb, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: tb.TempDir(), NoListen: true})
	if err != nil {
		tb.Fatal(err)
	}
	if err := emb.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_ = emb.Shutdown(ctx)
	})
	nc, err := emb.Connect("bench")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	n := provisionedEnv(tb, nc, l)
	n.emb = emb
	return n
}

// provisionedEnv provisions the stream of layout l through nc and returns
// the environment around it (no embedded server: the caller sets emb).
func provisionedEnv(tb testing.TB, nc *nats.Conn, l storeLayout) *natsEnv {
	tb.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := l.provision(ctx, js); err != nil {
		tb.Fatal(err)
	}
	stream, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		tb.Fatal(err)
	}
	return &natsEnv{nc: nc, js: js, stream: stream}
}

// lastSeq is the stream's last sequence number.
func (n *natsEnv) lastSeq(tb testing.TB) uint64 {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	info, err := n.stream.Info(ctx)
	if err != nil {
		tb.Fatal(err)
	}
	return info.State.LastSeq
}

// storedMsg is one message as the stream holds it.
type storedMsg struct {
	seq     uint64
	subject string
	header  nats.Header
	data    []byte
	// stored is the server's timestamp: when the message was stored, just
	// before the PubAck went out.
	stored time.Time
}

// read returns the stored messages with sequence from..to (to 0: up to
// the last one), in stream order, through an ordered consumer.
func (n *natsEnv) read(tb testing.TB, from, to uint64) []storedMsg {
	tb.Helper()
	last := n.lastSeq(tb)
	if to == 0 || to > last {
		to = last
	}
	if from > to {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cons, err := n.stream.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		DeliverPolicy: natsjs.DeliverByStartSequencePolicy, OptStartSeq: from})
	if err != nil {
		tb.Fatal(err)
	}
	it, err := cons.Messages()
	if err != nil {
		tb.Fatal(err)
	}
	defer it.Stop()
	stop := context.AfterFunc(ctx, it.Stop)
	defer stop()
	out := make([]storedMsg, 0, to-from+1)
	for {
		msg, err := it.Next()
		if err != nil {
			tb.Fatalf("reading the stream at %d of %d..%d: %v", len(out), from, to, err)
		}
		meta, err := msg.Metadata()
		if err != nil {
			tb.Fatal(err)
		}
		seq := meta.Sequence.Stream
		if seq > to {
			break
		}
		out = append(out, storedMsg{seq: seq, subject: msg.Subject(), header: msg.Headers(), data: msg.Data(), stored: meta.Timestamp})
		if seq == to {
			break
		}
	}
	return out
}

// phoneMix is the traffic mix of the benchmarks: every scenario the
// simulator plays between phones. Route point and CTI port calls need
// registrations the benchmarks do not configure.
var phoneMix = map[traffic.Scenario]int{
	traffic.Basic: 4, traffic.NoAnswer: 1, traffic.Busy: 1, traffic.Hold: 1,
	traffic.BlindTransfer: 1, traffic.ConsultTransfer: 1, traffic.Conference: 1, traffic.Transform: 1,
}

// shortCalls are call timings of about two seconds a call (instead of
// the demo's ten), so a few thousand phones carry a high rate and the
// model reaches its steady state within seconds.
func shortCalls(rate float64, seed int64) traffic.Config {
	return traffic.Config{
		Rate: rate, Seed: seed, Mix: phoneMix,
		DialTime: 100 * time.Millisecond,
		RingTime: 200 * time.Millisecond, RingTimeMax: 800 * time.Millisecond,
		TalkTime: 500 * time.Millisecond, TalkTimeMax: 2 * time.Second,
		HoldTime: 200 * time.Millisecond, HoldTimeMax: 500 * time.Millisecond,
		NoAnswerTime: time.Second, BusyTime: 300 * time.Millisecond,
	}
}

// simSpec describes a simulated cluster: phones (one line each) on two
// CallManagers, two CTIManagers, the application user controlling
// everything, one calling-party transformation pattern.
type simSpec struct {
	phones    int
	heartbeat time.Duration // server heartbeat forced on every node (0: node default)
	manual    bool          // ManualTime: the model moves only with Advance
	traffic   traffic.Config
}

func startSim(tb testing.TB, spec simSpec) *ctisim.Server {
	tb.Helper()
	srv, err := newSim(spec, "")
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { _ = srv.Close() })
	return srv
}

// newSim builds and starts the simulator of spec; controlAddr, if set,
// serves its HTTP control API.
func newSim(spec simSpec, controlAddr string) (*ctisim.Server, error) {
	cl := ctisim.ClusterConfig{
		Name:         benchCluster,
		CallManagers: []string{"cm1", "cm2"},
		CTIManagers:  []ctisim.NodeConfig{{Name: "ctim-a"}, {Name: "ctim-b"}},
		PhoneBlocks:  []ctisim.PhoneBlock{{Prefix: "SEP", Count: spec.phones, FirstDN: firstDN}},
		Users:        []ctisim.UserConfig{{Login: benchLogin, Password: benchPassword, ControlAll: true}},
		Patterns:     []ctisim.PatternConfig{{Prefix: "9", CallingMask: "80055XXXX"}},
	}
	if spec.heartbeat > 0 {
		cl = cl.WithHeartbeat(ctisim.HeartbeatConfig{Min: spec.heartbeat, Max: spec.heartbeat, Default: spec.heartbeat})
	}
	srv, err := ctisim.New(ctisim.Config{
		Cluster: cl, Traffic: spec.traffic, ManualTime: spec.manual,
		GroundTruthLimit: -1, SessionQueue: 1 << 21, ControlAddr: controlAddr,
	})
	if err != nil {
		return nil, err
	}
	if err := srv.Start(); err != nil {
		return nil, err
	}
	return srv, nil
}

// simQueued is the number of frames the simulator has queued and not yet
// written to its sessions' sockets.
func simQueued(srv *ctisim.Server) int {
	n := 0
	for _, s := range srv.Sessions() {
		n += s.Queued
	}
	return n
}

// engineConfig is the engine configuration every benchmark starts from:
// the simulator's CTIManagers in order, jtapi.ini defaults otherwise.
func engineConfig(srv *ctisim.Server) ctiengine.Config { return engineConfigFor(srv.Nodes()) }

func engineConfigFor(nodes []ctisim.NodeInfo) ctiengine.Config {
	var managers []ctiengine.CTIManager
	for _, n := range nodes {
		managers = append(managers, ctiengine.CTIManager{Name: n.Name, Addr: n.Addr, LeastPriority: n.LeastPriority})
	}
	return ctiengine.Config{CTIManagers: managers, Login: benchLogin, Password: benchPassword, AppInfo: "ctibench"}
}

// bridgeEnv is a running bridge (internal/bridge: engine → encoder →
// publisher), exactly as `bridge run` wires it, minus the HTTP endpoint.
type bridgeEnv struct {
	br *bridge.Bridge
}

func startBridge(tb testing.TB, srv *ctisim.Server, n *natsEnv, pub jetstream.Config) *bridgeEnv {
	tb.Helper()
	br, err := bridge.New(bridge.Config{
		Instance:       uniqueInstance("bench"),
		Engine:         engineConfig(srv),
		Encoder:        schema.EncoderConfig{Cluster: benchCluster},
		Conn:           n.nc,
		Publisher:      pub,
		HeartbeatEvery: -1,
		DrainTimeout:   time.Minute,
		Logger:         zerolog.Nop(),
	})
	if err != nil {
		tb.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- br.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("bridge: %v", err)
		}
	})
	return &bridgeEnv{br: br}
}

// settle waits until the provider is in service with every phone and
// line in service and every event so far acknowledged by JetStream.
func (e *bridgeEnv) settle(tb testing.TB, phones int) {
	tb.Helper()
	waitFor(tb, 2*time.Minute, "provider in service with every device", 10*time.Millisecond, func() bool {
		s := e.br.Engine().Status()
		return s.Ready && s.DevicesInService >= phones && s.LinesInService >= phones
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := e.br.Publisher().Flush(ctx); err != nil {
		tb.Fatal(err)
	}
}

// waitFor polls cond every step until it holds, failing after d. The
// benchmarks run over real sockets and a real server: there is no event
// to wait on.
func waitFor(tb testing.TB, d time.Duration, what string, _ time.Duration, cond func() bool) {
	tb.Helper()
	testwait.Eventually(tb, d, what, cond)
}

// window is a measured stretch of a run: how many events, from when to
// when, and the process CPU time (user + system, every goroutine: the
// simulator, the bridge and the NATS server all run in this process)
// spent meanwhile.
type window struct {
	events      int
	first, last time.Time
	cpu         time.Duration
}

// cpuPerEvent is the process CPU time per event, in microseconds. On a
// shared machine it is steadier than wall time: other processes slow a
// run down but hardly change what it costs.
func (w window) cpuPerEvent() float64 {
	if w.events == 0 {
		return 0
	}
	return micros(w.cpu) / float64(w.events)
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func (w window) duration() time.Duration { return w.last.Sub(w.first) }

func (w window) rate() float64 {
	if d := w.duration(); d > 0 {
		return float64(w.events) / d.Seconds()
	}
	return 0
}

// decoded is a stored message with the event it carries.
type decoded struct {
	storedMsg
	ev schema.Event
}

func decodeAll(tb testing.TB, msgs []storedMsg) []decoded {
	tb.Helper()
	out := make([]decoded, len(msgs))
	for i, m := range msgs {
		_, ev, err := schema.Decode(m.header, m.data)
		if err != nil {
			tb.Fatalf("message %d (%s) does not decode: %v", m.seq, m.subject, err)
		}
		out[i] = decoded{storedMsg: m, ev: ev}
	}
	return out
}

// quantile returns the q-quantile of sorted (nearest rank).
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func micros(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 }
func millis(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e6 }

// sortedCopy returns ds sorted.
func sortedCopy(ds []time.Duration) []time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s
}

var errNoEvents = errors.New("no events in the measured window")
