package traffic

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/dialplan"
)

// Errors returned by the model. They are wrapped with detail; test them
// with errors.Is.
var (
	ErrUnknownScenario     = errors.New("traffic: unknown scenario")
	ErrUnknownLine         = errors.New("traffic: unknown line")
	ErrBadParty            = errors.New("traffic: line cannot take this role")
	ErrNoParty             = errors.New("traffic: no suitable party")
	ErrOutOfService        = errors.New("traffic: device out of service")
	ErrUnknownRouteSession = errors.New("traffic: unknown route session")
	ErrHooksRequired       = errors.New("traffic: hooks are required")
)

// Emission is one message the model produced, at the model time it
// happened.
type Emission struct {
	At  time.Time
	Msg ctilink.Message // CallStateEvent, FeatureEvent, CallChangedEvent, RouteEvent, MediaEvent or CallPartyEvent
}

// Stats counts what the model did since New.
type Stats struct {
	Arrivals  uint64 // generator arrivals (started or skipped)
	Skipped   uint64 // arrivals that found no idle line (or party) and were dropped
	Placed    uint64 // calls scripted with Place
	Started   map[Scenario]uint64
	Finished  uint64 // scenarios whose calls have all ended
	Dropped   uint64 // calls dropped by FailDevices
	Emissions uint64
	// RoutesRecovered counts route requests offered again to a session
	// that re-registered their route point (RecoverRoutes).
	RoutesRecovered uint64
}

// Model is the discrete-event call model. It is not safe for concurrent
// use: one goroutine drives it.
type Model struct {
	cfg   Config
	hooks Hooks
	rng   *rand.Rand
	start time.Time
	cur   time.Duration // model time, as an offset from start

	q   actionHeap
	seq uint64
	out []Emission

	lines    []*lineState
	byDN     map[string]int
	byDevice map[string][]int
	phones   pool
	ports    pool
	rps      []int
	patterns []Pattern
	// shared maps a shared directory number to its appearances, in
	// directory order; sharedDNs lists those numbers in directory order.
	shared    map[string][]int
	sharedDNs []string
	// byDialled maps the number that reaches each line (dialplan.Dialled)
	// to it; trunks, their routes and the trunks with outside numbers
	// serve the outbound and inbound scenarios (external.go).
	byDialled map[string]int
	trunks    []Trunk
	routes    []dialplan.Trunk
	extTrunks []int
	// forwarded lists, by forwardKind, the phone lines with that forward
	// (forward.go).
	forwarded [3][]int
	// pickup holds each pickup group's lines (pickup.go).
	pickup [][]int
	// parks are the park numbers and the flow parked on each (nil when
	// free); park.go.
	parks    []string
	parkedOn []*flow
	// hunts are the hunt pilots with their members' line indexes
	// (hunt.go).
	hunts []huntPilot

	calls    map[uint32]*call
	sessions map[uint32]*flow

	lastGID, lastHandle, lastSession uint32

	mix      []Scenario // scenarios with a positive weight, in Scenarios order
	mixCum   []int      // cumulative weights matching mix
	rate     float64
	arrivalE uint32 // bumped to cancel a scheduled arrival (rate change)

	stats Stats
}

// New builds a model over dir. hooks answers registration and service
// questions; it is required.
func New(cfg Config, dir Directory, hooks Hooks) (*Model, error) {
	if err := errors.Join(cfg.Validate(), dir.Validate()); err != nil {
		return nil, err
	}
	if hooks == nil {
		return nil, ErrHooksRequired
	}
	cfg = cfg.withDefaults()
	seed := uint64(cfg.Seed)
	m := &Model{
		cfg:       cfg,
		hooks:     hooks,
		rng:       rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		start:     cfg.Start,
		byDN:      map[string]int{},
		byDevice:  map[string][]int{},
		shared:    map[string][]int{},
		patterns:  append([]Pattern(nil), dir.Patterns...),
		trunks:    append([]Trunk(nil), dir.Trunks...),
		byDialled: map[string]int{},
		calls:     map[uint32]*call{},
		sessions:  map[uint32]*flow{},
		stats:     Stats{Started: map[Scenario]uint64{}},
	}
	m.addLines(kindPhone, dir.Phones, &m.phones)
	m.addLines(kindCTIPort, dir.CTIPorts, &m.ports)
	m.addLines(kindRoutePoint, dir.RoutePoints, nil)
	m.addForwards(dir.Forwards)
	m.addPickupGroups(dir.PickupGroups)
	m.parks = append([]string(nil), dir.ParkNumbers...)
	m.addHuntPilots(dir.HuntPilots)
	m.parkedOn = make([]*flow, len(m.parks))
	for i, t := range m.trunks {
		m.routes = append(m.routes, dialplan.Trunk{Name: t.Name, Prefixes: t.Prefixes})
		if len(t.Numbers) > 0 {
			m.extTrunks = append(m.extTrunks, i)
		}
	}
	if err := m.buildMix(cfg.Mix); err != nil {
		return nil, err
	}
	m.setRate(cfg.Rate)
	return m, nil
}

// buildMix keeps the scenarios the directory can play. An explicit weight
// for an impossible scenario is a configuration error; with a nil Mix the
// impossible ones are left out quietly.
func (m *Model) buildMix(mix map[Scenario]int) error {
	var errs []error
	total := 0
	for _, s := range Scenarios {
		w := 1
		if mix != nil {
			w = mix[s]
		}
		if w <= 0 {
			continue
		}
		if why := m.infeasible(s); why != "" {
			if mix != nil {
				errs = append(errs, fmt.Errorf("traffic: Config.Mix[%s] = %d but %s: set its weight to 0", s, w, why))
			}
			continue
		}
		total += w
		m.mix = append(m.mix, s)
		m.mixCum = append(m.mixCum, total)
	}
	return errors.Join(errs...)
}

// infeasible says why the directory cannot play s, or "".
func (m *Model) infeasible(s Scenario) string {
	devices := map[string]bool{}
	for _, li := range m.phones.all {
		devices[m.lines[li].Device] = true
	}
	need := 2
	switch s {
	case BlindTransfer, ConsultTransfer, Conference, FailedTransfer, Park:
		need = 3
	case RoutePoint, CTIPort, Outbound, Inbound, Hunt:
		need = 1
	}
	if len(devices) < need {
		return fmt.Sprintf("the directory has %d phone devices, %s needs %d", len(devices), s, need)
	}
	switch {
	case s == RoutePoint && len(m.rps) == 0:
		return "the directory has no route points"
	case s == CTIPort && len(m.ports.all) == 0:
		return "the directory has no CTI ports"
	case s == SharedLine && len(m.sharedDNs) == 0:
		return "the directory has no shared line (a directory number on several phones)"
	case s == Transform && len(m.patterns) == 0:
		return "the directory has no patterns"
	case (s == Outbound || s == Inbound) && len(m.extTrunks) == 0:
		return "the directory has no trunk with outside numbers"
	case s == ForwardAll && len(m.forwarded[fwdAll]) == 0,
		s == ForwardBusy && len(m.forwarded[fwdBusy]) == 0,
		s == ForwardNoAnswer && len(m.forwarded[fwdNoAnswer]) == 0:
		return "no phone line of the directory has that forward"
	case s == Pickup && len(m.pickup) == 0:
		return "the directory has no pickup groups"
	case s == Park && len(m.parks) == 0:
		return "the directory has no park numbers"
	case s == Hunt && len(m.hunts) == 0:
		return "the directory has no hunt pilots"
	}
	return ""
}

// SetRate changes the generator's arrival rate from now on (0 stops it).
// Emissions due up to now are kept for the next Advance.
func (m *Model) SetRate(rate float64, now time.Time) error {
	c := m.cfg
	c.Rate = rate
	if err := c.Validate(); err != nil {
		return err
	}
	m.run(m.offset(now))
	m.setRate(rate)
	return nil
}

func (m *Model) setRate(rate float64) {
	m.rate = rate
	m.arrivalE++
	if rate > 0 {
		m.scheduleArrival()
	}
}

// Advance runs the model up to now and returns, in order, everything that
// happened (including what Place, RouteSelect or SetRate produced since
// the previous call). A now earlier than the model's time is treated as
// the model's time: the model never goes back.
func (m *Model) Advance(now time.Time) []Emission {
	m.run(m.offset(now))
	return m.flush()
}

// NextAt reports when something is next due (zero if nothing is pending),
// so the driver can sleep. Emissions already produced but not yet
// collected make it the model's current time.
func (m *Model) NextAt() time.Time {
	if len(m.out) > 0 {
		return m.start.Add(m.cur)
	}
	if len(m.q) == 0 {
		return time.Time{}
	}
	return m.start.Add(m.q[0].at)
}

// Now reports the model's current time.
func (m *Model) Now() time.Time { return m.start.Add(m.cur) }

// ActiveCalls reports how many calls (global call ids) are live.
func (m *Model) ActiveCalls() int { return len(m.calls) }

// Stats returns a copy of the counters.
func (m *Model) Stats() Stats {
	s := m.stats
	s.Started = make(map[Scenario]uint64, len(m.stats.Started))
	for k, v := range m.stats.Started {
		s.Started[k] = v
	}
	return s
}

func (m *Model) offset(now time.Time) time.Duration {
	d := now.Sub(m.start)
	if d < m.cur {
		return m.cur
	}
	return d
}

// run executes every action due up to t, in (time, scheduling order).
func (m *Model) run(t time.Duration) {
	for len(m.q) > 0 && m.q[0].at <= t {
		a := m.q.pop()
		m.cur = a.at
		if a.f == nil {
			if a.epoch == m.arrivalE {
				a.fn()
			}
			continue
		}
		if a.f.done || a.epoch != a.f.epoch {
			continue
		}
		a.fn()
	}
	if t > m.cur {
		m.cur = t
	}
}

func (m *Model) flush() []Emission {
	out := m.out
	m.out = nil
	return out
}

func (m *Model) emit(msg ctilink.Message) {
	m.stats.Emissions++
	m.out = append(m.out, Emission{At: m.start.Add(m.cur), Msg: msg})
}

func (m *Model) nowNs() int64 { return m.start.Add(m.cur).UnixNano() }

// after schedules fn for flow f, d from now. It is skipped if f finishes
// or its epoch changes first (the way a pending step is cancelled).
func (m *Model) after(d time.Duration, f *flow, fn func()) {
	m.seq++
	m.q.push(action{at: m.cur + d, seq: m.seq, f: f, epoch: f.epoch, fn: fn})
}

// draw returns a duration uniform in [min, max], in whole milliseconds
// when the span allows it.
func (m *Model) draw(min, max time.Duration) time.Duration {
	if max <= min {
		return min
	}
	span := max - min
	if span >= time.Millisecond {
		return min + time.Duration(m.rng.Int64N(int64(span/time.Millisecond)+1))*time.Millisecond
	}
	return min + time.Duration(m.rng.Int64N(int64(span)+1))
}

func (m *Model) ringTime() time.Duration { return m.draw(m.cfg.RingTime, m.cfg.RingTimeMax) }
func (m *Model) talkTime() time.Duration { return m.draw(m.cfg.TalkTime, m.cfg.TalkTimeMax) }
func (m *Model) holdTime() time.Duration { return m.draw(m.cfg.HoldTime, m.cfg.HoldTimeMax) }

// next returns the next value of an id counter, never 0 (0 means "none"
// on the wire).
func next(p *uint32) uint32 {
	*p++
	if *p == 0 {
		*p = 1
	}
	return *p
}

// action is one scheduled step.
type action struct {
	at    time.Duration
	seq   uint64 // ties at the same time run in scheduling order
	f     *flow  // nil for generator arrivals
	epoch uint32
	fn    func()
}

// actionHeap is a binary min-heap on (at, seq). Hand-rolled rather than
// container/heap to avoid boxing every action in an interface.
type actionHeap []action

func (h actionHeap) less(i, j int) bool {
	if h[i].at != h[j].at {
		return h[i].at < h[j].at
	}
	return h[i].seq < h[j].seq
}

func (h *actionHeap) push(a action) {
	*h = append(*h, a)
	q := *h
	i := len(q) - 1
	for i > 0 {
		p := (i - 1) / 2
		if !q.less(i, p) {
			break
		}
		q[i], q[p] = q[p], q[i]
		i = p
	}
}

func (h *actionHeap) pop() action {
	q := *h
	top := q[0]
	n := len(q) - 1
	q[0] = q[n]
	q[n] = action{} // drop the closure reference for the GC
	q = q[:n]
	i := 0
	for {
		l, r, s := 2*i+1, 2*i+2, i
		if l < n && q.less(l, s) {
			s = l
		}
		if r < n && q.less(r, s) {
			s = r
		}
		if s == i {
			break
		}
		q[i], q[s] = q[s], q[i]
		i = s
	}
	*h = q
	return top
}
