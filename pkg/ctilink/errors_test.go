package ctilink_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// TestPerFrameErrorsAreNotFatal feeds a stream in which valid frames alternate
// with unusable ones. Each unusable frame yields a non-fatal error carrying
// its header (so the receiver can answer its sequence number with an Error
// frame), and the following frame decodes normally.
func TestPerFrameErrorsAreNotFatal(t *testing.T) {
	long := strings.Repeat("9", ctilink.MaxNameLen+1)
	bad := []struct {
		name string
		typ  ctilink.MsgType
		body string
		want error
	}{
		{"unknown type", 0x7777, `{"device":"SEP1"}`, ctilink.ErrUnknownType},
		{"unknown type, empty body", 0x0E, ``, ctilink.ErrUnknownType},
		{"malformed JSON", ctilink.TypeLineOpenRequest, `{"device":"SEP1","line":`, ctilink.ErrMalformedBody},
		{"JSON array instead of object", ctilink.TypeDeviceOpenRequest, `["SEP1"]`, ctilink.ErrMalformedBody},
		{"wrong field type", ctilink.TypeCallState, `{"device":"SEP1","line":"1","callHandle":"5"}`, ctilink.ErrMalformedBody},
		{"negative into unsigned", ctilink.TypeCallState, `{"device":"SEP1","line":"1","callHandle":-1}`, ctilink.ErrMalformedBody},
		{"trailing garbage", ctilink.TypeHeartbeat, `{}x`, ctilink.ErrMalformedBody},
		{"raw control character in a string", ctilink.TypeDeviceOpenRequest, "{\"device\":\"SEP\x01\"}", ctilink.ErrMalformedBody},
		{"escaped control character", ctilink.TypeDeviceOpenRequest, `{"device":"SEP\u0007"}`, ctilink.ErrInvalidMessage},
		{"DEL character", ctilink.TypeLineOpenRequest, `{"device":"SEP1","line":"10\u007f"}`, ctilink.ErrInvalidMessage},
		{"newline in a name", ctilink.TypeSnapshotRequest, `{"device":"SEP1\nInjected: yes"}`, ctilink.ErrInvalidMessage},
		{"overlong name", ctilink.TypeLineOpenRequest, `{"device":"SEP1","line":"` + long + `"}`, ctilink.ErrInvalidMessage},
		{"empty body, required fields", ctilink.TypeLineOpenRequest, ``, ctilink.ErrInvalidMessage},
		{"JSON null body", ctilink.TypeSnapshotRequest, `null`, ctilink.ErrInvalidMessage},
		{"unknown call state", ctilink.TypeCallState, `{"device":"SEP1","line":"1","callHandle":1,"globalCallId":2,"state":19}`, ctilink.ErrInvalidMessage},
	}

	var stream []byte
	seq := uint32(0)
	next := func() uint32 { seq++; return seq }
	var err error
	if stream, err = ctilink.AppendFrame(stream, next(), ctilink.Heartbeat{}); err != nil {
		t.Fatal(err)
	}
	for _, b := range bad {
		stream = append(stream, rawFrame(b.typ, next(), []byte(b.body))...)
		good := ctilink.LineOpenRequest{Device: "SEP1", Line: fmt.Sprint(seq)}
		if stream, err = ctilink.AppendFrame(stream, next(), good); err != nil {
			t.Fatal(err)
		}
	}

	dec := ctilink.NewDecoder(bytes.NewReader(stream), 0)
	if _, _, err := dec.Next(); err != nil {
		t.Fatalf("first frame: %v", err)
	}
	want := uint32(2)
	for _, b := range bad {
		h, m, err := dec.Next()
		if !errors.Is(err, b.want) {
			t.Errorf("%s: err = %v, want %v", b.name, err, b.want)
		}
		if ctilink.IsFatal(err) {
			t.Errorf("%s: err %v is fatal", b.name, err)
		}
		if m != nil {
			t.Errorf("%s: got a message %#v along with the error", b.name, m)
		}
		if h.Sequence != want || h.Type != b.typ || h.Length != uint32(len(b.body)) {
			t.Errorf("%s: header = %+v, want seq %d type %s length %d", b.name, h, want, b.typ, len(b.body))
		}
		if err != nil && strings.ContainsRune(err.Error(), '\n') {
			t.Errorf("%s: error text spans lines: %q", b.name, err)
		}
		want++

		h, m, err = dec.Next()
		if err != nil {
			t.Fatalf("frame after %s: %v (the stream lost sync)", b.name, err)
		}
		if lo, ok := m.(ctilink.LineOpenRequest); !ok || h.Sequence != want || lo.Line != fmt.Sprint(want-1) {
			t.Fatalf("frame after %s: %+v %#v, want LineOpenRequest seq %d", b.name, h, m, want)
		}
		want++
	}
	if _, _, err := dec.Next(); err != io.EOF {
		t.Fatalf("end: err = %v, want io.EOF", err)
	}
}

// TestMalformedBodyKeepsJSONDetail: the JSON error stays reachable for a
// caller that wants the offset.
func TestMalformedBodyKeepsJSONDetail(t *testing.T) {
	_, err := ctilink.DecodeBody(ctilink.TypeLineOpenRequest, []byte(`{"device":"SEP1",,}`))
	var se *json.SyntaxError
	if !errors.As(err, &se) || !errors.Is(err, ctilink.ErrMalformedBody) {
		t.Fatalf("err = %v (%T), want ErrMalformedBody wrapping *json.SyntaxError", err, err)
	}
	if se.Offset != 18 {
		t.Fatalf("offset = %d, want 18", se.Offset)
	}
}

// TestInvalidMessageNamesEveryProblem: validation reports all problems at
// once, each naming the field, on one line.
func TestInvalidMessageNamesEveryProblem(t *testing.T) {
	_, err := ctilink.DecodeBody(ctilink.TypeCallState, []byte(`{"line":"`+strings.Repeat("1", 200)+`","state":99}`))
	if !errors.Is(err, ctilink.ErrInvalidMessage) {
		t.Fatalf("err = %v, want ErrInvalidMessage", err)
	}
	msg := err.Error()
	for _, want := range []string{"CallState", "device is required", "line is 200 bytes long, limit 128",
		"globalCallId is required", "callHandle is required", "state 99 unknown"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	if strings.ContainsRune(msg, '\n') {
		t.Errorf("error spans lines: %q", msg)
	}
}

func TestIsFatal(t *testing.T) {
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{ctilink.ErrUnknownType, false},
		{ctilink.ErrMalformedBody, false},
		{ctilink.ErrInvalidMessage, false},
		{fmt.Errorf("wrapped: %w", ctilink.ErrInvalidMessage), false},
		{ctilink.ErrBadMagic, true},
		{ctilink.ErrVersion, true},
		{ctilink.ErrFlags, true},
		{ctilink.ErrFrameTooLarge, true},
		{io.EOF, true},
		{io.ErrUnexpectedEOF, true},
		{os.ErrDeadlineExceeded, true},
		{errors.New("connection reset by peer"), true},
	}
	for _, tc := range tests {
		if got := ctilink.IsFatal(tc.err); got != tc.want {
			t.Errorf("IsFatal(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestErrorFor(t *testing.T) {
	h := ctilink.Header{Version: 1, Type: ctilink.TypeLineOpenRequest, Sequence: 77}
	tests := []struct {
		err  error
		want ctilink.ErrorCode
	}{
		{fmt.Errorf("%w: 0x7777", ctilink.ErrUnknownType), ctilink.ErrCodeUnknownType},
		{fmt.Errorf("%w: x", ctilink.ErrMalformedBody), ctilink.ErrCodeMalformed},
		{fmt.Errorf("%w: x", ctilink.ErrInvalidMessage), ctilink.ErrCodeInvalidMessage},
		{fmt.Errorf("%w: x", ctilink.ErrFrameTooLarge), ctilink.ErrCodeFrameTooLarge},
		{fmt.Errorf("%w: x", ctilink.ErrVersion), ctilink.ErrCodeVersion},
		{fmt.Errorf("%w: x", ctilink.ErrBadMagic), ctilink.ErrCodeBadMagic},
		{ctilink.ErrFlags, ctilink.ErrCodeUnexpected},
		{io.ErrUnexpectedEOF, ctilink.ErrCodeUnexpected},
	}
	for _, tc := range tests {
		got := ctilink.ErrorFor(h, tc.err)
		if got.Code != tc.want || got.ReqSeq != 77 || got.Text != tc.err.Error() {
			t.Errorf("ErrorFor(%v) = %+v, want code %d reqSeq 77 and the error text", tc.err, got, tc.want)
		}
		if err := got.Validate(); err != nil {
			t.Errorf("ErrorFor(%v) does not validate: %v", tc.err, err)
		}
	}

	// A real decode error round-trips into an Error frame the peer accepts.
	_, _, err := ctilink.NewDecoder(bytes.NewReader(rawFrame(ctilink.TypeLineOpenRequest, 77, []byte(`{`))), 0).Next()
	em := ctilink.ErrorFor(h, err)
	if em.Code != ctilink.ErrCodeMalformed || !strings.Contains(em.Text, "LineOpenRequest") {
		t.Fatalf("ErrorFor(decode error) = %+v", em)
	}
	frame, err := ctilink.AppendFrame(nil, 1, em)
	if err != nil {
		t.Fatal(err)
	}
	if _, back, err := ctilink.NewDecoder(bytes.NewReader(frame), 0).Next(); err != nil || back != em {
		t.Fatalf("Error frame round trip: %#v, %v", back, err)
	}
}

// TestErrorForTruncatesOnRuneBoundary: the text is capped at 512 bytes
// without splitting a UTF-8 sequence (which would reach the peer as U+FFFD).
func TestErrorForTruncatesOnRuneBoundary(t *testing.T) {
	for pad := range 4 {
		text := strings.Repeat("a", pad) + strings.Repeat("€", 400) // 3 bytes each
		em := ctilink.ErrorFor(ctilink.Header{}, errors.New(text))
		if len(em.Text) > 512 || len(em.Text) < 509 {
			t.Errorf("pad %d: text is %d bytes, want 509..512", pad, len(em.Text))
		}
		if !utf8.ValidString(em.Text) || !strings.HasPrefix(text, em.Text) {
			t.Errorf("pad %d: text is not a valid UTF-8 prefix of the error", pad)
		}
	}
}

// TestTruncatedStream cuts a valid multi-frame stream at every byte offset.
// Frames wholly before the cut decode; the cut itself reads as io.EOF when it
// falls on a frame boundary and as io.ErrUnexpectedEOF (fatal) anywhere else.
func TestTruncatedStream(t *testing.T) {
	var stream []byte
	var ends []int
	for i, m := range sampleMessages()[:6] {
		var err error
		if stream, err = ctilink.AppendFrame(stream, uint32(i+1), m); err != nil {
			t.Fatal(err)
		}
		ends = append(ends, len(stream))
	}
	for cut := 0; cut < len(stream); cut++ {
		dec := ctilink.NewDecoder(bytes.NewReader(stream[:cut]), 0)
		complete := 0
		for _, e := range ends {
			if e <= cut {
				complete++
			}
		}
		for i := range complete {
			if _, _, err := dec.Next(); err != nil {
				t.Fatalf("cut %d: frame %d: %v", cut, i+1, err)
			}
		}
		_, m, err := dec.Next()
		atBoundary := cut == 0 || (complete > 0 && ends[complete-1] == cut)
		switch {
		case m != nil:
			t.Fatalf("cut %d: decoded a message from a partial frame", cut)
		case atBoundary && err != io.EOF:
			t.Fatalf("cut %d (frame boundary): err = %v, want io.EOF", cut, err)
		case !atBoundary && !errors.Is(err, io.ErrUnexpectedEOF):
			t.Fatalf("cut %d: err = %v, want io.ErrUnexpectedEOF", cut, err)
		case !ctilink.IsFatal(err):
			t.Fatalf("cut %d: err %v is not fatal", cut, err)
		}
	}
}
