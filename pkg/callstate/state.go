package callstate

import (
	"slices"
	"strings"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// maxGaps bounds the gap history kept in the state; older closed gaps are
// forgotten first (the log still has them).
const maxGaps = 256

// maxMergedFrom bounds a call's MergedFrom list (a conference that keeps
// adding parties must not grow a call without bound).
const maxMergedFrom = 16

// State is the folded provider, terminal, address, call and route state.
// The zero value is not usable; call New.
type State struct {
	provider    Provider
	managers    map[string]*CTIManager
	bridge      Bridge
	terminals   map[string]*Terminal
	addresses   map[string]*Address
	calls       map[string]*Call
	routePoints map[string]*RoutePoint
	gaps        []Gap
	stats       Stats
}

// New returns an empty state.
func New() *State {
	return &State{
		managers:    make(map[string]*CTIManager),
		terminals:   make(map[string]*Terminal),
		addresses:   make(map[string]*Address),
		calls:       make(map[string]*Call),
		routePoints: make(map[string]*RoutePoint),
	}
}

// Apply folds one event into the state. Events must be applied in stream
// order. Apply never fails: events it does not understand are counted
// (Stats().UnknownEvents) and otherwise ignored, so a newer producer does
// not break an older consumer.
func (s *State) Apply(ev schema.Event) {
	s.stats.Events++
	if !ev.Time.IsZero() && ev.Time.After(s.stats.LastTime) {
		s.stats.LastTime = ev.Time
	}
	if ev.Session != "" {
		s.stats.LastSession, s.stats.LastSessionSeq = ev.Session, ev.SessionSeq
	}
	if ev.Family == schema.FamilyProvider && ev.Session != "" {
		s.provider.Session = ev.Session
	}
	if ev.Data.Snapshot {
		s.stats.SnapshotEvts++
	}
	if ev.Data.Inferred {
		s.stats.InferredEvts++
	}
	family := ev.Family
	if family == "" {
		if spec, ok := schema.Spec(ev.Name); ok {
			family = spec.Family
		}
	}
	switch family {
	case schema.FamilyProvider:
		s.applyProvider(&ev)
	case schema.FamilyBridge:
		s.applyBridge(&ev)
	case schema.FamilyTerminal:
		s.applyTerminal(&ev)
	case schema.FamilyAddress:
		s.applyAddress(&ev)
	case schema.FamilyCall:
		s.applyCall(&ev)
	case schema.FamilyRoute:
		s.applyRoute(&ev)
	default:
		s.stats.UnknownEvents++
	}
}

// Provider returns the provider state.
func (s *State) Provider() Provider {
	p := s.provider
	p.Reachable = slices.Clone(p.Reachable)
	p.RejectedDevices = slices.Clone(p.RejectedDevices)
	return p
}

// Bridge returns what the log says about the bridge itself.
func (s *State) Bridge() Bridge { return s.bridge }

// Stats returns the fold counters.
func (s *State) Stats() Stats { return s.stats }

// CTIManagers returns every CTIManager the log mentioned, by name.
func (s *State) CTIManagers() []CTIManager {
	out := make([]CTIManager, 0, len(s.managers))
	for _, m := range s.managers {
		out = append(out, *m)
	}
	slices.SortFunc(out, func(a, b CTIManager) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Terminal returns one terminal.
func (s *State) Terminal(name string) (Terminal, bool) {
	t, ok := s.terminals[name]
	if !ok {
		return Terminal{}, false
	}
	return cloneTerminal(t), true
}

// Terminals returns every terminal, by name.
func (s *State) Terminals() []Terminal {
	out := make([]Terminal, 0, len(s.terminals))
	for _, t := range s.terminals {
		out = append(out, cloneTerminal(t))
	}
	slices.SortFunc(out, func(a, b Terminal) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// TerminalsOutOfService returns the terminals currently out of service.
func (s *State) TerminalsOutOfService() []Terminal {
	var out []Terminal
	for _, t := range s.terminals {
		if t.State == OutOfService {
			out = append(out, cloneTerminal(t))
		}
	}
	slices.SortFunc(out, func(a, b Terminal) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// Address returns one address.
func (s *State) Address(dn string) (Address, bool) {
	a, ok := s.addresses[dn]
	if !ok {
		return Address{}, false
	}
	return *a, true
}

// Addresses returns every address, by DN.
func (s *State) Addresses() []Address {
	out := make([]Address, 0, len(s.addresses))
	for _, a := range s.addresses {
		out = append(out, *a)
	}
	slices.SortFunc(out, func(a, b Address) int { return strings.Compare(a.DN, b.DN) })
	return out
}

// AddressesOutOfService returns the addresses currently out of service.
func (s *State) AddressesOutOfService() []Address {
	var out []Address
	for _, a := range s.addresses {
		if a.State == OutOfService {
			out = append(out, *a)
		}
	}
	slices.SortFunc(out, func(a, b Address) int { return strings.Compare(a.DN, b.DN) })
	return out
}

// Call returns one call by its global call id.
func (s *State) Call(id string) (Call, bool) {
	c, ok := s.calls[id]
	if !ok {
		return Call{}, false
	}
	return cloneCall(c), true
}

// Calls returns every call in progress, by id.
func (s *State) Calls() []Call {
	out := make([]Call, 0, len(s.calls))
	for _, c := range s.calls {
		out = append(out, cloneCall(c))
	}
	slices.SortFunc(out, func(a, b Call) int { return compareIDs(a.ID, b.ID) })
	return out
}

// CallCount returns the number of calls in progress without copying them.
func (s *State) CallCount() int { return len(s.calls) }

// CallsOn returns the calls that have a (non-transient) connection on an
// address, by id.
func (s *State) CallsOn(address string) []Call {
	var out []Call
	for _, c := range s.calls {
		for _, cn := range c.Connections {
			if cn.Address == address && !cn.Transient {
				out = append(out, cloneCall(c))
				break
			}
		}
	}
	slices.SortFunc(out, func(a, b Call) int { return compareIDs(a.ID, b.ID) })
	return out
}

// RoutePoints returns every route point with its open sessions.
func (s *State) RoutePoints() []RoutePoint {
	out := make([]RoutePoint, 0, len(s.routePoints))
	for _, r := range s.routePoints {
		c := *r
		c.Sessions = slices.Clone(r.Sessions)
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b RoutePoint) int { return strings.Compare(a.Address, b.Address) })
	return out
}

// Gaps returns the recorded gaps, oldest first.
func (s *State) Gaps() []Gap { return slices.Clone(s.gaps) }

// OpenGap returns the provider gap currently open, if any.
func (s *State) OpenGap() (Gap, bool) {
	for i := len(s.gaps) - 1; i >= 0; i-- {
		if s.gaps[i].Open() {
			return s.gaps[i], true
		}
	}
	return Gap{}, false
}

// Summary counts what the state holds.
func (s *State) Summary() Summary {
	sum := Summary{
		ProviderState:      s.provider.State,
		CTIManager:         s.provider.CTIManager,
		Terminals:          len(s.terminals),
		Addresses:          len(s.addresses),
		Calls:              len(s.calls),
		EventsApplied:      s.stats.Events,
		CallsEndedTotal:    s.stats.CallsEnded,
		CallsEndedInGapTot: s.stats.CallsInGap,
	}
	for _, t := range s.terminals {
		if t.State == OutOfService {
			sum.TerminalsOOS++
		}
	}
	for _, a := range s.addresses {
		if a.State == OutOfService {
			sum.AddressesOOS++
		}
	}
	for _, c := range s.calls {
		if c.Unobserved {
			sum.UnobservedCalls++
		}
		for _, cn := range c.Connections {
			if cn.Transient {
				sum.TransientConns++
			} else {
				sum.Connections++
			}
		}
	}
	for _, r := range s.routePoints {
		sum.RouteSessions += len(r.Sessions)
	}
	for _, g := range s.gaps {
		if g.Open() {
			sum.OpenGaps++
		}
	}
	return sum
}

// compareIDs orders call ids numerically when both are numbers (global
// call ids usually are), else lexically.
func compareIDs(a, b string) int {
	if len(a) != len(b) && isDigits(a) && isDigits(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func cloneTerminal(t *Terminal) Terminal {
	c := *t
	c.Addresses = slices.Clone(t.Addresses)
	c.MediaCodecs = slices.Clone(t.MediaCodecs)
	if t.Registered != nil {
		r := *t.Registered
		c.Registered = &r
	}
	return c
}

func cloneParty(p *schema.Party) *schema.Party {
	if p == nil {
		return nil
	}
	c := *p
	return &c
}

func cloneCall(c *Call) Call {
	out := *c
	out.Calling = cloneParty(c.Calling)
	out.Called = cloneParty(c.Called)
	out.CurrentCalling = cloneParty(c.CurrentCalling)
	out.CurrentCalled = cloneParty(c.CurrentCalled)
	out.LastRedirecting = cloneParty(c.LastRedirecting)
	out.MergedFrom = slices.Clone(c.MergedFrom)
	if c.Feature != nil {
		f := *c.Feature
		f.Controller = cloneParty(c.Feature.Controller)
		out.Feature = &f
	}
	out.Connections = make([]Connection, len(c.Connections))
	for i, cn := range c.Connections {
		cn.TerminalConnections = slices.Clone(cn.TerminalConnections)
		out.Connections[i] = cn
	}
	return out
}
