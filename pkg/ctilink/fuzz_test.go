package ctilink_test

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// fuzzLimit is the body limit FuzzDecoder runs with: small, so that the
// fuzzer reaches the oversized-frame path easily, yet above every seed.
const fuzzLimit = 4096

// countingReader counts the bytes the decoder has consumed.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// FuzzDecoder feeds arbitrary bytes to Decoder.Next in a loop. Properties:
// it never panics; the body buffer never exceeds the limit; every frame it
// returns (message or per-frame error) consumed exactly HeaderSize+Length
// bytes, so the loop always makes progress or stops with a fatal error; a
// decoded message is valid and survives re-encoding unchanged; and ErrorFor
// always yields an Error frame that can be sent.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		cr := &countingReader{r: bytes.NewReader(data)}
		dec := ctilink.NewDecoder(cr, fuzzLimit)
		for frames := 0; ; frames++ {
			if frames > len(data)/ctilink.HeaderSize {
				t.Fatalf("%d frames from %d bytes: no progress", frames, len(data))
			}
			before := cr.n
			h, m, err := dec.Next()
			if c := dec.BufCapForTest(); c > fuzzLimit {
				t.Fatalf("buffer cap %d exceeds limit %d", c, fuzzLimit)
			}
			if err != nil {
				checkErrorFrame(t, h, err)
			}
			if err != nil && ctilink.IsFatal(err) {
				if m != nil {
					t.Fatalf("fatal error %v with a message", err)
				}
				return
			}
			if used := cr.n - before; used != ctilink.HeaderSize+int(h.Length) {
				t.Fatalf("frame consumed %d bytes, header says %d+%d", used, ctilink.HeaderSize, h.Length)
			}
			if err != nil {
				if m != nil {
					t.Fatalf("per-frame error %v with a message", err)
				}
				continue
			}
			if m.Type() != h.Type {
				t.Fatalf("header type %s, message type %s", h.Type, m.Type())
			}
			if err := m.Validate(); err != nil {
				t.Fatalf("decoded message does not validate: %v", err)
			}
			checkReencode(t, h.Sequence, m)
		}
	})
}

// FuzzDecodeBody decodes an arbitrary body as an arbitrary type (seeds cover
// every type). It never panics, fails only with a per-frame error (unknown
// type exactly when the type is unknown), and what it accepts is valid and
// round-trips.
func FuzzDecodeBody(f *testing.F) {
	f.Add(uint16(ctilink.TypeCallState), []byte(`{}`))
	f.Fuzz(func(t *testing.T, typ uint16, body []byte) {
		mt := ctilink.MsgType(typ)
		m, err := ctilink.DecodeBody(mt, body)
		if err != nil {
			if m != nil {
				t.Fatalf("error %v with a message", err)
			}
			if ctilink.IsFatal(err) {
				t.Fatalf("DecodeBody returned a fatal error: %v", err)
			}
			if errors.Is(err, ctilink.ErrUnknownType) == ctilink.Known(mt) {
				t.Fatalf("type %s Known=%v but err = %v", mt, ctilink.Known(mt), err)
			}
			checkErrorFrame(t, ctilink.Header{Type: mt}, err)
			return
		}
		if m.Type() != mt {
			t.Fatalf("decoded %s as %s", mt, m.Type())
		}
		if err := m.Validate(); err != nil {
			t.Fatalf("accepted an invalid message: %v", err)
		}
		checkReencode(t, 1, m)
	})
}

// FuzzCallStateRoundTrip builds a CallStateEvent from arbitrary field values,
// sends it between two Heartbeats and decodes the stream. A valid event comes
// back identical; an invalid one is refused as a per-frame error (or, when
// only its invalid UTF-8 made it invalid, arrives repaired and valid); the
// stream stays in sync either way.
func FuzzCallStateRoundTrip(f *testing.F) {
	f.Add("SEP001122334455", "1001", uint32(1), uint32(1), "cucm-pub", byte(8), uint16(16), byte(1), true,
		"1001", "1002", "1001", "1002", "", "SEP00AABBCCDDEE", false, int64(1767225600000000000))
	f.Fuzz(func(t *testing.T, device, line string, handle, gcid uint32, cm string, state byte, cause uint16,
		reason byte, origin bool, callingDN, calledDN, curCallingDN, curCalledDN, lastRedirDN, callingDev string,
		snapshot bool, timeNs int64) {
		ev := ctilink.CallStateEvent{
			Device: device, Line: line, CallHandle: handle, GlobalCallID: gcid, CallManager: cm,
			State: ctilink.CallState(state), Cause: ctilink.Cause(cause), Reason: ctilink.ConnReason(reason),
			Origin: origin, Calling: ctilink.Party{DN: callingDN, Device: callingDev}, Called: ctilink.Party{DN: calledDN},
			CurrentCalling: ctilink.Party{DN: curCallingDN}, CurrentCalled: ctilink.Party{DN: curCalledDN},
			LastRedirecting: ctilink.Party{DN: lastRedirDN}, Snapshot: snapshot, TimeNs: timeNs,
		}
		var stream []byte
		var err error
		for i, m := range []ctilink.Message{ctilink.Heartbeat{}, ev, ctilink.Heartbeat{}} {
			if stream, err = ctilink.AppendFrame(stream, uint32(i+1), m); err != nil {
				if errors.Is(err, ctilink.ErrFrameTooLarge) && ev.Validate() != nil {
					return // megabytes of escaped junk: refused at the sender
				}
				t.Fatalf("AppendFrame(%s): %v", m.Type(), err)
			}
		}
		dec := ctilink.NewDecoder(bytes.NewReader(stream), ctilink.HardMaxFrameSize)
		if _, _, err := dec.Next(); err != nil {
			t.Fatalf("leading Heartbeat: %v", err)
		}
		h, got, err := dec.Next()
		switch {
		case ev.Validate() == nil:
			if err != nil {
				t.Fatalf("valid event refused: %v", err)
			}
			if !reflect.DeepEqual(got, ev) {
				t.Fatalf("round trip changed the event:\n got %#v\nwant %#v", got, ev)
			}
		case err != nil:
			if ctilink.IsFatal(err) || !errors.Is(err, ctilink.ErrInvalidMessage) {
				t.Fatalf("invalid event: err = %v, want a per-frame ErrInvalidMessage", err)
			}
		default:
			if vErr := got.Validate(); vErr != nil {
				t.Fatalf("invalid event accepted: %v", vErr)
			}
		}
		if h.Sequence != 2 || h.Type != ctilink.TypeCallState {
			t.Fatalf("header %+v", h)
		}
		if h, m, err := dec.Next(); err != nil || h.Sequence != 3 || m != (ctilink.Heartbeat{}) {
			t.Fatalf("trailing Heartbeat: %+v %#v %v", h, m, err)
		}
	})
}

// checkErrorFrame: whatever went wrong, the Error message that answers it is
// valid and encodable.
func checkErrorFrame(t *testing.T, h ctilink.Header, err error) {
	t.Helper()
	em := ctilink.ErrorFor(h, err)
	if vErr := em.Validate(); vErr != nil {
		t.Fatalf("ErrorFor(%v) is invalid: %v", err, vErr)
	}
	if _, aErr := ctilink.AppendFrame(nil, 1, em); aErr != nil {
		t.Fatalf("ErrorFor(%v) cannot be encoded: %v", err, aErr)
	}
}

// checkReencode encodes m again and decodes it: the result must equal m.
func checkReencode(t *testing.T, seq uint32, m ctilink.Message) {
	t.Helper()
	if dl, ok := m.(ctilink.DeviceListResponse); ok {
		dl.Rejected = nil // rejections are the receiver's notes; they are not sent
		m = dl
	}
	frame, err := ctilink.AppendFrame(nil, seq, m)
	if errors.Is(err, ctilink.ErrFrameTooLarge) {
		// encoding/json escapes <, > and & as \u003c etc., so a body can
		// grow up to six-fold when re-encoded; beyond HardMaxFrameSize the
		// sender refuses it, which is the documented behaviour.
		return
	}
	if err != nil {
		t.Fatalf("re-encoding %s: %v", m.Type(), err)
	}
	h, back, err := ctilink.NewDecoder(bytes.NewReader(frame), ctilink.HardMaxFrameSize).Next()
	if err != nil {
		t.Fatalf("decoding the re-encoded %s: %v", m.Type(), err)
	}
	if h.Sequence != seq || !reflect.DeepEqual(back, m) {
		t.Fatalf("re-encoding changed the message:\n got %#v\nwant %#v", back, m)
	}
}
