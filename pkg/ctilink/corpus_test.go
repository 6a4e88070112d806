package ctilink_test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// TestGenerateFuzzCorpus (re)writes the checked-in seed corpus under
// testdata/fuzz/. It only runs when asked:
//
//	CTILINK_GEN_CORPUS=1 go test -run=TestGenerateFuzzCorpus ./pkg/ctilink
//
// Files it does not name (crashers the fuzzer added, kept as regression
// cases) are left alone.
func TestGenerateFuzzCorpus(t *testing.T) {
	if os.Getenv("CTILINK_GEN_CORPUS") == "" {
		t.Skip("set CTILINK_GEN_CORPUS=1 to rewrite testdata/fuzz")
	}
	write := func(target, name string, vals ...any) {
		t.Helper()
		dir := filepath.Join("testdata", "fuzz", target)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "seed-"+name), corpusFile(vals...), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	frame := func(seq uint32, m ctilink.Message) []byte {
		b, err := ctilink.AppendFrame(nil, seq, m)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	msgs := sampleMessages()

	// FuzzDecoder: byte streams.
	var all []byte
	for i, m := range msgs {
		f := frame(uint32(i+1), m)
		all = append(all, f...)
		write("FuzzDecoder", "valid-"+m.Type().String(), f)
	}
	write("FuzzDecoder", "stream-every-type", all)
	ev := frame(1, sampleOf[ctilink.CallStateEvent]())
	write("FuzzDecoder", "truncated-header", ev[:9])
	write("FuzzDecoder", "truncated-body", ev[:ctilink.HeaderSize+20])
	write("FuzzDecoder", "truncated-after-header", ev[:ctilink.HeaderSize])
	write("FuzzDecoder", "oversized-4GiB", header(ctilink.Magic, 1, 0, uint16(ctilink.TypeDeviceListResponse), 0xFFFFFFFF, 1))
	write("FuzzDecoder", "oversized-limit+1", append(header(ctilink.Magic, 1, 0, uint16(ctilink.TypeError), fuzzLimit+1, 1),
		bytes.Repeat([]byte{' '}, 64)...))
	write("FuzzDecoder", "oversized-default+1", header(ctilink.Magic, 1, 0, uint16(ctilink.TypeCallState), ctilink.DefaultMaxFrameSize+1, 1))
	write("FuzzDecoder", "bad-magic-http", []byte("GET / HTTP/1.1\r\nHost: cucm\r\n\r\n"))
	write("FuzzDecoder", "bad-magic-tls-hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03, 0, 0, 0, 0, 0})
	write("FuzzDecoder", "bad-version", append(header(ctilink.Magic, 2, 0, 2, 2, 1), "{}"...))
	write("FuzzDecoder", "flags-set", append(header(ctilink.Magic, 1, 1, 2, 2, 1), "{}"...))
	write("FuzzDecoder", "unknown-type-then-valid", append(rawFrame(0x4242, 1, []byte(`{"x":1}`)), frame(2, ctilink.Heartbeat{})...))
	write("FuzzDecoder", "malformed-json-then-valid", append(rawFrame(ctilink.TypeCallState, 1, []byte(`{"device":`)), frame(2, ctilink.Heartbeat{})...))
	write("FuzzDecoder", "control-char-then-valid", append(rawFrame(ctilink.TypeDeviceOpenRequest, 1, []byte(`{"device":"A\u0000B"}`)), frame(2, ctilink.Heartbeat{})...))
	write("FuzzDecoder", "overlong-name", rawFrame(ctilink.TypeSnapshotRequest, 1, []byte(`{"device":"`+strings.Repeat("D", 200)+`"}`)))
	write("FuzzDecoder", "empty-body-required-fields", append(rawFrame(ctilink.TypeLineOpenRequest, 1, nil), frame(2, ctilink.DeviceListRequest{})...))
	write("FuzzDecoder", "empty-body-heartbeat", rawFrame(ctilink.TypeHeartbeat, 1, nil))
	write("FuzzDecoder", "valid-then-garbage", append(frame(1, ctilink.Heartbeat{}), "\x00\xff\x13garbage"...))
	write("FuzzDecoder", "deep-nesting", rawFrame(ctilink.TypeError, 1, []byte(`{"text":"x","y":`+strings.Repeat("[", 2000)+strings.Repeat("]", 2000)+`}`)))
	write("FuzzDecoder", "invalid-utf8-name", rawFrame(ctilink.TypeDeviceOpenRequest, 1, []byte("{\"device\":\"SEP\xff\xfe\"}")))
	write("FuzzDecoder", "empty", []byte{})
	rng := rand.New(rand.NewPCG(2748, 2749))
	for i := range 4 {
		g := make([]byte, 16+rng.IntN(200))
		for j := range g {
			g[j] = byte(rng.Uint32())
		}
		if i%2 == 1 { // garbage behind a correct magic and version
			copy(g, header(ctilink.Magic, 1, 0, uint16(rng.UintN(0x100)), uint32(rng.IntN(len(g))), 1)[:8])
		}
		write("FuzzDecoder", fmt.Sprintf("garbage-%d", i), g)
	}

	// FuzzDecodeBody: (type, body) for every type, plus broken bodies.
	for _, m := range msgs {
		write("FuzzDecodeBody", "valid-"+m.Type().String(), uint16(m.Type()), mustJSON(t, m))
		write("FuzzDecodeBody", "empty-"+m.Type().String(), uint16(m.Type()), []byte{})
	}
	write("FuzzDecodeBody", "unknown-type", uint16(0x4242), []byte(`{}`))
	write("FuzzDecodeBody", "null", uint16(ctilink.TypeCallState), []byte(`null`))
	write("FuzzDecodeBody", "array", uint16(ctilink.TypeDeviceListResponse), []byte(`[{"name":"x"}]`))
	write("FuzzDecodeBody", "wrong-types", uint16(ctilink.TypeCallState), []byte(`{"device":1,"line":true,"callHandle":"x"}`))
	write("FuzzDecodeBody", "overflow", uint16(ctilink.TypeCallState), []byte(`{"device":"d","line":"l","callHandle":4294967296,"globalCallId":1,"state":1}`))
	write("FuzzDecodeBody", "case-insensitive-keys", uint16(ctilink.TypeLineOpenRequest), []byte(`{"DEVICE":"SEP1","Line":"1001"}`))
	write("FuzzDecodeBody", "duplicate-keys", uint16(ctilink.TypeLineOpenRequest), []byte(`{"device":"","device":"SEP1","line":"1"}`))
	write("FuzzDecodeBody", "escaped-control", uint16(ctilink.TypeRouteSelectRequest), []byte(`{"sessionId":1,"destinations":["10\u000a02"]}`))
	write("FuzzDecodeBody", "html-chars", uint16(ctilink.TypeProviderClosed), []byte(`{"reason":3,"description":"<&>"}`))
	write("FuzzDecodeBody", "device-list-one-bad-device", uint16(ctilink.TypeDeviceListResponse),
		[]byte(`{"reqSeq":2,"devices":[{"name":"SEP1","type":"phone","lines":[{"dn":"1001"}]},`+
			`{"name":"SEP\u00012","type":"phone","lines":[{"dn":"1002"}]},{"name":"SEP3","type":"phone","lines":[{"dn":"10\n03"}]},`+
			`{"name":"SEP4","type":"phone","lines":[{"dn":"+4930123"},{"dn":"\\+4930"},{"dn":"*55"},{"dn":"#1"}]}],"more":false,"total":4}`))
	write("FuzzDecodeBody", "device-list-all-bad", uint16(ctilink.TypeDeviceListResponse),
		[]byte(`{"reqSeq":2,"devices":[{"name":"","type":"x"},{"name":"`+strings.Repeat("D", 200)+`","type":"phone"}],"total":2}`))

	// FuzzCallStateRoundTrip: the field values of the scenario sequences.
	type cs struct {
		dev, line          string
		handle, gcid       uint32
		cm                 string
		state              ctilink.CallState
		cause              ctilink.Cause
		reason             ctilink.ConnReason
		origin             bool
		cgDN, cdDN, ccgDN  string
		ccdDN, lrDN, cgDev string
		snapshot           bool
		timeNs             int64
	}
	for name, c := range map[string]cs{
		"dialing":         {"SEPA", "1001", 1, 100, "cucm-pub", ctilink.CallStateDialing, 0, ctilink.ReasonDirectCall, true, "1001", "1002", "1001", "1002", "", "SEPA", false, 1},
		"offering":        {"SEPB", "1002", 2, 100, "cucm-pub", ctilink.CallStateOffering, 0, ctilink.ReasonDirectCall, false, "1001", "1002", "1001", "1002", "", "SEPA", false, 2},
		"disconnect-busy": {"SEPA", "1001", 1, 101, "cucm-sub1", ctilink.CallStateDisconnected, ctilink.CauseUserBusy, 1, true, "1001", "1002", "1001", "1002", "", "", false, 3},
		"redirect":        {"SEPD", "1004", 9, 102, "", ctilink.CallStateOffering, 0, ctilink.ReasonRedirect, false, "1001", "6000", "1001", "1004", "6000", "", false, 4},
		"transformed":     {"SEPB", "1002", 5, 103, "", ctilink.CallStateOffering, 0, 1, false, "1001", "1002", "800551001", "1002", "", "", false, 5},
		"snapshot":        {"SEPA", "1001", 1, 104, "cucm-pub", ctilink.CallStateConnected, 0, 1, true, "1001", "1002", "1001", "1002", "", "", true, 6},
		"unknown-state":   {"SEPA", "1001", 1, 1, "", 19, 0, 0, false, "", "", "", "", "", "", false, 0},
		"zero-ids":        {"SEPA", "1001", 0, 0, "", ctilink.CallStateIdle, 0, 0, false, "", "", "", "", "", "", false, -1},
		"control-chars":   {"SEP\x00A", "10\n01", 1, 1, "\x7f", 1, 0, 0, false, "\t", "", "", "", "", "", false, 0},
		"invalid-utf8":    {"SEP\xffA", "1001", 1, 1, "", 1, 0, 0, false, "\xc3", "", "", "", "", "", false, 0},
		"non-ascii":       {"Téléphone-Zoë", "१००१", 1, 1, "nœud", 8, 0, 0, false, "☎", "", "", "", "", "", false, 0},
		"html-escapes":    {"<dev>", "&1", 1, 1, "", 8, 0, 0, false, "<script>", "", "", "", "", "", false, 0},
		"max-values":      {"SEPA", "1001", 0xFFFFFFFF, 0xFFFFFFFF, "", ctilink.CallStateQueued, 0xFFFF, 0xFF, true, "", "", "", "", "", "", true, 1<<63 - 1},
		"overlong-name":   {strings.Repeat("S", 129), "1001", 1, 1, "", 1, 0, 0, false, "", "", "", "", "", "", false, 0},
		"name-at-limit":   {strings.Repeat("S", 128), strings.Repeat("1", 128), 1, 1, "", 1, 0, 0, false, "", "", "", "", "", "", false, 0},
	} {
		write("FuzzCallStateRoundTrip", name, c.dev, c.line, c.handle, c.gcid, c.cm, byte(c.state), uint16(c.cause),
			byte(c.reason), c.origin, c.cgDN, c.cdDN, c.ccgDN, c.ccdDN, c.lrDN, c.cgDev, c.snapshot, c.timeNs)
	}
}

// corpusFile encodes values in the "go test fuzz v1" format (as the go
// command's internal/fuzz marshalCorpusFile does for these types).
func corpusFile(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch v := v.(type) {
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", v)
		case string:
			fmt.Fprintf(&b, "string(%q)\n", v)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", v)
		case uint16, uint32, int64, bool:
			fmt.Fprintf(&b, "%T(%v)\n", v, v)
		default:
			panic(fmt.Sprintf("corpusFile: unsupported %T", v))
		}
	}
	return b.Bytes()
}
