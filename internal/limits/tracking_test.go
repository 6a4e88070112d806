package limits

import (
	"runtime"
	"testing"

	"github.com/ctibridge/ctibridge/internal/tlse2e"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// hostileOnly is a bridge whose only CTIManager is the scripted peer.
func hostileOnly(t *testing.T, p *peer, mutate func(*ctiengine.Config)) (*tlse2e.NATS, *tlse2e.Bridge) {
	t.Helper()
	n := tlse2e.StartNATS(t)
	cfg := tlse2e.BaseEngineConfig(ctiengine.CTIManager{Name: p.name, Addr: p.addr()})
	if mutate != nil {
		mutate(&cfg)
	}
	return n, tlse2e.StartBridge(t, n, tlse2e.BridgeOptions{Engine: cfg})
}

func heapInUse() uint64 {
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestDeviceListClaimingAMillionDevices: the device list claims 1,000,000
// devices and delivers 5,000 in ten pages; with MaxDevices 1,000 the
// bridge tracks, opens and reports exactly the first 1,000, ignores the
// rest (counted), logs a warning, and the provider comes into service.
func TestDeviceListClaimingAMillionDevices(t *testing.T) {
	const (
		maxDevices = 1000
		pages      = 10
		perPage    = 500
		claimed    = 1_000_000
	)
	p := startPeer(t, "hostile", func(seq uint32) []ctilink.DeviceListResponse {
		out := make([]ctilink.DeviceListResponse, pages)
		for i := range out {
			out[i] = ctilink.DeviceListResponse{ReqSeq: seq, Devices: phones(i*perPage, perPage), More: i < pages-1, Total: claimed}
		}
		return out
	})
	n, br := hostileOnly(t, p, func(c *ctiengine.Config) { c.MaxDevices = maxDevices })
	br.WaitReady(t)

	st := br.Engine().Status()
	if st.Devices != maxDevices || st.DevicesObserved != maxDevices || st.Lines != maxDevices {
		t.Fatalf("tracking %d devices (%d observed) and %d lines, want %d", st.Devices, st.DevicesObserved, st.Lines, maxDevices)
	}
	if ignored := st.Counters.DevicesIgnored; ignored != pages*perPage-maxDevices {
		t.Fatalf("DevicesIgnored = %d, want %d", ignored, pages*perPage-maxDevices)
	}
	if d, l := p.deviceOpen.Load(), p.lineOpen.Load(); d != maxDevices || l != maxDevices {
		t.Fatalf("the bridge opened %d devices and %d lines, want %d of each", d, l, maxDevices)
	}
	if l := br.Logs.Find("warn", "more than MaxDevices 1000 devices; 4000 not tracked nor opened"); len(l) != 1 {
		t.Fatalf("want one warning about the devices beyond MaxDevices; log:\n%s", br.Logs.String())
	}
	evs := n.WaitEvents(t, "in-service events of the tracked terminals", tlse2e.Has(schema.EvCiscoTermInService, maxDevices))
	terms := map[string]bool{}
	for _, s := range tlse2e.Filter(evs, schema.EvCiscoTermInService, "") {
		terms[s.Event.Entity] = true
	}
	if len(terms) != maxDevices || !terms[phones(0, 1)[0].Name] || terms[phones(maxDevices, 1)[0].Name] {
		t.Fatalf("%d terminals reported in service, want the first %d of the list", len(terms), maxDevices)
	}
}

// TestCallFloodWithNewCallIDs: a CTIManager reporting 5,000 calls that
// never end, each with a new call id, on a bridge tracking at most 200
// calls: the first 200 are tracked and published, the events of the
// others are counted as untracked (Status.CallsUntracked, a warning in the
// log) instead of growing memory; the provider stays in service.
func TestCallFloodWithNewCallIDs(t *testing.T) {
	const (
		maxCalls = 200
		flood    = 5000
	)
	p := startPeer(t, "hostile", onePage(10))
	n, br := hostileOnly(t, p, func(c *ctiengine.Config) { c.MaxCalls = maxCalls })
	br.WaitReady(t)
	s := p.next(t)
	dev := phones(0, 1)[0]
	before := heapInUse()
	for i := range flood {
		s.write(ctilink.CallStateEvent{Device: dev.Name, Line: dev.Lines[0].DN, CallHandle: uint32(i + 1), GlobalCallID: uint32(i + 1),
			CallManager: "cm1", State: ctilink.CallStateOffering, Calling: ctilink.Party{DN: "2000"}, Called: ctilink.Party{DN: dev.Lines[0].DN},
			CurrentCalling: ctilink.Party{DN: "2000"}, CurrentCalled: ctilink.Party{DN: dev.Lines[0].DN}})
	}
	// A sentinel: once its event is stored, the flood has been handled.
	s.write(ctilink.LineServiceEvent{Device: dev.Name, Line: dev.Lines[0].DN, InService: false, Reason: ctilink.OOSCallManagerFailure})
	evs := n.WaitEvents(t, "the sentinel after the flood", tlse2e.Has(schema.EvCiscoAddrOutOfService, 1))

	st := br.Engine().Status()
	if st.Calls != maxCalls || st.CallsUntracked != flood-maxCalls || st.Provider != "IN_SERVICE" {
		t.Fatalf("calls tracked %d, untracked %d, provider %s; want %d, %d, IN_SERVICE", st.Calls, st.CallsUntracked, st.Provider, maxCalls, flood-maxCalls)
	}
	calls := map[string]bool{}
	for _, s := range evs {
		if s.Event.Family == schema.FamilyCall {
			calls[s.Event.Entity] = true
		}
	}
	if len(calls) != maxCalls {
		t.Fatalf("the stream holds events of %d calls, want %d", len(calls), maxCalls)
	}
	if l := br.Logs.Find("warn", "MaxCalls 200"); len(l) != 1 {
		t.Fatalf("want one warning that MaxCalls is reached; log:\n%s", br.Logs.String())
	}
	after := heapInUse()
	t.Logf("heap in use %d MiB before the flood, %d MiB after", before>>20, after>>20)
	if after > before+32<<20 {
		t.Fatalf("heap in use grew from %d to %d MiB over the flood", before>>20, after>>20)
	}
}
