package jetstream

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/cenkalti/backoff/v5"
	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"
)

// Provisioner defaults.
const (
	DefaultProvisionMinBackoff = 250 * time.Millisecond
	DefaultProvisionMaxBackoff = 10 * time.Second
	DefaultProvisionWatch      = 2 * time.Second
	DefaultProvisionLogEvery   = 30 * time.Second
	DefaultProvisionTimeout    = 5 * time.Second
)

// Readiness reasons, the prefixes of ProvisionState.Reason.
const (
	ReasonNATSUnreachable = "NATS not reachable"
	ReasonNoMetaLeader    = "JetStream not ready: no meta leader"
	ReasonJetStream       = "JetStream not ready"
	// ReasonNotProvisioned is followed by the stream's name: "stream CTI
	// not provisioned yet".
	ReasonNotProvisioned = "not provisioned yet"
)

// ProvisionerConfig configures a Provisioner.
type ProvisionerConfig struct {
	// Conn is the NATS connection (required). It may not be connected yet
	// (RetryOnFailedConnect): the Provisioner waits for it.
	Conn *nats.Conn
	// Provision describes the stream and buckets to provision.
	Provision ProvisionConfig
	// ConnError, if set, says why the connection is down (for example
	// ConnTracker.LastError); it names the cause in the readiness reason.
	ConnError func() error
	// MinBackoff and MaxBackoff bound the pause between attempts: it
	// starts at MinBackoff, doubles per failure up to MaxBackoff and is
	// jittered by ±50 %; defaults 250 ms and 10 s. A connection coming up
	// cuts the pause short.
	MinBackoff, MaxBackoff time.Duration
	// Timeout bounds each JetStream API call; default 5 s.
	Timeout time.Duration
	// Watch is how often a provisioned stream is checked: deleted (then it
	// is recreated), or a new Raft leader (OnLeaderChanged; the leaders'
	// advisories report each election at once, the check those missed).
	// Default 2 s; negative disables watching.
	Watch time.Duration
	// LogEvery: a failure that persists with the same reason is logged
	// again at most this often (a new reason is logged at once); default
	// 30 s.
	LogEvery time.Duration

	// OnReady runs when the stream is provisioned: the first time, and
	// again after a deleted stream was recreated (Recreated set). OnLost
	// runs when a provisioned stream is found deleted, before it is
	// recreated. OnLeaderChanged runs when a watch finds the stream led by
	// another server than the previous watch. They run on Run's
	// goroutine, in order; OnReady may do JetStream reads with ctx.
	OnReady         func(ctx context.Context, r ReadyInfo)
	OnLost          func(reason string)
	OnLeaderChanged func(LeaderChange)

	// Logger receives the state changes; default zerolog.Nop().
	Logger zerolog.Logger
	// Now is the clock of the state times; default time.Now.
	Now func() time.Time
}

func (c *ProvisionerConfig) setDefaults() {
	c.Provision.setDefaults()
	if c.MinBackoff == 0 {
		c.MinBackoff = DefaultProvisionMinBackoff
	}
	if c.MaxBackoff == 0 {
		c.MaxBackoff = DefaultProvisionMaxBackoff
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultProvisionTimeout
	}
	if c.Watch == 0 {
		c.Watch = DefaultProvisionWatch
	}
	if c.LogEvery == 0 {
		c.LogEvery = DefaultProvisionLogEvery
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Validate reports every problem with the configuration (after defaults).
func (c *ProvisionerConfig) Validate() error {
	var errs []error
	if c.Conn == nil {
		errs = append(errs, errors.New("jetstream: ProvisionerConfig.Conn is required"))
	}
	if c.MinBackoff < 0 || c.MaxBackoff < c.MinBackoff {
		errs = append(errs, fmt.Errorf("jetstream: MinBackoff %s / MaxBackoff %s: need 0 ≤ MinBackoff ≤ MaxBackoff", c.MinBackoff, c.MaxBackoff))
	}
	if c.Timeout < 0 || c.LogEvery < 0 {
		errs = append(errs, fmt.Errorf("jetstream: Timeout %s / LogEvery %s must not be negative", c.Timeout, c.LogEvery))
	}
	if err := c.Provision.Validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// ProvisionState is the provisioner's view of the event log, for
// readiness probes.
type ProvisionState struct {
	// Ready: the stream and buckets are provisioned.
	Ready bool
	// Reason says why not: "NATS not reachable: <error>", "JetStream not
	// ready: no meta leader", "stream CTI not provisioned yet[: <error>]".
	Reason string
	// Since is when the state (or the reason's kind) began.
	Since time.Time
	// Attempts counts the failed attempts since the stream was last ready.
	Attempts int
	// Leader is the stream's Raft leader at the last watch ("" on a single
	// server or when unknown), LastSeq its last sequence then.
	Leader  string
	LastSeq uint64
}

// ReadyInfo is passed to OnReady.
type ReadyInfo struct {
	// Provisioned is what provisioning did (the caller logs its drift).
	Provisioned *Provisioned
	// Waited is how long the stream was not ready (0 if it was at once).
	Waited time.Duration
	// Attempts is the number of failed attempts before this success.
	Attempts int
	// Recreated: the stream had been provisioned, was found deleted, and
	// was created again. LostAt is when it was last seen, LostLastSeq its
	// last sequence then: the events up to there are gone with it.
	Recreated   bool
	LostAt      time.Time
	LostLastSeq uint64
}

// LeaderChange is a change of the stream's Raft leader seen by a watch.
type LeaderChange struct {
	Stream   string
	From, To string
	// At is when the provisioner learnt of it: the new leader's
	// leader-elected advisory, or (an advisory missed while disconnected)
	// the next periodic check.
	At time.Time
	// Replicas lists the stream's other peers and whether each is current.
	Replicas []PeerState
}

// PeerState is one follower of a replicated stream.
type PeerState struct {
	Name    string
	Current bool
}

// Provisioner provisions the stream and buckets as soon as NATS (or a
// cluster's meta leader) can answer, retrying with capped exponential
// backoff and jitter, then watches the stream: a deleted stream is
// recreated, and a new Raft leader is reported. It lets a bridge start
// before its NATS server: see docs/jetstream.md §1.
type Provisioner struct {
	cfg ProvisionerConfig
	nc  *nats.Conn
	js  natsjs.JetStream
	log zerolog.Logger

	mu sync.Mutex // guards st
	st ProvisionState
}

// NewProvisioner validates cfg. It starts nothing: call Run.
func NewProvisioner(cfg ProvisionerConfig) (*Provisioner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	js, err := natsjs.New(cfg.Conn)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p := &Provisioner{cfg: cfg, nc: cfg.Conn, js: js,
		log: cfg.Logger.With().Str("component", "jetstream.provisioner").Str("stream", cfg.Provision.Stream).Logger()}
	p.st = ProvisionState{Reason: p.notProvisioned(nil), Since: cfg.Now()}
	return p, nil
}

// State returns the current state. Safe for concurrent use.
func (p *Provisioner) State() ProvisionState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *Provisioner) notProvisioned(err error) string {
	r := "stream " + p.cfg.Provision.Stream + " " + ReasonNotProvisioned
	if err != nil {
		r += ": " + err.Error()
	}
	return r
}

// Run provisions, then watches, until ctx ends; it returns nil then.
func (p *Provisioner) Run(ctx context.Context) error {
	status := p.nc.StatusChanged(nats.CONNECTED)
	defer p.nc.RemoveStatusListener(status)
	bo := &backoff.ExponentialBackOff{InitialInterval: p.cfg.MinBackoff, RandomizationFactor: 0.5, Multiplier: 2, MaxInterval: p.cfg.MaxBackoff}
	var lost *ReadyInfo // set while a deleted stream is being recreated
	for ctx.Err() == nil {
		if !p.provision(ctx, bo, status, lost) {
			return nil
		}
		info := p.watch(ctx)
		if info == nil {
			return nil
		}
		lost = info
	}
	return nil
}

// provision retries until the stream is provisioned (true) or ctx ends.
func (p *Provisioner) provision(ctx context.Context, bo *backoff.ExponentialBackOff, status <-chan nats.Status, lost *ReadyInfo) bool {
	bo.Reset()
	start := p.State().Since
	var lastLog time.Time
	var lastKind string
	for attempts := 0; ; attempts++ {
		res, reason := p.attempt(ctx)
		if ctx.Err() != nil {
			return false
		}
		if reason == "" {
			now := p.cfg.Now()
			info := ReadyInfo{Provisioned: res, Attempts: attempts}
			if attempts > 0 {
				info.Waited = now.Sub(start)
			}
			if lost != nil {
				info.Recreated, info.LostAt, info.LostLastSeq = true, lost.LostAt, lost.LostLastSeq
			}
			ev := p.log.Info().Int("failed_attempts", attempts)
			if info.Waited > 0 {
				ev = ev.Dur("waited", info.Waited)
			}
			ev.Bool("recreated", info.Recreated).Msg("JetStream stream and buckets provisioned")
			for _, d := range res.Drift {
				p.log.Warn().Str("drift", d.String()).Msg("existing JetStream resource differs from the configuration")
			}
			if p.cfg.OnReady != nil {
				p.cfg.OnReady(ctx, info)
			}
			p.mu.Lock()
			p.st = ProvisionState{Ready: true, Since: now}
			p.mu.Unlock()
			return true
		}
		now := p.cfg.Now()
		kind := reasonKind(reason)
		p.mu.Lock()
		if kind != reasonKind(p.st.Reason) {
			p.st.Since = now
		}
		p.st.Ready, p.st.Reason, p.st.Attempts = false, reason, attempts+1
		p.mu.Unlock()
		wait := bo.NextBackOff()
		if kind != lastKind || now.Sub(lastLog) >= p.cfg.LogEvery {
			p.log.Warn().Str("reason", reason).Int("attempts", attempts+1).Dur("next_attempt_in", wait).
				Msg("event log not ready; events are buffered meanwhile")
			lastKind, lastLog = kind, now
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return false
		case <-status:
			// Connected: try at once, from a short pause again.
			bo.Reset()
		case <-t.C:
		}
		t.Stop()
	}
}

// reasonKind is the part of a reason that names the situation, without
// the error text (which may differ per attempt).
func reasonKind(r string) string {
	switch {
	case strings.HasPrefix(r, ReasonNATSUnreachable):
		return ReasonNATSUnreachable
	case strings.HasPrefix(r, ReasonNoMetaLeader):
		return ReasonNoMetaLeader
	case strings.HasPrefix(r, ReasonJetStream):
		return ReasonJetStream
	}
	return ReasonNotProvisioned
}

// attempt tries once; it returns the reason the log is not ready, or "".
func (p *Provisioner) attempt(ctx context.Context) (*Provisioned, string) {
	if !p.nc.IsConnected() {
		// A request now would fail at once with "outbound buffer limit
		// exceeded" (no reconnect buffer): say why the connection is down.
		cause := errors.New("no connection yet")
		if p.cfg.ConnError != nil {
			if err := p.cfg.ConnError(); err != nil {
				cause = err
			}
		}
		return nil, ReasonNATSUnreachable + ": " + cause.Error()
	}
	actx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
	defer cancel()
	if _, err := p.js.AccountInfo(actx); err != nil {
		return nil, jetStreamReason(err)
	}
	res, err := Provision(actx, p.js, p.cfg.Provision)
	if err != nil {
		if NoMetaLeader(err) {
			return nil, ReasonNoMetaLeader
		}
		return nil, p.notProvisioned(err)
	}
	return res, ""
}

func jetStreamReason(err error) string {
	switch {
	case NoMetaLeader(err):
		return ReasonNoMetaLeader
	case errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionClosed), errors.Is(err, nats.ErrDisconnected):
		return ReasonNATSUnreachable + ": " + err.Error()
	case errors.Is(err, natsjs.ErrJetStreamNotEnabled):
		return ReasonJetStream + ": JetStream is not enabled on the server (start nats-server with --jetstream)"
	case errors.Is(err, natsjs.ErrJetStreamNotEnabledForAccount):
		return ReasonJetStream + ": JetStream is not enabled for this account"
	}
	return ReasonJetStream + ": " + err.Error()
}

// JetStream API error codes of a cluster between meta leaders.
const errCodeClusterNotAvailable natsjs.ErrorCode = 10008

// NoMetaLeader reports whether err is what a JetStream cluster answers
// while it has no meta leader: "JetStream system temporarily unavailable"
// (10008), or no answer at all (the API request times out).
func NoMetaLeader(err error) bool {
	var apiErr *natsjs.APIError
	if errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeClusterNotAvailable {
		return true
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout)
}

// leaderElectedSubject is the advisory a replicated stream's new leader
// publishes (nats-server JSAdvisoryStreamLeaderElectedPre).
const leaderElectedSubject = "$JS.EVENT.ADVISORY.STREAM.LEADER_ELECTED."

// leaderElected is the part of that advisory the provisioner reads.
type leaderElected struct {
	Stream   string `json:"stream"`
	Leader   string `json:"leader"`
	Replicas []struct {
		Name    string `json:"name"`
		Current bool   `json:"current"`
	} `json:"replicas"`
}

// watch checks the provisioned stream every Watch until ctx ends (nil)
// or the stream is found deleted (what was lost). Leader changes come
// from the leader-elected advisories (every election, however quick)
// and from the periodic check (those missed while disconnected).
func (p *Provisioner) watch(ctx context.Context) *ReadyInfo {
	if p.cfg.Watch < 0 {
		<-ctx.Done()
		return nil
	}
	t := time.NewTicker(p.cfg.Watch)
	defer t.Stop()
	name := p.cfg.Provision.Stream
	elected := make(chan leaderElected, 16)
	sub, err := p.nc.Subscribe(leaderElectedSubject+name, func(m *nats.Msg) {
		var adv leaderElected
		if json.Unmarshal(m.Data, &adv) != nil || adv.Leader == "" {
			return
		}
		select {
		case elected <- adv:
		default: // the periodic check catches up
		}
	})
	if err != nil {
		p.log.Warn().Err(err).Msg("no leader-elected advisories: leader changes are seen by the periodic check only")
	} else {
		defer func() { _ = sub.Unsubscribe() }()
	}
	var lastSeen time.Time
	var lastSeq uint64
	missing := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case adv := <-elected:
			ch := LeaderChange{Stream: name, To: adv.Leader}
			for _, r := range adv.Replicas {
				ch.Replicas = append(ch.Replicas, PeerState{Name: r.Name, Current: r.Current})
			}
			p.leaderIs(ch)
			continue
		case <-t.C:
		}
		if !p.nc.IsConnected() {
			continue // the publisher's connection state says it
		}
		wctx, cancel := context.WithTimeout(ctx, p.cfg.Timeout)
		s, err := p.js.Stream(wctx, name)
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		switch {
		case errors.Is(err, natsjs.ErrStreamNotFound):
			// Twice in a row, so that a meta leader still applying its
			// log right after an election is never taken at its word.
			if missing++; missing < 2 {
				continue
			}
			reason := p.notProvisioned(errors.New("it was deleted; recreating it"))
			p.log.Error().Time("last_seen", lastSeen).Uint64("last_seq", lastSeq).
				Msg("the event stream was deleted under the running bridge: publishing is held until it is recreated, and a StreamRecreated record will say what went with it")
			now := p.cfg.Now()
			p.mu.Lock()
			p.st = ProvisionState{Reason: reason, Since: now}
			p.mu.Unlock()
			if p.cfg.OnLost != nil {
				p.cfg.OnLost(reason)
			}
			return &ReadyInfo{LostAt: lastSeen, LostLastSeq: lastSeq}
		case err != nil:
			// Transient during elections and restarts; the publisher's
			// resends cover the data path.
			missing = 0
			p.log.Debug().Err(err).Msg("stream watch")
			continue
		}
		missing = 0
		info := s.CachedInfo()
		lastSeen, lastSeq = p.cfg.Now(), info.State.LastSeq
		p.mu.Lock()
		p.st.LastSeq = lastSeq
		p.mu.Unlock()
		p.observeLeader(info)
	}
}

func (p *Provisioner) observeLeader(info *natsjs.StreamInfo) {
	if info.Cluster == nil || info.Cluster.Leader == "" {
		return
	}
	ch := LeaderChange{Stream: info.Config.Name, To: info.Cluster.Leader}
	for _, r := range info.Cluster.Replicas {
		ch.Replicas = append(ch.Replicas, PeerState{Name: r.Name, Current: r.Current})
	}
	p.leaderIs(ch)
}

// leaderIs records the stream's leader and reports a change (From and
// At filled in) unless it is the first one known or the same.
func (p *Provisioner) leaderIs(ch LeaderChange) {
	p.mu.Lock()
	prev := p.st.Leader
	p.st.Leader = ch.To
	p.mu.Unlock()
	if prev == "" || prev == ch.To {
		return
	}
	ch.From, ch.At = prev, p.cfg.Now()
	p.log.Info().Str("from", prev).Str("to", ch.To).Msg("stream leader changed")
	if p.cfg.OnLeaderChanged != nil {
		p.cfg.OnLeaderChanged(ch)
	}
}
