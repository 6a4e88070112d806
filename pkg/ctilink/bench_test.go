package ctilink_test

import (
	"bytes"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// benchEvent is a typical CallStateEvent as the simulator sends it.
var benchEvent = ctilink.CallStateEvent{
	Device: "SEP001122334455", Line: "1001", CallHandle: 16777223, GlobalCallID: 4711, CallManager: "cucm-pub",
	State: ctilink.CallStateConnected, Cause: ctilink.CauseNoError, Reason: ctilink.ReasonDirectCall, Origin: true,
	Calling: ctilink.Party{DN: "1001", Device: "SEP001122334455"}, Called: ctilink.Party{DN: "1002", Device: "SEP00AABBCCDDEE"},
	CurrentCalling: ctilink.Party{DN: "1001"}, CurrentCalled: ctilink.Party{DN: "1002"}, TimeNs: 1767225600123456789,
}

// BenchmarkEncodeCallState measures AppendFrame of one CallStateEvent into a
// reused buffer (what Conn.Write does under its lock).
func BenchmarkEncodeCallState(b *testing.B) {
	buf, err := ctilink.AppendFrame(nil, 1, benchEvent)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		buf, err = ctilink.AppendFrame(buf[:0], uint32(i), benchEvent)
		if err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeCallState measures Decoder.Next on a stream of
// CallStateEvent frames: header parsing, body read, JSON decoding and
// validation.
func BenchmarkDecodeCallState(b *testing.B) {
	const frames = 1024
	var stream []byte
	for i := range frames {
		var err error
		if stream, err = ctilink.AppendFrame(stream, uint32(i+1), benchEvent); err != nil {
			b.Fatal(err)
		}
	}
	r := bytes.NewReader(stream)
	dec := ctilink.NewDecoder(r, 0)
	b.SetBytes(int64(len(stream) / frames))
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if i%frames == 0 {
			r.Reset(stream)
		}
		if _, m, err := dec.Next(); err != nil || m == nil {
			b.Fatal(err)
		}
	}
}
