package traffic

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// forwardDir is testDir plus four phones with call forwarding: 1007
// forwards always to 1008; 1008 forwards on no answer to 1010; 1009
// forwards when busy to 1010.
func forwardDir() Directory {
	d := testDir()
	for _, dn := range []string{"1007", "1008", "1009", "1010"} {
		d.Phones = append(d.Phones, Line{Device: "SEP" + dn, DN: dn, CallManager: "cm1"})
	}
	d.Forwards = []Forward{{DN: "1007", All: "1008"}, {DN: "1008", NoAnswer: "1010"}, {DN: "1009", Busy: "1010"}}
	return d
}

// The forward sequences of forward.go, with their parties: the
// destination's leg carries the forward reason, called = the forwarding
// line, current called = the destination, last redirecting = the
// forwarding line (JTAPI guide 15 p.1553).
func TestForwardScenarioSequences(t *testing.T) {
	fwdParties := func(line string, reason ctilink.ConnReason, from string) func(t *testing.T, ems []Emission) {
		return func(t *testing.T, ems []Emission) {
			d := stateOf(t, ems, line, ctilink.CallStateOffering, 1)
			want := ctilink.Party{DN: from, Device: "SEP" + from}
			if d.Reason != reason || d.Called != want || d.LastRedirecting != want ||
				d.CurrentCalled != (ctilink.Party{DN: line, Device: "SEP" + line}) || d.Calling.DN != "1001" {
				t.Errorf("%s OFFERING reason %s called %+v current %+v last redirecting %+v", line, d.Reason, d.Called, d.CurrentCalled, d.LastRedirecting)
			}
		}
	}
	cases := []scenarioCase{
		{
			name: "forward all", dir: forwardDir, s: ForwardAll, from: "1001", to: "1007",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1008 OFFERING #1", "1s 1008 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1008 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1008 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: fwdParties("1008", ctilink.ReasonForwardAll, "1007"),
		},
		{
			name: "forward busy", dir: forwardDir, s: ForwardBusy, from: "1001", to: "1009",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1010 OFFERING #1", "1s 1010 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1010 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1010 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: fwdParties("1010", ctilink.ReasonForwardBusy, "1009"),
		},
		{
			name: "forward no answer", dir: forwardDir, s: ForwardNoAnswer, from: "1001", to: "1008",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1008 OFFERING #1", "1s 1008 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"5s 1008 DISCONNECTED #1 NORMALCALLCLEARING", "5s 1010 OFFERING #1", "5s 1010 ACCEPTED #1", "5s 1001 RINGBACK #1",
				"7s 1010 CONNECTED #1", "7s 1001 CONNECTED #1",
				"12s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "12s 1010 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				fwdParties("1010", ctilink.ReasonForwardNoAnswer, "1008")(t, ems)
				if b := stateOf(t, ems, "1008", ctilink.CallStateDisconnected, 1); b.FeatureReason != ctilink.FeatureRedirect {
					t.Errorf("1008 leaves with feature reason %s, want REDIRECT", b.FeatureReason)
				}
			},
		},
		{
			name: "a basic call to a forward-all line is forwarded too", dir: forwardDir, s: Basic, from: "1002", to: "1007",
			want: []string{
				"0s 1002 DIALTONE #1",
				"1s 1002 DIALING #1", "1s 1002 PROCEEDING #1", "1s 1008 OFFERING #1", "1s 1008 ACCEPTED #1", "1s 1002 RINGBACK #1",
				"3s 1008 CONNECTED #1", "3s 1002 CONNECTED #1",
				"8s 1002 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1008 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
		{
			name: "forward all to a busy destination is busy", dir: forwardDir,
			pre: func(t *testing.T, m *Model) {
				if _, err := m.Place(Basic, "1003", "1008", "", t0); err != nil {
					t.Fatal(err)
				}
			},
			s: ForwardAll, from: "1001", to: "1007", placeAt: 2e9,
			want: []string{
				"2s 1001 DIALTONE #1",
				"3s 1001 DIALING #1", "3s 1001 PROCEEDING #1", "3s 1001 BUSY #1 USERBUSY",
				"4s 1001 DISCONNECTED #1 USERBUSY",
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ems := tc.run(t)
			var d describer
			var got []string
			for _, e := range ems {
				got = append(got, e.At.Sub(t0).String()+" "+d.line(e.Msg))
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

func TestForwardPlaceNeedsTheForward(t *testing.T) {
	m, err := New(fixedConfig(), forwardDir(), newHooks())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Place(ForwardNoAnswer, "1001", "1007", "", t0); err == nil {
		t.Fatal("forwardnoanswer to a line without that forward was accepted")
	}
}

// pickupDir is testDir with the pickup group 1002, 1003, 1004.
func pickupDir() Directory {
	d := testDir()
	d.PickupGroups = [][]string{{"1002", "1003", "1004"}}
	return d
}

// Call pickup, Auto Call Pickup disabled, as pickup.go (JTAPI guide 15
// p.1178).
func TestPickupScenarioSequence(t *testing.T) {
	tc := scenarioCase{
		name: "pickup", dir: pickupDir, s: Pickup, from: "1001", to: "1002", third: "1003",
		want: []string{
			"0s 1001 DIALTONE #1",
			"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
			"2s 1003 DIALTONE #2",
			"3s 1003 DISCONNECTED #2 NORMALCALLCLEARING", "3s 1003 OFFERING #1", "3s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			"3s 1003 ACCEPTED #1", "3s 1001 RINGBACK #1",
			"5s 1003 CONNECTED #1", "5s 1001 CONNECTED #1",
			"10s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "10s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
		},
	}
	ems := tc.run(t)
	var d describer
	var got []string
	for _, e := range ems {
		got = append(got, e.At.Sub(t0).String()+" "+d.line(e.Msg))
	}
	if len(got) != len(tc.want) {
		t.Fatalf("got\n%s", dump(ems))
	}
	for i := range got {
		if got[i] != tc.want[i] {
			t.Fatalf("emission %d = %q, want %q; all:\n%s", i, got[i], tc.want[i], dump(ems))
		}
	}
	c := stateOf(t, ems, "1003", ctilink.CallStateOffering, 1)
	if c.FeatureReason != ctilink.FeaturePickup || c.Called.DN != "1002" || c.CurrentCalled.DN != "1003" || c.LastRedirecting.DN != "1002" {
		t.Errorf("C offered %+v", c)
	}
	if b := stateOf(t, ems, "1002", ctilink.CallStateDisconnected, 1); b.FeatureReason != ctilink.FeaturePickup {
		t.Errorf("B dropped with feature reason %s", b.FeatureReason)
	}
	m, err := New(fixedConfig(), pickupDir(), newHooks())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Place(Pickup, "1001", "1005", "", t0); err == nil {
		t.Error("pickup of a line in no pickup group was accepted")
	}
	if _, err := m.Place(Pickup, "1001", "1002", "1005", t0); err == nil {
		t.Error("pickup by a line of another group was accepted")
	}
}

// parkDir is testDir with the park numbers 8000 and 8001.
func parkDir() Directory {
	d := testDir()
	d.ParkNumbers = []string{"8000", "8001"}
	return d
}

// Call park and retrieval as park.go (JTAPI guide 15 p.1284).
func TestParkScenarioSequences(t *testing.T) {
	for _, tc := range []scenarioCase{
		{
			name: "park and retrieve", dir: parkDir, s: Park, from: "1001", to: "1002", third: "1003",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1001 CONNECTED #1",
				"11s 1003 DIALTONE #2",
				"12s 1003 DIALING #2", "12s 1003 DISCONNECTED #2 NORMALCALLCLEARING", "12s 1003 CONNECTED #1", "12s 1001 CONNECTED #1",
				"17s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "17s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				parked := stateOf(t, ems, "1001", ctilink.CallStateConnected, 2)
				if parked.FeatureReason != ctilink.FeaturePark || parked.CurrentCalled != (ctilink.Party{DN: "8000"}) || parked.LastRedirecting.DN != "1002" {
					t.Errorf("parked caller %+v", parked)
				}
				c := stateOf(t, ems, "1003", ctilink.CallStateConnected, 1)
				if c.FeatureReason != ctilink.FeatureUnpark || c.Called.DN != "8000" || c.LastRedirecting.DN != "8000" || c.GlobalCallID != parked.GlobalCallID {
					t.Errorf("retriever %+v", c)
				}
			},
		},
		{
			name: "park reverts to the parker", dir: parkDir, hooks: func(h *fakeHooks) { h.outOfService["SEP1003"] = true },
			s: Park, from: "1001", to: "1002", third: "1003",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1002 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1002 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1001 CONNECTED #1",
				"11s 1002 OFFERING #1", "11s 1002 ACCEPTED #1",
				"13s 1002 CONNECTED #1", "13s 1001 CONNECTED #1",
				"18s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "18s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ems := tc.run(t)
			var d describer
			var got []string
			for _, e := range ems {
				got = append(got, e.At.Sub(t0).String()+" "+d.line(e.Msg))
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

// huntDir is testDir with the hunt pilot 4000 hunting 1002, 1003, 1004.
func huntDir() Directory {
	d := testDir()
	d.HuntPilots = []HuntPilot{{Number: "4000", Members: []string{"1002", "1003", "1004"}}}
	return d
}

// A call to a hunt pilot, as hunt.go (JTAPI guide 15 p.168, p.1092): the
// first member rings out, the next answers; every leg names the pilot.
func TestHuntScenarioSequences(t *testing.T) {
	for _, tc := range []scenarioCase{
		{
			name: "first member rings out, second answers", dir: huntDir, s: Hunt, from: "1001", to: "4000",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1002 OFFERING #1", "1s 1002 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"5s 1002 DISCONNECTED #1 NORMALCALLCLEARING", "5s 1003 OFFERING #1", "5s 1003 ACCEPTED #1", "5s 1001 RINGBACK #1",
				"7s 1003 CONNECTED #1", "7s 1001 CONNECTED #1",
				"12s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "12s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
			check: func(t *testing.T, ems []Emission) {
				for _, e := range ems {
					if cs, ok := e.Msg.(ctilink.CallStateEvent); ok && cs.State != ctilink.CallStateDialTone && cs.HuntPilot != "4000" {
						t.Errorf("%s %s without the hunt pilot", cs.Line, cs.State)
					}
				}
				m1 := stateOf(t, ems, "1002", ctilink.CallStateDisconnected, 1)
				m2 := stateOf(t, ems, "1003", ctilink.CallStateOffering, 1)
				if m1.FeatureReason != ctilink.FeatureRedirect || m2.Called.DN != "4000" || m2.CurrentCalled.DN != "1003" {
					t.Errorf("member 1 leaves %+v; member 2 offered %+v", m1, m2)
				}
			},
		},
		{
			name: "busy members are skipped", dir: huntDir, hooks: func(h *fakeHooks) { h.outOfService["SEP1002"] = true },
			s: Hunt, from: "1001", to: "4000",
			want: []string{
				"0s 1001 DIALTONE #1",
				"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1", "1s 1003 OFFERING #1", "1s 1003 ACCEPTED #1", "1s 1001 RINGBACK #1",
				"3s 1003 CONNECTED #1", "3s 1001 CONNECTED #1",
				"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "8s 1003 DISCONNECTED #1 NORMALCALLCLEARING",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ems := tc.run(t)
			var d describer
			var got []string
			for _, e := range ems {
				got = append(got, e.At.Sub(t0).String()+" "+d.line(e.Msg))
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
