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

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

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

	engDone    chan error // the running engine's Run result (nil: none)
	stopEngine context.CancelFunc
	stopFollow context.CancelFunc
	fmu        sync.Mutex // guards follower (set by the follower's goroutine)
	follower   *ha.Follower
	fold       *coldFold
	stopSnaps  func()
	waitTimer  *time.Timer // cold: the wait before opening the provider
	waitC      <-chan time.Time
	pendingGap ctiengine.PriorGap
	holdC      <-chan time.Time
	epoch      uint64
	acquiredAt time.Time
	// followFrom is where the next hot follower starts (zero: the
	// window's age back from now); set at a cut, used once.
	followFrom  ha.From
	startedOnce bool
	// announcedAt is when the presence key was last written (unix ns; 0:
	// not announced, or withdrawn since). Atomic: the takeover withdraws
	// from a goroutine of its own.
	announcedAt atomic.Int64
}

// runHA is Run for a member of a high-availability group.
func (b *Bridge) runHA(ctx context.Context) error {
	h := b.ha
	stopPublisher, stopOps := b.startServices()
	defer stopOps()
	defer stopPublisher()

	stopEventLog := b.startEventLog()
	defer stopEventLog()
	if b.elog != nil {
		// Neither campaign nor publish before the stream and the lease
		// bucket exist: the epoch marker goes to the stream.
		select {
		case <-b.elog.ready:
		case <-ctx.Done():
			return nil
		}
	}

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
	stopView := r.startStateView()
	defer stopView()
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
		t := time.NewTicker(presenceCheckEvery(r.el.LeaseConfig().RenewEvery))
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
			why := stopReason(ctx)
			b.log.Info().Str("reason", why.Reason).Str("detail", why.Detail).Msg("stopping: handing the lease over in order")
			if h.way.Load() == routePublish {
				b.emitBridge(schema.EvBridgeStopping, schema.BridgeData{Reason: why.Reason, Detail: why.Detail})
				handOver := r.standbyInSync()
				r.release(context.Background(), "stopping", handOver)
				if handOver {
					r.confirmHandOver()
				}
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
	stopPublisher()
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
	stream := b.cfg.streamName()
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
	b.pub.SetFence(jetstream.Fence{Subject: ha.EpochSubject(r.cluster), Seq: seq, Epoch: c.Epoch,
		Replicated: r.stream.CachedInfo().Config.Replicas > 1})
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
	if g := r.pendingGap; g.ID != "" {
		// The predecessor's open gap is this tenure's now (the engine
		// closes it, with no GapOpened of its own): an orderly release
		// before the provider opens names it in LeaderLost too, so that
		// the next tenure closes it rather than leave it open and record
		// a takeover gap of its own.
		h.adoptOpenGap(&schema.Gap{ID: g.ID, Kind: "provider", OpenedAt: g.OpenedAt, Reason: g.Reason})
	}
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

// abandon ends a tenure whose takeover had begun and could not complete
// (a hot member's session cut and its events held, a cold member's
// routing set to publish): the lease is given back and the member is a
// standby again. A hot member keeps everything it observed — the events
// it held go into its window (haState.endHold), its follower goes on — so
// that whoever takes over next loses nothing: the previous active, from
// its own window, or this member, from its. giveBack alone left it
// holding (lost() leaves a released lease to release(), which this is
// not): /status said active, its engine stayed non-passive, and every
// event it observed was held for a later takeover to publish, stale.
func (r *haRun) abandon(ctx context.Context) {
	h, b := r.h, r.b
	r.giveBack(ctx)
	if h.cfg.Mode != ha.ModeHot {
		r.demote(ctx, lease.ReasonReleased)
		return
	}
	h.endHold()
	r.stopPublishing("takeover abandoned")
	if eng := b.Engine(); eng != nil {
		eng.SetPassive(true)
	}
	r.recordDemotion(lease.ReasonReleased)
}

// stopPublishing ends what a tenure publishes: the takeover's filters are
// dropped and the publisher suspended (what it still buffers is left to
// the successor).
func (r *haRun) stopPublishing(why string) {
	h := r.h
	h.behind.Store(nil)
	h.shift.Store(nil)
	if n := r.b.pub.Suspend(); n > 0 {
		h.log.Warn().Int("unpublished", n).Msg(why + ": events not published are left to the successor")
	}
}

// recordDemotion counts the end of a tenure and shows the member as a
// standby in /status.
func (r *haRun) recordDemotion(reason lease.Reason) {
	r.b.metrics.haLost(string(reason))
	r.h.setInfo(func(i *haInfo) {
		i.Role, i.Epoch, i.Since, i.LastLoss = lease.Standby.String(), 0, time.Now(), string(reason)
		i.Demotions++
	})
}

// release hands the lease over in order (shutdown, step-down, fatal
// provider end): the tenure's events are all stored, then LeaderLost
// (released), then the lease is deleted. Two ways:
//
//   - Handing over to a hot standby (handOver, hot mode), the member keeps
//     its provider: it cuts its event session, so that what the engine
//     produces from then on is kept in its window, not published (its
//     successor publishes those changes, recovered, from its own window),
//     and waits until everything enqueued before the cut is stored. The
//     log then holds the tenure's events without a hole up to the cut: the
//     successor's takeover rule (the last change the log holds is its
//     watermark, everything it observed later is recovered) finds every
//     change the tenure did not store after that watermark. Flushing for
//     a fixed time instead, and dropping the rest, lost changes that
//     straddled the watermark: an event stuck in a resend while later ones
//     were stored lay before the watermark and was neither stored nor
//     recovered.
//   - Otherwise the member closes its provider first (its last events and
//     the gap that opens are enqueued), and LeaderLost names the open gap
//     for the successor to close.
//
// The flush waits for as long as the stream takes messages (a busy server,
// the burst of a provider just opened), not a fixed time: nothing new is
// enqueued after the cut or the close. A LeaderLost stored after a partial
// flush would tell the successor that the tenure ended in order while some
// of its last events were dropped with the publisher's buffer: lost
// without a gap. So when the flush cannot complete (the stream takes
// nothing for DrainTimeout), no LeaderLost is published: the successor
// finds the tenure unreleased and takes over as after a crash (a takeover
// gap from the last stored event, or, hot, its window from its watermark).
func (r *haRun) release(ctx context.Context, why string, handOver bool) {
	h, b := r.h, r.b
	hotHandOver := h.cfg.Mode == ha.ModeHot && handOver
	switch {
	case h.cfg.Mode == ha.ModeCold:
		r.closeColdEngine(ctx, true)
	case !handOver:
		r.closeHotEngine(ctx)
	default:
		r.cutForHandOver(ctx)
	}
	r.stopSnaps()
	r.stopSnaps = func() {}
	data := schema.BridgeData{Reason: ha.ReasonReleased, Detail: why, Leader: &schema.Leader{Epoch: r.epoch, Mode: string(h.cfg.Mode)}}
	if !hotHandOver {
		data.Gap = h.takeOpenGap()
	}
	if err := b.pub.FlushProgressing(ctx, b.cfg.DrainTimeout); err != nil {
		h.log.Error().Err(err).Uint64("epoch", r.epoch).
			Msg("release: the tenure's last events could not all be stored; no LeaderLost (released): the successor takes over as after a crash")
	} else {
		// Published directly: during a hot hand-over the member is past its
		// cut (emitBridge publishes only in routePublish).
		b.publishEvent(b.bridgeEvent(schema.EvLeaderLost, data, time.Now()))
		if err := b.pub.FlushProgressing(ctx, b.cfg.DrainTimeout); err != nil {
			h.log.Error().Err(err).Msg("release: LeaderLost not stored; the lease is released anyway (the successor finds the tenure unreleased)")
		}
	}
	r.demote(ctx, lease.ReasonReleased)
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	r.el.Release(rctx)
	cancel()
}

// confirmHandOver makes sure that somebody took over from a hot member
// that stopped by handing over, keeping its provider: only its successor
// publishes what the member observes after its cut. The presence key
// that said a standby was in sync outlives a standby that died, by up to
// the bucket's TTL; nobody then takes the lease, and the changes after
// the cut would be in no log and no gap (found by a loaded run of the
// abandoned-takeover test: its standby was killed a second before the
// active stopped, and 1–63 changes were lost that way). So the member
// waits, at most a campaign period and a second, for the lease to be
// taken; if it is not, it takes the lease back itself — its own hot
// takeover publishes what it observed since its cut, recovered, from its
// window — and stops with its provider closed, LeaderLost naming the gap
// for the next tenure to close. The watch only ends the wait early: the
// lease is taken back with Create, which fails if a successor holds it.
func (r *haRun) confirmHandOver() {
	h := r.h
	bound := r.el.LeaseConfig().CampaignEvery + time.Second
	wctx, cancel := context.WithTimeout(context.Background(), bound)
	err := ha.AwaitHolder(wctx, r.kv, r.cluster)
	cancel()
	if err == nil {
		return
	}
	h.log.Warn().Err(err).Dur("waited", bound).
		Msg("stopping: no standby took the lease over; taking it back to publish what this bridge observed since its hand-over, then stopping with the provider closed")
	r.el.SetCampaign(true)
	timeout := time.NewTimer(bound)
	defer timeout.Stop()
	for {
		select {
		case c := <-r.el.Changes():
			if c.Kind != lease.Acquired {
				continue
			}
			r.acquired(context.Background(), c)
			if h.way.Load() == routePublish {
				r.release(context.Background(), "stopping: no standby took over", false)
			}
			return
		case <-timeout.C:
			r.el.SetCampaign(false)
			h.log.Warn().Msg("stopping: the lease was not taken back (another member holds it, or NATS did not answer); stopping")
			return
		}
	}
}

// streamEnd is where a standby's follower starts after the cut that
// follows: the window then holds only changes the engine reads after the
// cut, which any bridge stores after the stream's present end, so the
// follower need not read the last ha.hotWindow of the log again (under
// load, re-reading tens of seconds of events at every hand-over made each
// take longer than the last). Asked before the cut, so that a change the
// active stored the moment after is not missed; zero (follow from the
// window's age) when the stream does not answer.
func (r *haRun) streamEnd(ctx context.Context) ha.From {
	if r.stream == nil {
		return ha.From{}
	}
	info, err := r.stream.Info(ctx)
	if err != nil {
		r.h.log.Debug().Err(err).Msg("standby: the stream's end is unknown; following from the window's age")
		return ha.From{}
	}
	return ha.From{Seq: info.State.LastSeq + 1}
}

// cutForHandOver starts a hot active's hand-over: a new event session
// whose events go to the window (routeRelease) while the publisher still
// sends what came before.
func (r *haRun) cutForHandOver(ctx context.Context) {
	h, b := r.h, r.b
	eng := b.Engine()
	if eng == nil || r.engDone == nil {
		h.way.Store(routeRelease)
		return
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	r.followFrom = r.streamEnd(cctx)
	err := eng.NewEventSession(cctx, func(string) {
		h.window.Reset()
		h.way.Store(routeRelease)
	})
	if err != nil {
		// The engine stopped (or did not answer): nothing more comes from
		// it; what it produced is enqueued.
		h.log.Warn().Err(err).Msg("release: the event session could not be cut")
		h.way.Store(routeRelease)
	}
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
	if h.cfg.Mode == ha.ModeHot && h.way.Load() == routeWindow {
		// A standby already: its takeover was abandoned (abandon) because
		// the lease was lost meanwhile, which is told only now.
		h.setInfo(func(i *haInfo) { i.LastLoss = string(reason) })
		return
	}
	var was int32
	if h.cfg.Mode == ha.ModeHot && h.way.Load() == routeRelease {
		// Cut already (a hot hand-over): the window keeps what comes.
		was = h.way.Swap(routeWindow)
	} else {
		was = h.way.Swap(routeDrop)
	}
	wasActive := was != routeDrop
	if r.waitTimer != nil {
		r.waitTimer.Stop()
		r.waitTimer, r.waitC = nil, nil
	}
	r.stopPublishing("tenure over")
	r.stopSnaps()
	r.stopSnaps = func() {}
	if h.cfg.Mode == ha.ModeCold {
		r.closeColdEngine(ctx, false)
	} else if eng := b.Engine(); eng != nil && r.engDone != nil {
		eng.SetPassive(true)
		if was != routeRelease {
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			r.followFrom = r.streamEnd(cctx)
			_ = eng.NewEventSession(cctx, func(string) {
				h.window.Reset()
				h.way.Store(routeWindow)
			})
			cancel()
		}
		r.startFollower()
	}
	if wasActive {
		r.recordDemotion(reason)
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

// presenceCheckEvery is how often a hot standby looks whether it is in
// sync: a quarter of the renewal period (at least 100 ms), so that one
// that falls out of sync withdraws its presence key within that time,
// not after the bucket's TTL. The key itself is written once a renewal
// period.
func presenceCheckEvery(renew time.Duration) time.Duration {
	return max(renew/4, 100*time.Millisecond)
}

// announce keeps a hot standby's presence key true: refreshed every
// renewal period while the member is in sync (its provider in service
// and the log followed), deleted as soon as it is not. A standby whose
// link to CTI failed cannot report what the active observes after a
// hand-over; with its key gone, an active that stops finds nobody in
// sync and stops like a cold member, its provider closed and the gap
// recorded, instead of handing its session over to it.
func (r *haRun) announce(ctx context.Context) {
	h := r.h
	if h.way.Load() != routeWindow {
		return
	}
	eng := r.b.Engine()
	providerUp, followed := eng != nil && eng.Ready(), r.currentFollower() != nil
	inSync := providerUp && followed
	last := r.announcedAt.Load()
	renew := r.el.LeaseConfig().RenewEvery
	if !inSync {
		if last == 0 {
			return
		}
		if err := r.withdrawWithin(ctx, renew/2); err != nil {
			// Tried again at the next check; the key would otherwise
			// say "in sync" until the bucket's TTL.
			r.announcedAt.Store(last)
			h.log.Debug().Err(err).Msg("hot standby: out of sync, presence not withdrawn yet")
			return
		}
		h.log.Warn().Bool("provider_in_service", providerUp).Bool("log_followed", followed).
			Msg("hot standby: out of sync, presence withdrawn: an active that stops now will not hand over to this member")
		return
	}
	now := time.Now()
	if last != 0 && now.Sub(time.Unix(0, last)) < renew {
		return
	}
	actx, cancel := context.WithTimeout(ctx, renew/2)
	defer cancel()
	if err := ha.AnnounceStandby(actx, r.kv, r.cluster, r.b.cfg.Instance); err != nil {
		h.log.Debug().Err(err).Msg("hot standby: presence not written")
		return
	}
	if last == 0 {
		h.log.Info().Msg("hot standby: in sync, presence announced")
	}
	r.announcedAt.Store(now.UnixNano())
}

// withdraw deletes this member's presence key (best effort: a key left
// behind expires with the bucket's TTL).
func (r *haRun) withdraw() {
	if err := r.withdrawWithin(context.Background(), 2*time.Second); err != nil {
		r.h.log.Debug().Err(err).Msg("hot standby: presence not withdrawn (it expires with the bucket's TTL)")
	}
}

// withdrawWithin deletes this member's presence key, waiting at most d.
func (r *haRun) withdrawWithin(ctx context.Context, d time.Duration) error {
	if r.h.cfg.Mode != ha.ModeHot || r.kv == nil {
		return nil
	}
	r.announcedAt.Store(0)
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	return ha.WithdrawStandby(ctx, r.kv, r.cluster, r.b.cfg.Instance)
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
