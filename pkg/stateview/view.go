package stateview

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Defaults.
const (
	// DefaultQueue is 0.4 s of events at 10,000/s; the fold takes a few
	// microseconds per event, so the queue only absorbs bursts.
	DefaultQueue       = 4096
	DefaultMaxInFlight = 256
	DefaultAckTimeout  = 5 * time.Second
	// DefaultDrainTimeout bounds the final writes after Close.
	DefaultDrainTimeout = 10 * time.Second
	retryMin, retryMax  = 50 * time.Millisecond, 2 * time.Second
)

// Config configures a View. Zero values take the defaults.
type Config struct {
	// Conn is the NATS connection the keys are written on (required).
	Conn *nats.Conn
	// Bucket is the KV bucket; default jetstream.DefaultStateBucket
	// ("cti-state"). The bridge provisions it (ProvisionConfig.StateView).
	Bucket string
	// Queue bounds the events between Apply and the fold; Apply blocks
	// while it is full. Default 4,096.
	Queue int
	// MaxInFlight bounds the unacknowledged key writes; default 256.
	MaxInFlight int
	// AckTimeout is how long a write may wait for its acknowledgement
	// before it is written again; default 5 s.
	AckTimeout time.Duration
	// DrainTimeout bounds the final writes after Close; default 10 s.
	DrainTimeout time.Duration
	Logger       zerolog.Logger

	// Seed is the fold the view starts from (nil: an empty state): a view
	// fed from the stream rather than by the publisher (a member of a
	// high-availability group) starts from the fold of the log up to where
	// it follows, and the keys of every line and device in it are written
	// first, updated as of SeedTime.
	Seed     *callstate.State
	SeedTime time.Time
	// Writing, if set, is asked before keys are written: while it says
	// false the view folds and remembers which keys changed but writes
	// nothing; once it says true every key is written again, since a new
	// writer cannot know what another one left unwritten. It is asked
	// whenever the view has folded an event or had a write acknowledged,
	// so it turns on with the next event. The bridge's high-availability
	// members write only while active.
	Writing func() bool
}

func (c *Config) setDefaults() {
	if c.Bucket == "" {
		c.Bucket = jetstream.DefaultStateBucket
	}
	if c.Queue == 0 {
		c.Queue = DefaultQueue
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.DrainTimeout == 0 {
		c.DrainTimeout = DefaultDrainTimeout
	}
}

// Validate reports every problem of the configuration, zero values
// taking the defaults. Conn is New's to check: a configuration is
// validated before its connection exists (bridge run --check).
func (c *Config) Validate() error {
	d := *c
	d.setDefaults()
	return d.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.Queue < 1 || c.MaxInFlight < 1 || c.AckTimeout <= 0 || c.DrainTimeout <= 0 {
		errs = append(errs, fmt.Errorf("stateview: Queue %d, MaxInFlight %d, AckTimeout %s and DrainTimeout %s must be positive (0 for the defaults)",
			c.Queue, c.MaxInFlight, c.AckTimeout, c.DrainTimeout))
	}
	if c.Bucket == "" || strings.ContainsAny(c.Bucket, ". *>") {
		errs = append(errs, fmt.Errorf("stateview: Bucket %q is not a bucket name", c.Bucket))
	}
	return errors.Join(errs...)
}

// Stats counts what a View did.
type Stats struct {
	// Events folded; Writes acknowledged; Failures (writes that failed
	// or timed out and were retried).
	Events, Writes, Failures uint64
	// Dirty keys waiting to be written; InFlight writes unacknowledged;
	// Keys the view has written or will write (bounded by the lines and
	// devices the provider reported).
	Dirty, InFlight, Keys int
}

// View keeps the state bucket. Apply may be called from any goroutine
// (one at a time, in event order); Run owns everything else.
type View struct {
	cfg    Config
	log    zerolog.Logger
	js     natsjs.JetStream
	prefix string // $KV.<bucket>.

	in     chan schema.Event
	acks   chan ack
	mu     sync.RWMutex // Close vs Apply
	closed bool
	// ended is closed when Run returns: Apply no longer waits for room.
	ended     chan struct{}
	endedOnce sync.Once

	// Owned by Run.
	st        *callstate.State
	index     map[string]*callKeys       // call id -> its keys
	keyCalls  map[string]map[string]bool // key -> call ids on it
	dirty     map[string]bool
	updated   map[string]time.Time // key -> CTI time of its last change
	inflight  map[string]bool
	retryAt   time.Time
	backoff   time.Duration
	retryTime *time.Timer
	writing   bool // the last answer of Config.Writing (true without it)

	events, writes, failures atomic.Uint64
	nDirty, nInflight, nKeys atomic.Int64
}

// callKeys are the keys of one call's lines and devices.
type callKeys struct{ keys []string }

type ack struct {
	key string
	err error
}

// New validates cfg and returns a View; call Run.
func New(cfg Config) (*View, error) {
	cfg.setDefaults()
	err := cfg.validate()
	if cfg.Conn == nil {
		err = errors.Join(errors.New("stateview: Config.Conn is required"), err)
	}
	if err != nil {
		return nil, err
	}
	v := &View{
		cfg: cfg, log: cfg.Logger.With().Str("component", "stateview").Logger(),
		prefix: "$KV." + cfg.Bucket + ".",
		in:     make(chan schema.Event, cfg.Queue),
		ended:  make(chan struct{}),
		acks:   make(chan ack, 2*cfg.MaxInFlight),
		st:     callstate.New(), index: map[string]*callKeys{}, keyCalls: map[string]map[string]bool{},
		dirty: map[string]bool{}, updated: map[string]time.Time{}, inflight: map[string]bool{},
		writing: cfg.Writing == nil,
	}
	if cfg.Seed != nil {
		v.seed(cfg.Seed, cfg.SeedTime)
	}
	v.js, err = natsjs.New(cfg.Conn,
		natsjs.WithPublishAsyncMaxPending(2*cfg.MaxInFlight),
		natsjs.WithPublishAsyncTimeout(cfg.AckTimeout),
		natsjs.WithPublishAsyncAckHandler(func(_ natsjs.JetStream, m *nats.Msg, _ *natsjs.PubAck) { v.acks <- ack{key: v.key(m.Subject)} }),
		natsjs.WithPublishAsyncErrHandler(func(_ natsjs.JetStream, m *nats.Msg, err error) {
			v.acks <- ack{key: v.key(m.Subject), err: err}
		}))
	if err != nil {
		return nil, fmt.Errorf("stateview: %w", err)
	}
	return v, nil
}

func (v *View) key(subject string) string { return strings.TrimPrefix(subject, v.prefix) }

// Apply hands one published event to the view, in publish order. It
// blocks while the queue is full; after Close, or once Run has returned,
// it does nothing.
func (v *View) Apply(ev schema.Event) {
	v.mu.RLock()
	defer v.mu.RUnlock()
	if v.closed {
		return
	}
	select {
	case v.in <- ev:
	case <-v.ended:
	}
}

// Close ends the input: Run folds what is queued, writes every pending
// key (bounded by DrainTimeout) and returns.
func (v *View) Close() {
	v.mu.Lock()
	defer v.mu.Unlock()
	if !v.closed {
		v.closed = true
		close(v.in)
	}
}

// Stats returns the counters.
func (v *View) Stats() Stats {
	return Stats{Events: v.events.Load(), Writes: v.writes.Load(), Failures: v.failures.Load(),
		Dirty: int(v.nDirty.Load()), InFlight: int(v.nInflight.Load()), Keys: int(v.nKeys.Load())}
}

// Run folds the events and writes the keys until Close (then it drains and
// returns nil) or until ctx ends (it returns at once).
func (v *View) Run(ctx context.Context) error {
	defer v.endedOnce.Do(func() { close(v.ended) })
	v.retryTime = time.NewTimer(time.Hour)
	defer v.retryTime.Stop()
	var drainBy <-chan time.Time
	input := v.in
	folded := v.events.Load()
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-input:
			if !ok {
				input = nil
				t := time.NewTimer(v.cfg.DrainTimeout)
				defer t.Stop()
				drainBy = t.C
				break
			}
			v.apply(ev)
			folded++
			for n := 0; n < 256 && len(input) > 0; n++ {
				v.apply(<-input)
				folded++
			}
		case a := <-v.acks:
			v.acked(a)
		case <-v.retryTime.C:
		case <-drainBy:
			v.log.Warn().Int("dirty", len(v.dirty)).Int("in_flight", len(v.inflight)).Dur("waited", v.cfg.DrainTimeout).
				Msg("state view: keys not written at close; the bucket shows an older state of them")
			return nil
		}
		v.write()
		// Stored in this order, so that a reader seeing Events n sees the
		// dirty and in-flight counts after the n-th event's writes began.
		v.nDirty.Store(int64(len(v.dirty)))
		v.nInflight.Store(int64(len(v.inflight)))
		v.nKeys.Store(int64(len(v.updated)))
		v.events.Store(folded)
		if input == nil && (len(v.dirty) == 0 || !v.writing) && len(v.inflight) == 0 {
			return nil
		}
	}
}

// seed starts the view from st: every line and device it holds is marked,
// and every call indexed under its lines' and devices' keys.
func (v *View) seed(st *callstate.State, at time.Time) {
	v.st = st
	for _, a := range st.Addresses() {
		v.mark(schema.LineKey(a.DN), at)
	}
	for _, t := range st.Terminals() {
		v.mark(schema.DeviceKey(t.Name), at)
	}
	for _, c := range st.Calls() {
		v.refresh(c.ID, at)
	}
}

// apply folds ev and marks the keys it changed.
func (v *View) apply(ev schema.Event) {
	var ids []string
	if ev.Family == schema.FamilyCall {
		ids = append(ids, ev.Entity)
		if c := ev.Data.Call; c != nil {
			ids = append(ids, c.CallID, c.OriginalCallID)
			if f := c.Feature; f != nil {
				ids = append(ids, f.PrimaryCallID, f.ConsultCallID, f.ResultCallID)
			}
		}
	}
	v.st.Apply(ev)
	switch ev.Family {
	case schema.FamilyAddress:
		v.mark(schema.LineKey(ev.Entity), ev.Time)
	case schema.FamilyTerminal:
		v.mark(schema.DeviceKey(ev.Entity), ev.Time)
	case schema.FamilyCall:
		slices.Sort(ids)
		for _, id := range slices.Compact(ids) {
			if id != "" {
				v.refresh(id, ev.Time)
			}
		}
	}
}

// refresh re-indexes one call after an event and marks the keys of its
// lines and devices, before and after. Only lines and devices the
// provider reported have keys: the far end of a call (any number at all)
// never enters the index, so it stays bounded by the configuration.
func (v *View) refresh(id string, at time.Time) {
	var keys []string
	v.st.VisitCall(id, func(c *callstate.Call) {
		lines, devices := linesOf(c)
		for _, dn := range lines {
			if v.st.HasAddress(dn) {
				keys = append(keys, schema.LineKey(dn))
			}
		}
		for _, d := range devices {
			if v.st.HasTerminal(d) {
				keys = append(keys, schema.DeviceKey(d))
			}
		}
		slices.Sort(keys)
		keys = slices.Compact(keys)
	})
	old := v.index[id]
	if old != nil {
		for _, k := range old.keys {
			v.mark(k, at)
			if !slices.Contains(keys, k) {
				delete(v.keyCalls[k], id)
				if len(v.keyCalls[k]) == 0 {
					delete(v.keyCalls, k)
				}
			}
		}
	}
	if len(keys) == 0 {
		delete(v.index, id)
		return
	}
	if old == nil {
		old = &callKeys{}
		v.index[id] = old
	}
	old.keys = keys
	for _, k := range keys {
		v.mark(k, at)
		if v.keyCalls[k] == nil {
			v.keyCalls[k] = map[string]bool{}
		}
		v.keyCalls[k][id] = true
	}
}

func (v *View) mark(key string, at time.Time) {
	v.dirty[key] = true
	if at.After(v.updated[key]) {
		v.updated[key] = at
	}
}

// write starts a write for every dirty key that has none in flight, as
// far as MaxInFlight allows.
func (v *View) write() {
	if v.cfg.Writing != nil {
		on := v.cfg.Writing()
		if on && !v.writing {
			for key := range v.updated {
				v.dirty[key] = true
			}
		}
		v.writing = on
		if !on {
			return
		}
	}
	if len(v.dirty) == 0 || time.Now().Before(v.retryAt) {
		return
	}
	for key := range v.dirty {
		if len(v.inflight) >= v.cfg.MaxInFlight {
			return
		}
		if v.inflight[key] {
			continue
		}
		delete(v.dirty, key)
		val, ok := v.value(key)
		if !ok {
			continue // not a line or device the provider reported
		}
		data, err := Marshal(val)
		if err != nil {
			v.log.Error().Err(err).Str("key", key).Msg("state view: value not written")
			continue
		}
		if _, err := v.js.PublishMsgAsync(&nats.Msg{Subject: v.prefix + key, Data: data}); err != nil {
			v.dirty[key] = true
			v.failed(err)
			return
		}
		v.inflight[key] = true
	}
}

// value is a key's current value.
func (v *View) value(key string) (any, bool) {
	at := v.updated[key]
	kind, tok, _ := strings.Cut(key, ".")
	name, err := schema.UnescapeKeyToken(tok)
	if err != nil {
		return nil, false
	}
	var calls []callstate.Call
	for id := range v.keyCalls[key] {
		if c, ok := v.st.Call(id); ok {
			calls = append(calls, c)
		}
	}
	slices.SortFunc(calls, func(a, b callstate.Call) int { return callstate.CompareCallIDs(a.ID, b.ID) })
	switch kind {
	case "line":
		a, ok := v.st.Address(name)
		if !ok {
			return nil, false
		}
		l := lineValue(a, calls)
		l.Updated = at
		return l, true
	case "device":
		t, ok := v.st.Terminal(name)
		if !ok {
			return nil, false
		}
		d := deviceValue(t, calls)
		d.Updated = at
		return d, true
	}
	return nil, false
}

func (v *View) acked(a ack) {
	delete(v.inflight, a.key)
	if a.err == nil {
		v.writes.Add(1)
		v.backoff = 0
		return
	}
	v.dirty[a.key] = true // written again, with its current value
	v.failed(a.err)
}

// failed pauses the writes, doubling the pause up to retryMax.
func (v *View) failed(err error) {
	v.failures.Add(1)
	if v.backoff == 0 {
		v.log.Warn().Err(err).Msg("state view: writing the bucket fails; retrying")
	}
	v.backoff = min(max(2*v.backoff, retryMin), retryMax)
	v.retryAt = time.Now().Add(v.backoff)
	v.retryTime.Reset(v.backoff)
}
