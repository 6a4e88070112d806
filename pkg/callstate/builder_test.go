package callstate_test

import (
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// script builds event sequences the way the engine emits them: per
// connection change the core event (when the core state moves) then the
// call-control event, with both layers in the data.
type script struct {
	now     time.Time
	session string
	seq     uint64
	mgr     string
	events  []schema.Event
	conn    map[[2]string][2]int // (call, address) → core, cc
	tc      map[[2]string][2]int // (call, terminal) → core, cc
	term    map[string]string    // address → terminal
}

func newScript() *script {
	return &script{
		now:     time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC),
		session: "s1",
		mgr:     "cm1",
		conn:    map[[2]string][2]int{},
		tc:      map[[2]string][2]int{},
		term:    map[string]string{"1001": "SEPA", "1002": "SEPB", "1003": "SEPC", "1004": "SEPD", "1005": "SEPE", "1006": "SEPF", "2000": "RP1"},
	}
}

func (s *script) tick(d time.Duration) { s.now = s.now.Add(d) }

func (s *script) emit(family schema.Family, entity, name string, data schema.Data) {
	s.seq++
	spec, _ := schema.Spec(name)
	data.Event = name
	data.EventID = spec.ID
	data.Times.Upstream = s.now
	data.Times.Received = s.now
	s.events = append(s.events, schema.Event{
		Family: family, Entity: entity, Name: name, Session: s.session, SessionSeq: s.seq,
		CTIManager: s.mgr, Time: s.now, Received: s.now, Data: data,
	})
}

func (s *script) provider(name string, d schema.ProviderData) {
	s.emit(schema.FamilyProvider, "", name, schema.Data{Provider: &d})
}

func (s *script) bridge(name string, d schema.BridgeData) {
	s.emit(schema.FamilyBridge, "", name, schema.Data{Bridge: &d})
}

func (s *script) device(name, inOut string, cause int) {
	ev := schema.EvCiscoTermInService
	if inOut == "out" {
		ev = schema.EvCiscoTermOutOfService
	}
	st := map[string]string{"in": "IN_SERVICE", "out": "OUT_OF_SERVICE"}[inOut]
	s.emit(schema.FamilyTerminal, name, ev, schema.Data{Cause: cause, CauseName: schema.CauseNames[cause],
		Terminal: &schema.TerminalData{Name: name, Type: "phone", State: st, Observed: true}})
}

func (s *script) line(dn, inOut string, cause int) {
	ev := schema.EvCiscoAddrInService
	if inOut == "out" {
		ev = schema.EvCiscoAddrOutOfService
	}
	st := map[string]string{"in": "IN_SERVICE", "out": "OUT_OF_SERVICE"}[inOut]
	s.emit(schema.FamilyAddress, dn, ev, schema.Data{Cause: cause, CauseName: schema.CauseNames[cause],
		Address: &schema.AddressData{DN: dn, Terminal: s.term[dn], State: st, Observed: true}})
}

// callEv emits a call-level event (no connection part).
func (s *script) callEv(call, name string, mut func(*schema.CallData)) {
	cd := &schema.CallData{CallID: call, State: "ACTIVE", StateCode: schema.CallActive}
	if mut != nil {
		mut(cd)
	}
	s.emit(schema.FamilyCall, call, name, schema.Data{Call: cd})
}

var coreConnEv = map[int]string{
	schema.ConnIdle: schema.EvConnCreated, schema.ConnInProgress: schema.EvConnInProgress,
	schema.ConnAlerting: schema.EvConnAlerting, schema.ConnConnected: schema.EvConnConnected,
	schema.ConnDisconnected: schema.EvConnDisconnected, schema.ConnFailed: schema.EvConnFailed,
}

var ccConnEv = map[int]string{
	schema.CCConnInitiated: schema.EvCallCtlConnInitiated, schema.CCConnDialing: schema.EvCallCtlConnDialing,
	schema.CCConnOffered: schema.EvCallCtlConnOffered, schema.CCConnAlerting: schema.EvCallCtlConnAlerting,
	schema.CCConnEstablished: schema.EvCallCtlConnEstablished, schema.CCConnDisconnected: schema.EvCallCtlConnDisconnected,
	schema.CCConnNetworkReached: schema.EvCallCtlConnNetworkReached, schema.CCConnFailed: schema.EvCallCtlConnFailed,
}

var coreTCEv = map[int]string{
	schema.TermConnRinging: schema.EvTermConnRinging, schema.TermConnActive: schema.EvTermConnActive,
	schema.TermConnPassive: schema.EvTermConnPassive, schema.TermConnDropped: schema.EvTermConnDropped,
}

var ccTCEv = map[int]string{
	schema.CCTermConnRinging: schema.EvCallCtlTermConnRinging, schema.CCTermConnTalking: schema.EvCallCtlTermConnTalking,
	schema.CCTermConnHeld: schema.EvCallCtlTermConnHeld, schema.CCTermConnDropped: schema.EvCallCtlTermConnDropped,
	schema.CCTermConnBridged: schema.EvCallCtlTermConnBridged,
}

type legOpt struct {
	snapshot  bool
	transient bool
	parties   func(*schema.CallData)
}

// leg moves the connection of address on call to call-control state cc
// (and its terminal connection to tcc, 0 for none), emitting what the
// engine would.
func (s *script) leg(call, addr string, cc, tcc int, o legOpt) {
	k := [2]string{call, addr}
	prev := s.conn[k]
	core := schema.CoreConnState(cc)
	term := s.term[addr]
	mk := func() schema.Data {
		cd := &schema.CallData{CallID: call, State: "ACTIVE", StateCode: schema.CallActive,
			Connection: &schema.ConnectionData{Address: addr, State: schema.StateNames[core], StateCode: core,
				CallControlState: schema.StateNames[cc], CallControlStateCode: cc, Transient: o.transient, Controlled: !o.transient}}
		if o.parties != nil {
			o.parties(cd)
		}
		d := schema.Data{Call: cd, Snapshot: o.snapshot}
		if o.snapshot {
			d.Cause = schema.CauseSnapshot
			d.MetaCode = schema.MetaSnapshot
		}
		return d
	}
	if prev == [2]int{} {
		s.emit(schema.FamilyCall, call, schema.EvConnCreated, mk())
	}
	if prev[0] != core && core != schema.ConnIdle {
		s.emit(schema.FamilyCall, call, coreConnEv[core], mk())
	}
	if prev[1] != cc {
		s.emit(schema.FamilyCall, call, ccConnEv[cc], mk())
	}
	s.conn[k] = [2]int{core, cc}
	if tcc == 0 || term == "" || o.transient {
		return
	}
	tk := [2]string{call, term}
	tprev := s.tc[tk]
	tcore := schema.CoreTermConnState(tcc)
	mkt := func() schema.Data {
		d := mk()
		d.Call.TerminalConnection = &schema.TerminalConnectionData{Terminal: term, Address: addr,
			State: schema.StateNames[tcore], StateCode: tcore, CallControlState: schema.StateNames[tcc], CallControlStateCode: tcc}
		return d
	}
	if tprev == [2]int{} {
		s.emit(schema.FamilyCall, call, schema.EvTermConnCreated, mkt())
	}
	if tprev[0] != tcore {
		s.emit(schema.FamilyCall, call, coreTCEv[tcore], mkt())
	}
	if tprev[1] != tcc {
		s.emit(schema.FamilyCall, call, ccTCEv[tcc], mkt())
	}
	s.tc[tk] = [2]int{tcore, tcc}
}

// hangup drops a leg: terminal connection dropped, connection disconnected.
func (s *script) hangup(call, addr string) {
	term := s.term[addr]
	if _, ok := s.tc[[2]string{call, term}]; ok {
		s.leg(call, addr, s.conn[[2]string{call, addr}][1], schema.CCTermConnDropped, legOpt{})
		delete(s.tc, [2]string{call, term})
	}
	s.leg(call, addr, schema.CCConnDisconnected, 0, legOpt{})
	delete(s.conn, [2]string{call, addr})
}

func (s *script) endCall(call string) {
	s.callEv(call, schema.EvCallInvalid, nil)
	s.callEv(call, schema.EvCallObservationEnded, nil)
}

// basicConnected sets up call A→B connected (both observed).
func (s *script) basicConnected(call, a, b string) {
	p := func(cd *schema.CallData) {
		cd.Calling = &schema.Party{Address: a, Terminal: s.term[a]}
		cd.Called = &schema.Party{Address: b, Terminal: s.term[b]}
	}
	s.callEv(call, schema.EvCallActive, p)
	s.leg(call, a, schema.CCConnInitiated, schema.CCTermConnTalking, legOpt{parties: p})
	s.tick(200 * time.Millisecond)
	s.leg(call, a, schema.CCConnDialing, schema.CCTermConnTalking, legOpt{parties: p})
	s.leg(call, a, schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{parties: p})
	s.tick(100 * time.Millisecond)
	s.leg(call, b, schema.CCConnOffered, 0, legOpt{parties: p})
	s.leg(call, b, schema.CCConnAlerting, schema.CCTermConnRinging, legOpt{parties: p})
	s.tick(2 * time.Second)
	s.leg(call, b, schema.CCConnEstablished, schema.CCTermConnTalking, legOpt{parties: p})
}

// providerUp is the opening of the provider on mgr with the devices in
// service.
func (s *script) providerUp(devices ...string) {
	s.bridge(schema.EvBridgeStarted, schema.BridgeData{Instance: "bridge-1", Version: "test"})
	s.provider(schema.EvCTIManagerConnecting, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: s.mgr})
	s.provider(schema.EvCTIManagerConnected, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: s.mgr, ServerHeartbeatMs: 1000, ClientHeartbeatMs: 1000})
	s.provider(schema.EvProvInService, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: s.mgr, Devices: len(devices)})
	for _, dn := range devices {
		s.line(dn, "in", 0)
		s.device(s.term[dn], "in", 0)
	}
}
