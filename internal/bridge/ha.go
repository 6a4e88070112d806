package bridge

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/hot"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// TakeoverGapPrefix starts the reason of the provider gap a cold standby
// records when it takes over from an active bridge that did not release
// its lease in order; the reason names the previous tenure's engine
// instance, as a restart gap names the killed run.
const TakeoverGapPrefix = "bridge takeover:"

// HAConfig configures a member of a high-availability group (docs/ha.md).
type HAConfig struct {
	// Mode is cold (one client certificate shared by the group: only the
	// active instance has a provider) or hot (each instance its own
	// certificate or login: every instance observes).
	Mode ha.Mode
	// Bucket is the lease bucket (default jetstream.DefaultLeaderBucket);
	// its TTL is the lease TTL.
	Bucket string
	// Lease tunes renewals; its TTL, if set, must equal the bucket's.
	Lease lease.Config
	// ColdWait is how long a cold standby waits, after taking a lease its
	// predecessor did not release, before opening its provider: the
	// predecessor's lease waited out in full (default: the TTL). With a
	// TTL above twice CTIManager's heartbeat interval, a predecessor that
	// is paused, not dead, has been dropped by CTIManager by then.
	ColdWait time.Duration
	// Window bounds a hot standby's memory of its own events.
	Window hot.Config
	// StepDownHold is how long an instance that stepped down stays out of
	// the election (default 2 × the campaign interval), so that another
	// takes over.
	StepDownHold time.Duration
	// TakeoverTimeout bounds a takeover's reads of the log (default: the
	// TTL, or 10 s if longer).
	TakeoverTimeout time.Duration
}

// Validate checks what can be checked before the bucket is known.
func (c *HAConfig) Validate() error {
	if _, err := ha.ParseMode(string(c.Mode)); err != nil {
		return err
	}
	if c.ColdWait < 0 || c.StepDownHold < 0 || c.TakeoverTimeout < 0 {
		return errors.New("ha: ColdWait, StepDownHold and TakeoverTimeout must not be negative")
	}
	return nil
}

// Routes of the engine's events (haState.route).
const (
	routeDrop    int32 = iota // not active, nothing kept (cold standby, demotion)
	routeWindow               // hot standby: kept for a takeover
	routeHold                 // hot takeover in progress: held until the recovered events are out
	routePublish              // active
)

// haState is the bridge's side of high availability: the lease, the
// route of the engine's events, the takeover and the demotion.
type haState struct {
	b      *Bridge
	cfg    HAConfig
	log    zerolog.Logger
	window *hot.Window
	el     atomic.Pointer[ha.Elector]
	// way is where the engine's events go (route*).
	way atomic.Int32

	pmu     sync.Mutex // guards pending and the hold → publish switch
	pending []schema.Event

	gmu     sync.Mutex // guards openGap
	openGap *schema.Gap

	// following is true while a standby follows the log (its fold or
	// window is current).
	following atomic.Bool

	stepDown chan struct{}
	kill     chan struct{}
	killOnce sync.Once

	mu   sync.Mutex // guards info
	info haInfo
}

// haInfo is what /status shows of the group membership.
type haInfo struct {
	Mode         ha.Mode   `json:"mode"`
	Role         string    `json:"role"`
	Epoch        uint64    `json:"epoch,omitempty"`
	Since        time.Time `json:"since,omitzero"`
	Takeovers    int       `json:"takeovers"`
	Demotions    int       `json:"demotions"`
	LastTakeover *takeover `json:"lastTakeover,omitempty"`
	LastLoss     string    `json:"lastLoss,omitempty"`
}

// takeover describes the last takeover.
type takeover struct {
	Epoch       uint64    `json:"epoch"`
	At          time.Time `json:"at"`
	From        string    `json:"from,omitempty"`
	PreviousEnd string    `json:"previousEnd"`
	WaitMs      int64     `json:"waitMs,omitempty"`
	DurationMs  int64     `json:"durationMs"`
	Recovered   int       `json:"recovered,omitempty"`
	Matched     int       `json:"matched,omitempty"`
	Incomplete  bool      `json:"incomplete,omitempty"`
}

func newHAState(b *Bridge, cfg HAConfig) (*haState, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Bucket == "" {
		cfg.Bucket = jetstream.DefaultLeaderBucket
	}
	h := &haState{b: b, cfg: cfg, log: b.log.With().Str("ha_mode", string(cfg.Mode)).Logger(),
		stepDown: make(chan struct{}, 1), kill: make(chan struct{})}
	if cfg.Mode == ha.ModeHot {
		h.window = hot.New(cfg.Window)
	}
	h.info = haInfo{Mode: cfg.Mode, Role: lease.Standby.String()}
	return h, nil
}

// mayPublish: active, before the lease deadline.
func (h *haState) mayPublish() bool {
	el := h.el.Load()
	return el != nil && h.way.Load() == routePublish && el.MayAct()
}

// route decides, on the engine's goroutine, what becomes of an event:
// true to publish it now.
func (h *haState) route(ev *schema.Event) bool {
	switch h.way.Load() {
	case routePublish:
		if el := h.el.Load(); el == nil || !el.MayAct() {
			// Past the deadline, before the demotion: its successor
			// accounts for it (gap, or recovered by a hot standby).
			return false
		}
		h.trackGap(ev)
		return true
	case routeWindow:
		h.window.Add(*ev)
	case routeHold:
		h.pmu.Lock()
		defer h.pmu.Unlock()
		if h.way.Load() == routePublish {
			h.trackGap(ev)
			return true
		}
		h.pending = append(h.pending, *ev)
	}
	return false
}

// trackGap remembers the provider gap the active engine has open: an
// orderly release names it, so that the successor closes it.
func (h *haState) trackGap(ev *schema.Event) {
	if ev.Family != schema.FamilyBridge || ev.Data.Bridge == nil || ev.Data.Bridge.Gap == nil || ev.Data.Bridge.Gap.Kind != "provider" {
		return
	}
	h.gmu.Lock()
	defer h.gmu.Unlock()
	switch ev.Name {
	case schema.EvGapOpened:
		g := *ev.Data.Bridge.Gap
		h.openGap = &g
	case schema.EvGapClosed:
		if h.openGap != nil && h.openGap.ID == ev.Data.Bridge.Gap.ID {
			h.openGap = nil
		}
	}
}

func (h *haState) takeOpenGap() *schema.Gap {
	h.gmu.Lock()
	defer h.gmu.Unlock()
	g := h.openGap
	h.openGap = nil
	return g
}

func (h *haState) setInfo(f func(*haInfo)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	f(&h.info)
}

func (h *haState) status() any {
	h.mu.Lock()
	info := h.info
	h.mu.Unlock()
	out := map[string]any{"member": info}
	if el := h.el.Load(); el != nil {
		out["lease"] = el.Status()
	}
	if h.window != nil {
		out["window"] = h.window.Stats()
	}
	return out
}

// readiness: the active instance is ready when its provider is in service
// (and the publisher connected, checked by the caller). A standby is
// ready when it could take over now — Kubernetes' convention for
// leader-elected replicas: readiness says a replica works, not that it
// leads (a not-ready standby would stall rolling updates and count against
// disruption budgets). A hot standby also needs its own provider in
// service. The role is in /status and in ctibridge_ha_active.
func (h *haState) readiness() Readiness {
	var r Readiness
	el := h.el.Load()
	switch {
	case el == nil:
		r.Reasons = append(r.Reasons, "high availability: the lease bucket is not reachable yet")
	case h.way.Load() == routePublish:
		r.Reasons = h.b.providerNotReady(h.b.Engine())
	default:
		if st := el.Status(); st.LastError != "" {
			r.Reasons = append(r.Reasons, "standby: the lease bucket is not answering: "+st.LastError)
		}
		if h.cfg.Mode == ha.ModeHot {
			r.Reasons = append(r.Reasons, h.b.providerNotReady(h.b.Engine())...)
		}
	}
	return r
}

// StepDown makes an active member hand over to another: it releases the
// lease in order and stays out of the election for StepDownHold. It does
// nothing on a standby or a single bridge.
func (b *Bridge) StepDown() {
	if b.ha == nil {
		return
	}
	select {
	case b.ha.stepDown <- struct{}{}:
	default:
	}
}

// Kill stops the bridge as a crash would, for tests and demos of a
// process dying: the engine's links are dropped with nothing sent, nothing
// more is published, the lease is not released (it expires). Run returns
// ctiengine.ErrKilled. The caller closes the NATS connection.
func (b *Bridge) Kill() {
	if b.ha == nil {
		if eng := b.Engine(); eng != nil {
			eng.Kill()
		}
		return
	}
	b.ha.killOnce.Do(func() { close(b.ha.kill) })
}

// IsActive reports whether the bridge may publish: always for a single
// bridge; for a member of a group, while it holds the lease.
func (b *Bridge) IsActive() bool { return b.ha == nil || b.ha.mayPublish() }

// ReadyToTakeOver reports whether a member of a group is a standby that
// could take over now: campaigning, following the log and, hot, with its
// own provider in service.
func (b *Bridge) ReadyToTakeOver() bool {
	h := b.ha
	if h == nil || h.way.Load() == routePublish || !h.following.Load() {
		return false
	}
	el := h.el.Load()
	if el == nil || !el.Status().Campaigning {
		return false
	}
	if h.cfg.Mode == ha.ModeHot {
		eng := b.Engine()
		return eng != nil && eng.Ready() && h.way.Load() == routeWindow
	}
	return true
}

// haRun is the state of one runHA.
type haRun struct {
	h       *haState
	b       *Bridge
	el      *ha.Elector
	kv      natsjs.KeyValue
	js      natsjs.JetStream
	leaseJS natsjs.JetStream // on the lease's own connection
	stream  natsjs.Stream
	cluster string

	engDone     chan error // the running engine's Run result (nil: none)
	stopEngine  context.CancelFunc
	stopFollow  context.CancelFunc
	fmu         sync.Mutex // guards follower (set by the follower's goroutine)
	follower    *ha.Follower
	fold        *coldFold
	stopSnaps   func()
	waitTimer   *time.Timer // cold: the wait before opening the provider
	waitC       <-chan time.Time
	pendingGap  ctiengine.PriorGap
	holdTimer   *time.Timer
	holdC       <-chan time.Time
	epoch       uint64
	acquiredAt  time.Time
	startedOnce bool
}

// runHA is Run for a member of a high-availability group.
func (b *Bridge) runHA(ctx context.Context) error {
	h := b.ha
	pubCtx, stopPub := context.WithCancel(context.Background())
	defer stopPub()
	pubDone := make(chan error, 1)
	go func() { pubDone <- b.pub.Run(pubCtx) }()
	opsCtx, stopOps := context.WithCancel(context.Background())
	opsDone := make(chan error, 1)
	if b.ops != nil {
		go func() { opsDone <- b.ops.Run(opsCtx) }()
		b.log.Info().Str("addr", b.ops.Addr()).Msg("ops endpoints: /healthz /readyz /metrics /status")
	} else {
		opsDone <- nil
	}
	defer func() {
		stopOps()
		<-opsDone
	}()

	r := &haRun{h: h, b: b, cluster: b.enc.Cluster(), stopSnaps: func() {}}
	// The lease has a connection of its own: on the publisher's, a
	// renewal would queue behind a burst of events (a provider's open
	// publishes tens of thousands) and the lease could expire while the
	// bridge is busiest.
	leaseConn, err := leaseConnection(b.cfg.Conn)
	if err != nil {
		return fmt.Errorf("bridge: ha: lease connection: %w", err)
	}
	defer leaseConn.Close()
	if r.js, err = natsjs.New(b.cfg.Conn); err != nil {
		return fmt.Errorf("bridge: ha: %w", err)
	}
	if r.leaseJS, err = natsjs.New(leaseConn); err != nil {
		return fmt.Errorf("bridge: ha: %w", err)
	}
	if err := r.connect(ctx); err != nil {
		return nil // ctx ended before NATS answered
	}
	elCtx, stopEl := context.WithCancel(context.Background())
	elDone := make(chan struct{})
	go func() { _ = r.el.Run(elCtx); close(elDone) }()
	defer func() {
		stopEl()
		<-elDone
	}()
	h.el.Store(r.el)

	if h.cfg.Mode == ha.ModeHot {
		h.way.Store(routeWindow)
		r.startEngine(b.Engine())
	}
	r.startFollower()
	r.el.SetCampaign(true)
	h.log.Info().Str("instance", b.cfg.Instance).Str("bucket", h.cfg.Bucket).Str("ttl", r.el.LeaseConfig().TTL.String()).
		Msg("high availability: standby, campaigning for the lease")

	var hb <-chan time.Time
	if b.cfg.HeartbeatEvery > 0 {
		t := time.NewTicker(b.cfg.HeartbeatEvery)
		defer t.Stop()
		hb = t.C
	}
	var presence <-chan time.Time
	if h.cfg.Mode == ha.ModeHot {
		t := time.NewTicker(r.el.LeaseConfig().RenewEvery)
		defer t.Stop()
		presence = t.C
	}
	var runErr error
loop:
	for {
		select {
		case c := <-r.el.Changes():
			switch c.Kind {
			case lease.Acquired:
				r.acquired(ctx, c)
			case lease.Lost:
				r.lost(ctx, c)
			}
		case <-r.waitC:
			r.waitC = nil
			r.openColdProvider()
		case <-r.holdC:
			r.holdC = nil
			r.el.SetCampaign(true)
		case <-h.stepDown:
			if h.way.Load() == routePublish {
				r.release(ctx, "step-down", true)
				r.holdC = time.After(h.stepDownHold(r.el))
			}
		case <-hb:
			b.emitBridge(schema.EvBridgeHeartbeat, schema.BridgeData{})
		case <-presence:
			r.announce(ctx)
		case engErr := <-r.engDone:
			r.engDone = nil
			if engErr == nil || errors.Is(engErr, context.Canceled) {
				continue
			}
			b.log.Error().Err(engErr).Msg("provider shut down")
			if h.way.Load() == routePublish {
				b.emitBridge(schema.EvBridgeStopping, schema.BridgeData{Reason: "provider shut down", Detail: engErr.Error()})
				r.release(ctx, "provider shut down: "+engErr.Error(), false)
			}
			runErr = engErr
			break loop
		case <-h.kill:
			h.way.Store(routeDrop)
			if eng := b.Engine(); eng != nil {
				eng.Kill()
			}
			b.pub.Suspend()
			r.stopFollower()
			r.stopSnaps()
			return ctiengine.ErrKilled
		case <-ctx.Done():
			b.log.Info().Msg("stopping: handing the lease over in order")
			if h.way.Load() == routePublish {
				b.emitBridge(schema.EvBridgeStopping, schema.BridgeData{Reason: "signal"})
				r.release(context.Background(), "stopping", r.standbyInSync())
			} else {
				r.withdraw()
			}
			break loop
		}
	}
	h.way.Store(routeDrop)
	r.stopFollower()
	r.stopSnaps()
	if eng := b.Engine(); eng != nil && r.engDone != nil {
		if err := eng.Close(); err != nil {
			b.log.Warn().Err(err).Msg("provider close")
		}
		<-r.engDone
	}
	stopPub()
	if err := <-pubDone; err != nil && !errors.Is(err, context.Canceled) {
		b.log.Warn().Err(err).Msg("publisher stopped")
	}
	b.pub.Close()
	if runErr != nil && ctx.Err() == nil {
		b.linger(ctx, runErr)
		return runErr
	}
	return nil
}

// leaseConnection opens a second connection with nc's options (servers,
// credentials, TLS, or the in-process server).
func leaseConnection(nc *nats.Conn) (*nats.Conn, error) {
	o := nc.Opts
	o.Name += " (lease)"
	return o.Connect()
}

func (h *haState) stepDownHold(el *ha.Elector) time.Duration {
	if h.cfg.StepDownHold > 0 {
		return h.cfg.StepDownHold
	}
	return 2 * el.LeaseConfig().CampaignEvery
}

// connect finds the stream and the lease bucket, retrying until ctx ends
// (NATS may start after the bridge).
func (r *haRun) connect(ctx context.Context) error {
	h, b := r.h, r.b
	stream := b.cfg.Stream
	if stream == "" {
		stream = jetstream.DefaultStream
	}
	for {
		err := func() error {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			s, err := r.js.Stream(cctx, stream)
			if err != nil {
				return fmt.Errorf("stream %s: %w", stream, err)
			}
			kv, err := r.leaseJS.KeyValue(cctx, h.cfg.Bucket)
			if err != nil {
				return fmt.Errorf("lease bucket %s: %w", h.cfg.Bucket, err)
			}
			el, err := ha.NewElector(cctx, ha.ElectorConfig{KV: kv, Key: ha.LeaseKey(r.cluster), Instance: b.cfg.Instance, Mode: h.cfg.Mode,
				Lease: h.cfg.Lease, Logger: b.cfg.Logger})
			if err != nil {
				return err
			}
			r.stream, r.el, r.kv = s, el, kv
			return nil
		}()
		if err == nil {
			return nil
		}
		if ctx.Err() == nil {
			h.log.Warn().Err(err).Msg("high availability: waiting for JetStream")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// acquired runs the start of a tenure: the marker in the log, the fence,
// then (cold) the wait and the provider, or (hot) the recovered events.
func (r *haRun) acquired(ctx context.Context, c lease.Change) {
	h, b := r.h, r.b
	r.epoch, r.acquiredAt = c.Epoch, time.Now()
	b.pub.Suspend() // nothing of an earlier tenure may go out in this one
	mctx, cancel := context.WithTimeout(ctx, h.takeoverTimeout(r.el))
	defer cancel()
	prev, err := ha.LastTenure(mctx, r.stream, r.cluster)
	if err != nil {
		h.log.Error().Err(err).Msg("takeover: cannot read the previous tenure; giving the lease back")
		r.giveBack(ctx)
		return
	}
	data := schema.BridgeData{Reason: "lease acquired", Leader: &schema.Leader{Epoch: c.Epoch, Mode: string(h.cfg.Mode), PreviousEnd: "none"}}
	var wait time.Duration
	if prev != nil {
		data.Leader.PreviousInstance, data.Leader.PreviousEpoch = prev.Instance, prev.Epoch
		data.Leader.PreviousEnd = "expired"
		if prev.Released {
			data.Leader.PreviousEnd = ha.ReasonReleased
		} else if h.cfg.Mode == ha.ModeCold {
			wait = h.coldWait(r.el)
		}
	}
	data.Leader.WaitMs = wait.Milliseconds()
	if eng := b.Engine(); h.cfg.Mode == ha.ModeHot && eng != nil {
		st := eng.Status()
		data.Leader.ProviderState, data.Leader.CTIManager = st.Provider, st.CTIManager
	}
	now := time.Now()
	ev := b.bridgeEvent(schema.EvLeaderAcquired, data, now)
	msg, err := b.enc.Encode(&ev, now)
	if err != nil {
		h.log.Error().Err(err).Msg("takeover: encoding the epoch marker")
		r.giveBack(ctx)
		return
	}
	seq, _, err := ha.WriteMarker(mctx, r.js, r.stream, r.cluster, jetstream.FromSchema(msg), c.Epoch)
	msg.Release()
	if err != nil {
		h.log.Error().Err(err).Uint64("epoch", c.Epoch).Msg("takeover: the epoch marker could not be written; giving the lease back")
		r.giveBack(ctx)
		return
	}
	b.metrics.Observe(&ev)
	b.pub.SetFence(jetstream.Fence{Subject: ha.EpochSubject(r.cluster), Seq: seq, Epoch: c.Epoch})
	h.log.Info().Uint64("epoch", c.Epoch).Uint64("marker_seq", seq).Str("previous", data.Leader.PreviousInstance).
		Str("previous_end", data.Leader.PreviousEnd).Msg("takeover: epoch marker written; the log now refuses the previous tenure")
	h.setInfo(func(i *haInfo) {
		i.Role, i.Epoch, i.Since = lease.Active.String(), c.Epoch, r.acquiredAt
		i.Takeovers++
		i.LastTakeover = &takeover{Epoch: c.Epoch, At: r.acquiredAt, From: data.Leader.PreviousInstance, PreviousEnd: data.Leader.PreviousEnd, WaitMs: wait.Milliseconds()}
	})
	b.metrics.haAcquired(c.Epoch)
	if h.cfg.Mode == ha.ModeHot {
		r.takeOverHot(ctx, seq, prev)
		return
	}
	h.way.Store(routePublish)
	r.firstRecords(prev)
	r.pendingGap = r.coldPriorGap(ctx, seq, prev)
	if wait > 0 {
		h.log.Warn().Dur("wait", wait).Str("previous", prev.Instance).
			Msg("takeover: the previous active did not release its lease; waiting it out in full before opening the provider (one provider per certificate)")
		r.waitTimer = time.NewTimer(wait)
		r.waitC = r.waitTimer.C
		return
	}
	r.openColdProvider()
}

// firstRecords publishes, after the marker, BridgeStarted (first tenure
// of this process) and, for a predecessor that vanished, its LeaderLost
// on its behalf (inferred).
func (r *haRun) firstRecords(prev *ha.Tenure) {
	b := r.b
	// Published directly: the tenure is ours (marker written, fence
	// set), though the engine's events are not routed to the publisher
	// yet during a hot takeover.
	now := time.Now()
	if !r.startedOnce {
		r.startedOnce = true
		b.publishEvent(b.bridgeEvent(schema.EvBridgeStarted, schema.BridgeData{}, now))
	}
	if prev != nil && !prev.Released {
		ev := b.bridgeEvent(schema.EvLeaderLost, schema.BridgeData{Instance: prev.Instance, Reason: string(lease.ReasonExpired),
			Detail: fmt.Sprintf("recorded by its successor %s: the lease expired without a release (the bridge died, was paused or lost NATS)", b.cfg.Instance),
			Leader: &schema.Leader{Epoch: prev.Epoch, Mode: string(prev.Mode)}}, now)
		ev.Data.Inferred = true
		b.publishEvent(ev)
	}
}

// coldWait is the default wait unless configured: the lease TTL, or, if
// longer, twice the desired server heartbeat and a second — the time
// CTIManager takes to drop a client that went silent (a paused
// predecessor still holds its provider until then).
func (h *haState) coldWait(el *ha.Elector) time.Duration {
	if h.cfg.ColdWait > 0 {
		return h.cfg.ColdWait
	}
	hb := h.b.ecfg.DesiredServerHeartbeatInterval
	if hb == 0 {
		hb = ctiengine.DefaultDesiredServerHeartbeatInterval
	}
	return max(el.LeaseConfig().TTL, 2*hb+time.Second)
}

// engineInstance names a tenure's engine: a cold standby builds one
// engine per tenure, so each needs its own session names.
func engineInstance(instance string, mode ha.Mode, epoch uint64) string {
	if mode == ha.ModeHot {
		return instance
	}
	return instance + "-t" + strconv.FormatUint(epoch, 10)
}

// coldPriorGap decides the gap a cold tenure starts in, from the log up to
// its marker: the previous tenure's open gap if it released in order, a
// takeover gap if it did not, the restart logic if there was no tenure
// before. The calls the log held are handed to the engine for
// reconciliation.
func (r *haRun) coldPriorGap(ctx context.Context, markerSeq uint64, prev *ha.Tenure) ctiengine.PriorGap {
	h := r.h
	var g ctiengine.PriorGap
	fctx, cancel := context.WithTimeout(ctx, h.takeoverTimeout(r.el))
	calls, lastAt, ok := r.foldedBefore(fctx, markerSeq)
	cancel()
	if !ok {
		// No fold at hand (the follower could not keep up or start): read
		// the log up to the marker instead.
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		st, res, err := foldBefore(sctx, r, markerSeq)
		cancel()
		if err != nil {
			h.log.Warn().Err(err).Msg("takeover: the log's last state could not be read; every call the snapshot reports is taken as discovered")
		} else {
			calls, lastAt = callIDs(st), res.LastTime
		}
	}
	g.Calls = calls
	switch {
	case prev != nil && prev.Released && prev.OpenGap != nil:
		g.ID, g.OpenedAt, g.Reason = prev.OpenGap.ID, prev.OpenGap.OpenedAt, prev.OpenGap.Reason
	case prev != nil:
		g.OpenedAt = lastAt
		end := "ended without releasing the lease"
		if prev.Released {
			end = "released the lease"
		}
		g.Reason = fmt.Sprintf("%s previous run %s (instance %s, epoch %d) %s", TakeoverGapPrefix,
			engineInstance(prev.Instance, prev.Mode, prev.Epoch), prev.Instance, prev.Epoch, end)
	default:
		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		pr, perr := readPreviousRunBefore(pctx, r.js, r.stream.CachedInfo().Config.Name, r.cluster, markerSeq)
		cancel()
		if perr == nil {
			if pg, open := priorGap(pr); open {
				pg.Calls = calls
				return pg
			}
		}
		g.Calls = nil
		return g
	}
	if g.OpenedAt.IsZero() {
		g.OpenedAt = time.Now()
	}
	return g
}

// foldBefore folds the cluster's events stored before the marker (an
// empty state for a marker at the start of the log).
func foldBefore(ctx context.Context, r *haRun, markerSeq uint64) (*callstate.State, replaystore.StateAtResult, error) {
	if markerSeq <= 1 {
		return callstate.New(), replaystore.StateAtResult{Cluster: r.cluster}, nil
	}
	return r.foldLog(ctx, replaystore.Point{Seq: markerSeq - 1})
}

// openColdProvider starts the tenure's engine (after the wait, if any).
func (r *haRun) openColdProvider() {
	h, b := r.h, r.b
	if r.waitTimer != nil {
		r.waitTimer.Stop()
		r.waitTimer = nil
	}
	if h.way.Load() != routePublish || !r.el.MayAct() {
		return // the tenure ended during the wait
	}
	ecfg := b.ecfg
	ecfg.BridgeInstance = engineInstance(b.cfg.Instance, h.cfg.Mode, r.epoch)
	el := r.el
	ecfg.DialPermit = func() error {
		if !el.MayAct() {
			return errors.New("high availability: this instance does not hold the lease")
		}
		return nil
	}
	eng, err := ctiengine.New(ecfg)
	if err == nil && (r.pendingGap.Reason != "" || r.pendingGap.ID != "") {
		err = eng.SetPriorGap(r.pendingGap)
	}
	if err != nil {
		h.log.Error().Err(err).Msg("takeover: the engine could not be built")
		r.giveBack(context.Background())
		return
	}
	b.engine.Store(eng)
	r.startEngine(eng)
	r.stopSnaps = b.startSnapshots()
	d := time.Since(r.acquiredAt)
	b.metrics.haTakeover(d)
	h.setInfo(func(i *haInfo) {
		if i.LastTakeover != nil {
			i.LastTakeover.DurationMs = d.Milliseconds()
		}
	})
	h.log.Info().Uint64("epoch", r.epoch).Dur("since_lease", d).Msg("takeover: opening the provider")
}

func (r *haRun) startEngine(eng *ctiengine.Engine) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- eng.Run(ctx) }()
	r.engDone, r.stopEngine = done, cancel
}

// takeOverHot completes a hot takeover: cut the engine's event session,
// read the log up to the marker, publish what the previous active never
// stored (recovered), then what came in meanwhile, then live.
func (r *haRun) takeOverHot(ctx context.Context, markerSeq uint64, prev *ha.Tenure) {
	h, b := r.h, r.b
	eng := b.Engine()
	tctx, cancel := context.WithTimeout(ctx, h.takeoverTimeout(r.el))
	defer cancel()
	err := eng.NewEventSession(tctx, func(string) { h.way.Store(routeHold) })
	if err == nil {
		eng.SetPassive(false)
	}
	if f := r.currentFollower(); err == nil && f != nil {
		err = f.WaitFor(tctx, markerSeq)
	}
	if err != nil {
		h.log.Error().Err(err).Msg("takeover: the log could not be read up to the marker; giving the lease back")
		r.giveBack(ctx)
		return
	}
	r.stopFollower()
	res := h.window.Takeover()
	h.way.Store(routeHold) // the engine may have stopped: nothing set it
	r.firstRecords(prev)
	for _, ev := range res.Recovered {
		if prev == nil {
			ev.Data.Recovered = false // a first tenure: this bridge's own start
		}
		b.publishEvent(ev)
	}
	h.pmu.Lock()
	for _, ev := range h.pending {
		h.trackGap(&ev)
		b.publishEvent(ev)
	}
	clear(h.pending)
	h.pending = h.pending[:0]
	h.way.Store(routePublish)
	h.pmu.Unlock()
	if prev != nil && prev.Released && prev.OpenGap != nil {
		r.closePredecessorGap(prev.OpenGap, len(res.Recovered), res.Incomplete)
	}
	go r.withdraw()
	r.stopSnaps = b.startSnapshots()
	d := time.Since(r.acquiredAt)
	b.metrics.haTakeover(d)
	if prev != nil {
		b.metrics.haRecovered(len(res.Recovered), res.Matched)
	}
	h.setInfo(func(i *haInfo) {
		if t := i.LastTakeover; t != nil {
			t.DurationMs, t.Recovered, t.Matched, t.Incomplete = d.Milliseconds(), len(res.Recovered), res.Matched, res.Incomplete
		}
	})
	lg := h.log.Info()
	if res.Incomplete {
		lg = h.log.Warn().Bool("incomplete", true).Str("hint", "the standby's window did not reach back to the previous active's last stored event: raise ha.hotWindow")
	}
	lg.Uint64("epoch", r.epoch).Int("recovered", len(res.Recovered)).Int("matched", res.Matched).Int("skipped", res.Skipped).
		Dur("takeover", d).Msg("takeover: publishing; the events the previous active never stored were published as recovered")
}

// closePredecessorGap closes the gap a hot predecessor left open when it
// stopped with its provider closed (no standby was in sync then): this
// standby observed the interval and published it, recovered.
func (r *haRun) closePredecessorGap(g *schema.Gap, recovered int, incomplete bool) {
	now := time.Now()
	closed := *g
	closed.ClosedAt = &now
	closed.DurationMs = now.Sub(g.OpenedAt).Milliseconds()
	reason := fmt.Sprintf("%s; observed by hot standby %s, which published %d events as recovered", g.Reason, r.b.cfg.Instance, recovered)
	if incomplete {
		reason += " (its memory did not reach back to the start of the gap: earlier changes may be missing)"
	}
	closed.Reason = reason
	r.b.emitBridge(schema.EvGapClosed, schema.BridgeData{Reason: reason, Gap: &closed})
}

// takeoverTimeout bounds a takeover's reads of the log: the TTL, or 10 s
// if longer (a standby that lags behind a burst of events catches up
// faster than a read of the log from its start).
func (h *haState) takeoverTimeout(el *ha.Elector) time.Duration {
	if h.cfg.TakeoverTimeout > 0 {
		return h.cfg.TakeoverTimeout
	}
	return max(el.LeaseConfig().TTL, 10*time.Second)
}

// giveBack ends a tenure that could not start: the lease is released (a
// standby takes over) and campaigning resumes after the hold.
func (r *haRun) giveBack(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r.el.Release(rctx)
	r.holdC = time.After(r.h.stepDownHold(r.el))
}

// release hands the lease over in order (shutdown, step-down, fatal
// provider end). Handing over to a hot standby (handOver, hot mode), the
// member publishes LeaderLost and releases at once, keeping its provider:
// its successor publishes, recovered, whatever it observed after that, so
// there is no gap. Otherwise the member closes its provider first (its
// last events and the gap that opens are published), then publishes
// LeaderLost (released, naming the open gap for its successor to close).
// Then it flushes and deletes the lease.
func (r *haRun) release(ctx context.Context, why string, handOver bool) {
	h, b := r.h, r.b
	if h.cfg.Mode == ha.ModeCold {
		r.closeColdEngine(ctx, true)
	} else if !handOver {
		r.closeHotEngine(ctx)
	}
	r.stopSnaps()
	r.stopSnaps = func() {}
	data := schema.BridgeData{Reason: ha.ReasonReleased, Detail: why, Leader: &schema.Leader{Epoch: r.epoch, Mode: string(h.cfg.Mode)}}
	if h.cfg.Mode == ha.ModeCold || !handOver {
		data.Gap = h.takeOpenGap()
	}
	b.emitBridge(schema.EvLeaderLost, data)
	fctx, cancel := context.WithTimeout(ctx, b.cfg.DrainTimeout)
	if err := b.pub.Flush(fctx); err != nil {
		h.log.Error().Err(err).Msg("release: flush incomplete; the lease is released anyway (the successor's takeover covers what is missing)")
	}
	cancel()
	r.demote(ctx, lease.ReasonReleased)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	r.el.Release(rctx)
	cancel()
}

// lost ends the tenure when the lease is lost (expired, taken, fenced):
// nothing more is published, and a cold member closes its provider at once.
func (r *haRun) lost(ctx context.Context, c lease.Change) {
	if c.Reason == lease.ReasonReleased {
		return // release() did the rest
	}
	r.h.log.Warn().Uint64("epoch", c.Epoch).Str("reason", string(c.Reason)).
		Msg("tenure over: no more publishing" + map[bool]string{true: "; closing the provider (APPLICATIONREQUEST)", false: ""}[r.h.cfg.Mode == ha.ModeCold])
	r.demote(ctx, c.Reason)
}

// demote returns to standby.
func (r *haRun) demote(ctx context.Context, reason lease.Reason) {
	h, b := r.h, r.b
	wasActive := h.way.Swap(routeDrop) != routeDrop
	if r.waitTimer != nil {
		r.waitTimer.Stop()
		r.waitTimer, r.waitC = nil, nil
	}
	if n := b.pub.Suspend(); n > 0 {
		h.log.Warn().Int("unpublished", n).Msg("tenure over: events not published are left to the successor")
	}
	r.stopSnaps()
	r.stopSnaps = func() {}
	if h.cfg.Mode == ha.ModeCold {
		r.closeColdEngine(ctx, false)
	} else if eng := b.Engine(); eng != nil && r.engDone != nil {
		eng.SetPassive(true)
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_ = eng.NewEventSession(cctx, func(string) {
			h.window.Reset()
			h.way.Store(routeWindow)
		})
		cancel()
		r.startFollower()
	}
	if wasActive {
		b.metrics.haLost(string(reason))
		h.setInfo(func(i *haInfo) {
			i.Role, i.Epoch, i.Since, i.LastLoss = lease.Standby.String(), 0, time.Now(), string(reason)
			i.Demotions++
		})
	}
}

// closeColdEngine closes the tenure's provider (APPLICATIONREQUEST) and
// waits for it; campaigning pauses meanwhile, so that this instance never
// opens a second provider while its first is still closing.
func (r *haRun) closeColdEngine(ctx context.Context, publishing bool) {
	b := r.b
	eng := b.Engine()
	if eng == nil {
		return
	}
	if !publishing {
		r.h.way.Store(routeDrop)
	}
	r.el.SetCampaign(false)
	if err := eng.Close(); err != nil {
		b.log.Warn().Err(err).Msg("provider close")
	}
	if r.engDone != nil {
		select {
		case <-r.engDone:
		case <-ctx.Done():
		}
		r.engDone = nil
	}
	b.engine.Store(nil)
	if r.holdC == nil {
		r.el.SetCampaign(true)
	}
}

// closeHotEngine closes a hot member's provider while it still publishes
// (it stops with no standby in sync to hand over to).
func (r *haRun) closeHotEngine(ctx context.Context) {
	eng := r.b.Engine()
	if eng == nil || r.engDone == nil {
		return
	}
	if err := eng.Close(); err != nil {
		r.b.log.Warn().Err(err).Msg("provider close")
	}
	select {
	case <-r.engDone:
	case <-ctx.Done():
	}
	r.engDone = nil
}

// announce refreshes a hot standby's presence key while it is in sync:
// its provider in service and the log followed.
func (r *haRun) announce(ctx context.Context) {
	h := r.h
	if h.way.Load() != routeWindow || r.currentFollower() == nil {
		return
	}
	eng := r.b.Engine()
	if eng == nil || !eng.Ready() {
		return
	}
	actx, cancel := context.WithTimeout(ctx, r.el.LeaseConfig().RenewEvery/2)
	defer cancel()
	if err := ha.AnnounceStandby(actx, r.kv, r.cluster, r.b.cfg.Instance); err != nil {
		h.log.Debug().Err(err).Msg("hot standby: presence not written")
	}
}

// withdraw deletes this member's presence key (best effort).
func (r *haRun) withdraw() {
	if r.h.cfg.Mode != ha.ModeHot || r.kv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = ha.WithdrawStandby(ctx, r.kv, r.cluster, r.b.cfg.Instance)
}

// standbyInSync reports whether a hot standby could take over without a
// gap (see ha.StandbysInSync).
func (r *haRun) standbyInSync() bool {
	if r.h.cfg.Mode != ha.ModeHot {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	others, err := ha.StandbysInSync(ctx, r.kv, r.cluster, r.b.cfg.Instance)
	if err != nil {
		r.h.log.Warn().Err(err).Msg("stopping: cannot tell whether a hot standby is in sync; stopping with the provider closed")
		return false
	}
	r.h.log.Info().Strs("standbys", others).Msg("stopping: hot standbys in sync")
	return len(others) > 0
}

// startFollower follows the log while this member is a standby. A hot
// standby records what is stored (its window's matches); a cold standby
// folds it into the calls and devices the log holds, from the state at
// the end of the log when it starts, so that at takeover the last
// published state is at hand without reading the log again.
func (r *haRun) startFollower() {
	h := r.h
	if r.stream == nil {
		return
	}
	r.stopFollower()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var fold *coldFold
	if h.cfg.Mode == ha.ModeCold {
		fold = &coldFold{ready: make(chan struct{})}
	}
	follow := func() error {
		if fold == nil {
			from := ha.From{Time: time.Now().Add(-h.window.MaxAge())}
			f := ha.NewFollower(r.stream, r.cluster, from, func(_ uint64, ev *schema.Event) { h.window.Observe(ev, time.Now()) }, r.b.cfg.Logger)
			r.setFollower(f)
			h.following.Store(true)
			return f.Run(ctx)
		}
		st, res, err := r.foldLog(ctx, replaystore.Point{})
		if err != nil {
			return err
		}
		fold.st, fold.lastTime = st, res.LastTime
		f := ha.NewFollower(r.stream, r.cluster, ha.From{Seq: res.LastSeq + 1}, fold.observe, r.b.cfg.Logger)
		r.setFollower(f)
		close(fold.ready)
		h.following.Store(true)
		return f.Run(ctx)
	}
	go func() {
		defer close(done)
		if err := follow(); err != nil && ctx.Err() == nil {
			h.log.Error().Err(err).Msg("standby: following the log")
		}
	}()
	r.fold = fold
	r.stopFollow = func() {
		cancel()
		<-done
	}
}

func (r *haRun) setFollower(f *ha.Follower) {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	r.follower = f
}

func (r *haRun) currentFollower() *ha.Follower {
	r.fmu.Lock()
	defer r.fmu.Unlock()
	return r.follower
}

// foldLog folds the cluster's events up to p (the end of the log if zero).
func (r *haRun) foldLog(ctx context.Context, p replaystore.Point) (*callstate.State, replaystore.StateAtResult, error) {
	store, err := replaystore.NewFromConn(ctx, r.b.cfg.Conn, replaystore.Config{Stream: r.stream.CachedInfo().Config.Name, Logger: r.b.cfg.Logger})
	if err != nil {
		return nil, replaystore.StateAtResult{}, err
	}
	defer store.Close()
	return store.StateAt(ctx, r.cluster, p, nil)
}

// coldFold is a cold member's fold of the log. It runs for the
// member's whole life, also while it is active (folding its own events),
// so that it is current whenever the member takes over.
type coldFold struct {
	ready chan struct{} // closed once st holds the log's state

	mu       sync.Mutex // guards the following fields
	st       *callstate.State
	lastTime time.Time
	// capture, when set, receives the state as it was just before the
	// first event at or after captureAt (the epoch marker).
	captureAt uint64
	capture   chan folded
}

// folded is the fold's state at a marker.
type folded struct {
	calls    []uint32
	lastTime time.Time
}

func (f *coldFold) observe(seq uint64, ev *schema.Event) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.capture != nil && seq >= f.captureAt {
		f.capture <- folded{calls: callIDs(f.st), lastTime: f.lastTime}
		f.capture = nil
	}
	f.st.Apply(*ev)
	if ev.Time.After(f.lastTime) {
		f.lastTime = ev.Time
	}
}

// foldedBefore returns the calls the log held just before markerSeq, and
// the time of its last event, once the fold has read that far.
func (r *haRun) foldedBefore(ctx context.Context, markerSeq uint64) ([]uint32, time.Time, bool) {
	fold := r.fold
	if fold == nil {
		return nil, time.Time{}, false
	}
	select {
	case <-fold.ready:
	case <-ctx.Done():
		return nil, time.Time{}, false
	}
	ch := make(chan folded, 1)
	fold.mu.Lock()
	fold.captureAt, fold.capture = markerSeq, ch
	fold.mu.Unlock()
	select {
	case f := <-ch:
		return f.calls, f.lastTime, true
	case <-ctx.Done():
		fold.mu.Lock()
		fold.capture = nil
		fold.mu.Unlock()
		return nil, time.Time{}, false
	}
}

func callIDs(st *callstate.State) []uint32 {
	var ids []uint32
	for _, c := range st.Calls() {
		if id, err := strconv.ParseUint(c.ID, 10, 32); err == nil {
			ids = append(ids, uint32(id))
		}
	}
	return ids
}

func (r *haRun) stopFollower() {
	r.h.following.Store(false)
	if r.stopFollow != nil {
		r.stopFollow()
		r.stopFollow, r.fold = nil, nil
		r.setFollower(nil)
	}
}
