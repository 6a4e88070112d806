package callstate_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// eventsFromBytes turns arbitrary bytes into an event sequence over a small
// universe of names, entities and states, so that random inputs hit real
// interactions (the same call, the same address) rather than noise.
func eventsFromBytes(b []byte) []schema.Event {
	entities := []string{"", "1", "2", "3", "1001", "1002", "SEPA", "SEPB", "2000"}
	addrs := []string{"", "1001", "1002", "1003", "5550000"}
	terms := []string{"", "SEPA", "SEPB", "SEPC"}
	states := []int{0, 48, 49, 50, 51, 52, 53, 54, 64, 65, 66, 67, 68, 80, 81, 83, 84, 85, 88, 89, 90, 96, 97, 98, 99, 100, 102, 7, -1}
	next := func() int {
		if len(b) == 0 {
			return 0
		}
		v := int(b[0])
		b = b[1:]
		return v
	}
	pick := func(n int) int { return next() % n }
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var out []schema.Event
	for len(b) > 0 && len(out) < 512 {
		spec := schema.Events[pick(len(schema.Events))]
		ev := schema.Event{Family: spec.Family, Name: spec.Name, Entity: entities[pick(len(entities))],
			Session: "s", SessionSeq: uint64(len(out) + 1), Time: base.Add(time.Duration(next()) * time.Second)}
		if pick(8) == 0 {
			ev.Family = schema.Families[pick(len(schema.Families))]
		}
		flags := next()
		ev.Data.Snapshot = flags&1 != 0
		ev.Data.Inferred = flags&2 != 0
		ev.Data.Cause = states[pick(len(states))]
		switch ev.Family {
		case schema.FamilyCall:
			if flags&4 != 0 {
				cd := &schema.CallData{CallID: entities[pick(len(entities))], OriginalCallID: entities[pick(len(entities))],
					Calling: &schema.Party{Address: addrs[pick(len(addrs))]}}
				if flags&8 != 0 {
					cd.Connection = &schema.ConnectionData{Address: addrs[pick(len(addrs))], StateCode: states[pick(len(states))],
						CallControlStateCode: states[pick(len(states))], Transient: flags&16 != 0}
				}
				if flags&32 != 0 {
					cd.TerminalConnection = &schema.TerminalConnectionData{Terminal: terms[pick(len(terms))], Address: addrs[pick(len(addrs))],
						StateCode: states[pick(len(states))], CallControlStateCode: states[pick(len(states))]}
				}
				if flags&64 != 0 {
					cd.Feature = &schema.FeatureData{PrimaryCallID: entities[pick(len(entities))], ConsultCallID: entities[pick(len(entities))],
						ResultCallID: entities[pick(len(entities))]}
				}
				ev.Data.Call = cd
			}
		case schema.FamilyProvider:
			if flags&4 != 0 {
				at := base.Add(time.Duration(next()) * time.Second)
				ev.Data.Provider = &schema.ProviderData{CTIManager: terms[pick(len(terms))], PreviousCTIManager: terms[pick(len(terms))],
					Reason: "R", LastHeardAt: &at, Reachable: []string{"cm1"}}
			}
		case schema.FamilyBridge:
			if flags&4 != 0 {
				g := &schema.Gap{ID: entities[pick(3)], OpenedAt: base}
				if flags&8 != 0 {
					c := base.Add(time.Second)
					g.ClosedAt = &c
				}
				ev.Data.Bridge = &schema.BridgeData{Gap: g}
			}
		case schema.FamilyTerminal:
			if flags&4 != 0 {
				r := flags&8 != 0
				ev.Data.Terminal = &schema.TerminalData{Name: terms[pick(len(terms))], Registered: &r, Addresses: []string{addrs[pick(len(addrs))]}}
			}
		case schema.FamilyAddress:
			if flags&4 != 0 {
				ev.Data.Address = &schema.AddressData{DN: addrs[pick(len(addrs))], Terminal: terms[pick(len(terms))]}
			}
		case schema.FamilyRoute:
			if flags&4 != 0 {
				r := flags&8 != 0
				ev.Data.Route = &schema.RouteData{SessionID: entities[pick(3)], Registered: &r, Calling: &schema.Party{Address: "1"}}
			}
		}
		out = append(out, ev)
	}
	return out
}

// FuzzApply: arbitrary event sequences never panic, the fold is
// deterministic, and snapshot + rest equals the whole fold at any cut.
func FuzzApply(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x05\x01\x07\x00\x0f\x05\x01\x07\x00\x0f\x40\x40\x40\x40\x40\x40\x40\x40"))
	f.Add(bytes.Repeat([]byte{31, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}, 40))
	f.Add(bytes.Repeat([]byte{72, 3, 12, 255, 60, 2, 6, 9, 200, 1}, 60))
	s, _, _ := failoverScript()
	seed := make([]byte, 0, 4*len(s.events))
	for i := range s.events {
		seed = append(seed, byte(i*7), byte(i*13), byte(i), 0xff)
	}
	f.Add(seed)
	f.Fuzz(func(t *testing.T, b []byte) {
		evs := eventsFromBytes(b)
		st := fold(evs)
		whole, err := st.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		again, _ := fold(evs).MarshalJSON()
		if !bytes.Equal(whole, again) {
			t.Fatal("fold is not deterministic")
		}
		_ = st.Summary()
		_ = st.Calls()
		cut := len(evs) / 2
		part := fold(evs[:cut])
		snap, err := part.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		restored := callstate.New()
		if err := restored.UnmarshalJSON(snap); err != nil {
			t.Fatal(err)
		}
		for _, ev := range evs[cut:] {
			restored.Apply(ev)
		}
		got, _ := restored.MarshalJSON()
		if !bytes.Equal(got, whole) {
			t.Fatalf("snapshot at %d + rest differs from whole fold\n got %s\nwant %s", cut, got, whole)
		}
	})
}

func TestZeroEventNeverPanics(t *testing.T) {
	st := callstate.New()
	for _, spec := range schema.Events {
		st.Apply(schema.Event{Name: spec.Name})
		st.Apply(schema.Event{Family: spec.Family, Name: spec.Name, Entity: "x"})
	}
	if _, err := st.MarshalJSON(); err != nil {
		t.Fatal(err)
	}
}
