package ctiengine

import (
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Rule 1: the provider open is two-phase; the provider is OUT_OF_SERVICE
// until the open completed, the device list is known and the devices are
// opened, then ProvInServiceEv.
func TestRule1_ProviderOpenIsTwoPhase(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a", "ctim-b"), false)
	e.waitStatus("provider up on ctim-a", upOn("ctim-a"))
	evs := e.sink.events()

	inSvc := index(evs, schema.EvProvInService, 0)
	eqStrings(t, "provider events up to in service", names(evs[:inSvc+1]),
		[]string{"CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv"})
	conn := evs[1].Data.Provider
	if conn.CTIManager != "ctim-a" || conn.ServerHeartbeatMs != 30000 || conn.ProviderID == "" {
		t.Fatalf("CTIManagerConnected = %+v", conn)
	}
	for _, ev := range evs[:inSvc] {
		if ev.Data.Provider == nil || ev.Data.Provider.State != "OUT_OF_SERVICE" {
			t.Fatalf("%s reported provider %v before ProvInServiceEv", ev.Name, ev.Data.Provider)
		}
	}
	// Every device of the control list is known and observed (the
	// default cluster: 322 devices, 382 lines).
	devs, lines := 0, 0
	for _, d := range ctisim.DefaultCluster().Devices {
		devs++
		lines += len(d.Lines)
	}
	st := e.eng.Status()
	if !st.Ready || st.Devices != devs || st.DevicesObserved != devs || st.Lines != lines || st.DevicesInService != devs {
		t.Fatalf("status %+v, want %d devices and %d lines", st, devs, lines)
	}
	if got := evs[inSvc].Data.Provider.Devices; got != devs {
		t.Fatalf("ProvInServiceEv devices %d", got)
	}
	if n := count(evs, schema.EvCiscoTermInService); n != devs {
		t.Fatalf("%d CiscoTermInServiceEv, want %d", n, devs)
	}
	if n := count(evs, schema.EvCiscoAddrInService); n != lines {
		t.Fatalf("%d CiscoAddrInServiceEv, want %d", n, lines)
	}

	// On the wire (the simulator's ground truth): the synchronous open
	// response, then the asynchronous completion, then the device list,
	// then one Response per open before anything else.
	sess := srv.Sessions()
	if len(sess) != 1 || !sess[0].Open || sess[0].Devices != devs || sess[0].Lines != lines {
		t.Fatalf("simulator sessions %+v", sess)
	}
	var types []string
	for _, r := range srv.GroundTruth(sess[0].ID) {
		if r.Type != "Heartbeat" && (len(types) == 0 || types[len(types)-1] != r.Type) {
			types = append(types, r.Type)
		}
	}
	eqStrings(t, "frames the CTIManager sent (runs collapsed)", types[:4],
		[]string{"ProviderOpenResponse", "ProviderOpenCompleted", "DeviceListResponse", "Response"})
}

// Rule 2: the server's heartbeat interval wins over the desired one; any
// inbound message counts as a heartbeat; nothing received for twice the
// server interval tears the link down (HEARTBEAT_MISSED) and the engine
// fails over.
func TestRule2_HeartbeatMissTearsDownAtTwiceServerInterval(t *testing.T) {
	srv := newSim(t, func(c *ctisim.Config) {
		c.Cluster = c.Cluster.WithHeartbeat(ctisim.HeartbeatConfig{Min: 5 * time.Second, Max: 5 * time.Second})
	})
	cfg := simConfig(srv, "ctim-a", "ctim-b") // desires the default 30 s
	e := startEngine(t, srv, cfg, true)
	e.waitStatus("provider up on ctim-a", upOn("ctim-a"))
	st := e.eng.Status()
	if st.ServerHeartbeatMs != 5000 || st.ClientHeartbeatMs != 5000 {
		t.Fatalf("negotiated heartbeats %d/%d ms, want the server's 5000/5000", st.ServerHeartbeatMs, st.ClientHeartbeatMs)
	}
	lastHeard := e.clock.Now() // every frame so far arrived at this fake instant

	if err := srv.StallHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	mark := len(e.sink.events())
	e.advance(10*time.Second - time.Millisecond)
	if s := e.eng.Status(); s.Link != LinkUp.String() || count(since(e.sink.events(), mark), schema.EvCTIManagerLost) != 0 {
		t.Fatalf("link %s torn down before 2 × server interval", s.Link)
	}
	e.advance(time.Millisecond)
	evs := e.sink.waitFor(t, "CTIManagerLost", hasN(schema.EvCTIManagerLost, 1))
	lost := evs[index(evs, schema.EvCTIManagerLost, mark)].Data.Provider
	if lost.Reason != "HEARTBEAT_MISSED" || lost.ReasonCode != 1 || lost.LastHeardAt == nil || !lost.LastHeardAt.Equal(lastHeard) ||
		lost.CTIManager != "ctim-a" {
		t.Fatalf("CTIManagerLost = %+v (last heard %v)", lost, lastHeard)
	}
	e.waitStatus("provider up on ctim-b", upOn("ctim-b"))

	// On ctim-b: a call event, not a heartbeat, defers the teardown.
	mark = len(e.sink.events())
	e.advance(8 * time.Second)
	if _, err := srv.Place(traffic.Basic, "1001", "1002", ""); err != nil {
		t.Fatal(err)
	}
	e.sink.waitFor(t, "the call's first event", func(evs []schema.Event) bool {
		return index(evs, schema.EvCallActive, mark) >= 0
	})
	e.advance(8 * time.Second) // 16 s since the failover, 8 s since the call event
	if s := e.eng.Status(); s.Link != LinkUp.String() || s.CTIManager != "ctim-b" ||
		count(since(e.sink.events(), mark), schema.EvCTIManagerLost) != 0 {
		t.Fatalf("inbound call event did not count as a heartbeat: status %+v", s)
	}
}

// rule3Config observes a subset, registers CTI ports (one static, one
// dynamic) and a route point.
func rule3Config(srv *ctisim.Server) Config {
	cfg := simConfig(srv, "ctim-a", "ctim-b")
	cfg.Observe = []string{
		"SEP001122330001", "1001", // terminal and its address
		"1002",                    // an address whose terminal is not observed
		"SEP001122330005", "1005", // a two-line terminal with one observed address
		"CTIP0001", "7001", "RP0001", "5000",
	}
	cfg.CTIPorts = map[string]CTIPortConfig{
		"CTIP0001": {Media: ctilink.MediaParams{IP: "10.1.2.3", Port: 24000, Codecs: []string{"PCMU"}, PacketMs: 20}},
		"CTIP0002": {Dynamic: true},
	}
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1010"}}}
	return cfg
}

// Rule 3: CTIManager loss (here a crash). In this order:
// CallObservationEndedEv, CiscoAddrOutOfServiceEv only for observed
// addresses and CiscoTermOutOfServiceEv only for observed terminals (per
// terminal, its addresses then the terminal), ProvOutOfServiceEv, then on
// the next CTIManager ProvInServiceEv, the devices reinstated with the same
// observers (route callbacks kept, CTI ports re-registered with the same
// media), the in-service events, and snapshots of existing calls (none for
// route addresses).
func TestRule3_CTIManagerLossOrder(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, rule3Config(srv), false)
	e.waitStatus("provider up on ctim-a", upOn("ctim-a"))
	callID, err := srv.Place(traffic.Basic, "1001", "1002", "")
	if err != nil {
		t.Fatal(err)
	}
	simAdvance(t, srv, 2*time.Second) // answered, talking
	cid := strconv.FormatUint(uint64(callID), 10)
	e.sink.waitFor(t, "both parties talking", func(evs []schema.Event) bool {
		return countEntity(evs, schema.EvCallCtlTermConnTalking, cid) == 2
	})
	mark := len(e.sink.events())

	if err := srv.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	evs := e.sink.waitFor(t, "gap closed", hasN(schema.EvGapClosed, 1))
	e.waitStatus("provider up on ctim-b", upOn("ctim-b"))
	evs = since(evs, mark)
	got := names(evs, schema.FamilyProvider, schema.FamilyTerminal, schema.FamilyAddress, schema.FamilyRoute, schema.FamilyBridge)
	eqStrings(t, "failover sequence (non-call events)", got, []string{
		"CTIManagerLost",
		"CiscoAddrOutOfServiceEv(1001)", "CiscoTermOutOfServiceEv(SEP001122330001)",
		"CiscoAddrOutOfServiceEv(1002)",
		"CiscoAddrOutOfServiceEv(1005)", "CiscoTermOutOfServiceEv(SEP001122330005)",
		"CiscoAddrOutOfServiceEv(7001)", "CiscoTermOutOfServiceEv(CTIP0001)",
		"CiscoAddrOutOfServiceEv(5000)", "CiscoTermOutOfServiceEv(RP0001)",
		"ProvOutOfServiceEv",
		"GapOpened",
		"CTIManagerConnecting", "CTIManagerConnected",
		"ProvInServiceEv",
		"RouteCallbackRegistered(5000)",
		"CiscoAddrInServiceEv(1001)", "CiscoTermInServiceEv(SEP001122330001)",
		"CiscoAddrInServiceEv(1002)",
		"CiscoAddrInServiceEv(1005)", "CiscoTermInServiceEv(SEP001122330005)",
		"CiscoAddrInServiceEv(7001)", "CiscoTermInServiceEv(CTIP0001)",
		"CiscoAddrInServiceEv(5000)", "CiscoTermInServiceEv(RP0001)",
		"GapClosed",
	})
	// CallObservationEndedEv comes first among the JTAPI events, before any
	// out-of-service event.
	obsEnd := index(evs, schema.EvCallObservationEnded, 0)
	if obsEnd < 0 || evs[obsEnd].Entity != cid || obsEnd > index(evs, schema.EvCiscoAddrOutOfService, 0) {
		t.Fatalf("CallObservationEndedEv(%s) not before the out-of-service events: %v", cid, names(evs))
	}
	for _, ev := range evs {
		if ev.Name == schema.EvCiscoAddrOutOfService || ev.Name == schema.EvCiscoTermOutOfService {
			if ev.Data.Cause != schema.OOSCauseCTIManagerFailure {
				t.Fatalf("%s(%s) cause %d, want CTIMANAGER_FAILURE 1007", ev.Name, ev.Entity, ev.Data.Cause)
			}
		}
		if ev.Name == schema.EvRouteRegistered && !ev.Data.Route.CallbackKept {
			t.Fatal("RouteCallbackRegistered after the failover does not say the callback was kept")
		}
	}
	// Snapshot of the existing call after the in-service events, cause
	// SNAPSHOT; nothing for the route point.
	inSvc := index(evs, schema.EvProvInService, 0)
	var snap []schema.Event
	for _, ev := range evs[inSvc:] {
		if ev.Family == schema.FamilyCall && ev.Data.Snapshot {
			snap = append(snap, ev)
			if ev.Entity != cid || ev.Data.Cause != schema.CauseSnapshot || ev.Data.MetaCode != schema.MetaSnapshot {
				t.Fatalf("snapshot event %s(%s) cause %d meta %d", ev.Name, ev.Entity, ev.Data.Cause, ev.Data.MetaCode)
			}
		}
	}
	if len(snap) == 0 || countEntity(snap, schema.EvCallCtlTermConnTalking, cid) != 2 {
		t.Fatalf("snapshot events for call %s: %v", cid, names(snap))
	}
	gap := evs[len(evs)-1].Data.Bridge.Gap
	if gap.CallsBefore != 1 || gap.CallsContinued != 1 || gap.CallsEnded != 0 || gap.CallsAfter != 1 {
		t.Fatalf("gap %+v", gap)
	}
	for _, r := range srv.GroundTruth("") {
		if sc, ok := r.Msg.(ctilink.SnapshotCompleted); ok && strings.HasPrefix(sc.Device, "RP") {
			t.Fatalf("snapshot requested for route point %s", sc.Device)
		}
	}

	// The CTI port was re-registered on ctim-b with the same media
	// parameters: a call to it streams to the configured address.
	mark = len(e.sink.events())
	if _, err := srv.Place(traffic.CTIPort, "1003", "7001", ""); err != nil {
		t.Fatal(err)
	}
	simAdvance(t, srv, 2*time.Second)
	evs = e.sink.waitFor(t, "RTP input started on CTIP0001", func(evs []schema.Event) bool {
		return index(evs, schema.EvCiscoRTPInputStarted, mark) >= 0
	})
	media := evs[index(evs, schema.EvCiscoRTPInputStarted, mark)].Data.Media
	if media.IP != "10.1.2.3" || media.Port != 24000 || media.Codec != "PCMU" {
		t.Fatalf("RTP input after failover %+v, want the registered 10.1.2.3:24000 PCMU", media)
	}
}

func countEntity(evs []schema.Event, name, entity string) int {
	n := 0
	for _, ev := range evs {
		if ev.Name == name && ev.Entity == entity {
			n++
		}
	}
	return n
}

// lpSim is the lab cluster with long heartbeats, so that a fake clock can
// jump minutes ahead without a heartbeat teardown.
func lpSim(t *testing.T) *ctisim.Server {
	return newSim(t, func(c *ctisim.Config) {
		c.Cluster = c.Cluster.WithHeartbeat(ctisim.HeartbeatConfig{Min: 600 * time.Second, Max: 600 * time.Second})
	})
}

// Rule 4: the least-priority CTIManager is used only when no other is
// reachable (CiscoProvConnToLeastPriorCtiServerEv); while on it the normal
// ones are probed every ProviderRetryInterval; CiscoProvPrimNwReachableEv
// when one answers; the forced fallback after FallbackInitiationTime (or on
// InitiateFallback) ends with CiscoProvFallbackToPrimNwCompltdEv.
func TestRule4_LeastPriorityAndFallback(t *testing.T) {
	srv := lpSim(t)
	for _, n := range []string{"ctim-a", "ctim-b"} {
		if err := srv.KillNode(n); err != nil {
			t.Fatal(err)
		}
	}
	cfg := simConfig(srv) // ctim-a, ctim-b, ctim-c (least priority)
	cfg.DesiredServerHeartbeatInterval = 600 * time.Second
	cfg.FallbackInitiationTime = 120 * time.Second
	e := startEngine(t, srv, cfg, true)
	e.waitStatus("provider up on the least-priority ctim-c", upOn("ctim-c"))
	evs := e.sink.events()
	eqStrings(t, "provider events", names(evs, schema.FamilyProvider), []string{
		"CTIManagerConnecting", "CTIManagerConnectFailed", "CTIManagerConnecting", "CTIManagerConnectFailed",
		"CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv", "CiscoProvConnToLeastPriorCtiServerEv"})
	if evs[0].Data.Provider.CTIManager != "ctim-a" || evs[2].Data.Provider.CTIManager != "ctim-b" {
		t.Fatal("normal CTIManagers not tried first, in list order")
	}

	// Probes every ProviderRetryInterval: nobody answers yet.
	e.advance(DefaultProviderRetryInterval)
	e.waitStatus("two probe results", func(s Status) bool { return s.Counters.ProbeResults == 2 })
	if n := count(e.sink.events(), schema.EvCiscoProvPrimNwReachable); n != 0 {
		t.Fatal("primary reported reachable while down")
	}
	if err := srv.RestoreNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	e.advance(DefaultProviderRetryInterval)
	evs = e.sink.waitFor(t, "CiscoProvPrimNwReachableEv", hasN(schema.EvCiscoProvPrimNwReachable, 1))
	if r := evs[index(evs, schema.EvCiscoProvPrimNwReachable, 0)].Data.Provider.Reachable; len(r) != 1 || r[0] != "ctim-a" {
		t.Fatalf("reachable %v", r)
	}
	e.waitStatus("primary reachable", func(s Status) bool { return s.PrimaryReachable })
	mark := len(e.sink.events())

	e.advance(120*time.Second - time.Millisecond)
	if s := e.eng.Status(); s.CTIManager != "ctim-c" || s.Link != LinkUp.String() || len(e.sink.events()) != mark {
		t.Fatalf("fell back before FallbackInitiationTime: %+v", s)
	}
	e.advance(time.Millisecond)
	evs = e.sink.waitFor(t, "fallback completed", hasN(schema.EvCiscoProvFallbackToPrimNwCompltd, 1))
	e.waitStatus("provider up on ctim-a", upOn("ctim-a"))
	eqStrings(t, "orderly fallback", names(since(evs, mark), schema.FamilyProvider, schema.FamilyBridge), []string{
		"CTIManagerLost", "ProvOutOfServiceEv", "GapOpened",
		"CTIManagerConnecting", "CTIManagerConnected", "ProvInServiceEv", "GapClosed",
		"CiscoProvFallbackToPrimNwCompltdEv"})
	if lost := evs[index(evs, schema.EvCTIManagerLost, mark)].Data.Provider; lost.Reason != "APPLICATIONREQUEST" || lost.CTIManager != "ctim-c" {
		t.Fatalf("fallback close %+v", lost)
	}

	// Back on the least-priority server, then an early fallback on request.
	if err := srv.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	e.waitStatus("provider up on ctim-c again", upOn("ctim-c"))
	if err := srv.RestoreNode("ctim-b"); err != nil {
		t.Fatal(err)
	}
	e.eng.InitiateFallback()
	e.sink.waitFor(t, "second fallback completed", hasN(schema.EvCiscoProvFallbackToPrimNwCompltd, 2))
	e.waitStatus("provider up on ctim-b", upOn("ctim-b"))
}

// Rule 5: a CallManager node failure takes only that node's devices out of
// service (CALLMANAGER_FAILURE 1001); they re-home to the next CallManager
// of their group and come back into service; the provider stays in
// service and no gap opens; when the node is back its devices return to
// it (REHOME_TO_HIGHER_PRIORITY_CM 1002).
func TestRule5_CallManagerFailure(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a", "ctim-b"), false)
	e.waitStatus("provider up", upOn("ctim-a"))
	wantTerms, wantAddrs := map[string]bool{}, map[string]bool{}
	for _, d := range ctisim.DefaultCluster().Devices {
		if d.CallManager == "cm2" {
			wantTerms[d.Name] = true
			for _, l := range d.Lines {
				wantAddrs[l] = true
			}
		}
	}
	mark := len(e.sink.events())
	if err := srv.FailCallManager("cm2"); err != nil {
		t.Fatal(err)
	}
	e.sink.waitFor(t, "cm2 devices out of service", hasN(schema.EvCiscoTermOutOfService, len(wantTerms)))
	evs := e.sink.waitFor(t, "cm2 lines out of service", hasN(schema.EvCiscoAddrOutOfService, len(wantAddrs)))
	checkWave := func(evs []schema.Event, termEv, addrEv string, cause int) {
		t.Helper()
		terms, addrs := map[string]bool{}, map[string]bool{}
		for _, ev := range evs {
			switch ev.Name {
			case termEv:
				terms[ev.Entity] = true
			case addrEv:
				addrs[ev.Entity] = true
			default:
				continue
			}
			if ev.Data.Cause != cause {
				t.Fatalf("%s(%s) cause %d, want %d", ev.Name, ev.Entity, ev.Data.Cause, cause)
			}
		}
		if len(terms) != len(wantTerms) || len(addrs) != len(wantAddrs) {
			t.Fatalf("%s for %d terminals and %s for %d addresses; want %d and %d (cm2 only)",
				termEv, len(terms), addrEv, len(addrs), len(wantTerms), len(wantAddrs))
		}
		for n := range terms {
			if !wantTerms[n] {
				t.Fatalf("%s for %s, which is not on cm2", termEv, n)
			}
		}
		for n := range addrs {
			if !wantAddrs[n] {
				t.Fatalf("%s for %s, which is not on cm2", addrEv, n)
			}
		}
	}
	checkWave(since(evs, mark), schema.EvCiscoTermOutOfService, schema.EvCiscoAddrOutOfService, schema.OOSCauseCallManagerFailure)
	// The devices (idle: no traffic here) re-home to the next CallManager
	// of their group at once, and are back in service (guide: Cisco
	// Unified Communications Manager Server Failure).
	evs = e.sink.waitFor(t, "cm2 devices re-homed", func(evs []schema.Event) bool {
		return count(since(evs, mark), schema.EvCiscoTermInService) == len(wantTerms) &&
			count(since(evs, mark), schema.EvCiscoAddrInService) == len(wantAddrs)
	})
	checkWave(since(evs, mark), schema.EvCiscoTermInService, schema.EvCiscoAddrInService, 0)
	checkRegistered := func(evs []schema.Event, cm string) {
		t.Helper()
		n := 0
		for _, ev := range evs {
			if ev.Name == schema.EvCiscoProvTerminalRegistered {
				n++
				if ev.Data.Terminal == nil || ev.Data.Terminal.CallManager != cm {
					t.Fatalf("%s(%s) on %+v, want CallManager %s", ev.Name, ev.Entity, ev.Data.Terminal, cm)
				}
			}
		}
		if n != len(wantTerms) {
			t.Fatalf("%d CiscoProvTerminalRegisteredEv, want %d", n, len(wantTerms))
		}
	}
	checkRegistered(since(evs, mark), "cm1")
	if n := count(since(evs, mark), schema.EvCiscoProvTerminalUnRegistered); n != len(wantTerms) {
		t.Fatalf("%d CiscoProvTerminalUnRegisteredEv, want %d", n, len(wantTerms))
	}
	st := e.eng.Status()
	if !st.Ready || st.Gap != nil || st.DevicesInService != len(ctisim.DefaultCluster().Devices) {
		t.Fatalf("status after the re-homing %+v", st)
	}
	for _, ev := range evs {
		switch ev.Name {
		case schema.EvProvOutOfService, schema.EvGapOpened, schema.EvCTIManagerLost:
			t.Fatalf("%s during a CallManager node failure", ev.Name)
		}
	}
	// The node comes back: its devices return to it (out of service with
	// REHOME_TO_HIGHER_PRIORITY_CM 1002, in service again).
	mark = len(e.sink.events())
	if err := srv.RestoreCallManager("cm2"); err != nil {
		t.Fatal(err)
	}
	evs = e.sink.waitFor(t, "cm2 devices back on cm2", func(evs []schema.Event) bool {
		return count(since(evs, mark), schema.EvCiscoTermInService) == len(wantTerms) &&
			count(since(evs, mark), schema.EvCiscoAddrInService) == len(wantAddrs)
	})
	checkWave(since(evs, mark), schema.EvCiscoTermOutOfService, schema.EvCiscoAddrOutOfService, schema.OOSCauseRehomeToHigherPrio)
	checkWave(since(evs, mark), schema.EvCiscoTermInService, schema.EvCiscoAddrInService, 0)
	checkRegistered(since(evs, mark), "cm2")
	if s := e.eng.Status(); !s.Ready || s.DevicesInService != len(ctisim.DefaultCluster().Devices) {
		t.Fatalf("status after restore %+v", s)
	}
}

// Rule 6: ProviderRetryInterval between rounds over the list; once the
// provider has been in service, ProviderOpenRetryAttempts failed rounds
// shut it down (ProvShutdownEv, RETRY_ATTEMPTS_EXCEEDED) and Run returns a
// clear error.
func TestRule6_RetryAttemptsExhausted(t *testing.T) {
	srv := lpSim(t)
	cfg := simConfig(srv, "ctim-a", "ctim-b")
	cfg.DesiredServerHeartbeatInterval = 600 * time.Second
	cfg.ProviderOpenRetryAttempts = 2
	e := startEngine(t, srv, cfg, true)
	e.waitStatus("provider up", upOn("ctim-a"))
	mark := len(e.sink.events())
	for _, n := range []string{"ctim-b", "ctim-a"} {
		if err := srv.KillNode(n); err != nil {
			t.Fatal(err)
		}
	}
	e.waitStatus("first round failed", func(s Status) bool { return s.Link == LinkWaitingRetry.String() })
	evs := since(e.sink.events(), mark)
	eqStrings(t, "first round", names(evs, schema.FamilyProvider), []string{
		"CTIManagerLost", "ProvOutOfServiceEv",
		"CTIManagerConnecting", "CTIManagerConnectFailed", "CTIManagerConnecting", "CTIManagerConnectFailed"})
	var dialed []string
	for _, ev := range evs {
		if ev.Name == schema.EvCTIManagerConnecting {
			dialed = append(dialed, ev.Data.Provider.CTIManager)
		}
	}
	if strings.Join(dialed, ",") != "ctim-b,ctim-a" {
		t.Fatal("the round after losing ctim-a must start with the next one, ctim-b")
	}
	n := count(e.sink.events(), schema.EvCTIManagerConnecting)
	e.advance(DefaultProviderRetryInterval - time.Millisecond)
	if count(e.sink.events(), schema.EvCTIManagerConnecting) != n {
		t.Fatal("retried before ProviderRetryInterval")
	}
	e.advance(time.Millisecond)
	err := e.runResult()
	if !errors.Is(err, ErrRetryAttemptsExceeded) || !strings.Contains(err.Error(), "2 consecutive rounds") {
		t.Fatalf("Run returned %v, want ErrRetryAttemptsExceeded", err)
	}
	evs = e.sink.events()
	last := evs[len(evs)-1] // the gap opened with the loss stays open
	if last.Name != schema.EvProvShutdown || last.Data.Provider.Reason != "RETRY_ATTEMPTS_EXCEEDED" {
		t.Fatalf("events end with %v", names(evs[len(evs)-4:]))
	}
	if s := e.eng.Status(); s.Ready || s.Provider != "SHUTDOWN" || s.Err == "" {
		t.Fatalf("status after shutdown %+v", s)
	}
}

// Rule 8: a call through a calling-party transformation pattern. With both
// parties observed, the masked calling number appears as a short-lived
// connection (created, then dropped) marked transient, and the current
// calling party is the transformed number.
func TestRule8_CallingPartyTransformation(t *testing.T) {
	srv := newSim(t, nil)
	e := startEngine(t, srv, simConfig(srv, "ctim-a"), false)
	e.waitStatus("provider up", upOn("ctim-a"))
	callID, err := srv.Place(traffic.Transform, "1001", "1002", "")
	if err != nil {
		t.Fatal(err)
	}
	cid := strconv.FormatUint(uint64(callID), 10)
	const masked = "800551001" // mask 80055XXXX applied to 1001
	simAdvance(t, srv, 2*time.Second)
	evs := e.sink.waitFor(t, "both parties talking", func(evs []schema.Event) bool {
		return countEntity(evs, schema.EvCallCtlTermConnTalking, cid) == 2
	})
	var created, dropped = -1, -1
	for i, ev := range evs {
		if ev.Entity != cid || ev.Data.Call == nil || ev.Data.Call.Connection == nil || ev.Data.Call.Connection.Address != masked {
			continue
		}
		if !ev.Data.Call.Connection.Transient {
			t.Fatalf("%s for the masked party is not marked transient", ev.Name)
		}
		switch ev.Name {
		case schema.EvConnCreated:
			created = i
		case schema.EvConnDisconnected:
			dropped = i
		}
	}
	if created < 0 || dropped < created {
		t.Fatalf("transient connection for %s: created at %d, dropped at %d; events %v", masked, created, dropped, names(evs))
	}
	// The called party's connection events show the transformed caller.
	var sawB bool
	for _, ev := range evs {
		c := ev.Data.Call
		if ev.Entity != cid || c == nil || c.Connection == nil || c.Connection.Address != "1002" {
			continue
		}
		sawB = true
		if c.CurrentCalling == nil || c.CurrentCalling.Address != masked {
			t.Fatalf("%s on 1002: current calling %+v, want %s", ev.Name, c.CurrentCalling, masked)
		}
	}
	if !sawB {
		t.Fatal("no connection events for the called party")
	}
	// The transient party is not counted as a party of the call.
	for _, c := range e.eng.m.Model().Calls() {
		if c.CallID != cid {
			continue
		}
		for _, cn := range c.Connections {
			if cn.Address == masked && !cn.Transient {
				t.Fatalf("masked party tracked as a real connection: %+v", cn)
			}
		}
	}
}

// Rule 9: gap accounting. Calls known before the outage that ended during
// it and calls that started during it are reported as explicitly inferred
// events after the snapshot, then a GapClosed record with the duration and
// the counts.
func TestRule9_GapAccounting(t *testing.T) {
	srv := lpSim(t)
	cfg := simConfig(srv, "ctim-a", "ctim-b")
	cfg.DesiredServerHeartbeatInterval = 600 * time.Second
	e := startEngine(t, srv, cfg, true)
	e.waitStatus("provider up", upOn("ctim-a"))
	// Calls ring 1 s and talk 60 s: "ended" ends at 61 s, "kept" at 91 s.
	ended, err := srv.Place(traffic.Basic, "1001", "1002", "")
	if err != nil {
		t.Fatal(err)
	}
	simAdvance(t, srv, 30*time.Second)
	kept, err := srv.Place(traffic.Basic, "1003", "1004", "")
	if err != nil {
		t.Fatal(err)
	}
	simAdvance(t, srv, 2*time.Second)
	e.sink.waitFor(t, "both calls talking", func(evs []schema.Event) bool {
		return count(evs, schema.EvCallCtlTermConnTalking) == 4
	})
	mark := len(e.sink.events())

	// Both CTIManagers go down (the backup first, so that the engine does
	// not fail over to it); the engine waits ProviderRetryInterval.
	for _, n := range []string{"ctim-b", "ctim-a"} {
		if err := srv.KillNode(n); err != nil {
			t.Fatal(err)
		}
	}
	e.waitStatus("waiting to retry", func(s Status) bool { return s.Link == LinkWaitingRetry.String() })
	gapOpened := e.clock.Now()
	st := e.eng.Status()
	if st.Gap == nil || st.Ready {
		t.Fatalf("status during the outage %+v", st)
	}
	// During the gap: the first call ends, a new one starts.
	simAdvance(t, srv, 30*time.Second) // 62 s: "ended" is over, "kept" talks on
	started, err := srv.Place(traffic.Basic, "1005", "1006", "")
	if err != nil {
		t.Fatal(err)
	}
	simAdvance(t, srv, 2*time.Second)
	if err := srv.RestoreNode("ctim-b"); err != nil {
		t.Fatal(err)
	}
	e.advance(DefaultProviderRetryInterval)
	evs := e.sink.waitFor(t, "gap closed", hasN(schema.EvGapClosed, 1))
	evs = since(evs, mark)
	opened := evs[index(evs, schema.EvGapOpened, 0)]
	closed := evs[len(evs)-1]
	if closed.Name != schema.EvGapClosed {
		t.Fatalf("last event %s, want GapClosed", closed.Name)
	}
	gap := closed.Data.Bridge.Gap
	if gap.ID != opened.Data.Bridge.Gap.ID || gap.DurationMs != DefaultProviderRetryInterval.Milliseconds() ||
		!gap.OpenedAt.Equal(gapOpened) || gap.ClosedAt == nil {
		t.Fatalf("gap %+v (opened %+v)", gap, opened.Data.Bridge.Gap)
	}
	if gap.CallsBefore != 2 || gap.CallsEnded != 1 || gap.CallsContinued != 1 || gap.CallsDiscovered != 1 || gap.CallsAfter != 2 {
		t.Fatalf("gap counts %+v, want 2 before, 1 ended, 1 continued, 1 discovered, 2 after", gap)
	}
	// The inferred events come after the snapshot and before GapClosed,
	// flagged Inferred and tied to the gap.
	inferred := map[string]string{}
	for _, ev := range evs[index(evs, schema.EvProvInService, 0):] {
		if ev.Name == schema.EvCallEndedInGap || ev.Name == schema.EvCallDiscovered {
			if !ev.Data.Inferred || ev.Data.Call.GapID != gap.ID {
				t.Fatalf("%s(%s) not flagged inferred for gap %s: %+v", ev.Name, ev.Entity, gap.ID, ev.Data)
			}
			inferred[ev.Entity] = ev.Name
		}
	}
	want := map[string]string{
		strconv.FormatUint(uint64(ended), 10):   schema.EvCallEndedInGap,
		strconv.FormatUint(uint64(started), 10): schema.EvCallDiscovered,
	}
	if len(inferred) != len(want) {
		t.Fatalf("inferred events %v, want %v", inferred, want)
	}
	for id, name := range want {
		if inferred[id] != name {
			t.Fatalf("call %s: %q, want %s", id, inferred[id], name)
		}
	}
	// The continuing call was rebuilt by the snapshot, not inferred.
	keptID := strconv.FormatUint(uint64(kept), 10)
	if countEntity(evs, schema.EvCallActive, keptID) != 1 || inferred[keptID] != "" {
		t.Fatalf("continuing call %s: %v", keptID, names(evs))
	}
	if s := e.eng.Status(); s.Gap != nil || !s.Ready || s.Calls != 2 {
		t.Fatalf("status after the gap %+v", s)
	}
}
