package ctiengine

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// recvWire delivers msg as the Engine's reader would: framed, sent over the
// byte stream and decoded (so the decoder's per-device rules apply).
func (h *harness) recvWire(msg ctilink.Message) {
	h.t.Helper()
	frame, err := ctilink.AppendFrame(nil, 1, msg)
	if err != nil {
		h.t.Fatal(err)
	}
	_, got, err := ctilink.NewDecoder(bytes.NewReader(frame), 0).Next()
	if err != nil {
		h.record(h.m.FrameError(h.link, err, h.now))
		return
	}
	h.recv(got)
}

// One device whose name carries a control character used to make the
// whole page invalid, so the device list never completed and the provider
// never came into service. Now that device is skipped with a
// DeviceRejected event naming it (quoted), a warning and a counter, and
// every other device, on that page and the next, goes into service.
func TestMachine_OneBadDeviceNeverSinksTheProvider(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.up()
	h.openResponse(10e9, 10e9)
	h.openCompleted(0)
	devs := phones(4)
	devs[1].Name = "SEP\x07BELL"
	devs[3].Lines[0].DN = "10\x0004"
	f, _ := findSent[ctilink.DeviceListRequest](h)
	f.answered = true
	h.recvWire(ctilink.DeviceListResponse{ReqSeq: f.seq, Devices: devs[:2], More: true, Total: 4})
	h.recvWire(ctilink.DeviceListResponse{ReqSeq: f.seq, Devices: devs[2:], Total: 4})
	h.answerRequests(nil)
	if h.m.Provider() != ProviderInService {
		t.Fatalf("provider %s after a device list with two bad devices, want IN_SERVICE", h.m.Provider())
	}
	evs := h.take()
	eqStrings(t, "events", names(evs), []string{
		"CTIManagerConnecting", "CTIManagerConnected", "DeviceRejected", "DeviceRejected", "ProvInServiceEv",
		"CiscoAddrInServiceEv(1001)", "CiscoTermInServiceEv(SEP000000000001)",
		"CiscoAddrInServiceEv(1003)", "CiscoTermInServiceEv(SEP000000000003)",
	})
	r1, r2 := evs[2], evs[3]
	if r1.Family != schema.FamilyProvider || r1.Data.Provider.Device != `"SEP\aBELL"` ||
		!strings.Contains(r1.Data.Provider.Detail, "entry 1 of device list page 1") ||
		!strings.Contains(r1.Data.Provider.Detail, "name contains control character U+0007") {
		t.Fatalf("first DeviceRejected %+v", r1.Data.Provider)
	}
	if r2.Data.Provider.Device != `"SEP000000000004"` || !strings.Contains(r2.Data.Provider.Detail, "entry 1 of device list page 2") ||
		!strings.Contains(r2.Data.Provider.Detail, "lines[].dn contains control character U+0000") {
		t.Fatalf("second DeviceRejected %+v", r2.Data.Provider)
	}
	if got := h.m.Status().Counters.DevicesRejected; got != 2 {
		t.Fatalf("devicesRejected = %d, want 2", got)
	}
	if got := h.m.Status().Counters.ProtocolErrors; got != 0 {
		t.Fatalf("protocolErrors = %d: the pages were refused", got)
	}
	var warned int
	for _, n := range h.notes {
		if strings.Contains(n.Msg, "skipped") && (strings.Contains(n.Msg, `"SEP\aBELL"`) || strings.Contains(n.Msg, `"SEP000000000004"`)) {
			warned++
		}
	}
	if warned != 2 {
		t.Fatalf("%d warnings naming the skipped devices, want 2: %+v", warned, h.notes)
	}
}

// A control list full of broken names logs a bounded number of lines, yet
// still reports every device by event.
func TestMachine_ManyBadDevicesLogSparingly(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.up()
	h.openResponse(10e9, 10e9)
	h.openCompleted(0)
	devs := phones(40)
	for i := 1; i < len(devs); i++ {
		devs[i].Name = fmt.Sprintf("BAD\x1b%02d", i)
	}
	f, _ := findSent[ctilink.DeviceListRequest](h)
	f.answered = true
	h.recvWire(ctilink.DeviceListResponse{ReqSeq: f.seq, Devices: devs, Total: len(devs)})
	h.answerRequests(nil)
	if h.m.Provider() != ProviderInService {
		t.Fatalf("provider %s, want IN_SERVICE on the one good device", h.m.Provider())
	}
	if n := count(h.take(), schema.EvDeviceRejected); n != 39 {
		t.Fatalf("%d DeviceRejected events, want 39", n)
	}
	var lines int
	for _, n := range h.notes {
		if strings.Contains(n.Msg, "control list:") {
			lines++
		}
	}
	if lines != rejectLogFirst+1 {
		t.Fatalf("%d log lines for 39 rejected devices, want %d and a summary", lines, rejectLogFirst)
	}
}
