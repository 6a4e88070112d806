package ctiengine

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// basicCall is the wire sequence of a basic call 1001→1002 (see the
// simulator contract), with handles 1 (A) and 2 (B).
func basicCall() []ctilink.CallStateEvent {
	a := ctilink.Party{DN: "1001", Device: "SEP000000000001"}
	bp := ctilink.Party{DN: "1002", Device: "SEP000000000002"}
	leg := func(onA bool, st ctilink.CallState, cause ctilink.Cause) ctilink.CallStateEvent {
		ev := ctilink.CallStateEvent{State: st, Cause: cause, Calling: a, Called: bp, CurrentCalling: a, CurrentCalled: bp,
			Reason: ctilink.ReasonDirectCall, TimeNs: t0.UnixNano()}
		if onA {
			ev.Device, ev.Line, ev.CallHandle, ev.Origin = a.Device, a.DN, 1, true
		} else {
			ev.Device, ev.Line, ev.CallHandle = bp.Device, bp.DN, 2
		}
		return ev
	}
	return []ctilink.CallStateEvent{
		leg(true, ctilink.CallStateDialTone, 0), leg(true, ctilink.CallStateDialing, 0), leg(true, ctilink.CallStateProceeding, 0),
		leg(false, ctilink.CallStateOffering, 0), leg(false, ctilink.CallStateAccepted, 0), leg(true, ctilink.CallStateRingback, 0),
		leg(false, ctilink.CallStateConnected, 0), leg(true, ctilink.CallStateConnected, 0),
		leg(true, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
		leg(false, ctilink.CallStateDisconnected, ctilink.CauseNormalCallClearing),
	}
}

// BenchmarkMachine_CallStateEvents measures the core turning line call
// states into stamped JTAPI events (one op = one wire message).
func BenchmarkMachine_CallStateEvents(b *testing.B) {
	h := newHarness(b, testConfig())
	h.start()
	h.establish(phones(100), nil)
	m, link, now := h.m, h.link, h.now
	tmpl := basicCall()
	gcid := uint32(1_000_000)
	var events int
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		k := i % len(tmpl)
		if k == 0 {
			gcid++
		}
		ev := tmpl[k]
		ev.GlobalCallID = gcid
		ev.CallHandle += gcid * 2
		events += len(m.Message(link, ev, now).Events)
	}
	b.ReportMetric(float64(events)/b.Elapsed().Seconds(), "events/s")
	b.ReportMetric(float64(events)/float64(b.N), "events/msg")
	if m.Model().Stats().Tracked > 1 {
		b.Fatalf("%d calls still tracked: calls leak", m.Model().Stats().Tracked)
	}
}

// fastServer plays the CTIManager side for the benchmarks without
// recording anything beyond what it must answer.
type fastServer struct {
	tb     testing.TB
	m      *Machine
	now    time.Time
	link   LinkID
	dial   *DialRequest
	devs   []ctilink.DeviceInfo
	legs   map[string][]ctilink.CallStateEvent
	sent   []ctilink.Message
	head   int // sent[head] has header sequence base+head+1
	base   int
	events int
}

func (s *fastServer) take(out *Output) {
	s.events += len(out.Events)
	if out.Dial != nil {
		d := *out.Dial
		s.dial = &d
	}
	s.sent = append(s.sent, out.Send...)
	if out.Done {
		s.tb.Fatalf("machine stopped: %v", out.Err)
	}
}

// establish runs the whole handshake on the pending dial.
func (s *fastServer) establish() {
	s.link = s.dial.Link
	s.sent, s.head, s.base = s.sent[:0], 0, 0
	s.take(s.m.LinkUp(s.link, s.now))
	s.take(s.m.Message(s.link, ctilink.ProviderOpenResponse{ReqSeq: 1, ServerHeartbeatMs: 30000, ClientHeartbeatMs: 30000,
		ProviderID: "p"}, s.now))
	s.take(s.m.Message(s.link, ctilink.ProviderOpenCompleted{ReqSeq: 1}, s.now))
	for i := 0; i < len(s.devs); i += 500 {
		end := min(i+500, len(s.devs))
		s.take(s.m.Message(s.link, ctilink.DeviceListResponse{ReqSeq: 2, Devices: s.devs[i:end], More: end < len(s.devs),
			Total: len(s.devs)}, s.now))
	}
	s.head = 2
	for s.head < len(s.sent) {
		msg := s.sent[s.head]
		s.sent[s.head] = nil
		s.head++
		seq := uint32(s.base + s.head)
		switch v := msg.(type) {
		case ctilink.SnapshotRequest:
			for _, leg := range s.legs[v.Device] {
				s.take(s.m.Message(s.link, leg, s.now))
			}
			s.take(s.m.Message(s.link, ctilink.SnapshotCompleted{ReqSeq: seq, Device: v.Device, Calls: len(s.legs[v.Device])}, s.now))
		case ctilink.Heartbeat:
		default:
			s.take(s.m.Message(s.link, ctilink.Response{ReqSeq: seq}, s.now))
		}
		if s.head > 4096 && s.head == len(s.sent) {
			s.base += s.head
			s.sent, s.head = s.sent[:0], 0
		}
	}
	if s.m.Link() != LinkUp {
		s.tb.Fatalf("link %s after the handshake", s.m.Link())
	}
}

// newFastServer builds a machine with n phones, calls active calls
// between pairs of them (both legs connected), and brings it up.
func newFastServer(tb testing.TB, n, calls int) *fastServer {
	cfg := testConfig()
	cfg.MaxDevices = n
	s := &fastServer{tb: tb, m: NewMachine(cfg), now: t0, devs: phones(n), legs: map[string][]ctilink.CallStateEvent{}}
	for i := 0; i < calls; i++ {
		a, b := s.devs[2*i], s.devs[2*i+1]
		gcid := uint32(10_000 + i)
		for j, d := range []ctilink.DeviceInfo{a, b} {
			other := b.Lines[0].DN
			if j == 1 {
				other = a.Lines[0].DN
			}
			ev := snapCall(d.Name, d.Lines[0].DN, gcid, gcid*2+uint32(j), other)
			ev.Origin = j == 0
			s.legs[d.Name] = append(s.legs[d.Name], ev)
		}
	}
	s.take(s.m.Start(s.now))
	s.establish()
	if got := s.m.Model().Stats().Tracked; got != calls {
		tb.Fatalf("%d calls tracked after the first snapshot, want %d", got, calls)
	}
	return s
}

// BenchmarkFailover_Reinstate10kDevices2kCalls measures, in the core, a
// CTIManager failover with 10,000 observed devices and 2,000 active calls:
// from the link to the next CTIManager being up to every device reinstated
// (opened, in-service events) and every snapshot emitted, reconciled and
// the gap closed. One op = one failover. (The product target is ≤ 1 s.)
func BenchmarkFailover_Reinstate10kDevices2kCalls(b *testing.B) {
	s := newFastServer(b, 10_000, 2_000)
	b.ReportAllocs()
	b.ResetTimer()
	var events int
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		s.take(s.m.LinkDown(s.link, errors.New("connection reset"), s.now))
		s.now = s.now.Add(time.Second)
		s.events = 0
		b.StartTimer()
		s.establish()
		events += s.events
	}
	b.StopTimer()
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/failover")
	b.ReportMetric(float64(events)/float64(b.N), "events/failover")
	if s.m.Model().Stats().Tracked != 2_000 {
		b.Fatalf("%d calls after the failovers", s.m.Model().Stats().Tracked)
	}
}

// BenchmarkMemory_PerTrackedDevice reports the heap held per tracked,
// observed device (terminal and address state, observers, sequence
// counters) once the provider is in service. The product target is
// ≤ 2 KB per device.
func BenchmarkMemory_PerTrackedDevice(b *testing.B) {
	const n = 50_000
	var perDevice float64
	for i := 0; i < b.N; i++ {
		devs := phones(n)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		cfg := testConfig()
		s := &fastServer{tb: b, m: NewMachine(cfg), now: t0, devs: devs, legs: map[string][]ctilink.CallStateEvent{}}
		s.take(s.m.Start(s.now))
		s.establish()
		s.sent = nil
		runtime.GC()
		runtime.ReadMemStats(&after)
		perDevice = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(s)
		runtime.KeepAlive(devs)
	}
	b.ReportMetric(perDevice, "B/device")
	if perDevice > 2048 {
		b.Fatalf("%.0f B per device, over the 2 KB budget", perDevice)
	}
}

// BenchmarkMachine_StampBridgeEvent measures the stamping path alone.
func BenchmarkMachine_StampBridgeEvent(b *testing.B) {
	m := NewMachine(testConfig())
	m.startSession()
	now := t0
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		m.begin()
		m.emit(m.newEvent(schema.FamilyCall, fmt.Sprint(i%1000), schema.EvCallActive, now, now))
	}
}
