package ctisim

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
)

// fixedTraffic makes every duration fixed so tests know when things happen.
func fixedTraffic() traffic.Config {
	return traffic.Config{
		Start:    time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		DialTime: time.Second, RingTime: 2 * time.Second, TalkTime: 10 * time.Second,
		HoldTime: 2 * time.Second, NoAnswerTime: 4 * time.Second, BusyTime: time.Second,
		RouteSelectTimeout: 5 * time.Second,
	}
}

// describe renders an event compactly for sequence assertions.
func describe(m ctilink.Message) string {
	switch e := m.(type) {
	case ctilink.CallStateEvent:
		s := fmt.Sprintf("%s %s", e.Line, e.State)
		if e.Cause != ctilink.CauseNoError {
			s += " " + e.Cause.String()
		}
		if e.Snapshot {
			s += " snapshot"
		}
		return s
	case ctilink.RouteEvent:
		return fmt.Sprintf("route %s %s cause=%d", e.Kind, e.Selected, e.Cause)
	case ctilink.MediaEvent:
		return "media " + e.Kind
	case ctilink.DeviceServiceEvent:
		return fmt.Sprintf("%s service=%v reason=%s", e.Device, e.InService, e.Reason)
	case ctilink.LineServiceEvent:
		return fmt.Sprintf("%s/%s service=%v reason=%s", e.Device, e.Line, e.InService, e.Reason)
	case ctilink.DeviceRegistrationEvent:
		return fmt.Sprintf("%s registered=%v %s", e.Device, e.Registered, e.CallManager)
	case ctilink.FeatureEvent:
		return fmt.Sprintf("feature %s started=%v", e.Feature, e.Started)
	case ctilink.CallChangedEvent:
		return "callchanged " + e.Line
	case ctilink.CallPartyEvent:
		return fmt.Sprintf("party %s added=%v", e.Party.DN, e.Added)
	}
	return m.Type().String()
}

// collect reads non-heartbeat frames until n have arrived.
func (c *client) collect(n int, timeout time.Duration) []string {
	c.t.Helper()
	var out []string
	for len(out) < n {
		f, err := c.nextErr(timeout)
		if err != nil {
			c.t.Fatalf("after %v: %v", out, err)
		}
		out = append(out, describe(f.msg))
	}
	return out
}

func (c *client) openLines(device string, lines ...string) {
	c.t.Helper()
	c.mustOK(ctilink.DeviceOpenRequest{Device: device})
	for _, l := range lines {
		c.mustOK(ctilink.LineOpenRequest{Device: device, Line: l})
	}
}

func advance(t *testing.T, s *Server, d time.Duration) {
	t.Helper()
	if err := s.Advance(d); err != nil {
		t.Fatal(err)
	}
}

func equalSeq(t *testing.T, got []string, want ...string) {
	t.Helper()
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("got:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

func TestBasicCallReachesEveryObserverOfTheLines(t *testing.T) {
	s := startServer(t, Config{ManualTime: true, Traffic: fixedTraffic()})
	both := dialClient(t, s.Addr("ctim-a"))
	both.open(0)
	both.openLines("SEP001122330001", "1001")
	both.openLines("SEP001122330002", "1002")
	onlyB := dialClient(t, s.Addr("ctim-b"))
	onlyB.open(0)
	onlyB.openLines("SEP001122330002", "1002")

	if _, err := s.Place(traffic.Basic, "1001", "1002", ""); err != nil {
		t.Fatal(err)
	}
	advance(t, s, 30*time.Second)
	equalSeq(t, both.collect(10, 2*time.Second),
		"1001 DIALTONE", "1001 DIALING", "1001 PROCEEDING", "1002 OFFERING", "1002 ACCEPTED",
		"1001 RINGBACK", "1002 CONNECTED", "1001 CONNECTED",
		"1001 DISCONNECTED NORMALCALLCLEARING", "1002 DISCONNECTED NORMALCALLCLEARING")
	equalSeq(t, onlyB.collect(4, 2*time.Second),
		"1002 OFFERING", "1002 ACCEPTED", "1002 CONNECTED", "1002 DISCONNECTED NORMALCALLCLEARING")
}

func TestSnapshotAnsweredThenCompleted(t *testing.T) {
	s := startServer(t, Config{ManualTime: true, Traffic: fixedTraffic()})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	c.openLines("SEP001122330001", "1001")
	gid, err := s.Place(traffic.Basic, "1001", "1002", "")
	if err != nil {
		t.Fatal(err)
	}
	advance(t, s, 6*time.Second) // answered after dialling and ringing
	got := c.collect(5, 2*time.Second)
	if got[len(got)-1] != "1001 CONNECTED" {
		t.Fatalf("before the snapshot: %v", got)
	}
	seq := c.send(ctilink.SnapshotRequest{Device: "SEP001122330001"})
	leg := expect[ctilink.CallStateEvent](c, time.Second)
	if !leg.Snapshot || leg.State != ctilink.CallStateConnected || leg.GlobalCallID != gid ||
		leg.Called.DN != "1002" || !leg.Origin {
		t.Fatalf("snapshot leg = %+v", leg)
	}
	done := expect[ctilink.SnapshotCompleted](c, time.Second)
	if done.ReqSeq != seq || done.Calls != 1 || done.Device != "SEP001122330001" {
		t.Fatalf("SnapshotCompleted = %+v", done)
	}
	// A device without calls: just the completion.
	c.send(ctilink.SnapshotRequest{Device: "SEP001122330003"})
	if done := expect[ctilink.SnapshotCompleted](c, time.Second); done.Calls != 0 {
		t.Fatalf("empty snapshot = %+v", done)
	}
	// Not in the control list / unknown: a Response with the error.
	if r := c.request(ctilink.SnapshotRequest{Device: "NOPE"}); r.Result != ctilink.ResultUnknownDevice {
		t.Fatalf("unknown device snapshot: %+v", r)
	}
}

func TestRouteSelectForwardedToTheModel(t *testing.T) {
	s := startServer(t, Config{ManualTime: true, Traffic: fixedTraffic()})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	c.mustOK(ctilink.RoutePointRegisterRequest{Device: "RP0001"})
	c.openLines("RP0001", "5000")
	c.openLines("SEP001122330003", "1003")
	if _, err := s.Place(traffic.RoutePoint, "1001", "5000", ""); err != nil {
		t.Fatal(err)
	}
	advance(t, s, 2*time.Second)
	var route ctilink.RouteEvent
	for route.SessionID == 0 {
		f := c.next(2 * time.Second)
		if r, ok := f.msg.(ctilink.RouteEvent); ok {
			route = r
		}
	}
	if r := c.request(ctilink.RouteSelectRequest{SessionID: route.SessionID + 100, Destinations: []string{"1003"}}); r.Result != ctilink.ResultUnknownSession {
		t.Fatalf("unknown route session: %+v", r)
	}
	c.mustOK(ctilink.RouteSelectRequest{SessionID: route.SessionID, Destinations: []string{"1003"}})
	advance(t, s, time.Second)
	equalSeq(t, c.collect(5, 2*time.Second),
		"route used 1003 cause=100", "5000 DISCONNECTED NORMALCALLCLEARING", "1003 OFFERING", "1003 ACCEPTED",
		"route end  cause=100")
}

func TestCTIPortMediaGoesToTheRegisteringSession(t *testing.T) {
	s := startServer(t, Config{ManualTime: true, Traffic: fixedTraffic()})
	owner := dialClient(t, s.Addr("ctim-a"))
	owner.open(0)
	media := ctilink.MediaParams{IP: "10.1.1.1", Port: 30000, Codecs: []string{"PCMU"}, PacketMs: 20}
	owner.mustOK(ctilink.CTIPortRegisterRequest{Device: "CTIP0001", Media: media})
	owner.openLines("CTIP0001", "7001")
	watcher := dialClient(t, s.Addr("ctim-b"))
	watcher.open(0)
	watcher.openLines("CTIP0001", "7001")
	if _, err := s.Place(traffic.CTIPort, "1001", "7001", ""); err != nil {
		t.Fatal(err)
	}
	advance(t, s, time.Minute)
	var ownerMedia, watcherMedia []string
	for _, c := range []*client{owner, watcher} {
		eventually(t, 2*time.Second, "call to end", func() bool {
			for _, f := range c.received() {
				if e, ok := f.msg.(ctilink.CallStateEvent); ok && e.State == ctilink.CallStateDisconnected {
					return true
				}
			}
			return false
		})
	}
	for _, f := range owner.received() {
		if m, ok := f.msg.(ctilink.MediaEvent); ok {
			ownerMedia = append(ownerMedia, m.Kind)
			if m.Kind == ctilink.MediaRTPInputStarted && (m.IP != media.IP || m.Port != media.Port) {
				t.Errorf("input started on %s:%d, want the registered %s:%d", m.IP, m.Port, media.IP, media.Port)
			}
		}
	}
	for _, f := range watcher.received() {
		if m, ok := f.msg.(ctilink.MediaEvent); ok {
			watcherMedia = append(watcherMedia, m.Kind)
		}
	}
	equalSeq(t, ownerMedia, ctilink.MediaRTPOutputStarted, ctilink.MediaRTPInputStarted,
		ctilink.MediaRTPOutputStopped, ctilink.MediaRTPInputStopped)
	if len(watcherMedia) != 0 {
		t.Fatalf("a session that did not register the port got media events %v", watcherMedia)
	}
}
