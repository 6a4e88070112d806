package limits

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/internal/tlse2e"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// testMaxFrame is the engine's MaxFrameSize in these tests (default
// ctilink.DefaultMaxFrameSize, 256 KiB).
const testMaxFrame = 64 << 10

// hostileThenSim is a bridge whose primary CTIManager is the scripted peer
// and whose backup is the simulator's ctim-b.
func hostileThenSim(t *testing.T, p *peer, mutate func(*ctiengine.Config)) (*tlse2e.NATS, *tlse2e.Bridge) {
	t.Helper()
	n := tlse2e.StartNATS(t)
	sim := tlse2e.StartSim(t, nil, nil)
	cfg := tlse2e.BaseEngineConfig(
		ctiengine.CTIManager{Name: p.name, Addr: p.addr()},
		ctiengine.CTIManager{Name: "ctim-b", Addr: sim.Addr("ctim-b")},
	)
	cfg.MaxFrameSize = testMaxFrame
	if mutate != nil {
		mutate(&cfg)
	}
	return n, tlse2e.StartBridge(t, n, tlse2e.BridgeOptions{Engine: cfg})
}

func totalAlloc() uint64 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.TotalAlloc
}

// TestOversizedFrameClosesLinkAndFailsOver: a CTIManager announcing a
// frame larger than MaxFrameSize (here a 1 GiB body) gets its link closed
// at once, without the body being read or allocated; the bridge reports
// the loss with the frame-size error and fails over to the next
// CTIManager, where the provider comes back in service.
func TestOversizedFrameClosesLinkAndFailsOver(t *testing.T) {
	p := startPeer(t, "hostile", onePage(3))
	n, br := hostileThenSim(t, p, nil)
	br.WaitReady(t)
	s := p.next(t)

	before := totalAlloc()
	if err := s.raw(header(ctilink.TypeCallState, 1<<30, 1000)); err != nil {
		t.Fatal(err)
	}
	s.waitClosed(t)
	evs := n.WaitEvents(t, "the provider back in service on ctim-b", func(evs []tlse2e.Stored) bool {
		in := tlse2e.Filter(evs, schema.EvProvInService, "")
		return len(in) == 2 && in[1].Event.CTIManager == "ctim-b"
	})
	grew := totalAlloc() - before
	t.Logf("allocated %d MiB from the 1 GiB frame header to the provider back in service", grew>>20)
	if grew > 128<<20 {
		t.Fatalf("the bridge allocated %d MiB after a 1 GiB frame header", grew>>20)
	}
	lost := tlse2e.Filter(evs, schema.EvCTIManagerLost, "")
	want := fmt.Sprintf("frame exceeds maximum size: %d bytes, limit %d", 1<<30, testMaxFrame)
	if len(lost) != 1 || lost[0].Event.CTIManager != "hostile" || !strings.Contains(lost[0].Event.Data.Provider.Detail, want) {
		t.Fatalf("CTIManagerLost %v, want one for hostile saying %q", tlse2e.Names(lost), want)
	}
	if l := br.Logs.Find("warn", "CTIManager link ended", want); len(l) != 1 {
		t.Fatalf("want one warning with %q; log:\n%s", want, br.Logs.String())
	}
	br.WaitReady(t)
}

// TestGarbageFramesAreBounded floods the link with 20,000 well-framed but
// unusable frames (unknown types, bodies that are not JSON, bodies that
// fail validation): none breaks the link or the provider, each is counted,
// the log stays short (the first few are logged, then a summary per
// thousand), memory does not grow, and a valid frame after the flood is
// still handled. Then bytes that are not a frame at all (bad magic) close
// the link and the bridge fails over.
func TestGarbageFramesAreBounded(t *testing.T) {
	p := startPeer(t, "hostile", onePage(3))
	n, br := hostileThenSim(t, p, nil)
	br.WaitReady(t)
	s := p.next(t)

	const flood = 20000
	rng := rand.New(rand.NewPCG(1, 2))
	var heapBefore runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&heapBefore)
	var buf []byte
	for i := range flood {
		var typ ctilink.MsgType
		var body []byte
		switch i % 3 {
		case 0: // a type nobody defined
			typ, body = ctilink.MsgType(0x4000+rng.IntN(0x1000)), []byte(`{}`)
		case 1: // a known type whose body is not JSON
			typ = ctilink.TypeCallState
			body = make([]byte, 1+rng.IntN(512))
			for j := range body {
				body[j] = byte(rng.IntN(256))
			}
		default: // valid JSON that fails validation
			typ, body = ctilink.TypeCallState, []byte(`{"device":"","line":"","globalCallId":0,"callHandle":0,"state":99}`)
		}
		buf = append(buf, header(typ, uint32(len(body)), uint32(1000+i))...)
		buf = append(buf, body...)
		if len(buf) > 256<<10 {
			if err := s.raw(buf); err != nil {
				t.Fatal(err)
			}
			buf = buf[:0]
		}
	}
	if err := s.raw(buf); err != nil {
		t.Fatal(err)
	}
	// A valid frame after the flood: the line goes out of service.
	s.write(ctilink.LineServiceEvent{Device: phones(0, 1)[0].Name, Line: "10000", InService: false, Reason: ctilink.OOSCallManagerFailure})
	n.WaitEvents(t, "the valid frame after the flood", tlse2e.Has(schema.EvCiscoAddrOutOfService, 1))

	var st ctiengine.Status
	tlse2e.Eventually(t, "every garbage frame counted", func() bool {
		st = br.Engine().Status()
		return st.Counters.ProtocolErrors >= flood
	})
	if st.Counters.ProtocolErrors != flood || st.Provider != "IN_SERVICE" || st.CTIManager != "hostile" {
		t.Fatalf("after the flood: %d protocol errors, provider %s on %s; want %d, IN_SERVICE on hostile",
			st.Counters.ProtocolErrors, st.Provider, st.CTIManager, flood)
	}
	if l := br.Logs.Find("", "unusable frame"); len(l) > 40 {
		t.Fatalf("%d log lines for %d unusable frames: a flood must not flood the log", len(l), flood)
	}
	if l := br.Logs.Find("warn", "unusable frame", fmt.Sprint(flood)); len(l) == 0 {
		t.Fatalf("no summary line counting %d unusable frames; log:\n%s", flood, br.Logs.String())
	}
	var heapAfter runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&heapAfter)
	t.Logf("heap in use %d MiB before the flood, %d MiB after", heapBefore.HeapInuse>>20, heapAfter.HeapInuse>>20)
	if heapAfter.HeapInuse > heapBefore.HeapInuse+32<<20 {
		t.Fatalf("heap in use grew from %d to %d MiB over the flood", heapBefore.HeapInuse>>20, heapAfter.HeapInuse>>20)
	}
	var status struct {
		Engine ctiengine.Status `json:"engine"`
	}
	if _, body := br.Get(t, "/status"); json.Unmarshal([]byte(body), &status) != nil || status.Engine.Counters.ProtocolErrors != flood {
		t.Fatalf("/status does not report the %d protocol errors: %s", flood, body)
	}

	// Not a frame at all.
	if err := s.raw([]byte("GET / HTTP/1.1\r\nHost: ctimanager\r\n\r\n")); err != nil {
		t.Fatal(err)
	}
	s.waitClosed(t)
	evs := n.WaitEvents(t, "the provider back in service on ctim-b", func(evs []tlse2e.Stored) bool {
		in := tlse2e.Filter(evs, schema.EvProvInService, "")
		return len(in) == 2 && in[1].Event.CTIManager == "ctim-b"
	})
	if lost := tlse2e.Filter(evs, schema.EvCTIManagerLost, ""); len(lost) != 1 || !strings.Contains(lost[0].Event.Data.Provider.Detail, "bad magic") {
		t.Fatalf("CTIManagerLost %v, want one saying bad magic", tlse2e.Names(lost))
	}
}
