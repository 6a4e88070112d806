package traffic

import (
	"fmt"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/dialplan"
)

// Calls across a trunk. The far end is a number outside the cluster: it
// has no line, so only the phone's leg is on the wire, and its party
// carries External with the trunk as its device (the bridge reports JTAPI's
// network states for it, pkg/ctiengine/callmodel/network.go).
//
//   - outbound: A DIALTONE; one DialTime later A DIALING, A PROCEEDING
//     (called = X, external, device = the trunk); one DialTime later (the
//     network reaching the far end) A RINGBACK; after the ring time the far
//     end answers: A CONNECTED; after the talk time A DISCONNECTED
//     (NORMALCALLCLEARING).
//   - inbound: X calls B through the trunk: B OFFERING (calling = X,
//     external), B ACCEPTED; after the ring time B CONNECTED; after the
//     talk time B DISCONNECTED. The call's CallManager is the trunk's. A
//     B that is busy or out of service produces nothing on the wire (the
//     busy signal goes back over the trunk).

// externalParty is number X as a party reached through trunk t.
func (m *Model) externalParty(t int, number string) ctilink.Party {
	return ctilink.Party{DN: number, Device: m.trunks[t].Name, External: true}
}

// internal reports whether a dialled number reaches a line of the
// cluster (so no trunk carries it).
func (m *Model) internal(number string) bool {
	_, ok := m.byDialled[number]
	return ok
}

// trunkFor returns the trunk that carries a dialled number, or -1.
func (m *Model) trunkFor(number string) int {
	t, ok := dialplan.Route(m.routes, number, m.internal)
	if !ok {
		return -1
	}
	for i := range m.trunks {
		if m.trunks[i].Name == t.Name {
			return i
		}
	}
	return -1
}

// outside resolves a Place argument naming a number outside the cluster
// (empty: the first trunk's first number).
func (m *Model) outside(field, number string) (int, ctilink.Party, error) {
	if len(m.trunks) == 0 {
		return -1, ctilink.Party{}, fmt.Errorf("%w: the directory has no trunks", ErrNoParty)
	}
	if number == "" {
		for i, t := range m.trunks {
			if len(t.Numbers) > 0 {
				return i, m.externalParty(i, t.Numbers[0]), nil
			}
		}
		return -1, ctilink.Party{}, fmt.Errorf("%w: no trunk lists an outside number; name one in %s", ErrNoParty, field)
	}
	if m.internal(number) {
		return -1, ctilink.Party{}, fmt.Errorf("%w: %s %q is a number of the cluster, not an outside one", ErrBadParty, field, number)
	}
	t := m.trunkFor(number)
	if t < 0 {
		return -1, ctilink.Party{}, fmt.Errorf("%w: %s %q matches no trunk prefix", ErrNoParty, field, number)
	}
	return t, m.externalParty(t, number), nil
}

// pickOutside draws a trunk and one of its numbers for the generator.
func (m *Model) pickOutside() (int, ctilink.Party, bool) {
	if len(m.extTrunks) == 0 {
		return -1, ctilink.Party{}, false
	}
	t := m.extTrunks[m.rng.IntN(len(m.extTrunks))]
	nums := m.trunks[t].Numbers
	return t, m.externalParty(t, nums[m.rng.IntN(len(nums))]), true
}

// placeInbound scripts an inbound call: from is the outside number (empty:
// the first trunk's first), to the phone line called.
func (m *Model) placeInbound(from, to string) (uint32, error) {
	t, x, err := m.outside("from", from)
	if err != nil {
		return 0, err
	}
	b, err := m.lineOf(to, "to", kindPhone)
	if err != nil {
		return 0, err
	}
	f := m.newFlow(Inbound, -1, b, -1)
	f.placed, f.trunk, f.ext = true, t, x
	if m.lines[b].busy == 0 {
		m.claimFor(f, b)
	}
	m.stats.Placed++
	return m.begin(f), nil
}

// startOutbound: A calls outside number f.ext through trunk f.trunk.
func (m *Model) startOutbound(f *flow) {
	c, la := m.dialTone(f, f.a)
	f.call1, f.la = c, la
	m.after(m.cfg.DialTime, f, func() {
		m.dialed(la, f.ext, ctilink.Party{})
		m.after(m.cfg.DialTime, f, func() {
			m.set(la, ctilink.CallStateRingback, ctilink.CauseNoError)
			m.after(m.ringTime(), f, func() {
				m.set(la, ctilink.CallStateConnected, ctilink.CauseNoError)
				c.connected = true
				m.after(m.talkTime(), f, func() {
					m.set(la, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
				})
			})
		})
	})
}

// startInbound: outside number f.ext calls phone line f.b.
func (m *Model) startInbound(f *flow) {
	c := m.newCallCM(f, m.trunks[f.trunk].CallManager)
	f.call1 = c
	if !m.reachable(f, f.b) {
		// Busy or out of service: the caller hears busy over the trunk;
		// nothing reaches CTI.
		m.endCall(c)
		return
	}
	lb := m.addLeg(c, f.b, false, ctilink.ReasonDirectCall, f.ext, m.party(f.b))
	f.lb = lb
	m.set(lb, ctilink.CallStateOffering, ctilink.CauseNoError)
	m.set(lb, ctilink.CallStateAccepted, ctilink.CauseNoError)
	m.after(m.ringTime(), f, func() {
		m.set(lb, ctilink.CallStateConnected, ctilink.CauseNoError)
		c.connected = true
		m.after(m.talkTime(), f, func() {
			m.set(lb, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing)
		})
	})
}

// trunkCallSetup is the generator's part of an outbound or inbound
// arrival: the outside party, and (inbound) the phone moved to the called
// side.
func (m *Model) trunkCallSetup(f *flow) bool {
	t, x, ok := m.pickOutside()
	if !ok {
		return false
	}
	f.trunk, f.ext = t, x
	if f.sc == Inbound {
		f.a, f.b = -1, f.a
	}
	return true
}
