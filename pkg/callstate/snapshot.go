package callstate

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
)

// SnapshotVersion is the version of the snapshot document. A snapshot of
// another version is refused by UnmarshalJSON (the caller rebuilds from
// the log instead).
const SnapshotVersion = 1

// ErrSnapshotVersion is returned when a snapshot was written by an
// incompatible version of this package.
var ErrSnapshotVersion = errors.New("callstate: unsupported snapshot version")

// snapshotDoc is the serialised form of a State. Maps become slices sorted
// by key so the document is byte-for-byte deterministic.
type snapshotDoc struct {
	Version     int          `json:"version"`
	Provider    Provider     `json:"provider"`
	CTIManagers []CTIManager `json:"ctiManagers,omitempty"`
	Bridge      Bridge       `json:"bridge"`
	Terminals   []*Terminal  `json:"terminals,omitempty"`
	Addresses   []*Address   `json:"addresses,omitempty"`
	Calls       []*Call      `json:"calls,omitempty"`
	RoutePoints []RoutePoint `json:"routePoints,omitempty"`
	Gaps        []Gap        `json:"gaps,omitempty"`
	Stats       Stats        `json:"stats"`
}

// MarshalJSON writes the whole state as a deterministic JSON document.
func (s *State) MarshalJSON() ([]byte, error) {
	doc := snapshotDoc{
		Version:     SnapshotVersion,
		Provider:    s.provider,
		CTIManagers: s.CTIManagers(),
		Bridge:      s.bridge,
		RoutePoints: s.RoutePoints(),
		Gaps:        s.gaps,
		Stats:       s.stats,
	}
	doc.Terminals = sortedValues(s.terminals, func(t *Terminal) string { return t.Name })
	doc.Addresses = sortedValues(s.addresses, func(a *Address) string { return a.DN })
	doc.Calls = make([]*Call, 0, len(s.calls))
	for _, c := range s.calls {
		doc.Calls = append(doc.Calls, c)
	}
	slices.SortFunc(doc.Calls, func(a, b *Call) int { return compareIDs(a.ID, b.ID) })
	return json.Marshal(doc)
}

// UnmarshalJSON replaces the state with a snapshot written by MarshalJSON.
func (s *State) UnmarshalJSON(b []byte) error {
	var doc snapshotDoc
	if err := json.Unmarshal(b, &doc); err != nil {
		return fmt.Errorf("callstate: decode snapshot: %w", err)
	}
	if doc.Version != SnapshotVersion {
		return fmt.Errorf("%w: %d (want %d)", ErrSnapshotVersion, doc.Version, SnapshotVersion)
	}
	n := New()
	n.provider = doc.Provider
	n.bridge = doc.Bridge
	n.gaps = doc.Gaps
	n.stats = doc.Stats
	for i := range doc.CTIManagers {
		m := doc.CTIManagers[i]
		if m.Name != "" {
			n.managers[m.Name] = &m
		}
	}
	for _, t := range doc.Terminals {
		if t != nil && t.Name != "" {
			n.terminals[t.Name] = t
		}
	}
	for _, a := range doc.Addresses {
		if a != nil && a.DN != "" {
			n.addresses[a.DN] = a
		}
	}
	for _, c := range doc.Calls {
		if c != nil && c.ID != "" {
			n.calls[c.ID] = c
		}
	}
	for i := range doc.RoutePoints {
		r := doc.RoutePoints[i]
		if r.Address != "" {
			n.routePoints[r.Address] = &r
		}
	}
	*s = *n
	return nil
}

// MarshalBinary is MarshalJSON, so a State satisfies
// encoding.BinaryMarshaler for stores that want one.
func (s *State) MarshalBinary() ([]byte, error) { return s.MarshalJSON() }

// UnmarshalBinary is UnmarshalJSON.
func (s *State) UnmarshalBinary(b []byte) error { return s.UnmarshalJSON(b) }

// Clone returns a deep copy of the state.
func (s *State) Clone() *State {
	n := New()
	n.provider = s.Provider()
	n.bridge = s.bridge
	n.gaps = slices.Clone(s.gaps)
	n.stats = s.stats
	for k, m := range s.managers {
		c := *m
		n.managers[k] = &c
	}
	for k, t := range s.terminals {
		c := cloneTerminal(t)
		n.terminals[k] = &c
	}
	for k, a := range s.addresses {
		c := *a
		n.addresses[k] = &c
	}
	for k, cl := range s.calls {
		c := cloneCall(cl)
		n.calls[k] = &c
	}
	for k, r := range s.routePoints {
		c := *r
		c.Sessions = slices.Clone(r.Sessions)
		for i := range c.Sessions {
			c.Sessions[i].Calling = cloneParty(c.Sessions[i].Calling)
			c.Sessions[i].Called = cloneParty(c.Sessions[i].Called)
		}
		n.routePoints[k] = &c
	}
	return n
}

func sortedValues[T any](m map[string]*T, key func(*T) string) []*T {
	out := make([]*T, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	slices.SortFunc(out, func(a, b *T) int { return strings.Compare(key(a), key(b)) })
	return out
}
