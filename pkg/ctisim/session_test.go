package ctisim

import (
	"encoding/binary"
	"slices"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

func TestHeartbeatNegotiation(t *testing.T) {
	cluster := testCluster()
	// ctim-b imposes its own client interval.
	cluster.CTIManagers[1].Heartbeat.Client = 300 * time.Millisecond
	s := startServer(t, Config{Cluster: cluster})
	tests := []struct {
		name               string
		node               string
		desiredMs          int64
		wantServer, wantCl int64
	}{
		{"inside bounds", "ctim-a", 150, 150, 150},
		{"below minimum", "ctim-a", 20, 100, 100},
		{"above maximum", "ctim-a", 30000, 5000, 5000},
		{"no preference", "ctim-a", 0, 2000, 2000},
		{"server-chosen client interval", "ctim-b", 250, 250, 300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := dialClient(t, s.Addr(tt.node))
			resp, done := c.open(tt.desiredMs)
			if resp.ServerHeartbeatMs != tt.wantServer || resp.ClientHeartbeatMs != tt.wantCl {
				t.Fatalf("negotiated server=%dms client=%dms, want %d/%d", resp.ServerHeartbeatMs, resp.ClientHeartbeatMs, tt.wantServer, tt.wantCl)
			}
			if done.Reason != ctilink.CloseNone || done.TotalControllableDevices != len(DefaultCluster().Devices) || done.ClusterID != "lab" {
				t.Fatalf("ProviderOpenCompleted = %+v", done)
			}
			if resp.CTIManager != tt.node || resp.ProviderID == "" {
				t.Fatalf("ProviderOpenResponse = %+v", resp)
			}
		})
	}
}

func TestServerSendsHeartbeatsWhenIdle(t *testing.T) {
	// The server's heartbeats are the subject, not the client's: the
	// client may be silent for 2 × 5 s before the server drops it (a
	// 300 ms client interval let a starved -race run miss two client
	// heartbeats and end the session mid-test).
	cluster := testCluster()
	cluster.CTIManagers[0].Heartbeat.Client = 5 * time.Second
	s := startServer(t, Config{Cluster: cluster})
	c := dialClient(t, s.Addr("ctim-a"))
	resp, _ := c.open(300)
	interval := time.Duration(resp.ServerHeartbeatMs) * time.Millisecond
	var beats []frame
	deadline := time.After(5 * time.Second)
	for len(beats) < 4 {
		select {
		case f := <-c.frames:
			if f.h.Type != ctilink.TypeHeartbeat {
				t.Fatalf("unexpected %s while idle", f.h.Type)
			}
			beats = append(beats, f)
		case <-deadline:
			t.Fatalf("got %d heartbeats in 5s, want 4", len(beats))
		}
	}
	var gaps []time.Duration
	for i := 1; i < len(beats); i++ {
		gaps = append(gaps, beats[i].at.Sub(beats[i-1].at))
	}
	slices.Sort(gaps)
	// Never more often than the interval, and right on it when the machine
	// is not overloaded (late wake-ups only lengthen gaps).
	if gaps[0] < interval*8/10 || gaps[0] > interval*3/2 {
		t.Errorf("heartbeat gaps %v, want about %v", gaps, interval)
	}
	// Sequence numbers continue across heartbeats: no gaps.
	all := c.received()
	for i, f := range all {
		if f.h.Sequence != uint32(i+1) {
			t.Fatalf("frame %d has sequence %d", i, f.h.Sequence)
		}
	}
}

func TestSilentClientDropped(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	c.silent = true
	opened := time.Now() // the server starts its silence timer after this
	resp, _ := c.open(100)
	clientHB := time.Duration(resp.ClientHeartbeatMs) * time.Millisecond
	pc := expect[ctilink.ProviderClosed](c, 5*time.Second)
	silentFor := time.Since(opened)
	if pc.Reason != ctilink.CloseHeartbeatMissed {
		t.Fatalf("ProviderClosed reason %s, want HEARTBEAT_MISSED", pc.Reason)
	}
	if silentFor < 2*clientHB-20*time.Millisecond {
		t.Fatalf("dropped after %v, before 2x the client interval %v", silentFor, clientHB)
	}
	if err := c.waitEnd(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "session removed", func() bool { return len(s.Sessions()) == 0 })
}

func TestClientHeartbeatsKeepSessionAlive(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	resp, _ := c.open(300)
	clientHB := time.Duration(resp.ClientHeartbeatMs) * time.Millisecond
	// Stay connected for 5 client intervals: the session must survive.
	if f, err := c.nextErr(5 * clientHB); err == nil {
		t.Fatalf("unexpected %s %+v", f.h.Type, f.msg)
	}
	if n := len(s.Sessions()); n != 1 {
		t.Fatalf("%d sessions, want 1", n)
	}
}

func TestProviderOpenBadPassword(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	resp, done := c.openWith(openRequest("ctibridge", "wrong", 0))
	if resp.Result != ctilink.ResultOK {
		t.Fatalf("ProviderOpenResponse.Result = %s", resp.Result)
	}
	if done.Reason != ctilink.CloseLoginFailed || done.FailureDescription == "" {
		t.Fatalf("ProviderOpenCompleted = %+v, want LOGINFAILED with a description", done)
	}
	if pc := expect[ctilink.ProviderClosed](c, time.Second); pc.Reason != ctilink.CloseLoginFailed {
		t.Fatalf("ProviderClosed = %+v", pc)
	}
	if err := c.waitEnd(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestIncompatibleProtocol(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	req := openRequest("ctibridge", "secret", 0)
	req.ProtocolVersions = []int{7}
	_, done := c.openWith(req)
	if done.Reason != ctilink.CloseIncompatibleProtocol {
		t.Fatalf("reason %s", done.Reason)
	}
	expect[ctilink.ProviderClosed](c, time.Second)
}

func TestRequestsBeforeOpenRefused(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	seq := c.send(ctilink.DeviceListRequest{})
	e := expect[ctilink.ErrorMessage](c, time.Second)
	if e.Code != ctilink.ErrCodeNotOpen || e.ReqSeq != seq {
		t.Fatalf("Error = %+v", e)
	}
}

func TestDeviceListPaging(t *testing.T) {
	s := startServer(t, Config{DeviceListPage: 20})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	seq := c.send(ctilink.DeviceListRequest{})
	var got []ctilink.DeviceInfo
	var pages []ctilink.DeviceListResponse
	for {
		p := expect[ctilink.DeviceListResponse](c, time.Second)
		if p.ReqSeq != seq || p.Total != len(DefaultCluster().Devices) {
			t.Fatalf("page ReqSeq=%d Total=%d", p.ReqSeq, p.Total)
		}
		pages = append(pages, p)
		got = append(got, p.Devices...)
		if !p.More {
			break
		}
	}
	n := len(DefaultCluster().Devices) // 322: 16 full pages of 20, then 2
	if len(pages) != (n+19)/20 || len(pages[0].Devices) != 20 || len(pages[len(pages)-1].Devices) != n-20*(len(pages)-1) || len(got) != n {
		t.Fatalf("pages of %d, %d…: %d pages", len(pages[0].Devices), len(pages[1].Devices), len(pages))
	}
	want := DefaultCluster().Devices
	for i, d := range got {
		if d.Name != want[i].Name || d.Type != want[i].Type || len(d.Lines) != len(want[i].Lines) ||
			d.CallManager != want[i].CallManager || !d.Registered || !d.InService {
			t.Fatalf("device %d = %+v, want %+v", i, d, want[i])
		}
	}
}

func TestDeviceAndLineOpenResults(t *testing.T) {
	cluster := testCluster()
	cluster.Users = append(cluster.Users, UserConfig{Login: "limited", Password: "pw", ControlList: []string{"SEP001122330001"}})
	s := startServer(t, Config{Cluster: cluster})
	c := dialClient(t, s.Addr("ctim-a"))
	c.openWith(openRequest("limited", "pw", 0))
	tests := []struct {
		msg  ctilink.Message
		want ctilink.Result
	}{
		{ctilink.DeviceOpenRequest{Device: "SEP001122330001"}, ctilink.ResultOK},
		{ctilink.DeviceOpenRequest{Device: "SEP001122330002"}, ctilink.ResultNotControlled},
		{ctilink.DeviceOpenRequest{Device: "NOPE"}, ctilink.ResultUnknownDevice},
		{ctilink.LineOpenRequest{Device: "SEP001122330001", Line: "1001"}, ctilink.ResultOK},
		{ctilink.LineOpenRequest{Device: "SEP001122330001", Line: "1002"}, ctilink.ResultUnknownDevice},
		{ctilink.LineCloseRequest{Device: "SEP001122330001", Line: "1001"}, ctilink.ResultOK},
		{ctilink.LineCloseRequest{Device: "SEP001122330001", Line: "1001"}, ctilink.ResultNotOpen},
		{ctilink.DeviceCloseRequest{Device: "SEP001122330001"}, ctilink.ResultOK},
		{ctilink.CTIPortRegisterRequest{Device: "SEP001122330001", Media: ctilink.MediaParams{IP: "10.0.0.1", Port: 4000}}, ctilink.ResultInvalidRequest},
	}
	for _, tt := range tests {
		if r := c.request(tt.msg); r.Result != tt.want {
			t.Errorf("%s %+v: %s (%s), want %s", tt.msg.Type(), tt.msg, r.Result, r.Error, tt.want)
		}
	}
}

func TestCTIPortRegistrationSharedOnlyWithSameMedia(t *testing.T) {
	s := startServer(t, Config{})
	a := dialClient(t, s.Addr("ctim-a"))
	a.open(0)
	b := dialClient(t, s.Addr("ctim-b"))
	b.open(0)
	media := ctilink.MediaParams{IP: "10.0.0.5", Port: 40000, Codecs: []string{"PCMU"}, PacketMs: 20}
	a.mustOK(ctilink.CTIPortRegisterRequest{Device: "CTIP0001", Media: media})
	// The same parameters from another session (a client failing over) are accepted…
	b.mustOK(ctilink.CTIPortRegisterRequest{Device: "CTIP0001", Media: media})
	// …different ones are not.
	other := media
	other.Port = 40002
	c := dialClient(t, s.Addr("ctim-c"))
	c.open(0)
	if r := c.request(ctilink.CTIPortRegisterRequest{Device: "CTIP0001", Media: other}); r.Result != ctilink.ResultMediaMismatch {
		t.Fatalf("mismatched re-registration: %s", r.Result)
	}
	a.mustOK(ctilink.DeviceUnregisterRequest{Device: "CTIP0001"})
	if r := a.request(ctilink.DeviceUnregisterRequest{Device: "CTIP0001"}); r.Result != ctilink.ResultNotOpen {
		t.Fatalf("second unregister: %s", r.Result)
	}
	b.mustOK(ctilink.DeviceUnregisterRequest{Device: "CTIP0001"})
	// Nobody holds it now: any parameters go.
	c.mustOK(ctilink.CTIPortRegisterRequest{Device: "CTIP0001", Media: other})
	c.mustOK(ctilink.RoutePointRegisterRequest{Device: "RP0001"})
}

func TestMalformedAndUnknownFrames(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	raw := c.conn.NetConn()
	// An unknown type: answered, the stream stays usable.
	hdr := make([]byte, ctilink.HeaderSize)
	ctilink.PutHeader(hdr, ctilink.Header{Version: ctilink.ProtocolVersion, Type: 0x70, Length: 2, Sequence: 50})
	if _, err := raw.Write(append(hdr, '{', '}')); err != nil {
		t.Fatal(err)
	}
	if e := expect[ctilink.ErrorMessage](c, time.Second); e.Code != ctilink.ErrCodeUnknownType || e.ReqSeq != 50 {
		t.Fatalf("unknown type answered with %+v", e)
	}
	// A malformed body.
	body := []byte(`{"device":`)
	ctilink.PutHeader(hdr, ctilink.Header{Version: ctilink.ProtocolVersion, Type: ctilink.TypeDeviceOpenRequest, Length: uint32(len(body)), Sequence: 51})
	if _, err := raw.Write(append(hdr, body...)); err != nil {
		t.Fatal(err)
	}
	if e := expect[ctilink.ErrorMessage](c, time.Second); e.Code != ctilink.ErrCodeMalformed || e.ReqSeq != 51 {
		t.Fatalf("malformed body answered with %+v", e)
	}
	// A server-to-client message sent by the client.
	c.send(ctilink.SnapshotCompleted{Device: "X"})
	if e := expect[ctilink.ErrorMessage](c, time.Second); e.Code != ctilink.ErrCodeUnexpected {
		t.Fatalf("server message from the client answered with %+v", e)
	}
	// Still usable.
	c.mustOK(ctilink.DeviceOpenRequest{Device: "SEP001122330001"})
	// Bad magic is fatal: Error, then the connection closes.
	binary.BigEndian.PutUint32(hdr[0:4], 0xDEADBEEF)
	if _, err := raw.Write(hdr); err != nil {
		t.Fatal(err)
	}
	if e := expect[ctilink.ErrorMessage](c, time.Second); e.Code != ctilink.ErrCodeBadMagic {
		t.Fatalf("bad magic answered with %+v", e)
	}
	if err := c.waitEnd(2 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestProviderCloseRequest(t *testing.T) {
	s := startServer(t, Config{})
	c := dialClient(t, s.Addr("ctim-a"))
	c.open(0)
	c.send(ctilink.ProviderCloseRequest{Reason: ctilink.CloseApplicationRequest})
	if pc := expect[ctilink.ProviderClosed](c, time.Second); pc.Reason != ctilink.CloseApplicationRequest {
		t.Fatalf("ProviderClosed = %+v", pc)
	}
	if err := c.waitEnd(2 * time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 2*time.Second, "session removed", func() bool { return len(s.Sessions()) == 0 })
}

func TestSessionQueueOverflowClosesOnlyThatSession(t *testing.T) {
	s := startServer(t, Config{SessionQueue: 8, ManualTime: true})
	slow := dialClient(t, s.Addr("ctim-a"))
	slow.open(0)
	fast := dialClient(t, s.Addr("ctim-b"))
	fast.open(0)
	// A huge slow-link delay on ctim-a keeps its writer waiting, so its
	// queue fills while ctim-b's session is unaffected.
	if err := s.SlowLink("ctim-a", time.Hour); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 12; i++ {
		// Later writes may fail: the server closes the session on overflow.
		_, _ = slow.conn.Write(ctilink.DeviceOpenRequest{Device: "SEP001122330001"})
	}
	if err := slow.waitEnd(5 * time.Second); err != nil {
		t.Fatalf("overflowing session: %v", err)
	}
	fast.mustOK(ctilink.DeviceOpenRequest{Device: "SEP001122330001"})
	eventually(t, 2*time.Second, "one session left", func() bool { return len(s.Sessions()) == 1 })
}

func TestLargeClusterPipelinedOpens(t *testing.T) {
	cluster := testCluster()
	cluster.PhoneBlocks = []PhoneBlock{{Prefix: "SEPBB", Count: 10000, FirstDN: 30000}}
	s := startServer(t, Config{Cluster: cluster})
	c := dialClient(t, s.Addr("ctim-a"))
	_, done := c.open(0)
	if done.TotalControllableDevices != 10000+len(DefaultCluster().Devices) {
		t.Fatalf("controllable devices %d", done.TotalControllableDevices)
	}
	c.send(ctilink.DeviceListRequest{})
	var devices []ctilink.DeviceInfo
	for {
		p := expect[ctilink.DeviceListResponse](c, 5*time.Second)
		devices = append(devices, p.Devices...)
		if !p.More {
			break
		}
	}
	if len(devices) != 10000+len(DefaultCluster().Devices) {
		t.Fatalf("%d devices listed", len(devices))
	}
	// Pipeline every open without waiting for answers, as a failing-over
	// client does, then collect the answers in order.
	var seqs []uint32
	for _, d := range devices {
		seqs = append(seqs, c.send(ctilink.DeviceOpenRequest{Device: d.Name}))
		for _, l := range d.Lines {
			seqs = append(seqs, c.send(ctilink.LineOpenRequest{Device: d.Name, Line: l.DN}))
		}
	}
	for _, seq := range seqs {
		r := expect[ctilink.Response](c, 5*time.Second)
		if r.ReqSeq != seq || r.Result != ctilink.ResultOK {
			t.Fatalf("response %+v, want OK for %d", r, seq)
		}
	}
	if info := s.Sessions()[0]; info.Devices != 10000+len(DefaultCluster().Devices) || info.Lines != 10000+defaultLines() {
		t.Fatalf("session %+v", info)
	}
}

// defaultLines counts the lines of the default cluster.
func defaultLines() int {
	n := 0
	for _, d := range DefaultCluster().Devices {
		n += len(d.Lines)
	}
	return n
}
