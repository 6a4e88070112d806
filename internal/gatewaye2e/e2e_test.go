package gatewaye2e

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// toolchain finds Java, Cisco's jar and JUnit, or skips the test (fails
// when CTIBRIDGE_REQUIRE_JAVA=1, as in CI).
func toolchain(t *testing.T) Toolchain {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	tc, err := FindToolchain(root, "jtapi-15.jar")
	if err != nil {
		if os.Getenv(RequireJavaEnv) == "1" {
			t.Fatalf("%v (%s=1: the JTAPI gateway must be built and tested here)", err, RequireJavaEnv)
		}
		t.Skipf("skipping the JTAPI gateway end-to-end test: %v (set %s=1 to make this a failure)", err, RequireJavaEnv)
	}
	return tc
}

var (
	buildOnce sync.Once
	buildRoot string
	buildDir  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if buildRoot != "" {
		_ = os.RemoveAll(buildRoot)
	}
	os.Exit(code)
}

// gatewayBuild builds the gateway once per test binary.
func gatewayBuild(t *testing.T, tc Toolchain) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "gatewaye2e-build-")
		if err != nil {
			buildErr = err
			return
		}
		buildRoot = dir
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		buildDir, buildErr = Build(ctx, tc, dir)
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildDir
}

// heartbeat is the server heartbeat of both runs: generous, so that a loaded
// machine never turns a slow JVM into a heartbeat miss (losses here are
// injected, never timed).
const heartbeat = 2 * time.Second

// testCluster is the cluster both runs use. It is defined here, not taken
// from the simulator's default, so that the comparison's setup changes only
// with this test: CallManagers cm1, cm2 and cm3 (phone 10 alone on cm3, for
// the node failure); CTIManagers ctim-a, ctim-b and ctim-c (least
// priority); phones SEP001122330001…0016 with lines 1001–1016; the shared
// line 2000 on phones SEP0011223300A1 and …A2; the CTI ports CTIP0001–0004
// (7001–7004) and route points RP0001/RP0002 (5000/5001) the rig's bridge
// registers; the pattern "9" with calling mask 80055XXXX; and the
// application user ctibridge/secret controlling every device.
func testCluster() ctisim.ClusterConfig {
	cms := []string{"cm1", "cm2"}
	c := ctisim.ClusterConfig{
		Name:         "lab",
		CallManagers: []string{"cm1", "cm2", "cm3"},
		CTIManagers: []ctisim.NodeConfig{
			{Name: "ctim-a"}, {Name: "ctim-b"}, {Name: "ctim-c", LeastPriority: true},
		},
		Patterns: []ctisim.PatternConfig{{Prefix: "9", CallingMask: "80055XXXX"}},
		Users:    []ctisim.UserConfig{{Login: "ctibridge", Password: "secret", ControlAll: true}},
	}
	phone := func(name, cm string, lines ...string) ctisim.DeviceConfig {
		return ctisim.DeviceConfig{Name: name, Type: ctilink.DevicePhone, Model: "Cisco 8841", CallManager: cm, Lines: lines}
	}
	for i := 1; i <= 16; i++ {
		cm := cms[(i-1)%2]
		if i == 10 {
			cm = "cm3"
		}
		c.Devices = append(c.Devices, phone(fmt.Sprintf("SEP00112233%04X", i), cm, fmt.Sprint(1000+i)))
	}
	c.Devices = append(c.Devices, phone("SEP0011223300A1", "cm1", "2000"), phone("SEP0011223300A2", "cm2", "2000"))
	for i := 1; i <= 4; i++ {
		c.Devices = append(c.Devices, ctisim.DeviceConfig{Name: fmt.Sprintf("CTIP%04d", i), Type: ctilink.DeviceCTIPort,
			Model: "CTI Port", CallManager: cms[(i-1)%2], Lines: []string{fmt.Sprint(7000 + i)}})
	}
	for i := 0; i < 2; i++ {
		c.Devices = append(c.Devices, ctisim.DeviceConfig{Name: fmt.Sprintf("RP%04d", i+1), Type: ctilink.DeviceRoutePoint,
			Model: "CTI Route Point", CallManager: cms[i%2], Lines: []string{fmt.Sprint(5000 + i)}})
	}
	return c
}

func newRig(t *testing.T) *faultmatrix.Rig {
	t.Helper()
	cluster := testCluster()
	if err := cluster.Validate(); err != nil {
		t.Fatal(err)
	}
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: t.TempDir(), Heartbeat: heartbeat,
		ManualTime: true, RouteSelectTimeout: time.Hour, SimCluster: &cluster,
		// Every call talks 10 s (simulated): the connected call of the CTIManager
		// loss outlives the calls set up around it.
		Traffic: traffic.Config{TalkTime: 10 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rig.Close)
	return rig
}

// script is one scenario, written for both CTI servers.
type script struct {
	name string
	// sim plays it on the simulator.
	sim func(t *testing.T, s *simSide)
	// dbl plays it on the JTAPI double behind the gateways.
	dbl func(t *testing.T, d *dblSide)
}

// The scenarios the simulator covers (docs/protocol.md §12), played one
// after the other in one bridge run, each on its own lines; the CTIManager
// loss comes last.
var scripts = []script{
	{"basic",
		func(t *testing.T, s *simSide) { s.play(t, traffic.Basic, "1001", "1002", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1001")
			d.do(t, "dial", "call", c, "from", "1001", "to", "1002")
			d.do(t, "answer", "call", c, "dn", "1002")
			d.do(t, "hangup", "call", c, "dn", "1001")
		}},
	{"busy",
		func(t *testing.T, s *simSide) { s.play(t, traffic.Busy, "1001", "1002", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1001")
			d.do(t, "dial", "call", c, "from", "1001", "to", "1002", "busy", true)
			d.do(t, "hangup", "call", c, "dn", "1001")
		}},
	{"no answer",
		func(t *testing.T, s *simSide) { s.play(t, traffic.NoAnswer, "1001", "1002", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1001")
			d.do(t, "dial", "call", c, "from", "1001", "to", "1002")
			d.do(t, "hangup", "call", c, "dn", "1001")
		}},
	{"hold",
		func(t *testing.T, s *simSide) { s.play(t, traffic.Hold, "1001", "1002", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1001")
			d.do(t, "dial", "call", c, "from", "1001", "to", "1002")
			d.do(t, "answer", "call", c, "dn", "1002")
			d.do(t, "hold", "call", c, "dn", "1001")
			d.do(t, "unhold", "call", c, "dn", "1001")
			d.do(t, "hangup", "call", c, "dn", "1001")
		}},
	{"consult transfer",
		func(t *testing.T, s *simSide) { s.play(t, traffic.ConsultTransfer, "1001", "1002", "1003") },
		func(t *testing.T, d *dblSide) {
			c1 := d.primaryWithConsult(t, "1001", "1002", "1003")
			c2 := c1 + 1
			d.do(t, "transfer", "primary", c1, "consult", c2, "controller", "1002")
			d.do(t, "hangup", "call", c1, "dn", "1001")
		}},
	{"blind transfer",
		func(t *testing.T, s *simSide) { s.play(t, traffic.BlindTransfer, "1001", "1002", "1003") },
		func(t *testing.T, d *dblSide) {
			c1 := d.primaryHeld(t, "1001", "1002")
			c2 := d.offhook(t, "1002")
			d.do(t, "dial", "call", c2, "from", "1002", "to", "1003")
			d.do(t, "transfer", "primary", c1, "consult", c2, "controller", "1002") // 1003 still rings
			d.do(t, "answer", "call", c1, "dn", "1003")
			d.do(t, "hangup", "call", c1, "dn", "1001")
		}},
	{"failed transfer",
		func(t *testing.T, s *simSide) { s.play(t, traffic.FailedTransfer, "1001", "1002", "1003") },
		func(t *testing.T, d *dblSide) {
			c1 := d.primaryWithConsult(t, "1001", "1002", "1003")
			d.do(t, "failedTransfer", "primary", c1, "consult", c1+1, "controller", "1002") // 1003 hung up first
			d.do(t, "unhold", "call", c1, "dn", "1002")
			d.do(t, "hangup", "call", c1, "dn", "1001")
		}},
	{"conference",
		func(t *testing.T, s *simSide) { s.play(t, traffic.Conference, "1001", "1002", "1003") },
		func(t *testing.T, d *dblSide) {
			c1 := d.primaryWithConsult(t, "1001", "1002", "1003")
			c2 := c1 + 1
			d.do(t, "conference", "primary", c1, "consult", c2, "controller", "1002")
			d.do(t, "hangup", "call", c1, "dn", "1001")
			d.do(t, "hangup", "call", c1, "dn", "1002")
		}},
	{"route point",
		// The bridge routes 5000 to its first destination, 1001 (faultmatrix.Rig).
		func(t *testing.T, s *simSide) { s.play(t, traffic.RoutePoint, "1004", "5000", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1004")
			d.do(t, "dial", "call", c, "from", "1004", "to", "5000")
			d.do(t, "answer", "call", c, "dn", "1001")
			d.do(t, "hangup", "call", c, "dn", "1004")
		}},
	{"CTI port",
		func(t *testing.T, s *simSide) { s.play(t, traffic.CTIPort, "1004", "7001", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1004")
			d.do(t, "dial", "call", c, "from", "1004", "to", "7001")
			d.do(t, "awaitEstablished", "call", c, "dn", "7001") // answered by the gateway
			d.do(t, "hangup", "call", c, "dn", "1004")
		}},
	{"shared line",
		// 2000 appears on SEP0011223300A1 and …A2: both ring, A1 answers (A2 in use
		// elsewhere), A1 holds, A2 resumes the call, the caller hangs up.
		func(t *testing.T, s *simSide) { s.play(t, traffic.SharedLine, "1009", "2000", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1009")
			d.do(t, "dial", "call", c, "from", "1009", "to", "2000")
			d.do(t, "answer", "call", c, "dn", "2000", "device", "SEP0011223300A1")
			d.do(t, "hold", "call", c, "dn", "2000", "device", "SEP0011223300A1")
			d.do(t, "unhold", "call", c, "dn", "2000", "device", "SEP0011223300A2")
			d.do(t, "hangup", "call", c, "dn", "1009")
		}},
	{"calling-party transformation",
		// The default cluster's pattern masks the caller as 80055XXXX.
		func(t *testing.T, s *simSide) { s.play(t, traffic.Transform, "1007", "1008", "") },
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1007")
			d.do(t, "dialMasked", "call", c, "from", "1007", "to", "1008", "masked", "800551007")
			d.do(t, "answer", "call", c, "dn", "1008")
			d.do(t, "hangup", "call", c, "dn", "1007")
		}},
	{"CallManager failure",
		// 1010 is alone on cm3 (testCluster). cm3 fails while 1009 (cm1) talks to
		// 1010: 1010's phone and line go out of service (CALLMANAGER_FAILURE), its
		// leg is lost to CTI (UNKNOWN, cause 508) and gets nothing more; the
		// provider stays in service (no gap). When the caller hangs up the phone
		// re-homes to the next node of its group, cm1, and is back in service.
		// cm3 stays failed: no later scenario uses 1010.
		func(t *testing.T, s *simSide) {
			if _, err := s.rig.Sim.Place(traffic.Basic, "1009", "1010", ""); err != nil {
				t.Fatal(err)
			}
			s.advanceUntil(t, "1010 CONNECTED", func() bool { return s.sent("1010", ctilink.CallStateConnected) })
			if err := s.rig.Sim.FailCallManager("cm3"); err != nil {
				t.Fatal(err)
			}
			s.advanceUntil(t, "the call to end", func() bool { return s.rig.Sim.ActiveCalls() == 0 })
			s.caughtUp(t)
		},
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1009")
			d.do(t, "dial", "call", c, "from", "1009", "to", "1010")
			d.do(t, "answer", "call", c, "dn", "1010")
			d.do(t, "failCallManager", "cm", "cm3")
			d.do(t, "hangup", "call", c, "dn", "1009")
		}},
	{"CTIManager loss",
		// Two calls cross the loss of ctim-a: 1005 talking to 1006, and 1008 waiting
		// at route point 5001, whose destinations (1004, 1005) were both busy — 1004
		// was ringing 1007 — so the route request was re-routed twice and then left
		// unanswered (the bridge answers one ReRoute per request). 1004 is free
		// again before the loss. The bridge fails over to ctim-b; the connected
		// call comes back by snapshot, the route point call without one: ctim-b
		// offers its route request again when the bridge registers the route point
		// (G15-199), the bridge routes it to 1004, which answers. The gap counts
		// both calls continued.
		func(t *testing.T, s *simSide) {
			if _, err := s.rig.Sim.Place(traffic.Basic, "1005", "1006", ""); err != nil {
				t.Fatal(err)
			}
			s.advanceUntil(t, "1005 CONNECTED", func() bool { return s.sent("1005", ctilink.CallStateConnected) })
			if _, err := s.rig.Sim.Place(traffic.NoAnswer, "1004", "1007", ""); err != nil {
				t.Fatal(err)
			}
			if _, err := s.rig.Sim.Place(traffic.RoutePoint, "1008", "5001", ""); err != nil {
				t.Fatal(err)
			}
			// The simulated clock stands still while the bridge answers the route
			// request and the re-route: 1004 must still be busy then.
			s.advanceUntil(t, "5001's route request", func() bool { return s.routeEvents("5001", ctilink.RouteKindRoute) == 1 })
			testwait.Eventually(t, 0, "5001's call re-routed twice", func() bool {
				// Advance(0) delivers what the route selections emitted.
				if err := s.rig.Sim.Advance(0); err != nil {
					t.Fatal(err)
				}
				return s.routeEvents("5001", ctilink.RouteKindReRoute) == 2
			})
			s.advanceUntil(t, "1004's call to end", func() bool { return s.rig.Sim.ActiveCalls() == 2 })
			if err := s.rig.Sim.KillNode("ctim-a"); err != nil {
				t.Fatal(err)
			}
			waitInServiceOn(t, s.rig, "ctim-b")
			s.advanceUntil(t, "the calls to end", func() bool { return s.rig.Sim.ActiveCalls() == 0 })
			s.caughtUp(t)
		},
		func(t *testing.T, d *dblSide) {
			c := d.offhook(t, "1005")
			d.do(t, "dial", "call", c, "from", "1005", "to", "1006")
			d.do(t, "answer", "call", c, "dn", "1006")
			ringing := d.offhook(t, "1004")
			d.do(t, "dial", "call", ringing, "from", "1004", "to", "1007")
			queued := d.offhook(t, "1008")
			d.do(t, "dial", "call", queued, "from", "1008", "to", "5001")
			testwait.Eventually(t, 0, "5001's call re-routed twice", func() bool {
				return d.do(t, "reroutes", "call", queued)["reroutes"].(float64) == 2
			})
			d.do(t, "hangup", "call", ringing, "dn", "1004")
			d.caughtUp(t)
			d.do(t, "failCtiManager", "host", "ctim-a")
			waitInServiceOn(t, d.rig, "ctim-b")
			d.do(t, "answer", "call", queued, "dn", "1004") // waits until the recovered route rings it
			d.do(t, "hangup", "call", c, "dn", "1005")
			d.do(t, "hangup", "call", queued, "dn", "1008")
		}},
}

func waitInServiceOn(t *testing.T, rig *faultmatrix.Rig, ctim string) {
	t.Helper()
	if err := rig.WaitInService(60*time.Second, func(c string) bool { return c == ctim }); err != nil {
		t.Fatal(err)
	}
}

type simSide struct {
	rig *faultmatrix.Rig
}

func (s *simSide) framesSent() uint64 {
	var n uint64
	for _, r := range s.rig.Sim.GroundTruth("") {
		if r.Sent {
			n++
		}
	}
	return n
}

// caughtUp waits until the simulator has written every frame it queued and
// the bridge has read every frame the simulator wrote.
func (s *simSide) caughtUp(t *testing.T) {
	t.Helper()
	testwait.Eventually(t, 0, "the simulator to write, and the bridge to read, every frame", func() bool {
		for _, ss := range s.rig.Sim.Sessions() {
			if ss.Queued > 0 {
				return false
			}
		}
		return s.rig.Bridge().Engine().Status().Counters.FramesIn >= s.framesSent()
	})
}

// sent reports whether the simulator sent line state st for dn.
func (s *simSide) sent(dn string, st ctilink.CallState) bool {
	for _, r := range s.rig.Sim.GroundTruth("") {
		if cs, ok := r.Msg.(ctilink.CallStateEvent); ok && r.Sent && cs.Line == dn && cs.State == st {
			return true
		}
	}
	return false
}

// routeEvents counts the route events of kind the simulator sent for route
// point line dn.
func (s *simSide) routeEvents(dn, kind string) int {
	n := 0
	for _, r := range s.rig.Sim.GroundTruth("") {
		if ev, ok := r.Msg.(ctilink.RouteEvent); ok && r.Sent && ev.Line == dn && ev.Kind == kind {
			n++
		}
	}
	return n
}

// advanceUntil moves the simulator's clock in 100 ms steps, letting the
// bridge read everything after each step (its route selections happen at
// its own pace: the rig's route-select timeout is long), until cond holds.
func (s *simSide) advanceUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for i := 0; !cond(); i++ {
		if i == 3000 {
			t.Fatalf("the simulator never reached %s", what)
		}
		if err := s.rig.Sim.Advance(100 * time.Millisecond); err != nil {
			t.Fatal(err)
		}
		s.caughtUp(t)
	}
}

func (s *simSide) play(t *testing.T, sc traffic.Scenario, from, to, third string) {
	t.Helper()
	if _, err := s.rig.Sim.Place(sc, from, to, third); err != nil {
		t.Fatal(err)
	}
	s.advanceUntil(t, string(sc)+" to end", func() bool { return s.rig.Sim.ActiveCalls() == 0 })
	s.caughtUp(t)
}

type dblSide struct {
	rig *faultmatrix.Rig
	d   *Double
}

func (d *dblSide) do(t *testing.T, op string, kv ...any) map[string]any {
	t.Helper()
	cmd := map[string]any{"op": op}
	for i := 0; i+1 < len(kv); i += 2 {
		cmd[kv[i].(string)] = kv[i+1]
	}
	r, err := d.d.Do(cmd)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func (d *dblSide) offhook(t *testing.T, dn string) int {
	t.Helper()
	return int(d.do(t, "offhook", "dn", dn)["call"].(float64))
}

// primaryHeld: a calls b, b answers and holds the call.
func (d *dblSide) primaryHeld(t *testing.T, a, b string) int {
	t.Helper()
	c1 := d.offhook(t, a)
	d.do(t, "dial", "call", c1, "from", a, "to", b)
	d.do(t, "answer", "call", c1, "dn", b)
	d.do(t, "hold", "call", c1, "dn", b)
	return c1
}

// primaryWithConsult: a calls b, b holds the call and calls c, c answers.
func (d *dblSide) primaryWithConsult(t *testing.T, a, b, c string) int {
	t.Helper()
	c1 := d.primaryHeld(t, a, b)
	c2 := d.offhook(t, b)
	d.do(t, "dial", "call", c2, "from", b, "to", c)
	d.do(t, "answer", "call", c2, "dn", c)
	return c1
}

// caughtUp waits until the double delivered every event to the gateways
// and the bridge read every frame the gateways sent.
func (d *dblSide) caughtUp(t *testing.T) {
	t.Helper()
	d.do(t, "drain")
	sent := uint64(d.do(t, "framesSent")["frames"].(float64))
	testwait.Eventually(t, 0, "the bridge to read every frame the gateways sent", func() bool {
		return d.rig.Bridge().Engine().Status().Counters.FramesIn >= sent
	})
}

// stored stops the rig's bridge (everything published) and returns the
// stream.
func stored(t *testing.T, rig *faultmatrix.Rig) []schema.Event {
	t.Helper()
	if err := rig.StopBridge(); err != nil {
		t.Fatalf("stopping the bridge: %v", err)
	}
	js, err := natsjs.New(rig.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	evs, err := ReadEvents(ctx, js)
	if err != nil {
		t.Fatal(err)
	}
	return evs
}

func viaSimulator(t *testing.T) []schema.Event {
	rig := newRig(t)
	if _, err := rig.StartBridge(nil); err != nil {
		t.Fatal(err)
	}
	if err := rig.WaitInService(60*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	s := &simSide{rig: rig}
	s.caughtUp(t)
	for _, sc := range scripts {
		sc.sim(t, s)
	}
	return stored(t, rig)
}

func viaGateway(t *testing.T, tc Toolchain) []schema.Event {
	dir := gatewayBuild(t, tc)
	rig := newRig(t)
	spec, cms, err := ClusterSpec(rig.Cluster())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// One gateway per CTIManager, named like the simulator's nodes, with the
	// simulator's heartbeat bounds.
	names := []string{"ctim-a", "ctim-b", "ctim-c"}
	dbl, err := StartDouble(ctx, tc, dir, spec, names, map[string]string{
		"heartbeat.default": fmt.Sprint(heartbeat.Milliseconds()), "heartbeat.min": "100",
		"heartbeat.max": fmt.Sprint(heartbeat.Milliseconds()), "callManagers": cms,
		"jtapi.providerOpenRequestTimeout": "10",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			t.Logf("gateway log:\n%s", tail(dbl.Stderr(), 60))
		}
		_ = dbl.Close()
	}()
	if _, err := rig.StartBridge(func(c *bridge.Config) {
		var ms []ctiengine.CTIManager
		for _, m := range c.Engine.CTIManagers {
			ms = append(ms, ctiengine.CTIManager{Name: m.Name, Addr: dbl.Gateways[m.Name], LeastPriority: m.LeastPriority})
		}
		c.Engine.CTIManagers = ms
		c.Engine.ProviderOpenRequestTimeout = time.Minute // above the gateways' JTAPI open timeout
	}); err != nil {
		t.Fatal(err)
	}
	if err := rig.WaitInService(60*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	d := &dblSide{rig: rig, d: dbl}
	d.caughtUp(t)
	for _, sc := range scripts {
		sc.dbl(t, d)
		d.caughtUp(t)
	}
	return stored(t, rig)
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// TestGatewayMatchesSimulator plays the scenarios of scripts once through
// the simulator and once through the JTAPI gateways on the JTAPI double,
// both on testCluster, and requires the bridge to store the same events:
// per entity the same JTAPI event sequence with the same data, the same
// gap accounting, up to what Ignored lists.
func TestGatewayMatchesSimulator(t *testing.T) {
	tc := toolchain(t)
	want := viaSimulator(t)
	got := viaGateway(t, tc)
	nw, ng := Normalize(want), Normalize(got)
	if diff := Diff(nw, ng); len(diff) > 0 {
		t.Fatalf("the bridge stored different events behind the gateway (%d entities differ):\n%s",
			len(diff), strings.Join(diff, "\n"))
	}
	// Not vacuous: every scenario left its mark, and the loss was accounted for.
	names := map[string]int{}
	transient, recovered := false, false
	for _, ev := range got {
		names[ev.Name]++
		recovered = recovered || (ev.Name == "RouteUsedEvent" && ev.CTIManager == "ctim-b" && ev.Data.Route != nil &&
			ev.Data.Route.Address == "5001")
		if c := ev.Data.Call; c != nil && c.Connection != nil && c.Connection.Transient {
			transient = true
		}
		if ev.Name == "GapClosed" && ev.Data.Bridge != nil && ev.Data.Bridge.Gap != nil {
			if g := ev.Data.Bridge.Gap; g.CallsContinued != 2 || g.CallsBefore != 2 {
				t.Errorf("gap after the CTIManager loss: %+v, want the connected and the route point call continued", g)
			}
		}
	}
	for _, n := range []string{"CallCtlTermConnHeldEv", "CiscoTransferStartEv", "CiscoConferenceEndEv",
		"CiscoTransferEndEv", "RouteUsedEvent", "RouteEndEvent", "CiscoRTPInputStartedEv", "CTIManagerLost",
		"GapClosed", "CallInvalidEv", "CallCtlConnUnknownEv", "ReRouteEvent", "CiscoTermOutOfServiceEv", "CiscoTermInServiceEv"} {
		if names[n] == 0 {
			t.Errorf("no %s stored: the scenario did not run", n)
		}
	}
	if !recovered {
		t.Error("no route point call routed by ctim-b: the call waiting at 5001 was not recovered after the loss")
	}
	if !transient {
		t.Error("no transient connection stored: the calling-party transformation did not run")
	}
	t.Logf("%d events stored via each CTI server, %d entities, identical after normalization", len(got), len(ng))
}
