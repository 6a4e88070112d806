package ctilink_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// One device that breaks the name rules costs that device only: the page is
// decoded, the other devices are kept in order, and the rejected one is
// named (quoted, so its control character cannot reach a log line raw)
// with the rule it broke.
func TestDecode_DeviceListKeepsTheGoodDevicesOfAPage(t *testing.T) {
	page := ctilink.DeviceListResponse{ReqSeq: 2, Total: 4, Devices: []ctilink.DeviceInfo{
		{Name: "SEP000000000001", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []ctilink.LineInfo{{DN: "1001"}}},
		{Name: "SEP\x01BAD", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []ctilink.LineInfo{{DN: "1002"}}},
		{Name: "SEP000000000003", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []ctilink.LineInfo{{DN: "10\n03"}}},
		{Name: "SEP000000000004", Type: ctilink.DevicePhone, CallManager: "cm2",
			Lines: []ctilink.LineInfo{{DN: "+4930123"}, {DN: `\+4930`}, {DN: "*55"}, {DN: "#1"}}},
	}}
	if err := page.Validate(); err == nil {
		t.Fatal("a page holding invalid devices validates; the sender-side check is gone")
	}
	// The reference encoder does not validate, so a hostile or broken
	// server can send this page: decode it as the client would.
	frame, err := ctilink.AppendFrame(nil, 7, page)
	if err != nil {
		t.Fatal(err)
	}
	h, msg, err := ctilink.NewDecoder(bytes.NewReader(frame), 0).Next()
	if err != nil {
		t.Fatalf("page refused as a whole: %v", err)
	}
	got := msg.(ctilink.DeviceListResponse)
	if h.Sequence != 7 || got.ReqSeq != 2 || got.Total != 4 || got.More {
		t.Fatalf("page header fields changed: seq %d %+v", h.Sequence, got)
	}
	var names []string
	for _, d := range got.Devices {
		names = append(names, d.Name)
	}
	if strings.Join(names, ",") != "SEP000000000001,SEP000000000004" {
		t.Fatalf("kept devices %v, want SEP000000000001 and SEP000000000004", names)
	}
	if dns := got.Devices[1].Lines; len(dns) != 4 || dns[1].DN != `\+4930` || dns[2].DN != "*55" || dns[3].DN != "#1" {
		t.Fatalf("dial-plan numbers changed in transit: %+v", dns)
	}
	if len(got.Rejected) != 2 {
		t.Fatalf("rejected %+v, want two entries", got.Rejected)
	}
	r0, r1 := got.Rejected[0], got.Rejected[1]
	if r0.Index != 1 || r0.Name != `"SEP\x01BAD"` || !strings.Contains(r0.Reason, "name contains control character U+0001") {
		t.Fatalf("first rejection %+v", r0)
	}
	if r1.Index != 2 || r1.Name != `"SEP000000000003"` || !strings.Contains(r1.Reason, "lines[].dn contains control character U+000A") {
		t.Fatalf("second rejection %+v", r1)
	}
	if err := got.Validate(); err != nil {
		t.Fatalf("decoded page does not validate: %v", err)
	}
}

func TestQuoteName(t *testing.T) {
	for in, want := range map[string]string{
		"SEP1":                       `"SEP1"`,
		"A\x00B":                     `"A\x00B"`,
		"Zoë":                        `"Zo\u00eb"`,
		"\xff":                       `"\xff"`,
		strings.Repeat("D", 129):     `"` + strings.Repeat("D", 128) + `"…`,
		"\x1b[31mred\x1b[0m":         `"\x1b[31mred\x1b[0m"`,
		strings.Repeat("\u2603", 50): `"` + strings.Repeat(`\u2603`, 42) + `\xe2\x98"…`,
	} {
		if got := ctilink.QuoteName(in); got != want {
			t.Errorf("QuoteName(%q) = %s, want %s", in, got, want)
		}
	}
}
