package bridge

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// DefaultStartWait bounds how long Run waits, while NATS is connected,
// for the stream to be provisioned and the restart check done before it
// opens the provider anyway (Config.StartWait).
const DefaultStartWait = 10 * time.Second

// eventLog lets the bridge start before its event log: the provisioner
// provisions the stream as soon as NATS (or a cluster's meta leader)
// answers, and until then the publisher is held and buffers. Its
// callbacks run on the provisioner's goroutine:
//
//   - the first time the stream is ready, the restart check reads the
//     previous run's last events (the publisher is still held, so none of
//     this run's are in the stream yet). If the provider has not opened
//     yet, the engine records the restart gap itself (SetPriorGap); if it
//     has — NATS came late — the bridge records it (GapOpened/GapClosed,
//     gap kind "restart"). Then the snapshotter starts;
//   - a stream deleted under the running bridge holds the publisher; once
//     recreated, a StreamRecreated record says what went with it;
//   - a new Raft leader of the stream is recorded (NATSLeaderChanged).
//
// Then the publisher is released. A member of a high-availability group
// waits for the first ready before it campaigns (runHA): the lease bucket
// and the stream its epoch marker goes to exist by then.
type eventLog struct {
	b    *Bridge
	prov *jetstream.Provisioner
	// ready is closed once the stream was first provisioned and checked.
	ready     chan struct{}
	readyOnce sync.Once

	mu            sync.Mutex // guards the following fields
	engineStarted bool       // Run opened the provider (the check is late)
	engineStartAt time.Time
	checked       bool
}

func newEventLog(b *Bridge, pc jetstream.ProvisionConfig) (*eventLog, error) {
	e := &eventLog{b: b, ready: make(chan struct{})}
	prov, err := jetstream.NewProvisioner(jetstream.ProvisionerConfig{
		Conn:            b.cfg.Conn,
		Provision:       pc,
		ConnError:       b.cfg.ConnError,
		OnReady:         e.onReady,
		OnLost:          e.onLost,
		OnLeaderChanged: e.onLeaderChanged,
		Logger:          b.cfg.Logger,
	})
	if err != nil {
		return nil, err
	}
	e.prov = prov
	b.pub.Hold()
	return e, nil
}

// waitForStart waits, before the provider opens, for the first ready
// while NATS is connected (bounded by wait): then the restart check runs
// before the engine and the engine records a restart gap its own way.
// With NATS unreachable it does not wait: the CTI side never waits for
// the event log.
func (e *eventLog) waitForStart(ctx context.Context, wait time.Duration) {
	if e.b.cfg.Conn.IsConnected() {
		t := time.NewTimer(wait)
		select {
		case <-e.ready:
		case <-ctx.Done():
		case <-t.C:
			e.b.log.Warn().Dur("waited", wait).Str("reason", e.prov.State().Reason).
				Msg("opening the provider before the event stream is ready; its events are buffered")
		}
		t.Stop()
	} else {
		e.b.log.Warn().Str("reason", e.prov.State().Reason).
			Msg("NATS is not reachable yet: opening the provider anyway; its events are buffered until the stream is provisioned")
	}
	e.mu.Lock()
	e.engineStarted, e.engineStartAt = true, time.Now()
	e.mu.Unlock()
}

func (e *eventLog) onReady(ctx context.Context, info jetstream.ReadyInfo) {
	e.mu.Lock()
	if !e.checked {
		e.checked = true
		if e.b.ha == nil {
			// A member of a high-availability group reads the
			// previous tenure at each takeover instead (ha_run.go).
			e.restartCheck(ctx)
		}
	}
	e.mu.Unlock()
	if info.Recreated {
		e.recordRecreated(info)
	}
	e.readyOnce.Do(func() {
		if e.b.ha == nil {
			e.b.snapshots.start() // a member runs them while active
		}
		close(e.ready)
	})
	e.b.pub.Release()
}

// restartCheck runs once, with e.mu held.
func (e *eventLog) restartCheck(ctx context.Context) {
	b := e.b
	prev, err := b.readPrevious(ctx)
	if err != nil {
		b.log.Warn().Err(err).Msg("could not read the previous run's last events: no restart gap is recorded if it was killed")
		return
	}
	g, open := priorGap(prev)
	if !open {
		return
	}
	if !e.engineStarted {
		b.log.Warn().Str("previous_instance", prev.instance).Time("last_event_at", g.OpenedAt).
			Msg("the previous run ended without an orderly stop: recording a provider gap from its last event until this run's snapshot")
		if err := b.Engine().SetPriorGap(g); err != nil {
			b.log.Error().Err(err).Msg("restart gap not recorded")
		}
		return
	}
	// The provider opened before NATS answered: this run's events since
	// then are buffered, and only the bridge can say what came before.
	closed := e.engineStartAt
	b.log.Warn().Str("previous_instance", prev.instance).Time("last_event_at", g.OpenedAt).Time("provider_opened_at", closed).
		Msg("the previous run ended without an orderly stop (found once NATS answered): recording a restart gap until this run's provider opened")
	gap := &schema.Gap{ID: b.cfg.Instance + "-restart", Kind: "restart", OpenedAt: g.OpenedAt, ClosedAt: &closed,
		DurationMs: closed.Sub(g.OpenedAt).Milliseconds(), Reason: g.Reason}
	detail := "this run's provider opened before NATS answered; what CTIManager reported between the previous run's last stored event and then is unknown"
	b.emitBridge(schema.EvGapOpened, schema.BridgeData{Reason: g.Reason, Detail: detail, Gap: gap})
	b.emitBridge(schema.EvGapClosed, schema.BridgeData{Reason: g.Reason, Detail: detail, Gap: gap})
}

func (e *eventLog) onLost(reason string) {
	e.b.pub.Hold()
}

func (e *eventLog) recordRecreated(info jetstream.ReadyInfo) {
	b := e.b
	now := time.Now()
	stream := b.cfg.streamName()
	gap := &schema.Gap{ID: fmt.Sprintf("%s-stream-%d", b.cfg.Instance, now.UnixNano()), Kind: "stream",
		OpenedAt: info.LostAt, ClosedAt: &now, DurationMs: now.Sub(info.LostAt).Milliseconds(), Reason: "stream deleted"}
	b.emitBridge(schema.EvStreamRecreated, schema.BridgeData{
		Reason: "stream deleted",
		Detail: fmt.Sprintf("stream %s was deleted (last seen at sequence %d) and recreated: the events stored before are gone with it; "+
			"nothing published since was lost (publishing was held, then resumed)", stream, info.LostLastSeq),
		Gap:  gap,
		NATS: &schema.NATSData{Stream: stream, LostLastSeq: info.LostLastSeq},
	})
}

func (e *eventLog) onLeaderChanged(ch jetstream.LeaderChange) {
	nd := &schema.NATSData{Stream: ch.Stream, Leader: ch.To, PreviousLeader: ch.From}
	for _, r := range ch.Replicas {
		nd.Replicas = append(nd.Replicas, schema.NATSPeer{Name: r.Name, Current: r.Current})
	}
	e.b.emitBridge(schema.EvNATSLeaderChanged, schema.BridgeData{Reason: "leader election", NATS: nd})
}

// state is the provisioner's state (for /readyz and /status).
func (e *eventLog) state() jetstream.ProvisionState { return e.prov.State() }
