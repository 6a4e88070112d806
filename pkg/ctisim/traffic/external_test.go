package traffic

import (
	"errors"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Calls across the trunk: only the phone's leg is on the wire, and the
// outside party is marked external with the trunk as its device.
func TestTrunkScenarioSequences(t *testing.T) {
	x := ctilink.Party{DN: "+4989555000", Device: "PSTN", External: true}
	cases := []scenarioCase{
		{
			name: "outbound", s: Outbound, from: "1001", to: "+4989555000",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1",
				"2s 1001 RINGBACK #1",
				"4s 1001 CONNECTED #1",
				"9s 1001 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				a := stateOf(t, ems, "1001", ctilink.CallStateProceeding, 1)
				if a.Called != x || a.CurrentCalled != x || !a.Origin || a.CallManager != "cm1" {
					t.Errorf("PROCEEDING parties %+v → %+v origin %v cm %q", a.Calling, a.Called, a.Origin, a.CallManager)
				}
			},
		},
		{
			name: "outbound national number", s: Outbound, from: "1002", to: "0301234567",
			want: []string{
				"0s 1002 DIALTONE #1",
				"1s 1002 DIALING #1", "1s 1002 PROCEEDING #1",
				"2s 1002 RINGBACK #1",
				"4s 1002 CONNECTED #1",
				"9s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "inbound", s: Inbound, from: "+4989555000", to: "1003",
			want: []string{
				"0s 1003 OFFERING #1", "0s 1003 ACCEPTED #1",
				"2s 1003 CONNECTED #1",
				"7s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				b := stateOf(t, ems, "1003", ctilink.CallStateOffering, 1)
				if b.Calling != x || b.CurrentCalling != x || b.Origin || b.CallManager != "cm2" ||
					b.Called != (ctilink.Party{DN: "1003", Device: "SEP1003"}) {
					t.Errorf("OFFERING %+v → %+v origin %v cm %q; want the external caller and the trunk's CallManager", b.Calling, b.Called, b.Origin, b.CallManager)
				}
			},
		},
		{
			name: "inbound to an out-of-service phone reaches nobody", hooks: func(h *fakeHooks) { h.outOfService["SEP1003"] = true },
			s: Inbound, from: "", to: "1003",
			want: nil,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ems := tc.run(t)
			var d describer
			got := make([]string, len(ems))
			for i, e := range ems {
				got[i] = e.At.Sub(t0).String() + " " + d.line(e.Msg)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got\n%s", dump(ems))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("emission %d = %q, want %q; all:\n%s", i, got[i], tc.want[i], dump(ems))
				}
			}
			if tc.check != nil {
				tc.check(t, ems)
			}
		})
	}
}

func TestTrunkPlaceErrors(t *testing.T) {
	m := newModel(t, fixedConfig(), newHooks())
	for _, tc := range []struct {
		s        Scenario
		from, to string
		want     error
	}{
		{Outbound, "1001", "1002", ErrBadParty},       // a cluster number
		{Outbound, "1001", "4711", ErrNoParty},        // no trunk prefix
		{Inbound, "1002", "1003", ErrBadParty},        // the caller is inside
		{Inbound, "+4989555000", "3001", ErrBadParty}, // a CTI port is not a phone
	} {
		if _, err := m.Place(tc.s, tc.from, tc.to, "", t0); !errors.Is(err, tc.want) {
			t.Errorf("Place(%s, %q, %q) = %v, want %v", tc.s, tc.from, tc.to, err, tc.want)
		}
	}
	noTrunk := testDir()
	noTrunk.Trunks = nil
	m2, err := New(fixedConfig(), noTrunk, newHooks())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m2.Place(Outbound, "1001", "", "", t0); !errors.Is(err, ErrNoParty) {
		t.Errorf("outbound without a trunk: %v", err)
	}
}
