package traffic

import (
	"sort"
	"time"
)

// scheduleArrival schedules the next generator arrival an exponential
// interval from now (a Poisson process at the configured rate).
func (m *Model) scheduleArrival() {
	gap := time.Duration(m.rng.ExpFloat64() / m.rate * float64(time.Second))
	m.seq++
	m.q.push(action{at: m.cur + gap, seq: m.seq, epoch: m.arrivalE, fn: m.arrive})
}

// arrive is one generator arrival: choose a scenario by weight, parties
// among idle in-service lines, and start it; or count it skipped.
func (m *Model) arrive() {
	m.stats.Arrivals++
	m.scheduleArrival()
	if len(m.mix) == 0 {
		m.stats.Skipped++
		return
	}
	w := m.rng.IntN(m.mixCum[len(m.mixCum)-1])
	s := m.mix[sort.SearchInts(m.mixCum, w+1)]
	f := m.newFlow(s, -1, -1, -1)
	if f.a = m.pick(m.phones.idle); f.a < 0 {
		m.stats.Skipped++
		return
	}
	switch s {
	case Busy:
		// A line already in a call when there is one, else an idle line
		// marked busy for the length of the scenario.
		if f.b = m.pick(m.phones.busy, f.a); f.b < 0 {
			f.b = m.pick(m.phones.idle, f.a)
		}
		f.forceBusy = true
	case SharedLine:
		f.b = m.pickShared(f.a)
	case RoutePoint:
		f.b = m.rps[m.rng.IntN(len(m.rps))]
	case CTIPort:
		f.b = m.pick(m.ports.idle)
	case Outbound, Inbound:
		if !m.trunkCallSetup(f) {
			m.stats.Skipped++
			return
		}
	case ForwardAll, ForwardBusy, ForwardNoAnswer:
		f.b = m.pickForwarded(s, f.a)
		f.forceBusy = s == ForwardBusy
	case Pickup:
		if f.b, f.c = m.pickPickup(f.a); f.c < 0 {
			f.b = -1
		}
	case Hunt:
		f.hunt = m.rng.IntN(len(m.hunts))
	default:
		f.b = m.pick(m.phones.idle, f.a)
	}
	if f.b < 0 && f.sc != Outbound && f.sc != Hunt {
		m.stats.Skipped++
		return
	}
	switch s {
	case BlindTransfer, ConsultTransfer, Conference, FailedTransfer, Park:
		if f.c = m.pick(m.phones.idle, f.a, f.b); f.c < 0 {
			m.stats.Skipped++
			return
		}
	case Transform:
		p := m.patterns[m.rng.IntN(len(m.patterns))]
		f.masked = applyMask(p.CallingMask, m.lines[f.a].DN)
	}
	f.calleeFirst = m.rng.IntN(2) == 1
	for _, li := range []int{f.a, f.b, f.c} {
		if li >= 0 && m.lines[li].kind != kindRoutePoint {
			m.claimFor(f, li)
		}
	}
	m.begin(f)
}
