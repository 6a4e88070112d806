package storetest

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// LogConfig shapes a synthetic log.
type LogConfig struct {
	// Events is the exact number of events (default 1000).
	Events int
	// Lines is the number of phones, one line each (default 20).
	Lines int
	// Failovers lists event counts at which the serving CTIManager is lost
	// (heartbeat missed) and the next one takes over.
	Failovers []int
	// Start is the time of the first event (default 2026-11-20 14:00 UTC).
	Start time.Time
	// Step is the simulated time between events (default 10 ms).
	Step time.Duration
	// Heartbeat is the server heartbeat interval; a BridgeHeartbeat is
	// emitted each interval (default 1 s).
	Heartbeat time.Duration
	// Seed makes the traffic reproducible (default 1).
	Seed uint64
	// UnrecordedWaves writes GapClosed records without the wave counts
	// (schema.Gap.Waves), as a bridge before they existed did.
	UnrecordedWaves bool
}

// Line returns the DN of line i (1-based) and its terminal.
func Line(i int) (dn, terminal string) {
	return fmt.Sprintf("%d", 1000+i), fmt.Sprintf("SEP%012d", i)
}

type gen struct {
	cfg     LogConfig
	sink    func(schema.Event)
	n       int
	rnd     *rand.Rand
	now     time.Time
	lastHB  time.Time
	heard   time.Time
	session string
	sess    int
	seq     uint64
	mgr     int
	free    []int
	calls   []*synCall
	nextID  int
	gaps    int
	waves   *schema.WaveCounter // the failover's, as the engine counts them
}

type synCall struct {
	id    string
	a, b  int
	state int // 1 ringing, 2 connected
}

var managers = []string{"cucm-pub", "cucm-sub1", "cucm-sub2"}

// SyntheticLog generates a deterministic log: the bridge starts, the
// provider opens on the first CTIManager with every line in service, then
// basic calls come and go between random lines, with a BridgeHeartbeat
// every Heartbeat. At each Failovers count the CTIManager is lost with
// HEARTBEAT_MISSED two heartbeat intervals after it was last heard, and the
// events follow PRODUCT.md §3.3 rule 3 and rule 9 (observation ended,
// addresses then terminals out of service, provider out of service, gap
// opened, next CTIManager, provider in service, addresses then terminals in
// service, snapshot of the surviving calls, calls ended during the gap,
// gap closed with its counts).
func SyntheticLog(cfg LogConfig) []schema.Event {
	n := cfg.Events
	if n <= 0 {
		n = 1000
	}
	evs := make([]schema.Event, 0, n)
	GenerateLog(cfg, func(ev schema.Event) { evs = append(evs, ev) })
	return evs
}

// GenerateLog is SyntheticLog delivering the events one by one to fn, so
// that a long log needs no memory.
func GenerateLog(cfg LogConfig, fn func(schema.Event)) {
	if cfg.Events <= 0 {
		cfg.Events = 1000
	}
	if cfg.Lines < 2 {
		cfg.Lines = 20
	}
	if cfg.Start.IsZero() {
		cfg.Start = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	}
	if cfg.Step <= 0 {
		cfg.Step = 10 * time.Millisecond
	}
	if cfg.Heartbeat <= 0 {
		cfg.Heartbeat = time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	g := &gen{cfg: cfg, sink: fn, rnd: rand.New(rand.NewPCG(cfg.Seed, 7)), now: cfg.Start, lastHB: cfg.Start}
	for i := 1; i <= cfg.Lines; i++ {
		g.free = append(g.free, i)
	}
	g.open()
	failovers := slices.Clone(cfg.Failovers)
	slices.Sort(failovers)
	for g.n < cfg.Events {
		if len(failovers) > 0 && g.n >= failovers[0] {
			failovers = failovers[1:]
			g.failover()
			continue
		}
		g.traffic()
	}
}

func (g *gen) tick() {
	g.now = g.now.Add(g.cfg.Step)
	g.heard = g.now
	for !g.now.Before(g.lastHB.Add(g.cfg.Heartbeat)) {
		g.lastHB = g.lastHB.Add(g.cfg.Heartbeat)
		g.emit(schema.FamilyBridge, "", schema.EvBridgeHeartbeat, schema.Data{Bridge: &schema.BridgeData{Instance: "bridge-1"}})
	}
}

func (g *gen) emit(f schema.Family, entity, name string, d schema.Data) {
	g.seq++
	spec, _ := schema.Spec(name)
	d.Event = name
	d.EventID = spec.ID
	d.Times.Upstream = g.now
	d.Times.Received = g.now
	if g.n >= g.cfg.Events {
		return // the log is long enough: drop the rest of the step
	}
	g.n++
	mgr := managers[g.mgr%len(managers)]
	ev := schema.Event{Family: f, Entity: entity, Name: name, Session: g.session, SessionSeq: g.seq,
		Sequence: g.seq, CTIManager: mgr, Time: g.now, Received: g.now, Data: d}
	if g.waves != nil {
		g.waves.Add(&ev)
	}
	g.sink(ev)
}

func (g *gen) provider(name string, d schema.ProviderData) {
	g.emit(schema.FamilyProvider, "", name, schema.Data{Provider: &d})
}

func (g *gen) newSession() {
	g.sess++
	g.session = fmt.Sprintf("prov-%d", g.sess)
	g.seq = 0
}

func (g *gen) lines(name string, cause int) {
	for i := 1; i <= g.cfg.Lines; i++ {
		dn, term := Line(i)
		st := "IN_SERVICE"
		if cause != 0 {
			st = "OUT_OF_SERVICE"
		}
		g.emit(schema.FamilyAddress, dn, name, schema.Data{Cause: cause, CauseName: schema.CauseNames[cause],
			Address: &schema.AddressData{DN: dn, Terminal: term, State: st, Observed: true}})
	}
}

func (g *gen) terminals(name string, cause int) {
	for i := 1; i <= g.cfg.Lines; i++ {
		dn, term := Line(i)
		st := "IN_SERVICE"
		if cause != 0 {
			st = "OUT_OF_SERVICE"
		}
		g.emit(schema.FamilyTerminal, term, name, schema.Data{Cause: cause, CauseName: schema.CauseNames[cause],
			Terminal: &schema.TerminalData{Name: term, Type: "phone", State: st, Addresses: []string{dn}, Observed: true}})
	}
}

func (g *gen) open() {
	g.newSession()
	mgr := managers[g.mgr%len(managers)]
	g.emit(schema.FamilyBridge, "", schema.EvBridgeStarted, schema.Data{Bridge: &schema.BridgeData{Instance: "bridge-1", Version: "synthetic"}})
	g.provider(schema.EvCTIManagerConnecting, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: mgr, Attempt: 1})
	g.now = g.now.Add(20 * time.Millisecond)
	hb := g.cfg.Heartbeat.Milliseconds()
	g.provider(schema.EvCTIManagerConnected, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: mgr, ServerHeartbeatMs: hb, ClientHeartbeatMs: hb})
	g.now = g.now.Add(30 * time.Millisecond)
	g.provider(schema.EvProvInService, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: mgr, Devices: g.cfg.Lines})
	g.lines(schema.EvCiscoAddrInService, 0)
	g.terminals(schema.EvCiscoTermInService, 0)
}

func (g *gen) party(i int) *schema.Party {
	dn, term := Line(i)
	return &schema.Party{Address: dn, Terminal: term}
}

// leg emits a connection change (core event when the core state moves,
// then the call-control event) and, with tcc ≠ 0, the terminal connection.
func (g *gen) leg(c *synCall, line, prevCC, cc, tcc int, snapshot bool) {
	dn, term := Line(line)
	core, prevCore := schema.CoreConnState(cc), schema.CoreConnState(prevCC)
	d := func() schema.Data {
		cd := &schema.CallData{CallID: c.id, State: "ACTIVE", StateCode: schema.CallActive,
			Calling: g.party(c.a), Called: g.party(c.b),
			Connection: &schema.ConnectionData{Address: dn, State: schema.StateNames[core], StateCode: core,
				CallControlState: schema.StateNames[cc], CallControlStateCode: cc, Controlled: true}}
		if tcc != 0 {
			tcore := schema.CoreTermConnState(tcc)
			cd.TerminalConnection = &schema.TerminalConnectionData{Terminal: term, Address: dn, State: schema.StateNames[tcore],
				StateCode: tcore, CallControlState: schema.StateNames[tcc], CallControlStateCode: tcc}
		}
		out := schema.Data{Call: cd, Snapshot: snapshot}
		if snapshot {
			out.Cause, out.CauseName = schema.CauseSnapshot, schema.CauseNames[schema.CauseSnapshot]
			out.MetaCode, out.MetaName = schema.MetaSnapshot, schema.CauseNames[schema.MetaSnapshot]
		}
		return out
	}
	if core != prevCore || prevCC == 0 {
		g.emit(schema.FamilyCall, c.id, coreName[core], d())
	}
	g.emit(schema.FamilyCall, c.id, ccName[cc], d())
	if tcc != 0 {
		g.emit(schema.FamilyCall, c.id, ccTCName[tcc], d())
	}
}

var coreName = map[int]string{
	schema.ConnInProgress: schema.EvConnInProgress, schema.ConnAlerting: schema.EvConnAlerting,
	schema.ConnConnected: schema.EvConnConnected, schema.ConnDisconnected: schema.EvConnDisconnected,
}

var ccName = map[int]string{
	schema.CCConnInitiated: schema.EvCallCtlConnInitiated, schema.CCConnOffered: schema.EvCallCtlConnOffered,
	schema.CCConnAlerting: schema.EvCallCtlConnAlerting, schema.CCConnEstablished: schema.EvCallCtlConnEstablished,
	schema.CCConnDisconnected: schema.EvCallCtlConnDisconnected,
}

var ccTCName = map[int]string{
	schema.CCTermConnRinging: schema.EvCallCtlTermConnRinging, schema.CCTermConnTalking: schema.EvCallCtlTermConnTalking,
	schema.CCTermConnDropped: schema.EvCallCtlTermConnDropped,
}

func (g *gen) takeLine() int {
	i := g.rnd.IntN(len(g.free))
	l := g.free[i]
	g.free = slices.Delete(g.free, i, i+1)
	return l
}

// traffic advances one step: start a call, answer one, or end one.
func (g *gen) traffic() {
	g.tick()
	r := g.rnd.IntN(10)
	switch {
	case len(g.free) >= 2 && (r < 4 || len(g.calls) == 0):
		g.nextID++
		c := &synCall{id: fmt.Sprintf("%d", 10000+g.nextID), a: g.takeLine(), b: g.takeLine(), state: 1}
		g.calls = append(g.calls, c)
		g.emit(schema.FamilyCall, c.id, schema.EvCallActive, schema.Data{Call: &schema.CallData{CallID: c.id, State: "ACTIVE",
			StateCode: schema.CallActive, Calling: g.party(c.a), Called: g.party(c.b)}})
		g.leg(c, c.a, 0, schema.CCConnInitiated, schema.CCTermConnTalking, false)
		g.leg(c, c.a, schema.CCConnInitiated, schema.CCConnEstablished, 0, false)
		g.leg(c, c.b, 0, schema.CCConnOffered, 0, false)
		g.leg(c, c.b, schema.CCConnOffered, schema.CCConnAlerting, schema.CCTermConnRinging, false)
	case len(g.calls) > 0 && r < 7:
		for _, c := range g.calls {
			if c.state == 1 {
				c.state = 2
				g.leg(c, c.b, schema.CCConnAlerting, schema.CCConnEstablished, schema.CCTermConnTalking, false)
				return
			}
		}
		fallthrough
	case len(g.calls) > 0:
		i := g.rnd.IntN(len(g.calls))
		c := g.calls[i]
		g.calls = slices.Delete(g.calls, i, i+1)
		bcc := schema.CCConnAlerting
		if c.state == 2 {
			bcc = schema.CCConnEstablished
		}
		g.leg(c, c.a, schema.CCConnEstablished, schema.CCConnDisconnected, schema.CCTermConnDropped, false)
		g.leg(c, c.b, bcc, schema.CCConnDisconnected, schema.CCTermConnDropped, false)
		g.emit(schema.FamilyCall, c.id, schema.EvCallInvalid, schema.Data{Call: &schema.CallData{CallID: c.id, State: "INVALID", StateCode: schema.CallInvalid}})
		g.free = append(g.free, c.a, c.b)
	}
}

// failover: the serving CTIManager stops answering; the loss is detected
// two heartbeat intervals after it was last heard.
func (g *gen) failover() {
	g.gaps++
	old := managers[g.mgr%len(managers)]
	heard := g.heard
	// Silence: only the bridge's own heartbeats until detection.
	for g.now.Before(heard.Add(2 * g.cfg.Heartbeat)) {
		g.now = g.now.Add(g.cfg.Step)
		for !g.now.Before(g.lastHB.Add(g.cfg.Heartbeat)) {
			g.lastHB = g.lastHB.Add(g.cfg.Heartbeat)
			g.emit(schema.FamilyBridge, "", schema.EvBridgeHeartbeat, schema.Data{Bridge: &schema.BridgeData{Instance: "bridge-1"}})
		}
	}
	lostAt := g.now
	g.provider(schema.EvCTIManagerLost, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: old,
		Reason: "HEARTBEAT_MISSED", ReasonCode: 1, LastHeardAt: &heard, ServerHeartbeatMs: g.cfg.Heartbeat.Milliseconds()})
	if !g.cfg.UnrecordedWaves {
		g.waves = schema.NewWaveCounter(schema.EventID(g.session, g.seq))
	}
	for _, c := range g.calls {
		g.emit(schema.FamilyCall, c.id, schema.EvCallObservationEnded, schema.Data{Call: &schema.CallData{CallID: c.id}})
	}
	g.lines(schema.EvCiscoAddrOutOfService, schema.OOSCauseCTIManagerFailure)
	g.terminals(schema.EvCiscoTermOutOfService, schema.OOSCauseCTIManagerFailure)
	g.provider(schema.EvProvOutOfService, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: old,
		Reason: "HEARTBEAT_MISSED", ReasonCode: 1, Devices: g.cfg.Lines})
	gapID := fmt.Sprintf("gap-%d", g.gaps)
	before := len(g.calls)
	g.emit(schema.FamilyBridge, "", schema.EvGapOpened, schema.Data{Bridge: &schema.BridgeData{Reason: "HEARTBEAT_MISSED",
		Gap: &schema.Gap{ID: gapID, Kind: "provider", OpenedAt: heard, DetectedAt: &lostAt, Reason: "HEARTBEAT_MISSED",
			CallsBefore: before}}})

	g.mgr++
	mgr := managers[g.mgr%len(managers)]
	g.now = g.now.Add(50 * time.Millisecond)
	g.newSession()
	g.provider(schema.EvCTIManagerConnecting, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: mgr, Attempt: 1})
	g.now = g.now.Add(40 * time.Millisecond)
	hb := g.cfg.Heartbeat.Milliseconds()
	g.provider(schema.EvCTIManagerConnected, schema.ProviderData{State: "OUT_OF_SERVICE", StateCode: 17, CTIManager: mgr,
		PreviousCTIManager: old, ServerHeartbeatMs: hb, ClientHeartbeatMs: hb})
	g.now = g.now.Add(30 * time.Millisecond)
	g.provider(schema.EvProvInService, schema.ProviderData{State: "IN_SERVICE", StateCode: 16, CTIManager: mgr, PreviousCTIManager: old, Devices: g.cfg.Lines})
	g.lines(schema.EvCiscoAddrInService, 0)
	g.terminals(schema.EvCiscoTermInService, 0)
	g.now = g.now.Add(20 * time.Millisecond)

	// A quarter of the calls ended during the gap; the others are in the
	// snapshot.
	var ended, kept []*synCall
	for i, c := range g.calls {
		if i%4 == 0 {
			ended = append(ended, c)
		} else {
			kept = append(kept, c)
		}
	}
	for _, c := range kept {
		bcc, btc := schema.CCConnAlerting, schema.CCTermConnRinging
		if c.state == 2 {
			bcc, btc = schema.CCConnEstablished, schema.CCTermConnTalking
		}
		// As the engine does: the call's first snapshot event is
		// CallActiveEv, then its legs in their current states.
		g.emit(schema.FamilyCall, c.id, schema.EvCallActive, schema.Data{Snapshot: true, Cause: schema.CauseSnapshot,
			CauseName: schema.CauseNames[schema.CauseSnapshot], MetaCode: schema.MetaSnapshot, MetaName: schema.CauseNames[schema.MetaSnapshot],
			Call: &schema.CallData{CallID: c.id, State: "ACTIVE", StateCode: schema.CallActive, Calling: g.party(c.a), Called: g.party(c.b)}})
		g.leg(c, c.a, 0, schema.CCConnEstablished, schema.CCTermConnTalking, true)
		g.leg(c, c.b, 0, bcc, btc, true)
	}
	for _, c := range ended {
		g.emit(schema.FamilyCall, c.id, schema.EvCallEndedInGap, schema.Data{Inferred: true, Call: &schema.CallData{CallID: c.id, GapID: gapID}})
		g.free = append(g.free, c.a, c.b)
	}
	g.calls = kept
	closed := g.now
	gap := &schema.Gap{ID: gapID, Kind: "provider", OpenedAt: heard, DetectedAt: &lostAt, ClosedAt: &closed,
		DurationMs: closed.Sub(heard).Milliseconds(),
		Reason:     "HEARTBEAT_MISSED", CallsBefore: before, CallsAfter: len(kept), CallsEnded: len(ended), CallsContinued: len(kept)}
	if w := g.waves; w != nil {
		g.waves = nil
		gap.WavesFrom, gap.Waves = w.From(), w.Waves()
	}
	g.emit(schema.FamilyBridge, "", schema.EvGapClosed, schema.Data{Bridge: &schema.BridgeData{Gap: gap}})
	g.heard = g.now
}
