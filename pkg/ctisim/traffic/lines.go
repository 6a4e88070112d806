package traffic

import (
	"fmt"
	"slices"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/dialplan"
)

type lineKind uint8

const (
	kindPhone lineKind = iota
	kindCTIPort
	kindRoutePoint
	// kindShared: one appearance of a directory number several phones
	// share; only the sharedline scenario uses them.
	kindShared
)

// lineState is one directory line plus what the model knows about it.
type lineState struct {
	Line
	idx  int
	kind lineKind
	// busy counts the scenarios holding a claim on the line; a claimed
	// line is never picked by the generator.
	busy int
	pool *pool
	pos  int    // index in pool.idle or pool.busy
	legs []*leg // live legs, oldest first
	ip   string // synthetic media address of a phone
	// fwd holds the line's forward destinations (line indexes, -1
	// none), by forwardKind.
	fwd [3]int
	// group is the line's pickup group (index into Model.pickup), -1.
	group int
}

// pool keeps the lines of one kind split into idle and busy slices so the
// generator picks a random idle line in O(1).
type pool struct {
	all, idle, busy []int
}

func (m *Model) addLines(kind lineKind, lines []Line, p *pool) {
	count := map[string]int{}
	if kind == kindPhone {
		for _, l := range lines {
			count[l.DN]++
		}
	}
	for _, l := range lines {
		idx := len(m.lines)
		n := idx + 1
		ln := &lineState{Line: l, idx: idx, kind: kind, pool: p,
			ip:  fmt.Sprintf("10.%d.%d.%d", 16+(n>>16)&0x3f, (n>>8)&0xff, n&0xff),
			fwd: [3]int{-1, -1, -1}, group: -1}
		shared := count[l.DN] > 1
		if shared {
			// A shared line: its appearances are kept apart from the pool.
			ln.kind, ln.pool = kindShared, nil
		}
		m.lines = append(m.lines, ln)
		if _, dup := m.byDN[l.DN]; !dup {
			m.byDN[l.DN] = idx
			if shared {
				m.sharedDNs = append(m.sharedDNs, l.DN)
			}
		}
		if _, dup := m.byDialled[dialplan.Dialled(l.DN)]; !dup {
			m.byDialled[dialplan.Dialled(l.DN)] = idx
		}
		m.byDevice[l.Device] = append(m.byDevice[l.Device], idx)
		switch {
		case shared:
			m.shared[l.DN] = append(m.shared[l.DN], idx)
		case p != nil:
			p.all = append(p.all, idx)
			ln.pos = len(p.idle)
			p.idle = append(p.idle, idx)
		default:
			m.rps = append(m.rps, idx)
		}
	}
}

// claim marks the line used by one more scenario.
func (m *Model) claim(li int) {
	ln := m.lines[li]
	ln.busy++
	if ln.busy == 1 && ln.pool != nil {
		ln.pool.move(m, ln, &ln.pool.idle, &ln.pool.busy)
	}
}

// release drops one claim.
func (m *Model) release(li int) {
	ln := m.lines[li]
	ln.busy--
	if ln.busy == 0 && ln.pool != nil {
		ln.pool.move(m, ln, &ln.pool.busy, &ln.pool.idle)
	}
}

func (p *pool) move(m *Model, ln *lineState, from, to *[]int) {
	s := *from
	last := s[len(s)-1]
	s[ln.pos] = last
	m.lines[last].pos = ln.pos
	*from = s[:len(s)-1]
	ln.pos = len(*to)
	*to = append(*to, ln.idx)
}

func (m *Model) inService(li int) bool { return m.hooks.DeviceInService(m.lines[li].Device) }

// pickTries bounds the random probes of one pick, so an arrival costs
// O(1) even when most idle lines are out of service.
const pickTries = 32

// pick returns a random line of set that is in service and not on one of
// the avoided lines' devices, or -1.
func (m *Model) pick(set []int, avoid ...int) int {
	n := len(set)
	if n == 0 {
		return -1
	}
	for range min(n, pickTries) {
		li := set[m.rng.IntN(n)]
		if m.sameDevice(li, avoid) || !m.inService(li) {
			continue
		}
		return li
	}
	return -1
}

func (m *Model) sameDevice(li int, others []int) bool {
	for _, o := range others {
		if o >= 0 && m.lines[o].Device == m.lines[li].Device {
			return true
		}
	}
	return false
}

// firstIdle returns the first line of set in directory order that is idle,
// in service and not on an avoided device, or -1 (Place uses it to pick a
// party without touching the random stream).
func (m *Model) firstIdle(set []int, avoid ...int) int {
	for _, li := range set {
		if m.lines[li].busy == 0 && !m.sameDevice(li, avoid) && m.inService(li) {
			return li
		}
	}
	return -1
}

func (m *Model) party(li int) ctilink.Party {
	if li < 0 {
		return ctilink.Party{}
	}
	return ctilink.Party{DN: m.lines[li].DN, Device: m.lines[li].Device}
}

func (ln *lineState) removeLeg(l *leg) {
	if i := slices.Index(ln.legs, l); i >= 0 {
		ln.legs = slices.Delete(ln.legs, i, i+1)
	}
}
