package bridge

import (
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// Version is the bridge's version string, reported in BridgeStarted.
var Version = "dev"

// Config wires a bridge from its parts' configurations.
type Config struct {
	// Instance identifies this run (unique per run: event ids derive from it).
	Instance string
	// Engine configures the CTI side; its Sink, Measure, Logger and
	// BridgeInstance are set by New.
	Engine ctiengine.Config
	// Encoder configures the CloudEvents encoding.
	Encoder schema.EncoderConfig
	// Conn is the NATS connection the publisher uses.
	Conn *nats.Conn
	// Publisher configures buffering and publishing; Conn, Encoder,
	// Instance and Logger are set by New.
	Publisher jetstream.Config
	// HTTPListen is the ops endpoint address ("" disables it).
	HTTPListen string
	// Profiling serves the Go profiler under /debug/pprof/ on the ops
	// endpoint (OpsServer.EnableProfiling).
	Profiling bool
	// HeartbeatEvery is the period of BridgeHeartbeat records (default 30 s;
	// negative disables them).
	HeartbeatEvery time.Duration
	// DrainTimeout bounds the final flush to JetStream (default 10 s).
	DrainTimeout time.Duration
	// FatalLinger keeps the ops endpoints serving after the provider shut
	// down by itself (certificate compromised, retries exhausted, login
	// refused), so that probes and a Prometheus scrape can see why before
	// Run returns the error (see linger.go). 0 returns at once.
	FatalLinger time.Duration
	// Logger receives the logs of the bridge and its parts, each line with
	// the cluster (added here: do not add it to Logger).
	Logger zerolog.Logger
	// StatusExtra, if set, adds fields to /status (e.g. the demo's ports).
	StatusExtra func() map[string]any
	// Stream is the JetStream stream holding the events (default "CTI"):
	// at start the bridge reads the cluster's last events there and
	// records a restart gap if the previous run was killed.
	Stream string
	// Snapshots configures the folded-state snapshots replay starts from
	// (Conn and Cluster are filled in); nil disables them.
	Snapshots *replaystore.SnapshotterConfig
	// StateView configures the per-line and per-device state view in the
	// KV bucket provisioned with jetstream.ProvisionConfig.StateView (Conn
	// and Logger are filled in); nil disables it.
	StateView *stateview.Config
	// HA, if set, runs this bridge as one instance of a high-availability
	// group: it publishes only while it holds the lease (see ha.go and
	// docs/ha.md). Nil: a single bridge, always active.
	HA *HAConfig
	// Provision, if set, makes the bridge provision the stream and buckets
	// itself, in the background, as soon as NATS answers (eventlog.go):
	// it starts and serves /healthz before NATS is up, /readyz says why it
	// is not ready, and events wait in the publisher's buffer. Nil: the
	// caller provisioned the stream before New.
	Provision *jetstream.ProvisionConfig
	// ConnError, if set, says why the NATS connection is down
	// (jetstream.ConnTracker.LastError), for /readyz.
	ConnError func() error
	// StartWait bounds how long Run waits, while NATS is connected but the
	// stream not ready yet, before opening the provider (default 10 s).
	// With NATS unreachable the provider opens at once.
	StartWait time.Duration
}

// Bridge is one running bridge: engine → encoder → publisher, plus the
// ops endpoints.
type Bridge struct {
	cfg Config
	log zerolog.Logger
	// engine is the running engine: one for the bridge's life, except for
	// a cold standby, which builds one per tenure (nil between tenures).
	engine  atomic.Pointer[ctiengine.Engine]
	ecfg    ctiengine.Config
	enc     *schema.Encoder
	pub     *jetstream.Publisher
	metrics *Metrics
	ops     *OpsServer
	// elog provisions and watches the event stream (nil: Provision unset).
	elog      *eventLog
	snapshots *snapshotRunner

	// ha is the high-availability state (nil for a single bridge).
	ha *haState

	mu        sync.Mutex // guards the following fields
	bridgeSeq uint64
	view      *stateview.View // nil when off or stopped
}

// Validate reports every problem of the settings at once: the bridge's
// own and those of the engine, encoder, publisher and snapshot settings as
// New builds them (with the fields New fills in). Each problem keeps its
// package's prefix and field names. The wiring (Conn, Logger) is New's to
// check, so a configuration translated from a file can be validated before
// anything is connected: `bridge run --check` and `bridge run` validate
// the same values with the same rules.
func (c Config) Validate() error {
	errs := []error{
		c.engineConfig().Validate(),
		c.Encoder.Validate(),
	}
	if c.Instance == "" {
		errs = append(errs, errors.New("bridge: Instance is empty: name this run (event ids derive from it)"))
	}
	pcfg := c.publisherConfig()
	errs = append(errs, pcfg.Validate())
	if c.Snapshots != nil {
		scfg := c.snapshotterConfig()
		errs = append(errs, scfg.Validate())
	}
	if c.Provision != nil {
		pc := c.provisionConfig()
		errs = append(errs, pc.Validate())
	}
	if c.StateView != nil {
		errs = append(errs, c.StateView.Validate())
		if c.Provision != nil && !c.Provision.StateView {
			errs = append(errs, errors.New("bridge: StateView is set but Provision.StateView is not: the state view's bucket would never be created; set both, or neither"))
		}
	}
	if c.HA != nil {
		errs = append(errs, c.HA.Validate())
	}
	if c.HTTPListen != "" {
		if _, _, err := net.SplitHostPort(c.HTTPListen); err != nil {
			errs = append(errs, fmt.Errorf("bridge: HTTPListen %q is not host:port: e.g. 127.0.0.1:8080 (empty disables the ops endpoints)", c.HTTPListen))
		}
	} else if c.Profiling {
		errs = append(errs, errors.New("bridge: Profiling is set but HTTPListen is empty: the profiler is served on the ops endpoint; set HTTPListen"))
	}
	return errors.Join(errs...)
}

// engineConfig is the engine's configuration as New builds it, before the
// wiring (sink, measurements, logger) is added.
func (c Config) engineConfig() ctiengine.Config {
	e := c.Engine
	e.BridgeInstance = c.Instance
	return e
}

// publisherConfig is the publisher's configuration as New builds it,
// before the wiring (connection, encoder, logger, ack hook) is added.
func (c Config) publisherConfig() jetstream.Config {
	p := c.Publisher
	p.Instance = c.Instance
	p.GapSession = c.Instance + "-pub"
	// A message stuck "in process" on a replicated stream's leader is
	// freed by a step-down of that stream's leader.
	p.Stream = c.streamName()
	if c.Provision != nil && c.Provision.Replicas > 1 {
		// A replicated stream: see jetstream.Config.SerialPerEntity.
		p.SerialPerEntity = true
	}
	return p
}

// provisionConfig is the stream provisioning as the event log runs it.
func (c Config) provisionConfig() jetstream.ProvisionConfig {
	pc := *c.Provision
	if pc.Stream == "" {
		pc.Stream = c.Stream
	}
	if c.HA != nil {
		// A member campaigns only once the lease bucket exists.
		pc.Leader = true
		if c.HA.Bucket != "" {
			pc.LeaderBucket = c.HA.Bucket
		}
	}
	return pc
}

// snapshotterConfig is the snapshotter's configuration as Run starts it,
// before the connection and logger are added.
func (c Config) snapshotterConfig() replaystore.SnapshotterConfig {
	s := *c.Snapshots
	s.Cluster = c.Encoder.Cluster
	if s.Stream == "" {
		s.Stream = c.Stream
	}
	return s
}

// New builds the bridge; it starts nothing.
func New(cfg Config) (*Bridge, error) {
	err := cfg.Validate()
	if cfg.Conn == nil {
		err = errors.Join(errors.New("bridge: Conn is required"), err)
	}
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if cfg.HeartbeatEvery == 0 {
		cfg.HeartbeatEvery = 30 * time.Second
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	if cfg.StartWait == 0 {
		cfg.StartWait = DefaultStartWait
	}
	// Every line of the bridge's parts names the cluster once: the
	// snapshotter adds it itself, so it gets the logger as given.
	log := cfg.Logger.With().Str("cluster", cfg.Encoder.Cluster).Logger()
	b := &Bridge{cfg: cfg, log: log.With().Str("component", "bridge").Logger()}
	b.snapshots = &snapshotRunner{b: b}
	enc, err := schema.NewEncoder(cfg.Encoder)
	if err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	b.enc = enc
	pcfg := cfg.publisherConfig()
	pcfg.Conn = cfg.Conn
	pcfg.Encoder = enc
	pcfg.Logger = log.With().Str("component", "publisher").Logger()
	b.metrics = NewMetrics(b.publisherStats, b.engineStatus)
	pcfg.AckLatency = func(d time.Duration) {
		b.metrics.EventsPublished.Inc()
		b.metrics.PublishLatency.Observe(d.Seconds())
	}
	pcfg.EventLatency = func(d time.Duration) { b.metrics.EventLatency.Observe(d.Seconds()) }
	if cfg.HA != nil {
		b.metrics.EnableHA()
		pcfg.Permit = b.IsActive
		pcfg.OnFenced = func(f jetstream.Fence, _ error) {
			if el := b.ha.el.Load(); el != nil {
				el.Fenced(f.Epoch)
			}
		}
	}
	if b.pub, err = jetstream.New(pcfg); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if cfg.Provision != nil {
		if b.elog, err = newEventLog(b, cfg.provisionConfig()); err != nil {
			return nil, fmt.Errorf("bridge: %w", err)
		}
	}
	ecfg := cfg.engineConfig()
	ecfg.Sink = sinkFunc(b.emit)
	ecfg.Measure = b.metrics.ObserveMeasurement
	ecfg.Logger = log
	b.ecfg = ecfg
	if cfg.HA != nil {
		if b.ha, err = newHAState(b, *cfg.HA); err != nil {
			return nil, fmt.Errorf("bridge: %w", err)
		}
	}
	if cfg.HA == nil || cfg.HA.Mode == ha.ModeHot {
		if cfg.HA != nil {
			ecfg.Passive = true // a hot standby observes; it acts once active
		}
		eng, err := ctiengine.New(ecfg)
		if err != nil {
			return nil, fmt.Errorf("bridge: %w", err)
		}
		b.engine.Store(eng)
	} else if err := ecfg.Validate(); err != nil {
		return nil, fmt.Errorf("bridge: %w", err)
	}
	if cfg.HTTPListen != "" {
		if b.ops, err = NewOpsServer(cfg.HTTPListen, b.metrics, b.Readiness, b.Status, b.log); err != nil {
			return nil, fmt.Errorf("bridge: ops endpoint %s: %w", cfg.HTTPListen, err)
		}
		if cfg.Profiling {
			b.ops.EnableProfiling()
		}
		if cfg.HA != nil {
			b.ops.EnableStepDown(func() bool {
				if !b.IsActive() {
					return false
				}
				b.StepDown()
				return true
			})
		}
	}
	return b, nil
}

// engineStatus is the engine's status (a zero one while a cold standby
// has no engine).
func (b *Bridge) engineStatus() ctiengine.Status {
	if eng := b.Engine(); eng != nil {
		return eng.Status()
	}
	return ctiengine.Status{}
}

// startEventLog runs the event log's provisioner (Config.Provision) until
// the returned stop is called; without one it does nothing.
func (b *Bridge) startEventLog() (stop func()) {
	if b.elog == nil {
		return func() {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = b.elog.prov.Run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// startServices runs the publisher and the ops endpoints. stopPublisher
// stops the publisher's Run (call Flush before it for a graceful stop)
// and closes it; stopOps shuts the endpoints down. Both are idempotent.
func (b *Bridge) startServices() (stopPublisher, stopOps func()) {
	pubCtx, cancelPub := context.WithCancel(context.Background())
	pubDone := make(chan error, 1)
	go func() { pubDone <- b.pub.Run(pubCtx) }()
	var pubOnce sync.Once
	stopPublisher = func() {
		pubOnce.Do(func() {
			cancelPub()
			if err := <-pubDone; err != nil && !errors.Is(err, context.Canceled) {
				b.log.Warn().Err(err).Msg("publisher stopped")
			}
			b.pub.Close()
		})
	}
	opsCtx, cancelOps := context.WithCancel(context.Background())
	opsDone := make(chan error, 1)
	if b.ops != nil {
		go func() { opsDone <- b.ops.Run(opsCtx) }()
		b.log.Info().Str("addr", b.ops.Addr()).Msg("ops endpoints: /healthz /readyz /metrics /status")
	} else {
		opsDone <- nil
	}
	var opsOnce sync.Once
	stopOps = func() {
		opsOnce.Do(func() {
			cancelOps()
			<-opsDone
		})
	}
	return stopPublisher, stopOps
}

type sinkFunc func(schema.Event)

func (f sinkFunc) Emit(ev schema.Event) { f(ev) }

// emit encodes and enqueues one event. It is called from the engine's
// goroutine and, for the bridge's own records, from Run's; the mutex keeps
// encoding and enqueueing in one order. An event that cannot be encoded or
// enqueued is reported by the publisher in a PublishGap record.
func (b *Bridge) emit(ev schema.Event) {
	if b.ha != nil && !b.ha.route(&ev) {
		return
	}
	b.publishEvent(ev)
}

// publishEvent encodes and enqueues one event, whatever the role.
func (b *Bridge) publishEvent(ev schema.Event) {
	b.metrics.Observe(&ev)
	b.mu.Lock()
	defer b.mu.Unlock()
	b.pub.Emit(ev)
	if b.view != nil {
		b.view.Apply(ev)
	}
}

// emitBridge publishes one of the bridge's own lifecycle records. A
// member of a high-availability group publishes them only while active
// (a standby's records are dropped without using a sequence number, so
// the bridge session's sequence has no holes).
func (b *Bridge) emitBridge(name string, data schema.BridgeData) {
	if b.ha != nil && !b.ha.tenure() {
		return
	}
	b.publishEvent(b.bridgeEvent(name, data, time.Now()))
}

// bridgeEvent builds one of the bridge's own records, taking the next
// sequence number of the bridge session.
func (b *Bridge) bridgeEvent(name string, data schema.BridgeData, now time.Time) schema.Event {
	b.mu.Lock()
	b.bridgeSeq++
	seq := b.bridgeSeq
	b.mu.Unlock()
	if data.Instance == "" {
		data.Instance = b.cfg.Instance
	}
	data.Version = Version
	spec, _ := schema.Spec(name)
	return schema.Event{
		Family: schema.FamilyBridge, Name: name,
		Session: b.cfg.Instance + "-b", SessionSeq: seq, Sequence: seq,
		Time: now, Received: now,
		Data: schema.Data{Event: name, EventID: spec.ID, Times: schema.Timestamps{Upstream: now, Received: now}, Bridge: &data},
	}
}

// Engine exposes the engine (for InitiateFallback and tests). A cold
// standby has none between tenures (nil).
func (b *Bridge) Engine() *ctiengine.Engine { return b.engine.Load() }

// Publisher exposes the publisher (for tests and the demo summary).
func (b *Bridge) Publisher() *jetstream.Publisher { return b.pub }

// OpsAddr is the ops endpoint address ("" when disabled).
func (b *Bridge) OpsAddr() string {
	if b.ops == nil {
		return ""
	}
	return b.ops.Addr()
}

func (b *Bridge) publisherStats() PublisherStats {
	s := b.pub.Stats()
	return PublisherStats{Buffered: s.Buffered, InFlight: s.InFlight, Dropped: s.Dropped, Rejected: s.Rejected, Reordered: s.Reordered,
		Resends: s.Resends, Dupes: s.Duplicates, Fenced: s.Fenced, Discarded: s.Discarded, Connected: s.Connected,
		StepDowns: s.StepDowns, StepDownsFailed: s.StepDownsFailed}
}

// Readiness: provider in service, stream provisioned and publisher
// connected. A standby of a high-availability group is ready when it
// could take over now (see haState.readiness).
func (b *Bridge) Readiness() Readiness {
	var r Readiness
	if b.ha != nil {
		r = b.ha.readiness()
	} else {
		r.Reasons = b.providerNotReady(b.Engine())
	}
	if b.elog != nil {
		if ls := b.elog.state(); !ls.Ready {
			r.Reasons = append(r.Reasons, ls.Reason)
		} else if !b.pub.Stats().Connected {
			r.Reasons = append(r.Reasons, "publisher not connected to NATS")
		}
	} else if !b.pub.Stats().Connected {
		r.Reasons = append(r.Reasons, "publisher not connected to NATS")
	}
	r.Ready = len(r.Reasons) == 0
	return r
}

// providerNotReady says why eng's provider is not in service (nothing if
// it is).
func (b *Bridge) providerNotReady(eng *ctiengine.Engine) []string {
	if eng == nil {
		return []string{"no provider"}
	}
	st := eng.Status()
	if st.Ready {
		return nil
	}
	reason := "provider " + st.Provider
	if st.Err != "" {
		reason += ": " + st.Err
	}
	return append([]string{reason}, ctiManagerReasons(st, time.Now())...)
}

// Status is the /status document.
func (b *Bridge) Status() any {
	ps := b.pub.Stats()
	pub := map[string]any{
		"connected": ps.Connected, "buffered": ps.Buffered, "bufferedBytes": ps.BufferedBytes, "inFlight": ps.InFlight,
		"published": ps.Published, "acked": ps.Acked, "duplicates": ps.Duplicates, "resends": ps.Resends,
		"dropped": ps.Dropped, "rejected": ps.Rejected, "reordered": ps.Reordered, "gaps": ps.Gaps, "reconnects": ps.Reconnects,
		"stepDowns": ps.StepDowns, "stepDownsFailed": ps.StepDownsFailed,
	}
	if ps.LastError != nil {
		pub["lastError"] = ps.LastError.Error()
		pub["lastErrorAt"] = ps.LastErrorAt
	}
	pub["held"] = ps.Held
	pub["errors"] = ps.Errors.Map()
	out := map[string]any{
		"instance":  b.cfg.Instance,
		"version":   Version,
		"cluster":   b.enc.Cluster(),
		"ready":     b.Readiness(),
		"publisher": pub,
	}
	if eng := b.Engine(); eng != nil {
		out["engine"] = eng.Status()
	}
	if b.ha != nil {
		out["ha"] = b.ha.status()
	}
	if b.elog != nil {
		ls := b.elog.state()
		out["eventLog"] = map[string]any{"ready": ls.Ready, "reason": ls.Reason, "since": ls.Since, "attempts": ls.Attempts, "leader": ls.Leader}
	}
	if v := b.stateViewStatus(); v != nil {
		out["stateView"] = v
	}
	if b.cfg.StatusExtra != nil {
		for k, v := range b.cfg.StatusExtra() {
			out[k] = v
		}
	}
	return out
}

// StopCause says why a bridge stops; cancel Run's context with it
// (context.WithCancelCause) and the BridgeStopping record and the log say
// so.
type StopCause struct {
	// Reason is a short token: StopSignal, StopRunFor, or the caller's.
	Reason string
	// Detail says more (the signal's name, the duration that elapsed).
	Detail string
}

// Stop reasons the commands give.
const (
	// StopSignal: SIGINT or SIGTERM (Detail: the signal).
	StopSignal = "signal"
	// StopRunFor: `bridge demo --run-for` elapsed.
	StopRunFor = "run-for"
	// StopRequested: Run's context ended without a StopCause.
	StopRequested = "stopped"
)

func (c StopCause) Error() string {
	if c.Detail == "" {
		return "bridge stopping: " + c.Reason
	}
	return "bridge stopping: " + c.Reason + " (" + c.Detail + ")"
}

// Is makes a StopCause a context.Canceled, as a plain cancel is.
func (c StopCause) Is(target error) bool { return target == context.Canceled }

// stopReason is the StopCause ctx was cancelled with (StopRequested, with
// the cause's text, for any other cause).
func stopReason(ctx context.Context) StopCause {
	cause := context.Cause(ctx)
	var sc StopCause
	switch {
	case errors.As(cause, &sc):
		return sc
	case cause == nil || cause == context.Canceled || cause == context.DeadlineExceeded:
		return StopCause{Reason: StopRequested, Detail: fmt.Sprint(ctx.Err())}
	}
	return StopCause{Reason: StopRequested, Detail: cause.Error()}
}

// Run runs the bridge until ctx ends or the provider shuts down for good.
// On ctx's end it drains in order: BridgeStopping, the provider closed with
// APPLICATIONREQUEST (its final events published), then a bounded flush of
// everything buffered to JetStream. It returns nil after an orderly stop and
// the engine's error when the provider shut down by itself (retries
// exhausted, certificate compromised), once FatalLinger has passed or ctx
// has ended.
func (b *Bridge) Run(ctx context.Context) error {
	if b.ha != nil {
		return b.runHA(ctx)
	}
	stopPublisher, stopOps := b.startServices()
	defer stopOps()
	defer stopPublisher()
	defer b.snapshots.stop()
	stopEventLog := b.startEventLog()
	defer stopEventLog()
	stopView := b.startStateView()
	defer stopView()
	if b.elog != nil {
		b.elog.waitForStart(ctx, b.cfg.StartWait)
	} else {
		b.snapshots.start()
		b.checkPreviousRun(ctx)
	}
	b.emitBridge(schema.EvBridgeStarted, schema.BridgeData{})
	eng := b.Engine()
	engDone := make(chan error, 1)
	engCtx, stopEngine := context.WithCancel(context.Background())
	defer stopEngine()
	go func() { engDone <- eng.Run(engCtx) }()

	var hb <-chan time.Time
	if b.cfg.HeartbeatEvery > 0 {
		t := time.NewTicker(b.cfg.HeartbeatEvery)
		defer t.Stop()
		hb = t.C
	}
	var engErr error
	stopped := false
	for !stopped {
		select {
		case <-hb:
			b.emitBridge(schema.EvBridgeHeartbeat, schema.BridgeData{})
		case engErr = <-engDone:
			stopped = true
			if engErr != nil {
				b.log.Error().Err(engErr).Msg("provider shut down")
				b.emitBridge(schema.EvBridgeStopping, schema.BridgeData{Reason: "provider shut down", Detail: engErr.Error()})
			}
		case <-ctx.Done():
			why := stopReason(ctx)
			b.log.Info().Str("reason", why.Reason).Str("detail", why.Detail).Msg("stopping: closing the provider (APPLICATIONREQUEST), then flushing JetStream")
			b.emitBridge(schema.EvBridgeStopping, schema.BridgeData{Reason: why.Reason, Detail: why.Detail})
			if err := eng.Close(); err != nil {
				b.log.Warn().Err(err).Msg("provider close")
			}
			engErr = <-engDone
			stopped = true
		}
	}
	fctx, cancel := context.WithTimeout(context.Background(), b.cfg.DrainTimeout)
	defer cancel()
	if err := b.pub.Flush(fctx); err != nil {
		st := b.pub.Stats()
		b.log.Error().Err(err).Int("unpublished", st.Buffered).Msg("flush to JetStream incomplete at exit; the unpublished events are lost to the stream (the next run's gap record covers the outage)")
	}
	stopPublisher()
	if engErr != nil && ctx.Err() == nil {
		b.linger(ctx, engErr)
	}
	if ctx.Err() != nil && (engErr == nil || errors.Is(engErr, context.Canceled)) {
		return nil
	}
	return engErr
}
