package traffic

import (
	"fmt"
	"strings"
	"time"
)

// Place scripts one call now: from/to are DNs (to may be empty for scenarios that pick
// their own parties, e.g. routepoint/ctiport pick the first registered one, transfer
// picks a third party); returns the global call id of the primary call.
//
// from must be a phone line in service; it may already be in a call (a
// phone has several call appearances). For basic, noanswer, busy, hold
// and transform, to is a phone line; a busy or out-of-service one makes
// the call fail like busy, and the busy scenario treats to as busy
// whatever its state. For the transfer and conference scenarios to is the
// transferring/conferencing party and third the party added (empty: the
// first idle in-service phone line of another device). For transform,
// third may name the prefix of the pattern to use (default: the first
// pattern). For routepoint and ctiport, to names the route point or CTI
// port (empty: the first registered one).
//
// A scripted call plays the canonical order of the package documentation:
// the caller hangs up first, conference parties leave in the order caller,
// transferrer, added party. The first emissions (DIALTONE) are returned by
// the next Advance.
func (m *Model) Place(s Scenario, from, to, third string, now time.Time) (uint32, error) {
	if !s.Valid() {
		return 0, fmt.Errorf("%w: %q", ErrUnknownScenario, s)
	}
	m.run(m.offset(now))
	if s == Inbound {
		return m.placeInbound(from, to)
	}
	a, err := m.lineOf(from, "from", kindPhone)
	if err != nil {
		return 0, err
	}
	if !m.inService(a) {
		return 0, fmt.Errorf("%w: from %s (%s)", ErrOutOfService, from, m.lines[a].Device)
	}
	f := m.newFlow(s, a, -1, -1)
	f.placed = true
	switch s {
	case RoutePoint:
		if f.b, err = m.placeRoutePoint(to); err != nil {
			return 0, err
		}
	case CTIPort:
		if f.b, err = m.placeCTIPort(to); err != nil {
			return 0, err
		}
	case Outbound:
		if f.trunk, f.ext, err = m.outside("to", to); err != nil {
			return 0, err
		}
	case Hunt:
		if f.hunt, err = m.pilotOf(to); err != nil {
			return 0, err
		}
	case SharedLine:
		if f.b, err = m.placeShared(to, a); err != nil {
			return 0, err
		}
	default:
		if f.b, err = m.lineOf(to, "to", kindPhone); err != nil {
			return 0, err
		}
		if f.b == a {
			return 0, fmt.Errorf("%w: from and to are both %s", ErrBadParty, from)
		}
		if s == ForwardAll || s == ForwardBusy || s == ForwardNoAnswer {
			if err := m.forwardScenarioLine(s, f.b); err != nil {
				return 0, err
			}
		}
	}
	switch s {
	case Pickup:
		if f.c, err = m.placePickupParty(a, f.b, third); err != nil {
			return 0, err
		}
	case BlindTransfer, ConsultTransfer, Conference, FailedTransfer, Park:
		if third == "" {
			f.c = m.firstIdle(m.phones.all, a, f.b)
			if f.c < 0 {
				return 0, fmt.Errorf("%w: no idle in-service phone line for the third party of %s", ErrNoParty, s)
			}
		} else {
			if f.c, err = m.lineOf(third, "third", kindPhone); err != nil {
				return 0, err
			}
			if f.c == a || f.c == f.b {
				return 0, fmt.Errorf("%w: third %s is already a party", ErrBadParty, third)
			}
		}
	case Transform:
		p, err := m.patternFor(third)
		if err != nil {
			return 0, err
		}
		f.masked = applyMask(p.CallingMask, m.lines[a].DN)
	}
	m.claimFor(f, a)
	for _, li := range []int{f.b, f.c} {
		if li < 0 || m.lines[li].kind == kindRoutePoint {
			continue
		}
		if (s == Busy || s == ForwardBusy) && li == f.b {
			f.forceBusy = true
			m.claimFor(f, li)
			continue
		}
		if m.lines[li].busy == 0 {
			m.claimFor(f, li)
		}
	}
	m.stats.Placed++
	return m.begin(f), nil
}

func (m *Model) lineOf(dn, field string, kind lineKind) (int, error) {
	li, ok := m.byDN[dn]
	if !ok {
		return -1, fmt.Errorf("%w: %s %q is not in the directory", ErrUnknownLine, field, dn)
	}
	if m.lines[li].kind != kind {
		return -1, fmt.Errorf("%w: %s %q is a %s, want a %s", ErrBadParty, field, dn, m.lines[li].kind, kind)
	}
	return li, nil
}

func (k lineKind) String() string {
	switch k {
	case kindPhone:
		return "phone"
	case kindCTIPort:
		return "CTI port"
	case kindShared:
		return "shared line"
	}
	return "route point"
}

func (m *Model) placeRoutePoint(to string) (int, error) {
	if to != "" {
		return m.lineOf(to, "to", kindRoutePoint)
	}
	if len(m.rps) == 0 {
		return -1, fmt.Errorf("%w: the directory has no route points", ErrNoParty)
	}
	for _, li := range m.rps {
		if m.hooks.RoutePointRegistered(m.lines[li].Device) {
			return li, nil
		}
	}
	return m.rps[0], nil
}

func (m *Model) placeShared(to string, from int) (int, error) {
	dns := m.sharedDNs
	if to != "" {
		if _, ok := m.shared[to]; !ok {
			return -1, fmt.Errorf("%w: to %s is not a shared line", ErrBadParty, to)
		}
		dns = []string{to}
	}
	for _, dn := range dns {
		if li := m.sharedFree(dn, from); li >= 0 {
			return li, nil
		}
	}
	return -1, fmt.Errorf("%w: no shared line with every appearance idle and in service", ErrNoParty)
}

func (m *Model) placeCTIPort(to string) (int, error) {
	if to != "" {
		return m.lineOf(to, "to", kindCTIPort)
	}
	if len(m.ports.all) == 0 {
		return -1, fmt.Errorf("%w: the directory has no CTI ports", ErrNoParty)
	}
	for _, li := range m.ports.all {
		if _, _, reg := m.hooks.CTIPort(m.lines[li].Device); reg && m.lines[li].busy == 0 && m.inService(li) {
			return li, nil
		}
	}
	return m.ports.all[0], nil
}

func (m *Model) patternFor(prefix string) (Pattern, error) {
	if len(m.patterns) == 0 {
		return Pattern{}, fmt.Errorf("%w: the directory has no patterns", ErrNoParty)
	}
	if prefix == "" {
		return m.patterns[0], nil
	}
	var known []string
	for _, p := range m.patterns {
		if p.Prefix == prefix {
			return p, nil
		}
		known = append(known, p.Prefix)
	}
	return Pattern{}, fmt.Errorf("%w: no pattern with prefix %q (known: %s)", ErrNoParty, prefix, strings.Join(known, ", "))
}
