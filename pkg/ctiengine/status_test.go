package ctiengine

import (
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// The status an operator reads on /status, /readyz and /metrics: which
// CTIManager was tried, why it failed, when the next round starts.
func TestStatus_NamesEachCTIManagerTriedWithItsErrorAndTheNextRetry(t *testing.T) {
	cfg := testConfig()
	cfg.ProviderRetryInterval = 30 * time.Second
	h := newHarness(t, cfg)
	h.start()
	h.fail(errors.New("dial tcp 127.0.0.1:1: connect: connection refused"))
	h.advance(2 * time.Second) // the backup is dialled at once and times out
	h.fail(errors.New("dial tcp 127.0.0.1:2: i/o timeout"))
	st := h.m.Status()
	if st.Provider != "OUT_OF_SERVICE" || st.Link != LinkWaitingRetry.String() {
		t.Fatalf("provider %s link %s", st.Provider, st.Link)
	}
	if want := t0.Add(32 * time.Second); !st.NextRetryAt.Equal(want) {
		t.Errorf("NextRetryAt %v, want %v (ProviderRetryInterval after the round failed)", st.NextRetryAt, want)
	}
	p, b := st.CTIManagers[0], st.CTIManagers[1]
	if !p.LastAttemptAt.Equal(t0) || p.LastError != "dial tcp 127.0.0.1:1: connect: connection refused" || !p.LastErrorAt.Equal(t0) {
		t.Errorf("primary = %+v", p)
	}
	if !b.LastAttemptAt.Equal(t0) || b.LastError != "dial tcp 127.0.0.1:2: i/o timeout" || !b.LastErrorAt.Equal(t0.Add(2*time.Second)) ||
		b.Current || b.Connected {
		t.Errorf("backup = %+v", b)
	}

	// The next round connects; the errors stay as history, the retry
	// time goes.
	h.advance(30 * time.Second)
	h.establish(phones(1), nil)
	st = h.m.Status()
	if !st.NextRetryAt.IsZero() || !st.Ready {
		t.Fatalf("after the next round: ready %v, NextRetryAt %v", st.Ready, st.NextRetryAt)
	}
	if p := st.CTIManagers[0]; !p.Current || !p.Connected || !p.LastAttemptAt.Equal(t0.Add(32*time.Second)) || p.LastError == "" {
		t.Errorf("primary after reconnecting = %+v", p)
	}
}

func TestStatus_CountsDevicesAndLinesOutOfServiceByCause(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	devs := phones(3)
	devs[2].InService, devs[2].Registered = false, false
	h.establish(devs, nil)
	st := h.m.Status()
	want := map[string]int{"DEVICE_UNREGISTERED": 1}
	if !maps.Equal(st.DevicesOutOfService, want) || !maps.Equal(st.LinesOutOfService, want) {
		t.Fatalf("listed out of service: devices %v lines %v, want %v", st.DevicesOutOfService, st.LinesOutOfService, want)
	}
	ts := h.now.UnixNano()
	h.recv(ctilink.DeviceServiceEvent{Device: "SEP000000000001", InService: false, Reason: ctilink.OOSCallManagerFailure, TimeNs: ts})
	h.recv(ctilink.LineServiceEvent{Device: "SEP000000000001", Line: "1001", InService: false, Reason: ctilink.OOSCallManagerFailure, TimeNs: ts})
	st = h.m.Status()
	want = map[string]int{"DEVICE_UNREGISTERED": 1, "CALLMANAGER_FAILURE": 1}
	if !maps.Equal(st.DevicesOutOfService, want) || !maps.Equal(st.LinesOutOfService, want) {
		t.Fatalf("after a CallManager failure: devices %v lines %v, want %v", st.DevicesOutOfService, st.LinesOutOfService, want)
	}
	// The CTIManager is lost: everything is out of service with
	// CTIMANAGER_FAILURE until the backup reinstates it.
	h.down(errors.New("EOF"))
	st = h.m.Status()
	want = map[string]int{"CTIMANAGER_FAILURE": 3}
	if !maps.Equal(st.DevicesOutOfService, want) || !maps.Equal(st.LinesOutOfService, want) {
		t.Fatalf("CTIManager lost: devices %v lines %v, want %v", st.DevicesOutOfService, st.LinesOutOfService, want)
	}
	h.establish(phones(3), nil)
	if st = h.m.Status(); len(st.DevicesOutOfService) != 0 || len(st.LinesOutOfService) != 0 {
		t.Fatalf("after the failover: devices %v lines %v out of service", st.DevicesOutOfService, st.LinesOutOfService)
	}
}

func TestMachine_MeasuresProviderOpenAndRouteSelect(t *testing.T) {
	cfg := testConfig()
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001"}}}
	h := newHarness(t, cfg)
	h.start()
	devs := append(phones(1), ctilink.DeviceInfo{Name: "RP1", Type: ctilink.DeviceRoutePoint, Lines: []ctilink.LineInfo{{DN: "5000"}},
		Registered: true, InService: true})
	h.advance(150 * time.Millisecond) // the connect takes 150 ms
	h.up()
	h.openResponse(30*time.Second, 10*time.Second)
	h.advance(250 * time.Millisecond) // the login 250 ms more
	h.openCompleted(0)
	h.deviceList(devs, 500)
	h.answerRequests(nil)
	if len(h.meas) != 1 || h.meas[0] != (Measurement{Kind: MeasureProviderOpen, Duration: 400 * time.Millisecond}) {
		t.Fatalf("measurements %+v, want the provider open of 400ms", h.meas)
	}
	h.meas = nil
	h.recv(ctilink.RouteEvent{Kind: ctilink.RouteKindRoute, Device: "RP1", Line: "5000", SessionID: 7, GlobalCallID: 9, CallHandle: 1})
	h.advance(40 * time.Millisecond)
	h.answerRequests(nil)
	if len(h.meas) != 1 || h.meas[0] != (Measurement{Kind: MeasureRouteSelect, Duration: 40 * time.Millisecond}) {
		t.Fatalf("measurements %+v, want the route select answered after 40ms", h.meas)
	}
}
