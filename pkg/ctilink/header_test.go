package ctilink_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"runtime"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// header builds 16 header bytes with arbitrary (possibly invalid) fields.
func header(magic uint32, version, flags uint8, typ uint16, length, seq uint32) []byte {
	b := make([]byte, ctilink.HeaderSize)
	binary.BigEndian.PutUint32(b[0:4], magic)
	b[4], b[5] = version, flags
	binary.BigEndian.PutUint16(b[6:8], typ)
	binary.BigEndian.PutUint32(b[8:12], length)
	binary.BigEndian.PutUint32(b[12:16], seq)
	return b
}

func TestParseHeader(t *testing.T) {
	const m = ctilink.Magic
	tests := []struct {
		name    string
		b       []byte
		maxBody int
		want    ctilink.Header
		wantErr error
	}{
		{"valid", header(m, 1, 0, 0x87, 300, 42), 0,
			ctilink.Header{Version: 1, Type: ctilink.TypeCallState, Length: 300, Sequence: 42}, nil},
		{"unknown type is the decoder's business, not the header's", header(m, 1, 0, 0x7777, 0, 1), 0,
			ctilink.Header{Version: 1, Type: 0x7777, Sequence: 1}, nil},
		{"short", header(m, 1, 0, 2, 0, 1)[:15], 0, ctilink.Header{}, io.ErrUnexpectedEOF},
		{"bad magic", header(0x48545450, 1, 0, 2, 0, 1), 0, ctilink.Header{}, ctilink.ErrBadMagic}, // "HTTP"
		{"byte-swapped magic", header(0x4C495443, 1, 0, 2, 0, 1), 0, ctilink.Header{}, ctilink.ErrBadMagic},
		{"version 0", header(m, 0, 0, 2, 0, 1), 0, ctilink.Header{Version: 0, Type: 2, Sequence: 1}, ctilink.ErrVersion},
		{"version 2", header(m, 2, 0, 2, 0, 1), 0, ctilink.Header{Version: 2, Type: 2, Sequence: 1}, ctilink.ErrVersion},
		{"flags", header(m, 1, 0x80, 2, 0, 1), 0, ctilink.Header{Version: 1, Flags: 0x80, Type: 2, Sequence: 1}, ctilink.ErrFlags},
		{"exactly the default limit", header(m, 1, 0, 0x84, ctilink.DefaultMaxFrameSize, 1), 0,
			ctilink.Header{Version: 1, Type: 0x84, Length: ctilink.DefaultMaxFrameSize, Sequence: 1}, nil},
		{"one over the default limit", header(m, 1, 0, 0x84, ctilink.DefaultMaxFrameSize+1, 1), 0,
			ctilink.Header{Version: 1, Type: 0x84, Length: ctilink.DefaultMaxFrameSize + 1, Sequence: 1}, ctilink.ErrFrameTooLarge},
		{"custom limit", header(m, 1, 0, 0x84, 1025, 1), 1024,
			ctilink.Header{Version: 1, Type: 0x84, Length: 1025, Sequence: 1}, ctilink.ErrFrameTooLarge},
		{"limit above hard max is clamped", header(m, 1, 0, 0x84, ctilink.HardMaxFrameSize+1, 1), 1 << 30,
			ctilink.Header{Version: 1, Type: 0x84, Length: ctilink.HardMaxFrameSize + 1, Sequence: 1}, ctilink.ErrFrameTooLarge},
		{"hard max itself is accepted with a large limit", header(m, 1, 0, 0x84, ctilink.HardMaxFrameSize, 1), 1 << 30,
			ctilink.Header{Version: 1, Type: 0x84, Length: ctilink.HardMaxFrameSize, Sequence: 1}, nil},
		{"claims 4 GiB", header(m, 1, 0, 0x84, 0xFFFFFFFF, 1), 0,
			ctilink.Header{Version: 1, Type: 0x84, Length: 0xFFFFFFFF, Sequence: 1}, ctilink.ErrFrameTooLarge},
		{"checks in order: magic before version", header(0, 9, 9, 0, 0xFFFFFFFF, 0), 0, ctilink.Header{}, ctilink.ErrBadMagic},
		{"version before flags", header(m, 9, 9, 0, 0xFFFFFFFF, 0), 0,
			ctilink.Header{Version: 9, Flags: 9, Length: 0xFFFFFFFF}, ctilink.ErrVersion},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, err := ctilink.ParseHeader(tc.b, tc.maxBody)
			if !errors.Is(err, tc.wantErr) || (tc.wantErr == nil) != (err == nil) {
				t.Fatalf("err = %v, want %v", err, tc.wantErr)
			}
			if h != tc.want {
				t.Fatalf("header = %+v, want %+v", h, tc.want)
			}
			if err != nil && !ctilink.IsFatal(err) {
				t.Fatalf("header error %v is not fatal", err)
			}
		})
	}
}

func TestPutHeaderParseHeader(t *testing.T) {
	h := ctilink.Header{Version: ctilink.ProtocolVersion, Type: ctilink.TypeRoute, Length: 77, Sequence: 0xFFFFFFFF}
	b := make([]byte, ctilink.HeaderSize)
	ctilink.PutHeader(b, h)
	if !bytes.Equal(b[:4], []byte("CTIL")) {
		t.Fatalf("magic bytes = %q", b[:4])
	}
	got, err := ctilink.ParseHeader(b, 0)
	if err != nil || got != h {
		t.Fatalf("ParseHeader(PutHeader(h)) = %+v, %v; want %+v", got, err, h)
	}
}

func TestDecoderLimitClamp(t *testing.T) {
	for _, tc := range []struct{ in, want int }{
		{0, ctilink.DefaultMaxFrameSize}, {-5, ctilink.DefaultMaxFrameSize}, {1, 1},
		{1 << 20, 1 << 20}, {ctilink.HardMaxFrameSize + 1, ctilink.HardMaxFrameSize},
	} {
		if got := ctilink.NewDecoder(nil, tc.in).MaxBodyForTest(); got != tc.want {
			t.Errorf("NewDecoder(_, %d) limit = %d, want %d", tc.in, got, tc.want)
		}
	}
}

// TestOversizedFrameDoesNotAllocate proves that a header claiming a huge
// body is rejected before any body buffer exists: the decoder's buffer stays
// empty, Next allocates only its error value, and the body is never read.
func TestOversizedFrameDoesNotAllocate(t *testing.T) {
	for _, claim := range []uint32{ctilink.DefaultMaxFrameSize + 1, 1 << 30, 0xFFFFFFFF} {
		hostile := header(ctilink.Magic, 1, 0, uint16(ctilink.TypeDeviceListResponse), claim, 1)
		r := bytes.NewReader(nil)
		var dec *ctilink.Decoder
		var err error
		allocs := testing.AllocsPerRun(100, func() {
			r.Reset(hostile)
			dec = ctilink.NewDecoder(r, 0)
			_, _, err = dec.Next()
		})
		if !errors.Is(err, ctilink.ErrFrameTooLarge) || !ctilink.IsFatal(err) {
			t.Fatalf("claim %d: err = %v, want fatal ErrFrameTooLarge", claim, err)
		}
		if c := dec.BufCapForTest(); c != 0 {
			t.Fatalf("claim %d: decoder buffer cap = %d, want 0", claim, c)
		}
		// NewDecoder itself plus fmt.Errorf's handful of small objects.
		if allocs > 10 {
			t.Fatalf("claim %d: %v allocations per Next, want a handful", claim, allocs)
		}

		// Bytes, not just object counts: 100 rejections allocate well under
		// one frame limit in total.
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			r.Reset(hostile)
			_, _, _ = ctilink.NewDecoder(r, 0).Next()
		}
		runtime.ReadMemStats(&after)
		if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
			t.Fatalf("claim %d: 100 rejections allocated %d bytes", claim, d)
		}
	}
}

// TestDecoderBufferBounded: after frames of every size up to the limit the
// buffer never exceeds the limit, and it is reused rather than regrown.
func TestDecoderBufferBounded(t *testing.T) {
	const limit = 4096
	var stream []byte
	for _, n := range []int{0, 20, limit, 100, limit} {
		stream = append(stream, rawFrame(ctilink.TypeError, 1, errorBody(n))...)
	}
	stream = append(stream, header(ctilink.Magic, 1, 0, uint16(ctilink.TypeError), limit+1, 9)...)
	dec := ctilink.NewDecoder(bytes.NewReader(stream), limit)
	for i := 0; ; i++ {
		_, _, err := dec.Next()
		if c := dec.BufCapForTest(); c > limit {
			t.Fatalf("frame %d: buffer cap %d exceeds limit %d", i, c, limit)
		}
		if err != nil {
			if i != 5 || !errors.Is(err, ctilink.ErrFrameTooLarge) {
				t.Fatalf("frame %d: err = %v; want ErrFrameTooLarge at frame 5", i, err)
			}
			break
		}
	}
}

// errorBody returns a valid Error body of exactly n bytes (n == 0 or n >= 20).
func errorBody(n int) []byte {
	if n == 0 {
		return nil
	}
	const pre, post = `{"text":"`, `"}`
	return []byte(pre + string(bytes.Repeat([]byte("z"), n-len(pre)-len(post))) + post)
}
