package replaystore

import (
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// TestSilentWindowAppliesTheGap: a point inside a CTIManager's silent
// window (after the last frame heard, before the heartbeat timeout) is
// inside the gap: the loss wave stored after the point is skipped except
// its GapOpened, whose OpenedAt is the last frame heard.
func TestSilentWindowAppliesTheGap(t *testing.T) {
	heard := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	detected := heard.Add(60 * time.Second)
	rec := func(stored time.Time, ev schema.Event) Record {
		return Record{Message: Message{Stored: stored}, Event: ev}
	}
	lost := schema.Event{Family: schema.FamilyProvider, Name: schema.EvCTIManagerLost,
		Data: schema.Data{Provider: &schema.ProviderData{LastHeardAt: &heard}}}
	wave := []Record{
		rec(heard.Add(30*time.Second), schema.Event{Family: schema.FamilyBridge, Name: schema.EvBridgeHeartbeat}),
		rec(detected, lost),
		rec(detected, schema.Event{Family: schema.FamilyCall, Entity: "7", Name: schema.EvCallObservationEnded}),
		rec(detected, schema.Event{Family: schema.FamilyProvider, Name: schema.EvProvOutOfService}),
		rec(detected, schema.Event{Family: schema.FamilyBridge, Name: schema.EvGapOpened,
			Data: schema.Data{Bridge: &schema.BridgeData{Gap: &schema.Gap{ID: "g1", OpenedAt: heard, DetectedAt: &detected}}}}),
		rec(detected.Add(time.Second), schema.Event{Family: schema.FamilyProvider, Name: schema.EvCTIManagerConnecting}),
	}
	for _, tc := range []struct {
		name  string
		at    time.Time
		apply []string // what is applied
		read  int      // records read before stopping
	}{
		{"inside the silent window", heard.Add(20 * time.Second), []string{schema.EvGapOpened}, 5},
		{"before the last frame heard", heard.Add(-time.Second), nil, 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var w silentWindow
			var applied []string
			read := 0
			for _, r := range wave {
				read++
				if w.look(r, tc.at) {
					applied = append(applied, r.Event.Name)
				}
				if !w.active {
					break
				}
			}
			if len(applied) != len(tc.apply) || (len(applied) > 0 && applied[0] != tc.apply[0]) || read != tc.read {
				t.Fatalf("applied %v after reading %d records, want %v after %d", applied, read, tc.apply, tc.read)
			}
		})
	}
}
