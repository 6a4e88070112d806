package ha

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/ha/lease"
)

// ElectorConfig configures an Elector.
type ElectorConfig struct {
	// KV is the lease bucket (history 1, its TTL the lease TTL).
	KV natsjs.KeyValue
	// Key is the lease's key: one lease per CUCM cluster (LeaseKey).
	Key string
	// Instance identifies this run; it is written in the lease value for
	// operators (the value decides nothing).
	Instance string
	// Mode is written in the lease value too.
	Mode Mode
	// Lease tunes renewals; its TTL must equal the bucket's (NewElector
	// reads the bucket and fills it in when zero).
	Lease lease.Config
	// OpTimeout bounds one Create/Update/Delete (default RenewEvery): an
	// answer that comes later is an unknown outcome, and an Update whose
	// outcome was unknown makes the next one conflict if it was stored
	// after all (the lease is then given up), so a short bound costs
	// tenures under load.
	OpTimeout time.Duration
	// Now is the clock (default time.Now). It must carry Go's monotonic
	// reading in production, so that the deadline cannot be stretched by a
	// wall-clock step or a paused process.
	Now    func() time.Time
	Logger zerolog.Logger
}

// LeaseKey is the lease's key for a cluster: one active bridge per CUCM
// cluster, whatever the instances are called.
func LeaseKey(cluster string) string { return "leader." + kvToken(cluster) }

// Elector runs the lease against a JetStream KV bucket: it campaigns with
// Create, renews with Update at the last revision, releases with a
// revision-checked Delete, and reports every change of role on Changes.
// MayAct is safe from any goroutine (the publisher asks it before every
// send).
type Elector struct {
	cfg   ElectorConfig
	log   zerolog.Logger
	lease *lease.Lease
	now   func() time.Time

	changes chan lease.Change
	cmds    chan func()
	wake    chan struct{}

	// base anchors deadlineNs: the deadline as a monotonic offset from
	// base, readable atomically (0: not active).
	base       time.Time
	deadlineNs atomic.Int64
	epoch      atomic.Uint64

	// releaseDone is closed once the delete of a Release was answered
	// (owned by Run's goroutine).
	releaseDone chan struct{}

	mu     sync.Mutex // guards st
	st     ElectorStatus
	closed chan struct{}
}

// ElectorStatus is what /status shows of the lease.
type ElectorStatus struct {
	Role        string    `json:"role"`
	Epoch       uint64    `json:"epoch,omitempty"`
	Revision    uint64    `json:"revision,omitempty"`
	Deadline    time.Time `json:"deadline,omitzero"`
	Campaigning bool      `json:"campaigning"`
	TTL         string    `json:"ttl"`
	RenewEvery  string    `json:"renewEvery"`
	LastError   string    `json:"lastError,omitempty"`
	lease.Stats
}

// leaseValue is what the lease key holds: for operators (nats kv get),
// never read to decide anything.
type leaseValue struct {
	Instance string    `json:"instance"`
	Mode     Mode      `json:"mode"`
	Written  time.Time `json:"written"`
}

// NewElector checks the bucket and builds the elector; it starts nothing.
// The bucket must expire entries (a TTL): without one a holder that dies
// would keep the lease for ever. The lease TTL is the bucket's.
func NewElector(ctx context.Context, cfg ElectorConfig) (*Elector, error) {
	if cfg.KV == nil || cfg.Key == "" || cfg.Instance == "" {
		return nil, errors.New("ha: ElectorConfig needs KV, Key and Instance")
	}
	st, err := cfg.KV.Status(ctx)
	if err != nil {
		return nil, fmt.Errorf("ha: lease bucket: %w", err)
	}
	ttl := st.TTL()
	switch {
	case ttl <= 0:
		return nil, fmt.Errorf("ha: lease bucket %s has no TTL: a holder that died would keep the lease for ever; provision it with a TTL (ha.leaseTTL)", st.Bucket())
	case cfg.Lease.TTL != 0 && cfg.Lease.TTL != ttl:
		return nil, fmt.Errorf("ha: lease bucket %s expires entries after %s but ha.leaseTTL is %s: the deadline must be computed from the bucket's TTL; provision the bucket again or set ha.leaseTTL to %s",
			st.Bucket(), ttl, cfg.Lease.TTL, ttl)
	}
	cfg.Lease.TTL = ttl
	l, err := lease.New(cfg.Lease)
	if err != nil {
		return nil, fmt.Errorf("ha: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.OpTimeout == 0 {
		cfg.OpTimeout = l.Config().RenewEvery
	}
	e := &Elector{
		cfg: cfg, log: cfg.Logger.With().Str("component", "ha.elector").Logger(), lease: l, now: cfg.Now,
		changes: make(chan lease.Change, 16), cmds: make(chan func(), 8), wake: make(chan struct{}, 1),
		base: cfg.Now(), closed: make(chan struct{}),
	}
	e.snapshot()
	return e, nil
}

// LeaseConfig is the lease configuration in force (the bucket's TTL, the
// defaults filled in).
func (e *Elector) LeaseConfig() lease.Config { return e.lease.Config() }

// Changes delivers every change of role, in order. It must be drained.
func (e *Elector) Changes() <-chan lease.Change { return e.changes }

// MayAct reports whether this instance holds the lease and its deadline
// has not passed, on the monotonic clock. Safe from any goroutine, cheap.
func (e *Elector) MayAct() bool {
	d := e.deadlineNs.Load()
	return d != 0 && e.now().Sub(e.base).Nanoseconds() < d
}

// Epoch is the epoch of the current tenure (0 when not active).
func (e *Elector) Epoch() uint64 {
	if e.deadlineNs.Load() == 0 {
		return 0
	}
	return e.epoch.Load()
}

// Status returns the lease's state.
func (e *Elector) Status() ElectorStatus {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.st
}

// SetCampaign turns campaigning on or off (a standby campaigns; a bridge
// stepping down pauses).
func (e *Elector) SetCampaign(on bool) {
	e.do(func() { e.lease.SetCampaign(on, e.now()) })
}

// Fenced tells the elector that the log refused a publish of epoch: the
// tenure ends (lease.ReasonFenced) if it is the current one.
func (e *Elector) Fenced(epoch uint64) {
	e.do(func() { e.deliver(e.lease.Fenced(epoch, e.now())) })
}

// Release gives the lease up: the tenure ends at once (MayAct false), and
// the key is deleted at its last revision so that a standby can take
// over without waiting for the TTL. It returns once the delete was
// answered or ctx ended.
func (e *Elector) Release(ctx context.Context) {
	done := make(chan struct{})
	e.do(func() {
		e.deliver(e.lease.Release(e.now()))
		e.releaseDone = done
	})
	select {
	case <-done:
	case <-ctx.Done():
	case <-e.closed:
	}
}

// Nudge makes a campaigning standby try at once (the key was deleted).
func (e *Elector) Nudge() {
	e.do(func() {
		if e.lease.Role() == lease.Standby && e.lease.Campaigning() {
			e.lease.SetCampaign(false, e.now())
			e.lease.SetCampaign(true, e.now())
		}
	})
}

func (e *Elector) do(f func()) {
	select {
	case e.cmds <- f:
	case <-e.closed:
	}
}

type opResult struct {
	op  lease.Op
	res lease.Result
}

// Run drives the lease until ctx ends. It does not release the lease:
// call Release first for an orderly stop (a lease left held expires with
// the bucket's TTL).
func (e *Elector) Run(ctx context.Context) error {
	defer close(e.closed)
	results := make(chan opResult, 1)
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	go e.watchReleases(watchCtx)
	for {
		now := e.now()
		e.deliver(e.lease.Tick(now))
		if op, ok := e.lease.Next(now); ok {
			go func() { results <- opResult{op, e.run(ctx, op)} }()
		}
		e.snapshot()
		var tc <-chan time.Time
		if w := e.lease.Wake(now); !w.IsZero() {
			timer.Reset(max(w.Sub(now), 0))
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			e.deliver(e.lease.Tick(e.now()))
			return nil
		case r := <-results:
			e.deliver(e.lease.Done(r.op, r.res, e.now()))
			if r.op.Kind == lease.OpRelease && e.releaseDone != nil {
				close(e.releaseDone)
				e.releaseDone = nil
			}
		case f := <-e.cmds:
			f()
		case <-tc:
		}
		if tc != nil {
			timer.Stop()
		}
	}
}

// deliver publishes the role change to MayAct and Changes.
func (e *Elector) deliver(c lease.Change) {
	switch c.Kind {
	case lease.Acquired:
		e.epoch.Store(c.Epoch)
		e.deadlineNs.Store(max(c.Deadline.Sub(e.base).Nanoseconds(), 1))
		e.log.Info().Uint64("epoch", c.Epoch).Time("deadline", c.Deadline).Msg("lease acquired: this bridge is the active one")
	case lease.Lost:
		e.deadlineNs.Store(0)
		ev := e.log.Warn()
		if c.Reason == lease.ReasonReleased {
			ev = e.log.Info()
		}
		ev.Uint64("epoch", c.Epoch).Str("reason", string(c.Reason)).AnErr("last_error", c.Err).Msg("lease lost: this bridge is no longer the active one")
	default:
		if e.lease.Role() == lease.Active {
			e.deadlineNs.Store(max(e.lease.Deadline().Sub(e.base).Nanoseconds(), 1))
		}
		return
	}
	e.snapshot()
	e.changes <- c
}

func (e *Elector) snapshot() {
	cfg := e.lease.Config()
	st := ElectorStatus{
		Role: e.lease.Role().String(), Revision: e.lease.Revision(), Deadline: e.lease.Deadline(),
		Campaigning: e.lease.Campaigning(), TTL: cfg.TTL.String(), RenewEvery: cfg.RenewEvery.String(), Stats: e.lease.Stats(),
	}
	if st.Role == lease.Active.String() {
		st.Epoch = e.lease.Epoch()
	}
	if err := e.lease.LastError(); err != nil {
		st.LastError = err.Error()
	}
	e.mu.Lock()
	e.st = st
	e.mu.Unlock()
}

// run performs one operation against the bucket and classifies the answer.
func (e *Elector) run(ctx context.Context, op lease.Op) lease.Result {
	ctx, cancel := context.WithTimeout(ctx, e.cfg.OpTimeout)
	defer cancel()
	val, _ := json.Marshal(leaseValue{Instance: e.cfg.Instance, Mode: e.cfg.Mode, Written: op.SentAt.UTC()})
	var rev uint64
	var err error
	switch op.Kind {
	case lease.OpCreate:
		rev, err = e.cfg.KV.Create(ctx, e.cfg.Key, val)
	case lease.OpUpdate:
		rev, err = e.cfg.KV.Update(ctx, e.cfg.Key, val, op.Revision)
	case lease.OpRelease:
		err = e.cfg.KV.Delete(ctx, e.cfg.Key, natsjs.LastRevision(op.Revision))
	}
	switch {
	case err == nil:
		return lease.Result{Outcome: lease.Stored, Revision: rev}
	case errors.Is(err, natsjs.ErrKeyExists), errors.Is(err, natsjs.ErrKeyRevisionMismatch), wrongLastSequence(err):
		return lease.Result{Outcome: lease.Conflict, Err: err}
	}
	if op.Kind != lease.OpRelease {
		e.log.Warn().Err(err).Str("op", op.Kind.String()).Msg("lease operation failed; its outcome is unknown")
	}
	return lease.Result{Outcome: lease.Unknown, Err: err}
}

// wrongLastSequence: the server's conflict answer, 10071, or 10164 on a
// replicated bucket.
func wrongLastSequence(err error) bool {
	var api *natsjs.APIError
	return errors.As(err, &api) && (api.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequence ||
		api.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequenceConstant)
}

// AwaitHolder returns once the lease key of cluster holds a value — a
// member's Create: a tenure began — or with ctx's error. A member that
// released the lease and does not campaign uses it to learn that a
// successor took over; it decides nothing about leadership (only Create
// and Update do): it only ends a wait early.
func AwaitHolder(ctx context.Context, kv natsjs.KeyValue, cluster string) error {
	w, err := kv.Watch(ctx, LeaseKey(cluster))
	if err != nil {
		return fmt.Errorf("ha: watching the lease: %w", err)
	}
	defer func() { _ = w.Stop() }()
	for {
		select {
		case u, ok := <-w.Updates():
			if !ok {
				if err := ctx.Err(); err != nil {
					return err
				}
				return errors.New("ha: the lease watch ended")
			}
			if u != nil && u.Operation() == natsjs.KeyValuePut {
				return nil
			}
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// watchReleases watches the key and nudges a campaigning standby when the
// holder deletes it, so that an orderly hand-over takes milliseconds, not
// CampaignEvery. An expiry is not announced by the server (without
// per-message TTL markers) and is found by the periodic campaign.
func (e *Elector) watchReleases(ctx context.Context) {
	for ctx.Err() == nil {
		w, err := e.cfg.KV.Watch(ctx, e.cfg.Key, natsjs.UpdatesOnly())
		if err != nil {
			select {
			case <-ctx.Done():
				return
			case <-time.After(e.lease.Config().CampaignEvery):
				continue
			}
		}
		for u := range w.Updates() {
			if u != nil && (u.Operation() == natsjs.KeyValueDelete || u.Operation() == natsjs.KeyValuePurge) {
				e.Nudge()
			}
		}
		_ = w.Stop()
	}
}
