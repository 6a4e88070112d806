package bridge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// RestartGapReason starts the reason of the provider gap a bridge records
// when the previous run on the same stream and cluster ended without an
// orderly stop (killed, crashed, power lost).
const RestartGapReason = "bridge restart"

// previousRun is what the stream says about the last bridge run of the
// cluster: its last event and whether it published its orderly-stop pair
// (BridgeStopping and ProvShutdownEv).
type previousRun struct {
	instance string
	last     schema.Event
	lastAt   time.Time // the last event's time (its stored time if it has none)
	stopping bool      // BridgeStopping of that run
	shutdown bool      // ProvShutdownEv of that run
}

// priorGap decides from the previous run whether this run starts inside a
// gap: nothing is known of what CTIManager reported between the previous
// run's last stored event and this run unless that run stopped in order.
func priorGap(prev *previousRun) (ctiengine.PriorGap, bool) {
	if prev == nil || (prev.stopping && prev.shutdown) {
		return ctiengine.PriorGap{}, false
	}
	return ctiengine.PriorGap{
		Reason:   fmt.Sprintf("%s: previous run %s ended without an orderly stop", RestartGapReason, prev.instance),
		OpenedAt: prev.lastAt,
	}, true
}

// instanceOf names the bridge run an event belongs to: the instance of
// bridge records, else its session without the engine ("-p<N>"), bridge
// ("-b") or publisher ("-pub") suffix.
func instanceOf(ev *schema.Event) string {
	if b := ev.Data.Bridge; b != nil && b.Instance != "" {
		return b.Instance
	}
	if i := strings.LastIndexByte(ev.Session, '-'); i > 0 {
		return ev.Session[:i]
	}
	return ev.Session
}

// readPreviousRun reads the last events of the cluster's subjects: the
// very last one, the last BridgeStopping and the last ProvShutdownEv. A
// stream without events of the cluster gives nil.
func readPreviousRun(ctx context.Context, js natsjs.JetStream, stream, cluster string) (*previousRun, error) {
	return readPreviousRunBefore(ctx, js, stream, cluster, 0)
}

// readPreviousRunBefore is readPreviousRun looking only at the messages
// before stream sequence before (0: all): a high-availability bridge reads
// the log as it was when it wrote its epoch marker.
func readPreviousRunBefore(ctx context.Context, js natsjs.JetStream, stream, cluster string, before uint64) (*previousRun, error) {
	s, err := js.Stream(ctx, stream)
	if err != nil {
		return nil, err
	}
	last := func(subject string) (*schema.Event, time.Time, error) {
		return decodeStored(s.GetLastMsgForSubject(ctx, subject))
	}
	var ev *schema.Event
	var stored time.Time
	if before == 0 {
		ev, stored, err = last(schema.ClusterFilter(cluster))
	} else if before > 1 {
		ev, stored, err = eventAt(ctx, s, before-1)
	}
	if err != nil || ev == nil {
		return nil, err
	}
	prev := &previousRun{instance: instanceOf(ev), last: *ev, lastAt: ev.Time}
	if prev.lastAt.IsZero() {
		prev.lastAt = stored
	}
	stopping, _, err := last(schema.Subject(cluster, &schema.Event{Family: schema.FamilyBridge, Name: schema.EvBridgeStopping}))
	if err != nil {
		return nil, err
	}
	prev.stopping = stopping != nil && instanceOf(stopping) == prev.instance
	shutdown, _, err := last(schema.Subject(cluster, &schema.Event{Family: schema.FamilyProvider, Name: schema.EvProvShutdown}))
	if err != nil {
		return nil, err
	}
	prev.shutdown = shutdown != nil && instanceOf(shutdown) == prev.instance
	return prev, nil
}

// eventAt reads and decodes the message at seq (nil if it is gone).
func eventAt(ctx context.Context, s natsjs.Stream, seq uint64) (*schema.Event, time.Time, error) {
	return decodeStored(s.GetMsg(ctx, seq))
}

// decodeStored decodes a message read from the stream (nil, no error, if
// there was none).
func decodeStored(m *natsjs.RawStreamMsg, err error) (*schema.Event, time.Time, error) {
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return nil, time.Time{}, nil
	}
	if err != nil {
		return nil, time.Time{}, err
	}
	_, ev, err := schema.Decode(m.Header, m.Data)
	if err != nil {
		return nil, time.Time{}, fmt.Errorf("stream seq %d: %w", m.Sequence, err)
	}
	return &ev, m.Time, nil
}

// streamName is the event stream (Config.Stream, default "CTI").
func (c Config) streamName() string {
	if c.Stream != "" {
		return c.Stream
	}
	return jetstream.DefaultStream
}

// readPrevious reads the previous run of this cluster from the stream,
// bounded to 5 s: the bridge must not refuse to start because NATS is
// slow.
func (b *Bridge) readPrevious(ctx context.Context) (*previousRun, error) {
	js, err := natsjs.New(b.cfg.Conn)
	if err != nil {
		return nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	prev, err := readPreviousRun(rctx, js, b.cfg.streamName(), b.enc.Cluster())
	if err != nil {
		return nil, fmt.Errorf("stream %s: %w", b.cfg.streamName(), err)
	}
	return prev, nil
}

// checkPreviousRun opens a restart gap in the engine when the previous run
// of this cluster on the stream ended without an orderly stop. It serves a
// bridge that does not provision the stream itself (Config.Provision nil);
// otherwise the event log does the check once the stream is ready
// (eventlog.go). If reading fails the bridge starts without the check and
// says so.
func (b *Bridge) checkPreviousRun(ctx context.Context) {
	prev, err := b.readPrevious(ctx)
	if err == nil {
		if g, open := priorGap(prev); open {
			b.log.Warn().Str("previous_instance", prev.instance).Time("last_event_at", g.OpenedAt).
				Msg("the previous run ended without an orderly stop: recording a provider gap from its last event until this run's snapshot")
			err = b.Engine().SetPriorGap(g)
		}
	}
	if err != nil {
		b.log.Warn().Err(err).Msg("could not read the previous run's last events: no restart gap is recorded if it was killed")
	}
}
