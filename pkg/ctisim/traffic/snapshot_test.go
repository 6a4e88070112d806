package traffic

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/google/go-cmp/cmp"
)

// snap renders Snapshot(device) as "line STATE #gid-order" strings, with
// call numbering from d (shared with the live stream).
func snap(t *testing.T, m *Model, d *describer, device string) []string {
	t.Helper()
	var out []string
	for _, e := range m.Snapshot(device) {
		if !e.Snapshot {
			t.Errorf("snapshot event without Snapshot flag: %+v", e)
		}
		if err := e.Validate(); err != nil {
			t.Errorf("invalid snapshot event: %v", err)
		}
		out = append(out, strings.TrimSuffix(d.line(e), " NORMALCALLCLEARING"))
	}
	return out
}

func TestSnapshotMidCall(t *testing.T) {
	type probe struct {
		at     time.Duration
		device string
		want   []string
	}
	cases := []struct {
		name            string
		s               Scenario
		from, to, third string
		hooks           func(*fakeHooks)
		probes          []probe
	}{
		{
			name: "basic", s: Basic, from: "1001", to: "1002",
			probes: []probe{
				{500 * time.Millisecond, "SEP1001", []string{"1001 DIALTONE #1"}},
				{500 * time.Millisecond, "SEP1002", nil},
				{2 * time.Second, "SEP1001", []string{"1001 RINGBACK #1"}},
				{2 * time.Second, "SEP1002", []string{"1002 ACCEPTED #1"}},
				{4 * time.Second, "SEP1002", []string{"1002 CONNECTED #1"}},
				{9 * time.Second, "SEP1001", nil},
			},
		},
		{
			name: "hold", s: Hold, from: "1001", to: "1002",
			probes: []probe{
				{9 * time.Second, "SEP1001", []string{"1001 ONHOLD #1"}},
				{9 * time.Second, "SEP1002", []string{"1002 CONNECTED #1"}},
				{12 * time.Second, "SEP1001", []string{"1001 CONNECTED #1"}},
			},
		},
		{
			name: "busy", s: Busy, from: "1001", to: "1002",
			probes: []probe{
				{1500 * time.Millisecond, "SEP1001", []string{"1001 BUSY #1 USERBUSY"}},
				{1500 * time.Millisecond, "SEP1002", nil},
			},
		},
		{
			name: "consulttransfer", s: ConsultTransfer, from: "1001", to: "1002", third: "1003",
			probes: []probe{
				{10 * time.Second, "SEP1002", []string{"1002 ONHOLD #1", "1002 RINGBACK #2"}},
				{10 * time.Second, "SEP1003", []string{"1003 ACCEPTED #2"}},
				{12 * time.Second, "SEP1002", []string{"1002 ONHOLD #1", "1002 CONNECTED #2"}},
				{17 * time.Second, "SEP1002", nil},
				{17 * time.Second, "SEP1003", []string{"1003 CONNECTED #1"}},
				{17 * time.Second, "SEP1001", []string{"1001 CONNECTED #1"}},
			},
		},
		{
			name: "blindtransfer", s: BlindTransfer, from: "1001", to: "1002", third: "1003",
			probes: []probe{
				{11 * time.Second, "SEP1001", []string{"1001 RINGBACK #1"}},
				{11 * time.Second, "SEP1003", []string{"1003 ACCEPTED #1"}},
			},
		},
		{
			name: "conference", s: Conference, from: "1001", to: "1002", third: "1003",
			probes: []probe{
				{17 * time.Second, "SEP1001", []string{"1001 CONNECTED #1"}},
				{17 * time.Second, "SEP1002", []string{"1002 CONNECTED #1"}},
				{17 * time.Second, "SEP1003", []string{"1003 CONNECTED #1"}},
				{22 * time.Second, "SEP1001", nil},
				{22 * time.Second, "SEP1002", []string{"1002 CONNECTED #1"}},
			},
		},
		{
			name: "routepoint", s: RoutePoint, from: "1001", to: "2000",
			hooks: func(h *fakeHooks) { h.rpRegistered["RP1"] = true },
			probes: []probe{
				{2 * time.Second, "RP1", []string{"2000 OFFERING #1"}},
				{2 * time.Second, "SEP1001", []string{"1001 PROCEEDING #1"}},
			},
		},
		{
			name: "ctiport", s: CTIPort, from: "1001", to: "3001",
			hooks: func(h *fakeHooks) {
				h.ports["CTIP1"] = portReg{media: ctilink.MediaParams{IP: "192.0.2.1", Port: 4000}}
			},
			probes: []probe{
				{2 * time.Second, "CTIP1", []string{"3001 ACCEPTED #1"}},
				{4 * time.Second, "CTIP1", []string{"3001 CONNECTED #1"}},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHooks()
			if tc.hooks != nil {
				tc.hooks(h)
			}
			m := newModel(t, fixedConfig(), h)
			if _, err := m.Place(tc.s, tc.from, tc.to, tc.third, t0); err != nil {
				t.Fatal(err)
			}
			var d describer
			for _, p := range tc.probes {
				for _, e := range m.Advance(t0.Add(p.at)) {
					d.line(e.Msg) // keep #n numbering in step with the stream
				}
				if diff := cmp.Diff(p.want, snap(t, m, &d, p.device)); diff != "" {
					t.Errorf("at %s Snapshot(%s) (-want +got):\n%s", p.at, p.device, diff)
				}
			}
		})
	}
}

// TestSnapshotParties checks that a snapshot carries the same parties,
// handle and time as the live event that set the leg's state.
func TestSnapshotParties(t *testing.T) {
	m := newModel(t, fixedConfig(), newHooks())
	if _, err := m.Place(Transform, "1006", "1002", "", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Place(Basic, "1106", "1003", "", t0.Add(time.Second)); err != nil {
		t.Fatal(err)
	}
	ems := m.Advance(t0.Add(4500 * time.Millisecond))
	got := m.Snapshot("SEP1006")
	if len(got) != 2 {
		t.Fatalf("SEP1006 has calls on both lines, snapshot has %d events", len(got))
	}
	for _, s := range got {
		var live ctilink.CallStateEvent
		for _, e := range ems {
			if c, ok := e.Msg.(ctilink.CallStateEvent); ok && c.CallHandle == s.CallHandle {
				live = c
			}
		}
		live.Snapshot = true
		if diff := cmp.Diff(live, s); diff != "" {
			t.Errorf("snapshot of %s differs from its last live event (-live +snapshot):\n%s", s.Line, diff)
		}
	}
	if got[0].Line != "1006" || got[0].CurrentCalling.DN != "800551006" {
		t.Errorf("first snapshot event %+v, want line 1006 with the masked caller", got[0])
	}
	if s := m.Snapshot("NOSUCH"); len(s) != 0 {
		t.Errorf("unknown device snapshot: %v", s)
	}
}

func TestFailDevicesDropsSetupCallsOnly(t *testing.T) {
	h := newHooks()
	h.rpRegistered["RP1"] = true
	m := newModel(t, fixedConfig(), h)
	chk := newChecker()
	var d describer
	var all []string
	collect := func(ems []Emission) {
		t.Helper()
		if err := chk.add(ems); err != nil {
			t.Fatal(err)
		}
		for _, e := range ems {
			all = append(all, fmt.Sprintf("%s %s", e.At.Sub(t0), d.line(e.Msg)))
		}
	}
	place := func(s Scenario, from, to, third string, at time.Duration) {
		t.Helper()
		collect(m.Advance(t0.Add(at)))
		if _, err := m.Place(s, from, to, third, t0.Add(at)); err != nil {
			t.Fatal(err)
		}
	}
	place(Basic, "1001", "1002", "", 0)                     // #1 connected at 3s: survives
	place(Basic, "1003", "1004", "", 2*time.Second)         // #2 ringing at 4s: dropped (SEP1004)
	place(RoutePoint, "1005", "2000", "", 3*time.Second)    // #3 at the route point at 4s: dropped (RP1)
	place(Basic, "1106", "1001", "", 3500*time.Millisecond) // #4 dial tone at 4s, SEP1006 not failed: goes on (busy)
	collect(m.Advance(t0.Add(4 * time.Second)))
	all = nil
	h.outOfService["SEP1004"] = true
	h.outOfService["RP1"] = true
	h.outOfService["SEP1002"] = true
	collect(m.FailDevices([]string{"SEP1004", "RP1", "SEP1002"}, t0.Add(4*time.Second)))
	want := []string{
		"4s 1003 DISCONNECTED #2 TEMPORARYFAILURE", "4s 1004 DISCONNECTED #2 TEMPORARYFAILURE",
		"4s route end 2000 #3 cause=105",
		"4s 1005 DISCONNECTED #3 TEMPORARYFAILURE", "4s 2000 DISCONNECTED #3 TEMPORARYFAILURE",
		// #1 is connected: it goes on, but CTI loses SEP1002's leg.
		"4s 1002 UNKNOWN #1 CALLMANAGER_FAILURE",
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("FailDevices emissions (-want +got):\n%s", diff)
	}
	// While SEP1004 is out of service a call to it fails like busy.
	all = nil
	place(Basic, "1003", "1004", "", 5*time.Second)
	collect(m.Advance(t0.Add(time.Minute)))
	want = []string{
		"4.5s 1106 DIALING #4", "4.5s 1106 PROCEEDING #4", "4.5s 1106 BUSY #4 USERBUSY",
		"5s 1003 DIALTONE #5",
		"5.5s 1106 DISCONNECTED #4 USERBUSY",
		"6s 1003 DIALING #5", "6s 1003 PROCEEDING #5", "6s 1003 BUSY #5 USERBUSY",
		"7s 1003 DISCONNECTED #5 USERBUSY",
		"8s 1001 DISCONNECTED #1 NORMALCALLCLEARING", // 1002's leg ends unseen
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("after the failure (-want +got):\n%s", diff)
	}
	if err := chk.allEnded(); err != nil {
		t.Fatal(err)
	}
	if s := m.Stats(); s.Dropped != 2 {
		t.Errorf("Stats.Dropped = %d, want 2", s.Dropped)
	}
}

func TestFailDevicesDuringConsult(t *testing.T) {
	h := newHooks()
	m := newModel(t, fixedConfig(), h)
	if _, err := m.Place(ConsultTransfer, "1001", "1002", "1003", t0); err != nil {
		t.Fatal(err)
	}
	chk := newChecker()
	var d describer
	var all []string
	collect := func(ems []Emission) {
		t.Helper()
		if err := chk.add(ems); err != nil {
			t.Fatal(err)
		}
		for _, e := range ems {
			all = append(all, fmt.Sprintf("%s %s", e.At.Sub(t0), d.line(e.Msg)))
		}
	}
	collect(m.Advance(t0.Add(10 * time.Second))) // C is ringing on the consult call
	all = nil
	h.outOfService["SEP1003"] = true
	collect(m.FailDevices([]string{"SEP1003"}, t0.Add(10*time.Second)))
	collect(m.Advance(t0.Add(time.Minute)))
	want := []string{
		"10s 1002 DISCONNECTED #2 TEMPORARYFAILURE", "10s 1003 DISCONNECTED #2 TEMPORARYFAILURE",
		"10s 1002 CONNECTED #1",
		"15s 1001 DISCONNECTED #1 NORMALCALLCLEARING", "15s 1002 DISCONNECTED #1 NORMALCALLCLEARING",
	}
	if diff := cmp.Diff(want, all); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	if err := chk.allEnded(); err != nil {
		t.Fatal(err)
	}
}

// TestNoFeatureFromFailedDevice: a connected call survives its devices'
// failure — CTI loses both legs (UNKNOWN, CALLMANAGER_FAILURE) and hears
// nothing more of the call — and the devices start no hold or consult
// afterwards.
func TestNoFeatureFromFailedDevice(t *testing.T) {
	for _, s := range []Scenario{Hold, ConsultTransfer} {
		t.Run(string(s), func(t *testing.T) {
			h := newHooks()
			m := newModel(t, fixedConfig(), h)
			if _, err := m.Place(s, "1001", "1002", "1003", t0); err != nil {
				t.Fatal(err)
			}
			var d describer
			m.Advance(t0.Add(4 * time.Second)) // connected
			h.outOfService["SEP1001"], h.outOfService["SEP1002"] = true, true
			lost := d.lines(m.FailDevices([]string{"SEP1001", "SEP1002"}, t0.Add(4*time.Second)))
			want := []string{"1001 UNKNOWN #1 CALLMANAGER_FAILURE", "1002 UNKNOWN #1 CALLMANAGER_FAILURE"}
			if diff := cmp.Diff(want, lost); diff != "" {
				t.Errorf("at the failure (-want +got):\n%s", diff)
			}
			if got := d.lines(m.Advance(t0.Add(time.Minute))); len(got) != 0 {
				t.Errorf("after the failure: %v, want nothing (the legs are lost to CTI)", got)
			}
			if !m.DeviceIdle("SEP1001") || m.ActiveCalls() != 0 {
				t.Errorf("the call did not end: idle %v, %d calls", m.DeviceIdle("SEP1001"), m.ActiveCalls())
			}
		})
	}
}
