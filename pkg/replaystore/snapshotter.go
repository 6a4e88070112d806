package replaystore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Snapshotter defaults.
const (
	DefaultSnapshotEvery    = 10_000
	DefaultSnapshotInterval = time.Minute
)

// SnapshotterConfig configures a Snapshotter.
type SnapshotterConfig struct {
	// Conn is the NATS connection (required).
	Conn *nats.Conn
	// Cluster is the CUCM cluster whose events are folded (required).
	Cluster string
	// Stream is the event stream; default "CTI".
	Stream string
	// SnapshotStream is the snapshot stream, created if missing; default
	// "CTI_SNAPSHOTS" with subjects "ctisnap.>".
	SnapshotStream string
	// Every writes a snapshot after this many events; default 10,000.
	Every int
	// Interval writes a snapshot when events arrived and this much time
	// passed since the last one; default 1 minute, negative disables.
	Interval time.Duration
	// Replicas of the snapshot stream when it is created; default 1.
	Replicas int
	// MaxAge of the snapshot stream when it is created; default the event
	// stream's MaxAge (snapshots older than the events are useless).
	MaxAge time.Duration
	// OnSnapshot, if set, is told about every snapshot stored. It runs on
	// the Snapshotter's goroutine and must not block.
	OnSnapshot func(SnapshotInfo)
	// Logger receives progress and problems; default zerolog.Nop().
	Logger zerolog.Logger
}

func (c *SnapshotterConfig) setDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.SnapshotStream == "" {
		c.SnapshotStream = DefaultSnapshotStream
	}
	if c.Every == 0 {
		c.Every = DefaultSnapshotEvery
	}
	if c.Interval == 0 {
		c.Interval = DefaultSnapshotInterval
	}
	if c.Replicas == 0 {
		c.Replicas = 1
	}
}

// Validate reports every problem with the settings as NewSnapshotter
// applies them (zero values take their defaults). The connection is
// NewSnapshotter's to check, so settings can be validated before one
// exists.
func (c *SnapshotterConfig) Validate() error {
	d := *c
	d.setDefaults()
	return d.validate()
}

func (c *SnapshotterConfig) validate() error {
	var errs []error
	if c.Cluster == "" {
		errs = append(errs, errors.New("replaystore: SnapshotterConfig.Cluster is required: name the CUCM cluster whose events to fold"))
	}
	if c.Every < 0 {
		errs = append(errs, fmt.Errorf("replaystore: SnapshotterConfig.Every %d is negative: use 0 for the default (%d)", c.Every, DefaultSnapshotEvery))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("replaystore: SnapshotterConfig.Replicas %d: use 1..5", c.Replicas))
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("replaystore: SnapshotterConfig.MaxAge %s is negative: use 0 for the event stream's", c.MaxAge))
	}
	if !validStreamName(c.Stream) || !validStreamName(c.SnapshotStream) {
		errs = append(errs, fmt.Errorf("replaystore: SnapshotterConfig stream names %q / %q: no spaces, '.', '*', '>', '/' or '\\'", c.Stream, c.SnapshotStream))
	}
	return errors.Join(errs...)
}

// Snapshotter folds a cluster's events as they are stored and writes the
// folded state to the snapshot stream every Every events or Interval, so
// that a point-in-time rebuild reads only the events after the nearest
// snapshot. It resumes from its latest snapshot when restarted.
type Snapshotter struct {
	cfg SnapshotterConfig
	log zerolog.Logger
}

// NewSnapshotter validates cfg. It starts nothing: call Run.
func NewSnapshotter(cfg SnapshotterConfig) (*Snapshotter, error) {
	cfg.setDefaults()
	err := cfg.validate()
	if cfg.Conn == nil {
		err = errors.Join(errors.New("replaystore: SnapshotterConfig.Conn is required: give a NATS connection"), err)
	}
	if err != nil {
		return nil, configError{err}
	}
	return &Snapshotter{cfg: cfg, log: cfg.Logger.With().Str("component", "snapshotter").Str("cluster", cfg.Cluster).Logger()}, nil
}

// EnsureSnapshotStream creates the snapshot stream if it does not exist
// (idempotent). An existing stream is used as it is; a subject mismatch is
// reported as an error.
func EnsureSnapshotStream(ctx context.Context, js natsjs.JetStream, name string, replicas int, maxAge time.Duration) (natsjs.Stream, error) {
	want := SnapshotSubjectRoot + ".>"
	st, err := js.Stream(ctx, name)
	if err == nil {
		if subj := st.CachedInfo().Config.Subjects; !slices.Contains(subj, want) {
			return nil, fmt.Errorf("replaystore: stream %s exists with subjects %v, not %s: delete it or name another SnapshotStream", name, subj, want)
		}
		return st, nil
	}
	if !errors.Is(err, natsjs.ErrStreamNotFound) {
		return nil, fmt.Errorf("replaystore: snapshot stream %s: %w", name, err)
	}
	cfg := natsjs.StreamConfig{
		Name:        name,
		Description: "ctibridge folded-state snapshots (pkg/replaystore)",
		Subjects:    []string{want},
		Retention:   natsjs.LimitsPolicy,
		Storage:     natsjs.FileStorage,
		Replicas:    replicas,
		MaxAge:      maxAge,
		Discard:     natsjs.DiscardOld,
		AllowDirect: true,
	}
	if maxAge > 0 && maxAge < 2*time.Minute {
		cfg.Duplicates = maxAge
	}
	st, err = js.CreateStream(ctx, cfg)
	if errors.Is(err, natsjs.ErrStreamNameAlreadyInUse) {
		return js.Stream(ctx, name) // created concurrently
	}
	if err != nil {
		return nil, fmt.Errorf("replaystore: create snapshot stream %s: %w", name, err)
	}
	return st, nil
}

// Run folds events and writes snapshots until ctx ends; then it writes a
// last snapshot of what it folded since the previous one and returns nil.
// It waits for the event stream to exist.
func (sn *Snapshotter) Run(ctx context.Context) error {
	js, err := natsjs.New(sn.cfg.Conn)
	if err != nil {
		return fmt.Errorf("replaystore: jetstream: %w", err)
	}
	events, err := sn.waitStream(ctx, js)
	if err != nil || events == nil {
		return err
	}
	maxAge := sn.cfg.MaxAge
	if maxAge == 0 {
		maxAge = events.CachedInfo().Config.MaxAge
	}
	if _, err := EnsureSnapshotStream(ctx, js, sn.cfg.SnapshotStream, sn.cfg.Replicas, maxAge); err != nil {
		return err
	}
	store := &Store{cfg: Config{Stream: sn.cfg.Stream, SnapshotStream: sn.cfg.SnapshotStream}, log: sn.log, js: js, stream: events}
	st, from, latest := sn.resume(ctx, store)

	r := &snapRun{sn: sn, js: js, st: st, lastSeq: from, latest: latest, lastSnap: time.Now()}
	cons, err := events.OrderedConsumer(ctx, natsjs.OrderedConsumerConfig{
		FilterSubjects:    []string{ClusterSubjects(sn.cfg.Cluster)},
		DeliverPolicy:     natsjs.DeliverByStartSequencePolicy,
		OptStartSeq:       from + 1,
		InactiveThreshold: time.Minute,
	})
	if err != nil {
		return fmt.Errorf("replaystore: snapshotter consumer: %w", err)
	}
	it, err := cons.Messages(natsjs.PullMaxMessages(1000))
	if err != nil {
		return fmt.Errorf("replaystore: snapshotter consume: %w", err)
	}
	defer it.Stop()
	for {
		wait := time.Hour
		if sn.cfg.Interval > 0 {
			wait = max(time.Until(r.lastSnap.Add(sn.cfg.Interval)), 10*time.Millisecond)
		}
		nctx, cancel := context.WithTimeout(ctx, wait)
		m, err := it.Next(natsjs.NextContext(nctx))
		cancel()
		if ctx.Err() != nil {
			return r.final()
		}
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) {
				if sn.cfg.Interval > 0 && r.dirty > 0 && time.Since(r.lastSnap) >= sn.cfg.Interval {
					if err := r.write(ctx); err != nil {
						sn.log.Warn().Err(err).Msg("snapshot not written; retrying later")
					}
				}
				continue
			}
			return fmt.Errorf("replaystore: snapshotter read: %w", err)
		}
		r.apply(m)
		due := r.dirty >= sn.cfg.Every && sn.cfg.Every > 0 ||
			sn.cfg.Interval > 0 && r.dirty > 0 && time.Since(r.lastSnap) >= sn.cfg.Interval
		if due {
			if err := r.write(ctx); err != nil {
				if ctx.Err() != nil {
					return r.final()
				}
				sn.log.Warn().Err(err).Msg("snapshot not written; retrying later")
			}
		}
	}
}

func (sn *Snapshotter) waitStream(ctx context.Context, js natsjs.JetStream) (natsjs.Stream, error) {
	for delay := 100 * time.Millisecond; ; delay = min(2*delay, 5*time.Second) {
		events, err := js.Stream(ctx, sn.cfg.Stream)
		if err == nil {
			return events, nil
		}
		if ctx.Err() != nil {
			return nil, nil
		}
		sn.log.Debug().Err(err).Msg("event stream not available yet")
		select {
		case <-ctx.Done():
			return nil, nil
		case <-time.After(delay):
		}
	}
}

// resume restores the latest snapshot, or starts from scratch. It returns
// the state, the last sequence folded and the latest EventTime folded.
func (sn *Snapshotter) resume(ctx context.Context, store *Store) (*callstate.State, uint64, time.Time) {
	snaps, err := store.Snapshots(ctx, sn.cfg.Cluster)
	if err != nil || len(snaps) == 0 {
		return callstate.New(), 0, time.Time{}
	}
	last := snaps[len(snaps)-1]
	st, err := store.LoadSnapshot(ctx, last)
	if err != nil {
		sn.log.Warn().Err(err).Uint64("seq", last.Seq).Msg("latest snapshot unusable; folding the log from the start")
		return callstate.New(), 0, time.Time{}
	}
	sn.log.Info().Uint64("seq", last.Seq).Msg("resuming from snapshot")
	latest := last.Time
	if t := st.Stats().LastTime; t.After(latest) {
		latest = t
	}
	return st, last.Seq, latest
}

// snapRun is the state of one Run.
type snapRun struct {
	sn       *Snapshotter
	js       natsjs.JetStream
	st       *callstate.State
	lastSeq  uint64
	stored   time.Time
	latest   time.Time // the latest EventTime folded
	dirty    int
	lastSnap time.Time
	bad      uint64
}

func (r *snapRun) apply(m natsjs.Msg) {
	md, err := m.Metadata()
	if err != nil {
		return
	}
	r.lastSeq = md.Sequence.Stream
	r.stored = md.Timestamp
	r.dirty++
	_, ev, err := schema.Decode(m.Headers(), m.Data())
	if err != nil {
		r.bad++
		return
	}
	r.st.Apply(ev)
	if at := EventTime(&ev); at.After(r.latest) {
		r.latest = at
	}
}

func (r *snapRun) final() error {
	if r.dirty == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := r.write(ctx); err != nil {
		return fmt.Errorf("replaystore: final snapshot: %w", err)
	}
	return nil
}

// write stores the current state as a snapshot covering lastSeq.
func (r *snapRun) write(ctx context.Context) error {
	cfg := r.sn.cfg
	body, err := encodeSnapshot(r.st)
	if err != nil {
		return err
	}
	// Leave room for the headers within the server's max_payload.
	maxPayload := int(cfg.Conn.MaxPayload())
	partMax := maxPayload - min(16<<10, maxPayload/4)
	if partMax < 1<<10 {
		partMax = 1 << 10
	}
	var parts [][]byte
	for len(body) > partMax {
		parts = append(parts, body[:partMax])
		body = body[partMax:]
	}
	parts = append(parts, body)
	subject := SnapshotSubject(cfg.Cluster)
	info := SnapshotInfo{Cluster: cfg.Cluster, Seq: r.lastSeq, Time: r.latest, Stored: r.stored, Events: r.st.Stats().Events}
	var seqs []string
	for i, p := range parts {
		msg := nats.NewMsg(subject)
		msg.Data = p
		h := msg.Header
		h.Set(HeaderSnapVersion, snapFormat)
		h.Set(HeaderSnapCluster, cfg.Cluster)
		h.Set(HeaderSnapSeq, strconv.FormatUint(info.Seq, 10))
		h.Set(HeaderSnapTime, info.Time.UTC().Format(time.RFC3339Nano))
		h.Set(HeaderSnapStored, info.Stored.UTC().Format(time.RFC3339Nano))
		h.Set(HeaderSnapEvents, strconv.FormatUint(info.Events, 10))
		h.Set(HeaderSnapStream, cfg.Stream)
		h.Set(HeaderSnapEncoding, "gzip+json")
		h.Set(HeaderSnapPart, strconv.Itoa(i+1))
		h.Set(HeaderSnapParts, strconv.Itoa(len(parts)))
		if i == len(parts)-1 && len(seqs) > 0 {
			h.Set(HeaderSnapPartSeqs, strings.Join(seqs, ","))
		}
		id := fmt.Sprintf("snap-%s-%d-%d", schema.EscapeToken(cfg.Cluster), info.Seq, i+1)
		ack, err := r.js.PublishMsg(ctx, msg, natsjs.WithMsgID(id))
		if err != nil {
			return fmt.Errorf("replaystore: publish snapshot part %d/%d: %w", i+1, len(parts), err)
		}
		info.Size += len(p)
		if i < len(parts)-1 {
			seqs = append(seqs, strconv.FormatUint(ack.Sequence, 10))
			info.PartSeqs = append(info.PartSeqs, ack.Sequence)
		} else {
			info.SnapSeq = ack.Sequence
		}
	}
	r.dirty = 0
	r.lastSnap = time.Now()
	r.sn.log.Debug().Uint64("seq", info.Seq).Int("bytes", info.Size).Int("parts", len(parts)).Msg("snapshot stored")
	if cfg.OnSnapshot != nil {
		cfg.OnSnapshot(info)
	}
	return nil
}
