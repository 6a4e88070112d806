package ctiengine

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

func TestMachine_OpenIsTwoPhaseAndInServiceAfterDevicesOpened(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	if d := h.lastDial(); d.CTIManager != "primary" || d.Addr != "127.0.0.1:1" || d.TLS {
		t.Fatalf("first dial = %+v, want primary over TCP", d)
	}
	h.up()
	req, ok := h.sent[0].msg.(ctilink.ProviderOpenRequest)
	if !ok || req.Login != "bridge" || req.DesiredServerHeartbeatMs != 30000 {
		t.Fatalf("first frame = %#v, want ProviderOpenRequest with the desired 30 s heartbeat", h.sent[0].msg)
	}
	h.openResponse(10*time.Second, 10*time.Second)
	if h.m.Provider() != ProviderOutOfService || h.m.Link() != LinkAwaitingOpenCompleted {
		t.Fatalf("after open response: provider %s link %s", h.m.Provider(), h.m.Link())
	}
	h.openCompleted(0)
	if h.m.Provider() != ProviderOutOfService || h.m.Link() != LinkFetchingDevices {
		t.Fatalf("after open completed: provider %s link %s", h.m.Provider(), h.m.Link())
	}
	devs := phones(3)
	h.recv(ctilink.DeviceListResponse{ReqSeq: 2, Devices: devs[:2], More: true, Total: 3})
	if h.m.Link() != LinkFetchingDevices {
		t.Fatalf("after the first page: link %s", h.m.Link())
	}
	h.recv(ctilink.DeviceListResponse{ReqSeq: 2, Devices: devs[2:], Total: 3})
	if h.m.Provider() != ProviderOutOfService || h.m.Link() != LinkOpeningDevices {
		t.Fatalf("after device list: provider %s link %s", h.m.Provider(), h.m.Link())
	}
	eqStrings(t, "frames so far", sentTypes(h.sent), []string{"ProviderOpenRequest", "DeviceListRequest",
		"DeviceOpenRequest", "LineOpenRequest", "DeviceOpenRequest", "LineOpenRequest", "DeviceOpenRequest", "LineOpenRequest"})
	// Answer all but the last open: still out of service.
	for i := 2; i < len(h.sent)-1; i++ {
		h.sent[i].answered = true
		h.recv(ctilink.Response{ReqSeq: h.sent[i].seq})
	}
	if h.m.Provider() != ProviderOutOfService {
		t.Fatal("provider in service before every device was opened")
	}
	h.answerRequests(nil)
	if h.m.Provider() != ProviderInService || h.m.Link() != LinkUp {
		t.Fatalf("provider %s link %s, want IN_SERVICE up", h.m.Provider(), h.m.Link())
	}
	eqStrings(t, "events", names(h.take()), []string{
		"CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv",
		"CiscoAddrInServiceEv(1001)", "CiscoTermInServiceEv(SEP000000000001)",
		"CiscoAddrInServiceEv(1002)", "CiscoTermInServiceEv(SEP000000000002)",
		"CiscoAddrInServiceEv(1003)", "CiscoTermInServiceEv(SEP000000000003)",
	})
}

func TestMachine_EventsAreStampedWithSessionAndSequences(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(2), nil)
	evs := h.take()
	perEntity := map[string]uint64{}
	for i, ev := range evs {
		if ev.Session != "b1-p1" {
			t.Fatalf("event %d session %q, want b1-p1", i, ev.Session)
		}
		if ev.SessionSeq != uint64(i+1) {
			t.Fatalf("event %d SessionSeq %d, want %d", i, ev.SessionSeq, i+1)
		}
		k := string(ev.Family) + "/" + ev.Entity
		perEntity[k]++
		if ev.Sequence != perEntity[k] {
			t.Fatalf("event %s sequence %d, want %d", ev.Name, ev.Sequence, perEntity[k])
		}
		if ev.CTIManager != "primary" {
			t.Fatalf("event %s CTIManager %q", ev.Name, ev.CTIManager)
		}
		if ev.Data.Event != ev.Name || ev.Data.Times.Received.IsZero() {
			t.Fatalf("event %s data not filled: %+v", ev.Name, ev.Data)
		}
	}
	if evs[2].Name != schema.EvProvInService || evs[2].Data.EventID != 111 || evs[2].Data.Provider.State != "IN_SERVICE" {
		t.Fatalf("ProvInServiceEv = %+v", evs[2])
	}
}

func TestMachine_HeartbeatTeardownExactlyAtTwiceServerInterval(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(1), nil)
	last := h.now // the last inbound frame
	h.take()
	h.advance(20*time.Second - time.Millisecond)
	if h.m.Link() != LinkUp || len(h.events) != 0 {
		t.Fatalf("at 2×server−1ms: link %s, events %v", h.m.Link(), names(h.events))
	}
	h.advance(time.Millisecond)
	evs := h.take()
	if len(evs) == 0 || evs[0].Name != schema.EvCTIManagerLost {
		t.Fatalf("at 2×server: events %v, want CTIManagerLost first", names(evs))
	}
	p := evs[0].Data.Provider
	if p.Reason != "HEARTBEAT_MISSED" || p.LastHeardAt == nil || !p.LastHeardAt.Equal(last) {
		t.Fatalf("CTIManagerLost = %+v, want HEARTBEAT_MISSED with LastHeardAt %v", p, last)
	}
	if h.now.Sub(last) != 20*time.Second {
		t.Fatalf("torn down %v after the last frame, want 20s", h.now.Sub(last))
	}
	if h.lastDial().CTIManager != "backup" {
		t.Fatalf("next dial to %s, want backup", h.lastDial().CTIManager)
	}
}

func TestMachine_AnyInboundFrameDefersHeartbeatTeardown(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(1), nil)
	h.take()
	h.advance(15 * time.Second)
	// A call event, not a heartbeat, counts as one.
	h.recv(ctilink.DeviceRegistrationEvent{Device: "SEP000000000001", Registered: true, CallManager: "cm1", TimeNs: h.now.UnixNano()})
	last := h.now
	h.advance(20*time.Second - time.Millisecond)
	if h.m.Link() != LinkUp {
		t.Fatalf("torn down %v after the last frame", h.now.Sub(last))
	}
	h.advance(time.Millisecond)
	if h.m.Link() == LinkUp {
		t.Fatal("not torn down at 2× server interval after the last frame")
	}
}

func TestMachine_ClientHeartbeatOnlyWhenIdle(t *testing.T) {
	cfg := testConfig()
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001"}}}
	h := newHarness(t, cfg)
	h.start()
	devs := append(phones(1), ctilink.DeviceInfo{Name: "RP1", Type: ctilink.DeviceRoutePoint, Lines: []ctilink.LineInfo{{DN: "5000"}},
		Registered: true, InService: true})
	h.up()
	h.openResponse(30*time.Second, 10*time.Second) // client interval 10 s
	h.openCompleted(0)
	h.deviceList(devs, 500)
	h.answerRequests(nil)
	mark := len(h.sent)
	// Keep the receive side alive with server heartbeats every 5 s.
	tick := func(d time.Duration) {
		for i := time.Duration(0); i < d; i += 5 * time.Second {
			h.advance(5 * time.Second)
			h.recv(ctilink.Heartbeat{})
		}
	}
	tick(5 * time.Second)
	// The client sends something else at +5 s: the route select answer.
	h.recv(ctilink.RouteEvent{Kind: ctilink.RouteKindRoute, Device: "RP1", Line: "5000", SessionID: 7, GlobalCallID: 9, CallHandle: 1})
	h.answerRequests(nil)
	h.advance(10*time.Second - time.Millisecond)
	for _, f := range h.sent[mark:] {
		if _, hb := f.msg.(ctilink.Heartbeat); hb {
			t.Fatalf("heartbeat sent although the link was not idle for the client interval")
		}
	}
	h.recv(ctilink.Heartbeat{})
	h.advance(time.Millisecond)
	var hbs []time.Duration
	for range 3 {
		h.advance(5 * time.Second)
		h.recv(ctilink.Heartbeat{})
	}
	for i, f := range h.sent[mark:] {
		if _, hb := f.msg.(ctilink.Heartbeat); hb {
			hbs = append(hbs, time.Duration(i))
		}
	}
	if len(hbs) != 2 || h.m.Link() != LinkUp { // at +10 s and +20 s after the route answer
		t.Fatalf("heartbeats sent: %d (frames %v, link %s), want 2 (idle interval 10 s)", len(hbs), sentTypes(h.sent[mark:]), h.m.Link())
	}
}

func TestMachine_ServerHeartbeatIntervalWins(t *testing.T) {
	cfg := testConfig()
	cfg.DesiredServerHeartbeatInterval = 60 * time.Second
	h := newHarness(t, cfg)
	h.start()
	h.up()
	h.openResponse(7*time.Second, 3*time.Second)
	if h.timers[TimerHeartbeatRecv] != h.now.Add(14*time.Second) {
		t.Fatalf("receive timer at %v, want now+14s (2 × server 7 s)", h.timers[TimerHeartbeatRecv].Sub(h.now))
	}
	if h.timers[TimerHeartbeatSend] != h.now.Add(3*time.Second) {
		t.Fatalf("send timer at %v, want now+3s (client interval)", h.timers[TimerHeartbeatSend].Sub(h.now))
	}
	evs := h.take()
	c := evs[len(evs)-1]
	if c.Name != schema.EvCTIManagerConnected || c.Data.Provider.ServerHeartbeatMs != 7000 || c.Data.Provider.ClientHeartbeatMs != 3000 {
		t.Fatalf("CTIManagerConnected = %+v", c.Data.Provider)
	}
}

// snapCall returns a snapshot CallStateEvent of a connected call on a line.
func snapCall(dev, dn string, gcid, handle uint32, other string) ctilink.CallStateEvent {
	return ctilink.CallStateEvent{Device: dev, Line: dn, CallHandle: handle, GlobalCallID: gcid, State: ctilink.CallStateConnected,
		Calling: ctilink.Party{DN: dn}, Called: ctilink.Party{DN: other}, CurrentCalling: ctilink.Party{DN: dn},
		CurrentCalled: ctilink.Party{DN: other}, Snapshot: true, TimeNs: t0.UnixNano()}
}

func TestMachine_CTIManagerLossOrderAndReinstatement(t *testing.T) {
	cfg := testConfig()
	cfg.Observe = []string{"SEP000000000001", "1001", "1002"} // terminal 2 and address 1003 unobserved
	cfg.CTIPorts = map[string]CTIPortConfig{"PORT1": {Media: ctilink.MediaParams{IP: "10.0.0.5", Port: 4000, Codecs: []string{"G711u"}, PacketMs: 20}}}
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001"}}}
	h := newHarness(t, cfg)
	devs := append(phones(3),
		ctilink.DeviceInfo{Name: "PORT1", Type: ctilink.DeviceCTIPort, Lines: []ctilink.LineInfo{{DN: "7001"}}, Registered: true, InService: true},
		ctilink.DeviceInfo{Name: "RP1", Type: ctilink.DeviceRoutePoint, Lines: []ctilink.LineInfo{{DN: "5000"}}, Registered: true, InService: true})
	h.start()
	h.establish(devs, nil)
	firstRegs := collect[ctilink.CTIPortRegisterRequest](h.frames)
	// A call between 1001 and 1002 is live.
	h.recv(ctilink.CallStateEvent{Device: "SEP000000000001", Line: "1001", CallHandle: 1, GlobalCallID: 42, State: ctilink.CallStateConnected,
		Origin: true, Calling: ctilink.Party{DN: "1001"}, Called: ctilink.Party{DN: "1002"}, TimeNs: t0.UnixNano()})
	h.take()

	h.down(errors.New("connection reset by peer"))
	loss := h.take()
	eqStrings(t, "loss sequence", names(loss), []string{
		"CTIManagerLost",
		"CallObservationEndedEv(42)",
		"CiscoAddrOutOfServiceEv(1001)", "CiscoTermOutOfServiceEv(SEP000000000001)",
		"CiscoAddrOutOfServiceEv(1002)",
		"ProvOutOfServiceEv",
		"GapOpened",
		"CTIManagerConnecting",
	})
	for _, ev := range loss {
		if strings.HasPrefix(ev.Name, "CiscoAddrOutOfService") || strings.HasPrefix(ev.Name, "CiscoTermOutOfService") {
			if ev.Data.Cause != 1007 || ev.Data.CauseName != "CTIMANAGER_FAILURE" {
				t.Fatalf("%s cause %d %s, want 1007 CTIMANAGER_FAILURE", ev.Name, ev.Data.Cause, ev.Data.CauseName)
			}
		}
	}
	if s := loss[len(loss)-1].Session; s != "b1-p2" {
		t.Fatalf("reconnect session %q, want b1-p2", s)
	}
	if loss[0].Session != "b1-p1" {
		t.Fatalf("loss events session %q, want b1-p1", loss[0].Session)
	}
	if h.m.Provider() != ProviderOutOfService || h.lastDial().CTIManager != "backup" {
		t.Fatalf("provider %s, dialing %s; want OUT_OF_SERVICE and the backup", h.m.Provider(), h.lastDial().CTIManager)
	}

	snap := func(dev string) []ctilink.Message {
		switch dev {
		case "SEP000000000001":
			return []ctilink.Message{snapCall("SEP000000000001", "1001", 42, 11, "1002")}
		case "SEP000000000002":
			return []ctilink.Message{snapCall("SEP000000000002", "1002", 42, 12, "1001")}
		}
		return nil
	}
	h.establish(devs, snap)
	back := h.take()
	got := names(back, schema.FamilyProvider, schema.FamilyTerminal, schema.FamilyAddress, schema.FamilyRoute, schema.FamilyBridge)
	eqStrings(t, "reinstatement", got, []string{
		"CTIManagerConnected", "ProvInServiceEv",
		"RouteCallbackRegistered(5000)",
		"CiscoAddrInServiceEv(1001)", "CiscoTermInServiceEv(SEP000000000001)",
		"CiscoAddrInServiceEv(1002)",
		"GapClosed",
	})
	var snaps int
	for _, ev := range back {
		if ev.Family == schema.FamilyCall && ev.Data.Snapshot {
			snaps++
			if ev.Data.Cause != schema.CauseSnapshot {
				t.Fatalf("snapshot event %s cause %d, want 110", ev.Name, ev.Data.Cause)
			}
		}
		if ev.Name == schema.EvRouteRegistered && !ev.Data.Route.CallbackKept {
			t.Fatal("route callback not reported kept after failover")
		}
	}
	if snaps == 0 {
		t.Fatal("no snapshot events for the live call")
	}
	last := back[len(back)-1]
	if last.Name != schema.EvGapClosed || last.Data.Bridge.Gap.CallsBefore != 1 || last.Data.Bridge.Gap.CallsContinued != 1 {
		t.Fatalf("last event %s gap %+v, want GapClosed with the call continued", last.Name, last.Data.Bridge.Gap)
	}
	// No snapshot for the route point; CTI port re-registered identically.
	for _, msg := range collect[ctilink.SnapshotRequest](h.frames) {
		if msg.Device == "RP1" {
			t.Fatal("snapshot requested for a route point")
		}
	}
	regs := collect[ctilink.CTIPortRegisterRequest](h.frames)
	if len(firstRegs) != 1 || len(regs) != 2 || !sameReg(regs[0], regs[1]) {
		t.Fatalf("CTI port registrations %+v, want the same media twice", regs)
	}
}

func sameReg(a, b ctilink.CTIPortRegisterRequest) bool {
	return a.Device == b.Device && a.Dynamic == b.Dynamic && a.Media.IP == b.Media.IP && a.Media.Port == b.Media.Port &&
		strings.Join(a.Media.Codecs, ",") == strings.Join(b.Media.Codecs, ",") && a.Media.PacketMs == b.Media.PacketMs
}

func collect[T ctilink.Message](msgs []ctilink.Message) []T {
	var out []T
	for _, m := range msgs {
		if v, ok := m.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

func TestMachine_GapInfersCallsEndedDuringTheGap(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(2), nil)
	h.recv(ctilink.CallStateEvent{Device: "SEP000000000001", Line: "1001", CallHandle: 1, GlobalCallID: 42, State: ctilink.CallStateConnected,
		Origin: true, Calling: ctilink.Party{DN: "1001"}, Called: ctilink.Party{DN: "9999"}, TimeNs: t0.UnixNano()})
	heard := h.now // the last frame before the close: observation last known good
	h.take()
	h.advance(time.Second)
	h.recv(ctilink.ProviderClosed{Reason: ctilink.CloseUnexpectedShutdown})
	detected := h.now
	h.advance(3 * time.Second)
	// The backup's snapshot finds a different call.
	h.establish(phones(2), func(dev string) []ctilink.Message {
		if dev == "SEP000000000002" {
			return []ctilink.Message{snapCall("SEP000000000002", "1002", 77, 5, "8888")}
		}
		return nil
	})
	evs := h.take()
	var ended, discovered bool
	for _, ev := range evs {
		switch ev.Name {
		case schema.EvCallEndedInGap:
			ended = ev.Entity == "42" && ev.Data.Inferred && ev.Data.Call.GapID == "b1-gap1"
		case schema.EvCallDiscovered:
			discovered = ev.Entity == "77" && ev.Data.Inferred
		}
	}
	if !ended || !discovered {
		t.Fatalf("inferred events missing (ended %v discovered %v): %v", ended, discovered, names(evs))
	}
	g := evs[len(evs)-1]
	if g.Name != schema.EvGapClosed {
		t.Fatalf("last event %s, want GapClosed", g.Name)
	}
	gap := g.Data.Bridge.Gap
	// The gap opens at the last frame heard before the close, and the close
	// is when the bridge noticed, as for a link that just breaks.
	if gap.ID != "b1-gap1" || !gap.OpenedAt.Equal(heard) || gap.DetectedAt == nil || !gap.DetectedAt.Equal(detected) ||
		gap.DurationMs != 4000 || gap.CallsBefore != 1 ||
		gap.CallsEnded != 1 || gap.CallsDiscovered != 1 || gap.CallsAfter != 1 {
		t.Fatalf("gap = %+v", gap)
	}
}

func TestMachine_RetryTimingAndAttemptsExhausted(t *testing.T) {
	cfg := testConfig()
	cfg.ProviderOpenRetryAttempts = 2
	h := newHarness(t, cfg)
	h.start()
	// Before the first success connection failures are retried for ever.
	for round := 0; round < 4; round++ {
		h.fail(errors.New("connection refused"))
		if h.lastDial().CTIManager != "backup" {
			t.Fatalf("round %d: after primary failed, dialed %s", round, h.lastDial().CTIManager)
		}
		n := len(h.dials)
		h.fail(errors.New("connection refused"))
		if h.m.Link() != LinkWaitingRetry {
			t.Fatalf("round %d: link %s after the round failed", round, h.m.Link())
		}
		h.advance(DefaultProviderRetryInterval - time.Millisecond)
		if len(h.dials) != n {
			t.Fatalf("round %d: redialed before ProviderRetryInterval", round)
		}
		h.advance(time.Millisecond)
		if len(h.dials) != n+1 || h.lastDial().CTIManager != "primary" {
			t.Fatalf("round %d: no redial of primary at ProviderRetryInterval", round)
		}
	}
	if h.done {
		t.Fatal("shut down before the first successful connection")
	}
	h.establish(phones(1), nil)
	h.take()
	h.down(errors.New("EOF"))
	// Round 1 (backup, then primary) fails, wait, round 2 fails: shutdown.
	h.fail(errors.New("refused"))
	h.fail(errors.New("refused"))
	h.advance(DefaultProviderRetryInterval)
	h.fail(errors.New("refused"))
	h.fail(errors.New("refused"))
	if !h.done || !errors.Is(h.err, ErrRetryAttemptsExceeded) {
		t.Fatalf("done %v err %v, want ErrRetryAttemptsExceeded", h.done, h.err)
	}
	evs := h.take()
	var shut *schema.Event
	for i := range evs {
		if evs[i].Name == schema.EvProvShutdown {
			shut = &evs[i]
		}
	}
	if shut == nil || shut.Data.Provider.Reason != "RETRY_ATTEMPTS_EXCEEDED" || shut.Data.Provider.ReasonCode != 106 {
		t.Fatalf("ProvShutdownEv = %+v", shut)
	}
	if h.m.Provider() != ProviderShutdown || len(h.timers) != 0 {
		t.Fatalf("provider %s, timers %v after shutdown", h.m.Provider(), h.timers)
	}
}

func TestMachine_ProviderOpenRequestTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.up()
	h.advance(DefaultProviderOpenRequestTimeout - time.Millisecond)
	if h.m.Link() != LinkOpening {
		t.Fatalf("gave up the open after %v", h.now.Sub(t0))
	}
	h.advance(time.Millisecond)
	if h.lastDial().CTIManager != "backup" {
		t.Fatal("open timeout did not move on to the next CTIManager")
	}
	evs := h.take()
	f := evs[len(evs)-2]
	if f.Name != schema.EvCTIManagerFailed || !strings.Contains(f.Data.Provider.Detail, "ProviderOpenRequestTimeout") {
		t.Fatalf("event %s detail %q", f.Name, f.Data.Provider.Detail)
	}
}

func TestMachine_CtiRequestTimeout(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.up()
	h.openResponse(60*time.Second, 60*time.Second)
	h.openCompleted(0)
	h.deviceList(phones(1), 500)
	h.advance(DefaultCtiRequestTimeout - time.Millisecond)
	if h.m.Link() != LinkOpeningDevices {
		t.Fatalf("link %s before CtiRequestTimeout", h.m.Link())
	}
	h.advance(time.Millisecond)
	if h.lastDial().CTIManager != "backup" {
		t.Fatal("unanswered device open did not move on to the next CTIManager")
	}
}

func TestMachine_LoginFailureBeforeFirstSuccessIsFatal(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.up()
	h.openResponse(10*time.Second, 10*time.Second)
	h.recv(ctilink.ProviderOpenCompleted{Reason: ctilink.CloseLoginFailed, FailureDescription: "bad password"})
	if !h.done || !errors.Is(h.err, ErrOpenRefused) || !strings.Contains(h.err.Error(), "bad password") {
		t.Fatalf("done %v err %v", h.done, h.err)
	}
}

func TestMachine_LeastPriorityOnlyWhenNoOtherReachable(t *testing.T) {
	cfg := testConfig()
	cfg.CTIManagers = []CTIManager{{Name: "lp", Addr: "127.0.0.1:3", LeastPriority: true},
		{Name: "primary", Addr: "127.0.0.1:1"}, {Name: "backup", Addr: "127.0.0.1:2"}}
	h := newHarness(t, cfg)
	h.start()
	if h.lastDial().CTIManager != "primary" {
		t.Fatalf("first dial %s, want primary (least priority skipped)", h.lastDial().CTIManager)
	}
	h.fail(errors.New("refused"))
	if h.lastDial().CTIManager != "backup" {
		t.Fatalf("second dial %s", h.lastDial().CTIManager)
	}
	h.fail(errors.New("refused"))
	if h.lastDial().CTIManager != "lp" {
		t.Fatalf("third dial %s, want the least-priority one", h.lastDial().CTIManager)
	}
	h.establish(phones(1), nil)
	got := names(h.take(), schema.FamilyProvider)
	if got[len(got)-1] != schema.EvCiscoProvConnToLeastPriorCtiServer {
		t.Fatalf("provider events %v, want CiscoProvConnToLeastPriorCtiServerEv last", got)
	}
	st := h.m.Status()
	if !st.LeastPriority || st.CTIManager != "lp" {
		t.Fatalf("status %+v", st)
	}
}

func TestMachine_FallbackAfterFallbackInitiationTime(t *testing.T) {
	cfg := testConfig()
	cfg.CTIManagers = []CTIManager{{Name: "primary", Addr: "127.0.0.1:1"}, {Name: "lp", Addr: "127.0.0.1:3", LeastPriority: true}}
	cfg.FallbackInitiationTime = 150 * time.Second
	h := newHarness(t, cfg)
	h.start()
	h.fail(errors.New("refused"))
	h.establish(phones(1), nil)
	h.take()
	// Probes of the normal server every ProviderRetryInterval; keep the
	// link alive meanwhile.
	keepAlive := func(d time.Duration) {
		for end := h.now.Add(d); h.now.Before(end); {
			h.advance(5 * time.Second)
			h.recv(ctilink.Heartbeat{})
		}
	}
	keepAlive(DefaultProviderRetryInterval)
	if len(h.probes) != 1 || h.probes[0].CTIManager != "primary" {
		t.Fatalf("probes %+v, want one of primary after ProviderRetryInterval", h.probes)
	}
	h.record(h.m.ProbeResult(h.probes[0].Node, false, h.now))
	keepAlive(DefaultProviderRetryInterval)
	if len(h.probes) != 2 {
		t.Fatalf("probes %d, want a second probe", len(h.probes))
	}
	h.record(h.m.ProbeResult(h.probes[1].Node, true, h.now))
	reachableAt := h.now
	if got := names(h.take(), schema.FamilyProvider); len(got) != 1 || got[0] != schema.EvCiscoProvPrimNwReachable {
		t.Fatalf("events %v, want CiscoProvPrimNwReachableEv", got)
	}
	keepAlive(150*time.Second - 5*time.Second)
	if collectSent[ctilink.ProviderCloseRequest](h) != 0 {
		t.Fatal("fell back before FallbackInitiationTime")
	}
	h.advanceTo(reachableAt.Add(150 * time.Second))
	if collectSent[ctilink.ProviderCloseRequest](h) != 1 || h.m.Link() != LinkClosing {
		t.Fatalf("no orderly close at FallbackInitiationTime (link %s)", h.m.Link())
	}
	h.recv(ctilink.ProviderClosed{Reason: ctilink.CloseApplicationRequest})
	if h.lastDial().CTIManager != "primary" {
		t.Fatalf("fallback dialed %s", h.lastDial().CTIManager)
	}
	h.establish(phones(1), nil)
	got := names(h.take(), schema.FamilyProvider, schema.FamilyBridge)
	eqStrings(t, "fallback", got, []string{"CTIManagerLost", "ProvOutOfServiceEv", "GapOpened", "CTIManagerConnecting",
		"CTIManagerConnected", "ProvInServiceEv", "GapClosed", "CiscoProvFallbackToPrimNwCompltdEv"})
}

func collectSent[T ctilink.Message](h *harness) int {
	n := 0
	for _, f := range h.sent {
		if _, ok := f.msg.(T); ok {
			n++
		}
	}
	return n
}

func TestMachine_InitiateFallbackOnRequest(t *testing.T) {
	cfg := testConfig()
	cfg.CTIManagers = []CTIManager{{Name: "primary", Addr: "127.0.0.1:1"}, {Name: "lp", Addr: "127.0.0.1:3", LeastPriority: true}}
	h := newHarness(t, cfg)
	h.start()
	h.record(h.m.InitiateFallback(h.now)) // not on LP: ignored
	h.fail(errors.New("refused"))
	h.establish(phones(1), nil)
	h.record(h.m.InitiateFallback(h.now))
	if collectSent[ctilink.ProviderCloseRequest](h) != 1 {
		t.Fatal("InitiateFallback did not close the least-priority provider")
	}
}

func TestFallbackTimeBounds(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   time.Duration
		want time.Duration
		warn bool
	}{
		{"zero is the default", 0, 300 * time.Second, false},
		{"minimum", 120 * time.Second, 120 * time.Second, false},
		{"maximum", 600 * time.Second, 600 * time.Second, false},
		{"below minimum", 120*time.Second - time.Millisecond, 300 * time.Second, true},
		{"above maximum", 601 * time.Second, 300 * time.Second, true},
		{"in range", 200 * time.Second, 200 * time.Second, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, warn := FallbackTime(tc.in)
			if got != tc.want || (warn != "") != tc.warn {
				t.Fatalf("FallbackTime(%v) = %v, %q; want %v, warning %v", tc.in, got, warn, tc.want, tc.warn)
			}
		})
	}
	// The machine uses the bounded value and says so.
	cfg := testConfig()
	cfg.FallbackInitiationTime = 30 * time.Second
	h := newHarness(t, cfg)
	h.start()
	if h.m.cfg.FallbackInitiationTime != 300*time.Second || len(h.notes) == 0 ||
		!strings.Contains(h.notes[0].Msg, "FallbackInitiationTime") {
		t.Fatalf("fallback %v notes %+v", h.m.cfg.FallbackInitiationTime, h.notes)
	}
}

func TestMachine_CallManagerFailureKeepsProviderInService(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	devs := phones(2)
	devs[1].CallManager = "cm2"
	h.establish(devs, nil)
	h.take()
	ts := h.now.UnixNano()
	h.recv(ctilink.DeviceServiceEvent{Device: "SEP000000000002", InService: false, Reason: ctilink.OOSCallManagerFailure, TimeNs: ts})
	h.recv(ctilink.LineServiceEvent{Device: "SEP000000000002", Line: "1002", InService: false, Reason: ctilink.OOSCallManagerFailure, TimeNs: ts})
	h.recv(ctilink.DeviceRegistrationEvent{Device: "SEP000000000002", Registered: false, CallManager: "cm2", TimeNs: ts})
	h.recv(ctilink.DeviceRegistrationEvent{Device: "SEP000000000002", Registered: true, CallManager: "cm2", TimeNs: ts})
	h.recv(ctilink.DeviceServiceEvent{Device: "SEP000000000002", InService: true, TimeNs: ts})
	h.recv(ctilink.LineServiceEvent{Device: "SEP000000000002", Line: "1002", InService: true, TimeNs: ts})
	evs := h.take()
	eqStrings(t, "node failure", names(evs), []string{
		"CiscoTermOutOfServiceEv(SEP000000000002)", "CiscoAddrOutOfServiceEv(1002)",
		"CiscoProvTerminalUnRegisteredEv(SEP000000000002)", "CiscoProvTerminalRegisteredEv(SEP000000000002)",
		"CiscoTermInServiceEv(SEP000000000002)", "CiscoAddrInServiceEv(1002)"})
	if evs[0].Data.Cause != 1001 || evs[1].Data.Cause != 1001 {
		t.Fatalf("causes %d %d, want 1001", evs[0].Data.Cause, evs[1].Data.Cause)
	}
	if h.m.Provider() != ProviderInService || h.m.gap != nil {
		t.Fatal("provider left service on a CallManager node failure")
	}
}

func TestMachine_CertificateCompromisedIsFatal(t *testing.T) {
	cfg := testConfig()
	cfg.InstanceID = "inst-1"
	h := newHarness(t, cfg)
	h.start()
	h.establish(phones(1), nil)
	h.take()
	h.recv(ctilink.ProviderClosed{Reason: ctilink.CloseDuplicateCertUsed})
	evs := h.take()
	if names(evs)[0] != schema.EvCertificateProblem || h.done || h.lastDial().CTIManager != "backup" {
		t.Fatalf("DUPLICATECERTUSED: events %v done %v", names(evs), h.done)
	}
	h.establish(phones(1), nil)
	h.take()
	h.recv(ctilink.ProviderClosed{Reason: ctilink.CloseCertCompromised})
	evs = h.take()
	if !h.done || !errors.Is(h.err, ErrCertCompromised) || h.m.Status().Ready {
		t.Fatalf("done %v err %v", h.done, h.err)
	}
	got := names(evs, schema.FamilyProvider)
	eqStrings(t, "compromised", got, []string{"CertificateProblem", "ProvShutdownEv"})
	if !strings.Contains(evs[0].Data.Provider.Detail, "new instanceId") {
		t.Fatalf("CertificateProblem detail %q does not tell what to do", evs[0].Data.Provider.Detail)
	}
}

func TestMachine_ShutdownClosesInOrder(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(1), nil)
	h.take()
	h.record(h.m.Shutdown(h.now))
	_, req := findSent[ctilink.ProviderCloseRequest](h)
	if req.Reason != ctilink.CloseApplicationRequest || h.done {
		t.Fatalf("close request %+v done %v", req, h.done)
	}
	h.recv(ctilink.ProviderClosed{Reason: ctilink.CloseApplicationRequest})
	if !h.done || h.err != nil {
		t.Fatalf("done %v err %v", h.done, h.err)
	}
	got := names(h.take(), schema.FamilyProvider)
	eqStrings(t, "shutdown", got, []string{"CTIManagerLost", "ProvShutdownEv"})
	// Bounded when the server never answers.
	h2 := newHarness(t, testConfig())
	h2.start()
	h2.establish(phones(1), nil)
	h2.record(h2.m.Shutdown(h2.now))
	h2.advance(DefaultCloseTimeout)
	if !h2.done {
		t.Fatal("shutdown not completed after CloseTimeout")
	}
}

func TestMachine_MaxDevicesBoundsTracking(t *testing.T) {
	cfg := testConfig()
	cfg.MaxDevices = 3
	h := newHarness(t, cfg)
	h.start()
	h.establish(phones(5), nil)
	if n := collectSent[ctilink.DeviceOpenRequest](h); n != 3 {
		t.Fatalf("opened %d devices, want 3", n)
	}
	st := h.m.Status()
	if st.Devices != 3 || st.Counters.DevicesIgnored != 2 {
		t.Fatalf("status devices %d ignored %d", st.Devices, st.Counters.DevicesIgnored)
	}
	warned := false
	for _, n := range h.notes {
		warned = warned || strings.Contains(n.Msg, "MaxDevices")
	}
	if !warned {
		t.Fatal("no warning about devices beyond MaxDevices")
	}
}

func TestMachine_StaleLinkInputsAreIgnored(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	old := h.lastDial().Link
	h.fail(errors.New("refused"))
	out := h.m.LinkUp(old, h.now)
	if out.Hangup != old || h.m.Link() != LinkConnecting {
		t.Fatalf("late LinkUp of a superseded link: hangup %d link %s", out.Hangup, h.m.Link())
	}
	h.record(out)
	h.record(h.m.Message(old, ctilink.ProviderOpenResponse{}, h.now))
	if h.m.Link() != LinkConnecting {
		t.Fatal("message of a stale link changed the state")
	}
}

func TestMachine_RouteRequestsAnsweredByPolicy(t *testing.T) {
	cfg := testConfig()
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001", "1002", "1003"}, Policy: RouteRoundRobin}}
	h := newHarness(t, cfg)
	h.start()
	devs := append(phones(3), ctilink.DeviceInfo{Name: "RP1", Type: ctilink.DeviceRoutePoint, Lines: []ctilink.LineInfo{{DN: "5000"}},
		Registered: true, InService: true})
	h.establish(devs, nil)
	for i := uint32(1); i <= 4; i++ {
		h.recv(ctilink.RouteEvent{Kind: ctilink.RouteKindRoute, Device: "RP1", Line: "5000", SessionID: i, GlobalCallID: 100 + i, CallHandle: i})
	}
	sel := collect[ctilink.RouteSelectRequest](h.frames)
	if len(sel) != 4 {
		t.Fatalf("%d route selects", len(sel))
	}
	firsts := []string{sel[0].Destinations[0], sel[1].Destinations[0], sel[2].Destinations[0], sel[3].Destinations[0]}
	eqStrings(t, "round robin", firsts, []string{"1001", "1002", "1003", "1001"})
}

func TestMachine_FallbackTimerBounds(t *testing.T) {
	for _, tc := range []struct {
		configured, want time.Duration
	}{
		{120 * time.Second, 120 * time.Second},
		{600 * time.Second, 600 * time.Second},
		{0, 300 * time.Second},
		{119 * time.Second, 300 * time.Second},
		{601 * time.Second, 300 * time.Second},
	} {
		t.Run(tc.configured.String(), func(t *testing.T) {
			cfg := testConfig()
			cfg.CTIManagers = []CTIManager{{Name: "primary", Addr: "127.0.0.1:1"}, {Name: "lp", Addr: "127.0.0.1:3", LeastPriority: true}}
			cfg.FallbackInitiationTime = tc.configured
			h := newHarness(t, cfg)
			h.start()
			h.fail(errors.New("refused"))
			h.up()
			h.openResponse(1000*time.Second, 1000*time.Second) // no heartbeat teardown while time jumps
			h.openCompleted(0)
			h.deviceList(phones(1), 500)
			h.answerRequests(nil)
			h.advance(DefaultProviderRetryInterval)
			h.record(h.m.ProbeResult(0, true, h.now))
			reachable := h.now
			h.advanceTo(reachable.Add(tc.want - time.Millisecond))
			if collectSent[ctilink.ProviderCloseRequest](h) != 0 {
				t.Fatalf("fell back before %v", tc.want)
			}
			h.advanceTo(reachable.Add(tc.want))
			if collectSent[ctilink.ProviderCloseRequest](h) != 1 {
				t.Fatalf("no fallback at %v", tc.want)
			}
		})
	}
}
