package bridge

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/ha"
	"github.com/ctibridge/ctibridge/internal/ha/hot"
	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
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

// Validate checks what can be checked before the bucket is known (its
// TTL, if Lease.TTL is left 0, is the lease's). Problems name the field
// as bridge.Config holds it (HA.Mode …).
func (c *HAConfig) Validate() error {
	var errs []error
	if _, err := ha.ParseMode(string(c.Mode)); err != nil {
		errs = append(errs, fmt.Errorf("bridge: HA.Mode %q: use cold (the instances share one instanceId and certificate) or hot (each has its own)", c.Mode))
	}
	ttl := c.Lease.TTL
	if ttl != 0 && ttl < lease.MinTTL {
		errs = append(errs, fmt.Errorf("bridge: HA.Lease.TTL is %s; use at least %s (default %s)", ttl, lease.MinTTL, jetstream.DefaultLeaderTTL))
	}
	if r := c.Lease.RenewEvery; r != 0 && ttl != 0 &&
		(float64(r) < float64(ttl)*lease.MinRenewFraction || float64(r) > float64(ttl)*lease.MaxRenewFraction) {
		errs = append(errs, fmt.Errorf("bridge: HA.Lease.RenewEvery is %s; use %.1f–%.1f × the lease TTL %s, or leave it out for %.1f ×",
			r, lease.MinRenewFraction, lease.MaxRenewFraction, ttl, lease.DefaultRenewFraction))
	}
	if c.ColdWait < 0 {
		errs = append(errs, fmt.Errorf("bridge: HA.ColdWait is %s; it must not be negative", c.ColdWait))
	}
	if c.Window.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("bridge: HA.Window.MaxAge is %s; it must not be negative", c.Window.MaxAge))
	} else if c.Mode == ha.ModeHot && c.Window.MaxAge != 0 && ttl != 0 && c.Window.MaxAge < ttl*3/2 {
		errs = append(errs, fmt.Errorf("bridge: HA.Window.MaxAge is %s, shorter than 1.5 × the lease TTL (%s): a takeover after a crash would reach further back than the standby remembers",
			c.Window.MaxAge, ttl*3/2))
	}
	if c.StepDownHold < 0 || c.TakeoverTimeout < 0 {
		errs = append(errs, errors.New("bridge: HA.StepDownHold and HA.TakeoverTimeout must not be negative"))
	}
	if c.Bucket != "" && strings.ContainsAny(c.Bucket, ". *>") {
		errs = append(errs, fmt.Errorf("bridge: HA.Bucket %q is not a valid bucket name (no spaces, dots, * or >)", c.Bucket))
	}
	return errors.Join(errs...)
}

// Routes of the engine's events (haState.route).
const (
	routeDrop    int32 = iota // not active, nothing kept (cold standby, demotion)
	routeWindow               // hot standby: kept for a takeover
	routeHold                 // hot takeover in progress: held until the recovered events are out
	routePublish              // active
	// routeRelease: a hot active handing over. The engine's events after
	// the cut are kept for a takeover (as routeWindow), while what was
	// enqueued before the cut is still being published.
	routeRelease
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
	// holds numbers the hot takeovers' holds (beginHold).
	holds atomic.Uint64
	// holdFull is closed when the current hold reaches the window's size
	// bound (heldFull).
	holdFull chan struct{}
	// behind, after a hot takeover whose engine had not yet read the
	// previous active's last stored change, drops the events it then
	// reads that the log holds already (hot.Behind); shift, set with it,
	// renumbers what is published after them (see takeoverShift).
	behind atomic.Pointer[hot.Behind]
	shift  atomic.Pointer[takeoverShift]

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
	if el == nil || !el.MayAct() {
		return false
	}
	way := h.way.Load()
	return way == routePublish || way == routeRelease
}

// tenure: active (the role), whatever the deadline says right now — the
// publisher holds what is enqueued until the lease allows it.
func (h *haState) tenure() bool { return h.way.Load() == routePublish }

// route decides, on the engine's goroutine, what becomes of an event:
// true to publish it now.
func (h *haState) route(ev *schema.Event) bool {
	switch h.way.Load() {
	case routePublish:
		// Past the deadline the publisher holds what it has (its Permit
		// is the lease): a renewal answered late resumes the tenure and
		// nothing is lost; a demotion drops it, for the successor to
		// account for (its gap, or recovered by a hot standby).
		if h.storedByPredecessor(ev) {
			return false
		}
		h.trackGap(ev)
		return true
	case routeWindow, routeRelease:
		h.window.Add(*ev)
	case routeHold:
		h.pmu.Lock()
		defer h.pmu.Unlock()
		switch h.way.Load() {
		case routePublish:
			if h.storedByPredecessor(ev) {
				return false
			}
			h.trackGap(ev)
			return true
		case routeWindow: // the takeover was abandoned meanwhile
			h.window.Add(*ev)
		case routeHold:
			h.pending = append(h.pending, *ev)
			if len(h.pending) >= h.window.MaxEvents() && h.holdFull != nil {
				select {
				case <-h.holdFull:
				default:
					close(h.holdFull)
				}
			}
		}
	}
	return false
}

// beginHold starts holding the engine's events (a hot takeover, from its
// cut until the recovered events are out), unless the takeover numbered
// hold has been abandoned already: the cut runs on the engine's goroutine
// and may come after the takeover gave up waiting for it.
func (h *haState) beginHold(hold uint64) {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	if h.holds.Load() != hold {
		return
	}
	h.dropHeldLocked()
	h.holdFull = make(chan struct{})
	h.way.Store(routeHold)
}

// heldFull returns a channel closed once the hold holds as many events as
// the window may keep (nil before the hold began): past that the member
// gives the takeover up (abandon), and its window's bound applies to what
// it held.
func (h *haState) heldFull() <-chan struct{} {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	if h.way.Load() != routeHold {
		return nil
	}
	return h.holdFull
}

// newHold numbers a takeover's hold (see beginHold).
func (h *haState) newHold() uint64 { return h.holds.Add(1) }

// endHold returns the routing of an abandoned hot takeover to the
// standby's window: the events held since the cut go into the window,
// after what it kept before the cut, and what the engine produces next
// follows them there. A later takeover — this member's own, if the
// previous active is gone — recovers them from the window like any
// other; dropped, or left held, they were lost or published stale.
func (h *haState) endHold() {
	h.pmu.Lock()
	defer h.pmu.Unlock()
	h.holds.Add(1) // a cut still to come starts no hold
	for _, ev := range h.pending {
		h.window.Add(ev)
	}
	h.dropHeldLocked()
	h.way.Store(routeWindow)
}

func (h *haState) dropHeldLocked() {
	clear(h.pending)
	h.pending = h.pending[:0]
}

// storedByPredecessor reports whether ev, read after a hot takeover, is a
// change the previous active stored already (see haState.behind); an
// event to publish is renumbered past the ones dropped before it.
func (h *haState) storedByPredecessor(ev *schema.Event) bool {
	if d := h.behind.Load(); d != nil {
		if d.Stored(ev) {
			h.shift.Load().drop(ev)
			return true
		}
		if d.Done() && h.behind.CompareAndSwap(d, nil) {
			h.log.Info().Int("already_stored", d.Dropped()).
				Msg("takeover: the engine has read past the previous active's last stored change; the changes before it that the log held were not published again")
		}
	}
	h.shift.Load().apply(ev)
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

// adoptOpenGap makes g the provider gap this tenure has open (a cold
// tenure continuing its predecessor's gap).
func (h *haState) adoptOpenGap(g *schema.Gap) {
	h.gmu.Lock()
	defer h.gmu.Unlock()
	h.openGap = g
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

// takeoverShift keeps the sequences a new hot active publishes contiguous
// when it drops, after its takeover, events the previous active had
// stored already (hot.Behind): the engine numbered the dropped events, so
// the later events of the same session, and of the same entity, would
// show a skip, which every consumer reads as events lost. What is
// published is renumbered past the dropped ones, as the window's
// recovered events are (hot.Window.Takeover). The ids a GapClosed names
// (gap.wavesFrom, each wave's firstId: engine-numbered events of the same
// session) are renumbered the same way, so that they name the events as
// published. A nil shift does nothing.
type takeoverShift struct {
	mu sync.Mutex
	// dropped holds, per session, the engine's numbers of the events not
	// published, ascending.
	dropped map[string][]uint64
	entity  map[shiftKey]uint64
}

type shiftKey struct {
	session string
	family  schema.Family
	entity  string
}

func newTakeoverShift() *takeoverShift {
	return &takeoverShift{dropped: map[string][]uint64{}, entity: map[shiftKey]uint64{}}
}

// drop records that ev is not published.
func (s *takeoverShift) drop(ev *schema.Event) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dropped[ev.Session]
	if i, found := slices.BinarySearch(d, ev.SessionSeq); !found {
		s.dropped[ev.Session] = slices.Insert(d, i, ev.SessionSeq)
	}
	s.entity[shiftKey{ev.Session, ev.Family, ev.Entity}]++
}

// apply renumbers ev, to be published, past what was dropped before it.
func (s *takeoverShift) apply(ev *schema.Event) {
	if s == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := uint64(len(s.dropped[ev.Session])); n > 0 && ev.SessionSeq > n {
		ev.SessionSeq -= n
	}
	if n := s.entity[shiftKey{ev.Session, ev.Family, ev.Entity}]; n > 0 && ev.Sequence > n {
		ev.Sequence -= n
	}
	if ev.Family != schema.FamilyBridge || ev.Data.Bridge == nil || ev.Data.Bridge.Gap == nil {
		return
	}
	g := ev.Data.Bridge.Gap
	if g.WavesFrom == "" && len(g.Waves) == 0 {
		return
	}
	// A copy: the engine's event may share its data with others.
	bd, gc := *ev.Data.Bridge, *g
	gc.WavesFrom = s.idLocked(g.WavesFrom)
	gc.Waves = append([]schema.GapWave(nil), g.Waves...)
	for i := range gc.Waves {
		gc.Waves[i].FirstID = s.idLocked(gc.Waves[i].FirstID)
	}
	bd.Gap = &gc
	ev.Data.Bridge = &bd
}

// idLocked returns the id, as published, of the event the engine numbered
// id. An event that was itself dropped is in the log under the previous
// active's id, which the engine cannot know: its id is left as it is, and
// `replay timeline`, finding no such event, reads that failover's window
// instead (docs/replay.md).
func (s *takeoverShift) idLocked(id string) string {
	session, seq, ok := schema.ParseEventID(id)
	if !ok {
		return id
	}
	d := s.dropped[session]
	i, found := slices.BinarySearch(d, seq)
	if found || i == 0 {
		return id
	}
	return schema.EventID(session, seq-uint64(i))
}
