package ctiengine

import (
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cockroachdb/datadriven"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// TestScripts runs the scenario scripts under testdata/scripts: each file
// is one scenario, driving a Machine through Step with explicit time and
// playing the CTIManager side; each command's expected output is the
// events (and the frames the machine sent, marked →) it produced. Run
// with -rewrite to regenerate the expectations after a deliberate change,
// then read the diff. The language is described in testdata/README.md.
func TestScripts(t *testing.T) {
	datadriven.Walk(t, filepath.Join("testdata", "scripts"), func(t *testing.T, path string) {
		s := newScript(t)
		datadriven.RunTest(t, path, func(t *testing.T, td *datadriven.TestData) string {
			return s.run(t, td)
		})
	})
}

// script is the state of one scenario file: the cluster the simulated
// CTIManager serves, the machine and the harness around it.
type script struct {
	h       *harness
	cfg     Config
	devs    []ctilink.DeviceInfo
	refused map[string]bool   // "device" or "device/dn": opens the CTIManager refuses
	opened  map[string]bool   // lines open on the current link
	devOpen map[string]bool   // devices open on the current link
	devOf   map[string]string // DN → first device with it
	trunkOf map[string]string // outside number → the trunk reaching it
	hold    bool              // snapshot requests wait for snapshot-done
	prior   *PriorGap         // set by takeover, given to the machine at connect
	printed int               // frames of h.sent already shown
	out     []string
}

func newScript(t *testing.T) *script {
	cfg := testConfig()
	cfg.CTIManagers = []CTIManager{{Name: "cm-a", Addr: "127.0.0.1:1"}, {Name: "cm-b", Addr: "127.0.0.1:2"}}
	return &script{cfg: cfg, refused: map[string]bool{}, devOf: map[string]string{}, trunkOf: map[string]string{}}
}

func (s *script) run(t *testing.T, td *datadriven.TestData) string {
	s.out = s.out[:0]
	if s.h != nil {
		s.h.t = t
		// Every command takes a millisecond, so that times are distinct.
		if td.Cmd != "tick" {
			s.h.advance(time.Millisecond)
		}
	}
	switch td.Cmd {
	case "cluster":
		s.cluster(t, td)
		return ""
	case "trunk":
		args := positional(td)
		if len(args) != 1 {
			td.Fatalf(t, "trunk <name> numbers=(…)")
		}
		for _, n := range argList(td, "numbers") {
			s.trunkOf[n] = args[0]
		}
		return ""
	case "route-callback":
		args := positional(td)
		if len(args) != 1 {
			td.Fatalf(t, "route-callback <dn> dest=(…) [roundrobin]")
		}
		rc := RoutePointConfig{Destinations: argList(td, "dest")}
		if td.HasArg("roundrobin") {
			rc.Policy = RouteRoundRobin
		}
		if s.cfg.RoutePoints == nil {
			s.cfg.RoutePoints = map[string]RoutePointConfig{}
		}
		s.cfg.RoutePoints[args[0]] = rc
		return ""
	case "connect":
		if s.h != nil {
			td.Fatalf(t, "connect: already connected (use recover after a loss)")
		}
		s.h = newHarness(t, s.cfg)
		if s.prior != nil {
			s.h.m.SetPriorGap(*s.prior)
		}
		s.h.start()
		s.establish(t, td)
	case "takeover":
		if s.h != nil {
			td.Fatalf(t, "takeover: before connect")
		}
		s.takeover(t, td)
		return ""
	case "passive":
		args := positional(td)
		if len(args) != 1 || (args[0] != "on" && args[0] != "off") {
			td.Fatalf(t, "passive on|off")
		}
		s.h.record(s.h.m.Step(s.h.now, PassiveMode{On: args[0] == "on"}))
	case "lose":
		s.lose(t, td)
	case "recover":
		s.establish(t, td)
	case "snapshot-done":
		s.snapshotDone()
	case "tick":
		d, err := time.ParseDuration(positional(td)[0])
		if err != nil {
			td.Fatalf(t, "tick: %v", err)
		}
		s.h.advance(d)
	case "line", "feature", "changed", "party", "route", "media":
		s.deliver(t, s.frame(t, td))
	case "service":
		s.deliver(t, s.service(t, td))
	case "register":
		args := positional(td)
		if len(args) != 2 {
			td.Fatalf(t, "register <device> on|off [cm=…]")
		}
		ev := ctilink.DeviceRegistrationEvent{Device: args[0], Registered: args[1] == "on", TimeNs: s.h.now.UnixNano()}
		td.MaybeScanArgs(t, "cm", &ev.CallManager)
		s.deliver(t, ev)
	case "calls":
		for _, c := range s.h.m.Model().Calls() {
			line := "call " + c.CallID + " " + c.State + ":"
			for _, cn := range c.Connections {
				line += " " + cn.Address + "=" + cn.CallControlState
				for _, tc := range cn.TerminalConnections {
					line += "@" + tc.Terminal + "=" + tc.CallControlState
				}
			}
			s.out = append(s.out, line)
		}
	default:
		td.Fatalf(t, "unknown command %q", td.Cmd)
	}
	return s.output()
}

// output renders what the machine did since the command began: frames it
// sent (other than heartbeats and the handshake's routine requests) and
// every event, one a line.
func (s *script) output() string {
	if s.printed > len(s.h.sent) {
		s.printed = 0 // a new link
	}
	for _, f := range s.h.sent[s.printed:] {
		if line := formatSent(f.msg); line != "" {
			s.out = append(s.out, line)
		}
	}
	s.printed = len(s.h.sent)
	for _, ev := range s.h.take() {
		s.out = append(s.out, formatEvent(ev, t0))
	}
	if len(s.out) == 0 {
		return "(nothing)\n"
	}
	return strings.Join(s.out, "\n") + "\n"
}

// cluster sets the control list the CTIManager serves, one device a line,
// and what the application observes (default: everything):
//
//	cluster [observe=(name|dn, …)]
//	<device> [phone|ctiport|routepoint] lines=(…) [cm=cm1] [oos] [unregistered] [refuse=(dn…|device)]
func (s *script) cluster(t *testing.T, td *datadriven.TestData) {
	if a, ok := td.Arg("observe"); ok {
		s.cfg.Observe = a.Vals
	}
	for _, ln := range strings.Split(td.Input, "\n") {
		if strings.TrimSpace(ln) == "" {
			continue
		}
		cmd, args, err := datadriven.ParseLine(ln)
		if err != nil {
			td.Fatalf(t, "cluster: %v", err)
		}
		s.device(t, &datadriven.TestData{Pos: td.Pos, Cmd: cmd, CmdArgs: append([]datadriven.CmdArg{{Key: cmd}}, args...)})
	}
}

// device adds one device of a cluster block to the control list.
func (s *script) device(t *testing.T, td *datadriven.TestData) {
	args := positional(td)
	if len(args) < 1 {
		td.Fatalf(t, "device <name> [type] lines=(…)")
	}
	d := ctilink.DeviceInfo{Name: args[0], Type: ctilink.DevicePhone, CallManager: "cm1", Registered: true, InService: true}
	if len(args) > 1 {
		d.Type = ctilink.DeviceType(args[1])
	}
	td.MaybeScanArgs(t, "cm", &d.CallManager)
	d.InService = !td.HasArg("oos")
	d.Registered = !td.HasArg("unregistered")
	for _, dn := range argList(td, "lines") {
		d.Lines = append(d.Lines, ctilink.LineInfo{DN: dn})
		if _, ok := s.devOf[dn]; !ok {
			s.devOf[dn] = d.Name
		}
	}
	for _, r := range argList(td, "refuse") {
		if r == d.Name {
			s.refused[d.Name] = true
		} else {
			s.refused[d.Name+"/"+r] = true
		}
	}
	s.devs = append(s.devs, d)
}

// establish accepts the last dial and runs the handshake: open, device
// list, every open answered (OK unless refused), snapshot requests
// answered at once (empty) unless the command says hold.
func (s *script) establish(t *testing.T, td *datadriven.TestData) {
	h := s.h
	if len(h.dials) == 0 {
		td.Fatalf(t, "no CTIManager dialled")
	}
	s.hold = td.HasArg("hold")
	s.opened, s.devOpen = map[string]bool{}, map[string]bool{}
	h.up()
	s.printed = 0
	h.openResponse(10*time.Second, 10*time.Second)
	h.openCompleted(0)
	h.deviceList(s.devs, 500)
	s.answer()
}

// answer answers every pending request the way a CTIManager would.
func (s *script) answer() {
	h := s.h
	for progressed := true; progressed && h.link != 0; {
		progressed = false
		for i := 0; i < len(h.sent) && h.link != 0; i++ {
			f := &h.sent[i]
			if f.answered {
				continue
			}
			result := ctilink.ResultOK
			switch v := f.msg.(type) {
			case ctilink.DeviceOpenRequest:
				if s.refused[v.Device] {
					result = ctilink.ResultNotControlled
				} else {
					s.devOpen[v.Device] = true
				}
			case ctilink.LineOpenRequest:
				if s.refused[v.Device+"/"+v.Line] || s.refused[v.Device] {
					result = ctilink.ResultNotControlled
				} else {
					s.opened[v.Line] = true
				}
			case ctilink.CTIPortRegisterRequest, ctilink.RoutePointRegisterRequest:
			case ctilink.SnapshotRequest:
				if s.hold {
					continue
				}
				f.answered = true
				progressed = true
				h.recv(ctilink.Response{ReqSeq: f.seq})
				h.recv(ctilink.SnapshotCompleted{ReqSeq: f.seq, Device: v.Device})
				continue
			default:
				continue
			}
			f.answered = true
			progressed = true
			h.recv(ctilink.Response{ReqSeq: f.seq, Result: result})
		}
	}
}

// snapshotDone accepts and completes every snapshot request still open.
func (s *script) snapshotDone() {
	h := s.h
	s.hold = false
	for i := 0; i < len(h.sent) && h.link != 0; i++ {
		f := &h.sent[i]
		if v, ok := f.msg.(ctilink.SnapshotRequest); ok && !f.answered {
			f.answered = true
			h.recv(ctilink.Response{ReqSeq: f.seq})
			h.recv(ctilink.SnapshotCompleted{ReqSeq: f.seq, Device: v.Device})
		}
	}
	s.answer()
}

// takeover makes this machine a bridge taking over from another one
// whose log it read (PriorGap): the gap the previous active left, opened
// before the script's start, and the calls that log still held up.
//
//	takeover [gap=<id>] [opened=<duration before the start>] [calls=(id, …)]
func (s *script) takeover(t *testing.T, td *datadriven.TestData) {
	g := PriorGap{Reason: "takeover", OpenedAt: t0.Add(-time.Second)}
	td.MaybeScanArgs(t, "gap", &g.ID)
	if a, ok := td.Arg("opened"); ok {
		d, err := time.ParseDuration(a.Vals[0])
		if err != nil {
			td.Fatalf(t, "takeover opened=: %v", err)
		}
		g.OpenedAt = t0.Add(-d)
	}
	for _, c := range argList(td, "calls") {
		g.Calls = append(g.Calls, s.u32(t, td, c))
	}
	s.prior = &g
}

// lose ends the link: lose reset (TCP reset, the default), lose heartbeat
// (silence until twice the server heartbeat passed: time advances), lose
// closed (ProviderClosed from CTIManager).
func (s *script) lose(t *testing.T, td *datadriven.TestData) {
	how := "reset"
	if a := positional(td); len(a) > 0 {
		how = a[0]
	}
	switch how {
	case "reset":
		s.h.down(fmt.Errorf("connection reset by peer"))
	case "heartbeat":
		// The CTIManager goes silent: only the client's heartbeats flow,
		// until the receive timer tears the link down.
		for link := s.h.link; s.h.link == link && link != 0; {
			at, ok := s.h.timers[TimerHeartbeatRecv]
			if !ok {
				td.Fatalf(t, "no heartbeat timer armed")
			}
			s.h.advanceTo(at)
		}
	case "closed":
		s.h.recv(ctilink.ProviderClosed{Reason: ctilink.CloseUnexpectedShutdown, Description: "CTIManager stopping"})
	default:
		td.Fatalf(t, "lose reset|heartbeat|closed")
	}
}

// frame builds the CTIManager frame of a call command.
//
//	line <call> <dn> <STATE> [cause=…] [origin] [calling=…] [called=…]
//	     [cur-calling=…] [cur-called=…] [redirecting=…] [reason=…] [feature=…]
//	     [hunt=<pilot>] [device=…] [snapshot]
//	feature transfer|conference start|end <controller dn> primary=1 consult=2 [result=…] [blind] [failed] [parties=(dn, …)]
//	changed <dn> from=<call> to=<call>
//	party add|remove <call> <dn> by=<line dn> [transient]
//	route route|reroute|used|end <rp dn> session=… call=… calling=… [selected=…] [cause=…]
//	media <kind> <device> call=… [ip=… port=…]
func (s *script) frame(t *testing.T, td *datadriven.TestData) ctilink.Message {
	args := positional(td)
	need := func(n int, usage string) {
		if len(args) < n {
			td.Fatalf(t, "%s %s", td.Cmd, usage)
		}
	}
	ns := s.h.now.UnixNano()
	switch td.Cmd {
	case "line":
		need(3, "<call> <dn> <STATE> …")
		ev := ctilink.CallStateEvent{
			Line: args[1], Device: s.devOf[args[1]], GlobalCallID: s.u32(t, td, args[0]), CallManager: "cm1",
			State: parseState(t, td, args[2]), Origin: td.HasArg("origin"), Snapshot: td.HasArg("snapshot"), TimeNs: ns,
		}
		ev.CallHandle = ev.GlobalCallID*100 + uint32(len(ev.Line))
		td.MaybeScanArgs(t, "device", &ev.Device)
		if a, ok := td.Arg("cause"); ok {
			ev.Cause = parseCause(t, td, a.SingleVal(t))
		}
		if a, ok := td.Arg("reason"); ok {
			ev.Reason = parseReason(t, td, a.SingleVal(t))
		}
		if a, ok := td.Arg("feature"); ok {
			ev.FeatureReason = parseFeatureReason(t, td, a.SingleVal(t))
		}
		td.MaybeScanArgs(t, "hunt", &ev.HuntPilot)
		ev.Calling = s.party(td, "calling")
		ev.Called = s.party(td, "called")
		ev.CurrentCalling = s.party(td, "cur-calling")
		ev.CurrentCalled = s.party(td, "cur-called")
		ev.LastRedirecting = s.party(td, "redirecting")
		if ev.CurrentCalling.DN == "" {
			ev.CurrentCalling = ev.Calling
		}
		if ev.CurrentCalled.DN == "" {
			ev.CurrentCalled = ev.Called
		}
		return ev
	case "feature":
		need(3, "transfer|conference start|end <controller dn> primary=… consult=…")
		ev := ctilink.FeatureEvent{Feature: args[0], Started: args[1] == "start", Line: args[2], Device: s.devOf[args[2]],
			Blind: td.HasArg("blind"), Failed: td.HasArg("failed"), TimeNs: ns}
		for _, dn := range argList(td, "parties") {
			ev.Parties = append(ev.Parties, ctilink.Party{DN: dn, Device: s.devOf[dn]})
		}
		ev.PrimaryCallID = s.u32arg(t, td, "primary")
		ev.ConsultCallID = s.u32arg(t, td, "consult")
		ev.ResultCallID = s.u32arg(t, td, "result")
		return ev
	case "changed":
		need(1, "<dn> from=… to=…")
		return ctilink.CallChangedEvent{Line: args[0], Device: s.devOf[args[0]], OriginalCallID: s.u32arg(t, td, "from"),
			SurvivingCall: s.u32arg(t, td, "to"), CallHandle: 299, TimeNs: ns}
	case "party":
		need(3, "add|remove <call> <dn> by=…")
		by := s.party(td, "by")
		return ctilink.CallPartyEvent{Line: by.DN, Device: by.Device, GlobalCallID: s.u32(t, td, args[1]),
			Party: ctilink.Party{DN: args[2]}, Added: args[0] == "add", Transient: td.HasArg("transient"), TimeNs: ns}
	case "route":
		need(2, "route|reroute|used|end <rp dn> session=… call=…")
		ev := ctilink.RouteEvent{Kind: args[0], Line: args[1], Device: s.devOf[args[1]], SessionID: s.u32arg(t, td, "session"),
			GlobalCallID: s.u32arg(t, td, "call"), Calling: s.party(td, "calling"), Called: ctilink.Party{DN: args[1], Device: s.devOf[args[1]]},
			TimeNs: ns}
		ev.CallHandle = ev.GlobalCallID*100 + 50
		td.MaybeScanArgs(t, "selected", &ev.Selected)
		td.MaybeScanArgs(t, "cause", &ev.Cause)
		return ev
	case "media":
		need(2, "<kind> <device> call=…")
		ev := ctilink.MediaEvent{Kind: args[0], Device: args[1], GlobalCallID: s.u32arg(t, td, "call"), Codec: "G711U",
			PacketMs: 20, TimeNs: ns}
		for _, d := range s.devs {
			if d.Name == ev.Device && len(d.Lines) > 0 {
				ev.Line = d.Lines[0].DN
			}
		}
		ev.CallHandle = ev.GlobalCallID*100 + 60
		td.MaybeScanArgs(t, "ip", &ev.IP)
		td.MaybeScanArgs(t, "port", &ev.Port)
		return ev
	}
	return nil
}

// service builds a device or line service frame:
//
//	service device|line <name> in|out [reason=1]
func (s *script) service(t *testing.T, td *datadriven.TestData) ctilink.Message {
	args := positional(td)
	if len(args) != 3 {
		td.Fatalf(t, "service device|line <name> in|out [reason=…]")
	}
	in := args[2] == "in"
	var reason int
	td.MaybeScanArgs(t, "reason", &reason)
	ns := s.h.now.UnixNano()
	if args[0] == "device" {
		return ctilink.DeviceServiceEvent{Device: args[1], InService: in, Reason: ctilink.OutOfServiceReason(reason), TimeNs: ns}
	}
	return ctilink.LineServiceEvent{Device: s.devOf[args[1]], Line: args[1], InService: in,
		Reason: ctilink.OutOfServiceReason(reason), TimeNs: ns}
}

// deliver hands msg to the machine when this session would receive it:
// CTIManager sends a line's call events only on a link that opened the
// line, and a device's only on one that opened the device.
func (s *script) deliver(t *testing.T, msg ctilink.Message) {
	var line, dev string
	switch v := msg.(type) {
	case ctilink.CallStateEvent:
		line = v.Line
	case ctilink.FeatureEvent:
		line = v.Line
		for _, p := range v.Parties {
			if s.opened[p.DN] {
				line = p.DN
			}
		}
	case ctilink.CallChangedEvent:
		line = v.Line
	case ctilink.CallPartyEvent:
		line = v.Line
	case ctilink.RouteEvent:
		dev = v.Device
	case ctilink.MediaEvent:
		dev = v.Device
	case ctilink.DeviceServiceEvent:
		dev = v.Device
	case ctilink.LineServiceEvent:
		dev = v.Device
	case ctilink.DeviceRegistrationEvent:
		dev = v.Device
	}
	if s.h.link == 0 || (line != "" && !s.opened[line]) || (dev != "" && !s.devOpen[dev]) {
		return
	}
	s.h.recv(msg)
	s.answer()
}

func (s *script) party(td *datadriven.TestData, key string) ctilink.Party {
	a, ok := td.Arg(key)
	if !ok || len(a.Vals) == 0 {
		return ctilink.Party{}
	}
	dn := a.Vals[0]
	if trunk, ok := s.trunkOf[dn]; ok {
		return ctilink.Party{DN: dn, Device: trunk, External: true}
	}
	return ctilink.Party{DN: dn, Device: s.devOf[dn]}
}

func (s *script) u32(t *testing.T, td *datadriven.TestData, v string) uint32 {
	n, err := strconv.ParseUint(v, 10, 32)
	if err != nil {
		td.Fatalf(t, "%q is not a number", v)
	}
	return uint32(n)
}

func (s *script) u32arg(t *testing.T, td *datadriven.TestData, key string) uint32 {
	a, ok := td.Arg(key)
	if !ok {
		return 0
	}
	return s.u32(t, td, a.SingleVal(t))
}

// positional lists the arguments without a value, in order.
func positional(td *datadriven.TestData) []string {
	var out []string
	for _, a := range td.CmdArgs {
		if len(a.Vals) == 0 {
			out = append(out, a.Key)
		}
	}
	return out
}

func argList(td *datadriven.TestData, key string) []string {
	if a, ok := td.Arg(key); ok {
		return a.Vals
	}
	return nil
}

func parseState(t *testing.T, td *datadriven.TestData, name string) ctilink.CallState {
	for s := ctilink.CallState(0); s < 32; s++ {
		if s.Valid() && s.String() == name {
			return s
		}
	}
	td.Fatalf(t, "unknown call state %q", name)
	return 0
}

func parseCause(t *testing.T, td *datadriven.TestData, name string) ctilink.Cause {
	if n, err := strconv.Atoi(name); err == nil {
		return ctilink.Cause(n)
	}
	for c := ctilink.Cause(0); c < 1024; c++ {
		if c.String() == name {
			return c
		}
	}
	td.Fatalf(t, "unknown cause %q", name)
	return 0
}

func parseReason(t *testing.T, td *datadriven.TestData, name string) ctilink.ConnReason {
	for _, r := range []ctilink.ConnReason{ctilink.ReasonDirectCall, ctilink.ReasonTransferredCall, ctilink.ReasonForwardNoAnswer,
		ctilink.ReasonForwardBusy, ctilink.ReasonForwardAll, ctilink.ReasonRedirect, ctilink.ReasonOutbound} {
		if r.String() == name {
			return r
		}
	}
	td.Fatalf(t, "unknown connection reason %q", name)
	return 0
}

func parseFeatureReason(t *testing.T, td *datadriven.TestData, name string) ctilink.FeatureReason {
	for _, r := range []ctilink.FeatureReason{ctilink.FeatureRedirect, ctilink.FeaturePickup, ctilink.FeaturePark, ctilink.FeatureUnpark} {
		if r.String() == name {
			return r
		}
	}
	td.Fatalf(t, "unknown feature reason %q", name)
	return 0
}

// formatSent renders a frame the machine sent that a script should show:
// requests an application's behaviour decides (route selection), not the
// handshake's routine ones or heartbeats.
func formatSent(msg ctilink.Message) string {
	switch v := msg.(type) {
	case ctilink.RouteSelectRequest:
		return fmt.Sprintf("→ RouteSelectRequest session=%d dest=(%s)", v.SessionID, strings.Join(v.Destinations, ","))
	case ctilink.ProviderCloseRequest:
		return "→ ProviderCloseRequest " + v.Reason.String()
	}
	return ""
}

// formatEvent renders an event on one line: name, entity, what it is
// about, causes (c<Ev cause>[/<CallCtl cause>], m<meta>) and flags. Times
// are offsets from base.
func formatEvent(ev schema.Event, base time.Time) string {
	var b strings.Builder
	b.WriteString(ev.Name)
	if ev.Entity != "" {
		b.WriteString(" " + ev.Entity)
	}
	d := ev.Data
	switch ev.Family {
	case schema.FamilyProvider:
		if p := d.Provider; p != nil {
			fmt.Fprintf(&b, " %s cm=%s", p.State, ev.CTIManager)
			if p.Reason != "" {
				b.WriteString(" reason=" + p.Reason)
			}
		}
	case schema.FamilyTerminal, schema.FamilyAddress:
		if d.Cause != 0 && d.Media == nil {
			fmt.Fprintf(&b, " cause=%d", d.Cause)
		}
		if td := d.Terminal; td != nil && td.CallManager != "" && strings.HasPrefix(ev.Name, "CiscoProvTerminal") {
			b.WriteString(" cm=" + td.CallManager)
		}
	case schema.FamilyBridge:
		if g := d.Bridge.Gap; g != nil {
			fmt.Fprintf(&b, " %s opened=+%v", g.ID, g.OpenedAt.Sub(base))
			if g.ClosedAt != nil {
				fmt.Fprintf(&b, " closed=+%v before=%d continued=%d ended=%d discovered=%d after=%d",
					g.ClosedAt.Sub(base), g.CallsBefore, g.CallsContinued, g.CallsEnded, g.CallsDiscovered, g.CallsAfter)
				if g.WavesFrom != "" {
					// The failover's waves: event ×count (distinct
					// addresses or calls) from the first event's session
					// sequence.
					_, from, _ := schema.ParseEventID(g.WavesFrom)
					fmt.Fprintf(&b, " waves-from=#%d", from)
					for _, w := range g.Waves {
						_, first, _ := schema.ParseEventID(w.FirstID)
						fmt.Fprintf(&b, " %s×%d", w.Event, w.Count)
						if w.Entities > 0 {
							fmt.Fprintf(&b, "(%d)", w.Entities)
						}
						fmt.Fprintf(&b, "@#%d", first)
					}
				}
			} else {
				fmt.Fprintf(&b, " detected=+%v before=%d", ev.Time.Sub(base), g.CallsBefore)
			}
		}
		return b.String()
	}
	if cd := d.Call; cd != nil {
		switch {
		case cd.TerminalConnection != nil:
			tc := cd.TerminalConnection
			fmt.Fprintf(&b, " %s@%s %s/%s", tc.Address, tc.Terminal, tc.State, tc.CallControlState)
		case cd.Connection != nil:
			cn := cd.Connection
			fmt.Fprintf(&b, " %s %s/%s", cn.Address, cn.State, cn.CallControlState)
			if ev.Name == schema.EvCallCtlConnOffered && cn.Reason != "" && cn.Reason != ctilink.ReasonDirectCall.String() {
				// What an application reads from the new connection
				// (CiscoConnection.getReason()): why the call came here.
				b.WriteString(" reason=" + cn.Reason)
			}
			if cn.Transient {
				b.WriteString(" transient")
			}
		}
		if cd.OriginalCallID != "" {
			b.WriteString(" from=" + cd.OriginalCallID)
		}
		if cd.GapID != "" {
			b.WriteString(" gap=" + cd.GapID)
		}
		if f := cd.Feature; f != nil && f.Failed {
			b.WriteString(" failed")
		}
	}
	if r := d.Route; r != nil {
		if r.State != "" {
			fmt.Fprintf(&b, " %s call=%s", r.State, r.CallID)
		}
		if r.Selected != "" {
			b.WriteString(" selected=" + r.Selected)
		}
		if r.Cause != 0 {
			fmt.Fprintf(&b, " %s", r.CauseName)
		}
		if r.CallbackKept {
			b.WriteString(" callback-kept")
		}
	}
	if md := d.Media; md != nil {
		fmt.Fprintf(&b, " %s %s:%d %s", md.Kind, md.IP, md.Port, md.Codec)
	}
	if ev.Family == schema.FamilyCall || ev.Family == schema.FamilyRoute {
		if d.Cause != 0 || d.CallControlCause != 0 {
			fmt.Fprintf(&b, " c%d", d.Cause)
			if d.CallControlCause != 0 {
				fmt.Fprintf(&b, "/%d", d.CallControlCause)
			}
		}
		if d.MetaCode != 0 {
			fmt.Fprintf(&b, " m%d", d.MetaCode)
		}
		if d.CiscoCause != 0 && d.CiscoCause >= 500 {
			fmt.Fprintf(&b, " cisco=%s", d.CiscoCauseName)
		}
	}
	if d.Snapshot {
		b.WriteString(" snap")
	}
	if d.Inferred {
		b.WriteString(" inferred")
	}
	return b.String()
}
