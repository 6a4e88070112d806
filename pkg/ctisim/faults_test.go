package ctisim

import (
	"errors"
	"net"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

func TestKillAndRestoreNode(t *testing.T) {
	s := startServer(t, Config{})
	addr := s.Addr("ctim-a")
	c := dialClient(t, addr)
	c.open(0)
	other := dialClient(t, s.Addr("ctim-b"))
	other.open(0)

	if err := s.KillNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	// The session ends without ProviderClosed.
	if f, err := c.nextErr(2 * time.Second); err == nil {
		t.Fatalf("killed node sent %s", f.h.Type)
	}
	if _, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		t.Fatal("connect to a killed node succeeded")
	} else if !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("connect to a killed node: %v, want connection refused", err)
	}
	if n := s.Nodes()[0]; n.Up || n.Name != "ctim-a" {
		t.Fatalf("node info after kill: %+v", n)
	}
	// Other nodes are unaffected.
	other.mustOK(ctilink.DeviceOpenRequest{Device: "SEP001122330001"})

	if err := s.RestoreNode("ctim-a"); err != nil {
		t.Fatal(err)
	}
	if s.Addr("ctim-a") != addr {
		t.Fatalf("restored on %s, want the same address %s", s.Addr("ctim-a"), addr)
	}
	c2 := dialClient(t, addr)
	if _, done := c2.open(0); done.Reason != ctilink.CloseNone {
		t.Fatalf("open after restore: %+v", done)
	}
}

func TestStallAndResumeHeartbeats(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	resp, _ := c.open(200)
	interval := time.Duration(resp.ServerHeartbeatMs) * time.Millisecond
	// Drain what is already in flight, then stall.
	eventually(t, 2*time.Second, "a first heartbeat", func() bool {
		for _, f := range c.received() {
			if f.h.Type == ctilink.TypeHeartbeat {
				return true
			}
		}
		return false
	})
	if err := s.StallHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	stalledAt := time.Now()
	before := len(c.received())
	seq := c.send(ctilink.DeviceOpenRequest{Device: "SEP001122330001"})
	// Nothing at all (not even heartbeats) for well over 2 intervals. A frame
	// already being written when the stall began may still arrive, so allow
	// frames received within one interval of the stall.
	deadline := time.Now().Add(4 * interval)
	for time.Now().Before(deadline) {
		for _, f := range c.received()[before:] {
			if f.at.Sub(stalledAt) > interval {
				t.Fatalf("stalled node sent %s after %v", f.h.Type, f.at.Sub(stalledAt))
			}
		}
		time.Sleep(interval / 4)
	}
	if n := s.Nodes()[0]; !n.Stalled {
		t.Fatalf("node info during stall: %+v", n)
	}
	// The response was withheld and recorded as such.
	var dropped bool
	for _, r := range s.GroundTruth("") {
		if r.Type == "Response" && !r.Sent && r.Dropped == DroppedStall {
			if m, ok := r.Msg.(ctilink.Response); ok && m.ReqSeq == seq {
				dropped = true
			}
		}
	}
	if !dropped {
		t.Fatal("the Response withheld during the stall is not in the ground truth as dropped")
	}
	if err := s.ResumeHeartbeats("ctim-a"); err != nil {
		t.Fatal(err)
	}
	// Heartbeats again, and requests are answered (the stalled one is not resent).
	r := c.request(ctilink.DeviceOpenRequest{Device: "SEP001122330002"})
	if r.ReqSeq == seq || r.Result != ctilink.ResultOK {
		t.Fatalf("after resume: %+v", r)
	}
	n := len(c.received())
	eventually(t, 4*interval+time.Second, "a heartbeat after resume", func() bool {
		for _, f := range c.received()[n:] {
			if f.h.Type == ctilink.TypeHeartbeat {
				return true
			}
		}
		return false
	})
}

func TestResetConnections(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	if err := s.ResetConnections("ctim-a"); err != nil {
		t.Fatal(err)
	}
	if err := c.waitEnd(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	if err := c.readErr(); !errors.Is(err, syscall.ECONNRESET) {
		t.Fatalf("read error %v, want connection reset", err)
	}
	// The listener stays up.
	c2 := dialClient(t, s.Addr("ctim-a"))
	c2.open(0)
}

func TestSlowLinkAddsLatency(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	const delay = 400 * time.Millisecond
	if err := s.SlowLink("ctim-a", delay); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	c.mustOK(ctilink.DeviceOpenRequest{Device: "SEP001122330001"})
	if rtt := time.Since(start); rtt < delay {
		t.Fatalf("round trip %v on a link slowed by %v", rtt, delay)
	}
	if err := s.SlowLink("ctim-a", 0); err != nil {
		t.Fatal(err)
	}
	start = time.Now()
	c.mustOK(ctilink.DeviceOpenRequest{Device: "SEP001122330002"})
	if rtt := time.Since(start); rtt >= delay {
		t.Fatalf("round trip %v after clearing the slow link", rtt)
	}
}

// TestCallManagerFailureAndRestore: a CallManager node fails (JTAPI guide,
// Cisco Unified Communications Manager Server Failure): its devices go out
// of service, the call in setup is dropped, the connected call's legs are
// lost to CTI (UNKNOWN, CALLMANAGER_FAILURE) while its media go on; idle
// devices re-home to the next node of their group at once, the busy ones
// once their call is over. When the node comes back, the devices whose
// primary node it is return to it (REHOME_TO_HIGHER_PRIORITY_CM).
func TestCallManagerFailureAndRestore(t *testing.T) {
	s := startServer(t, Config{ManualTime: true, Traffic: fixedTraffic()})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	// Observe every device and line.
	var cm1 []DeviceConfig
	for _, d := range DefaultCluster().Devices {
		c.openLines(d.Name, d.Lines...)
		if d.CallManager == "cm1" {
			cm1 = append(cm1, d)
		}
	}
	if _, err := s.Place(traffic.Basic, "1001", "1003", ""); err != nil {
		t.Fatal(err)
	}
	advance(t, s, 5*time.Second)
	got := c.collect(8, 2*time.Second)
	if got[7] != "1001 CONNECTED" {
		t.Fatalf("first call: %v", got)
	}
	if _, err := s.Place(traffic.Basic, "1005", "1002", ""); err != nil {
		t.Fatal(err)
	}
	advance(t, s, 0)
	c.collect(1, 2*time.Second) // 1005 DIALTONE

	down := func(d DeviceConfig, reason ctilink.OutOfServiceReason, cm string) []string {
		out := []string{describe(ctilink.DeviceServiceEvent{Device: d.Name, Reason: reason})}
		for _, l := range d.Lines {
			out = append(out, describe(ctilink.LineServiceEvent{Device: d.Name, Line: l, Reason: reason}))
		}
		return append(out, describe(ctilink.DeviceRegistrationEvent{Device: d.Name, CallManager: cm}))
	}
	up := func(d DeviceConfig, cm string) []string {
		out := []string{describe(ctilink.DeviceRegistrationEvent{Device: d.Name, Registered: true, CallManager: cm}),
			describe(ctilink.DeviceServiceEvent{Device: d.Name, InService: true})}
		for _, l := range d.Lines {
			out = append(out, describe(ctilink.LineServiceEvent{Device: d.Name, Line: l, InService: true}))
		}
		return out
	}
	busy := func(d DeviceConfig) bool { return slices.Contains(d.Lines, "1001") || slices.Contains(d.Lines, "1003") }

	if err := s.FailCallManager("cm1"); err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, d := range cm1 {
		want = append(want, down(d, ctilink.OOSCallManagerFailure, "cm1")...)
	}
	want = append(want, "1005 DISCONNECTED TEMPORARYFAILURE",
		"1001 UNKNOWN CALLMANAGER_FAILURE", "1003 UNKNOWN CALLMANAGER_FAILURE")
	for _, d := range cm1 {
		if !busy(d) {
			want = append(want, up(d, "cm2")...)
		}
	}
	equalSeq(t, c.collect(len(want), 2*time.Second), want...)

	// The provider stays up and the device list shows the state: the busy
	// devices out of service on cm1, the others in service on cm2.
	c.send(ctilink.DeviceListRequest{})
	list := expect[ctilink.DeviceListResponse](c, time.Second)
	for _, d := range list.Devices {
		if d.InService != (d.CallManager == "cm2") || d.Registered != (d.CallManager == "cm2") {
			t.Fatalf("device list during cm1 failure: %+v", d)
		}
	}
	if err := s.FailCallManager("cm1"); err == nil {
		t.Fatal("failing a failed CallManager succeeded")
	}

	// The connected call ends unseen (its legs are lost to CTI); then its
	// devices re-home too.
	advance(t, s, 20*time.Second)
	want = want[:0]
	for _, d := range cm1 {
		if busy(d) {
			want = append(want, up(d, "cm2")...)
		}
	}
	equalSeq(t, c.collect(len(want), 2*time.Second), want...)

	if err := s.RestoreCallManager("cm1"); err != nil {
		t.Fatal(err)
	}
	want = want[:0]
	for _, d := range cm1 {
		want = append(want, down(d, ctilink.OOSRehomeToHigherPriorityCM, "cm2")...)
		want = append(want, up(d, "cm1")...)
	}
	equalSeq(t, c.collect(len(want), 2*time.Second), want...)
	if err := s.FailCallManager("cm9"); err == nil {
		t.Fatal("unknown CallManager accepted")
	}
}

func TestFaultsOnUnknownNode(t *testing.T) {
	s := startServer(t, Config{})
	for name, f := range map[string]func(string) error{
		"kill": s.KillNode, "restore": s.RestoreNode, "stall": s.StallHeartbeats,
		"resume": s.ResumeHeartbeats, "reset": s.ResetConnections,
	} {
		if err := f("nope"); err == nil {
			t.Errorf("%s on an unknown node succeeded", name)
		}
	}
}
