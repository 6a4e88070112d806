package ctilink_test

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// TestAppendFrameDecoderRoundTrip encodes one frame of every type into a
// single stream and decodes it back: headers carry the right version, type,
// length and sequence, and every message comes back field for field.
func TestAppendFrameDecoderRoundTrip(t *testing.T) {
	msgs := sampleMessages()
	var stream []byte
	var lengths []int
	for i, m := range msgs {
		before := len(stream)
		var err error
		stream, err = ctilink.AppendFrame(stream, uint32(i+1), m)
		if err != nil {
			t.Fatalf("AppendFrame(%s): %v", m.Type(), err)
		}
		lengths = append(lengths, len(stream)-before-ctilink.HeaderSize)
	}

	dec := ctilink.NewDecoder(bytes.NewReader(stream), 0)
	for i, want := range msgs {
		h, got, err := dec.Next()
		if err != nil {
			t.Fatalf("frame %d (%s): %v", i+1, want.Type(), err)
		}
		wantHdr := ctilink.Header{Version: ctilink.ProtocolVersion, Type: want.Type(), Length: uint32(lengths[i]), Sequence: uint32(i + 1)}
		if h != wantHdr {
			t.Errorf("frame %d header = %+v, want %+v", i+1, h, wantHdr)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("frame %d (%s):\n got %#v\nwant %#v", i+1, want.Type(), got, want)
		}
	}
	if _, _, err := dec.Next(); err != io.EOF {
		t.Fatalf("after the last frame: err = %v, want io.EOF", err)
	}
}

// TestConnRoundTrip sends every message type over real TCP with Conn.Write
// and reads them with Conn.Read on the other end.
func TestConnRoundTrip(t *testing.T) {
	client, server := tcpPair(t)
	msgs := sampleMessages()

	done := make(chan error, 1)
	go func() {
		for i, m := range msgs {
			seq, err := client.Write(m)
			if err != nil {
				done <- err
				return
			}
			if seq != uint32(i+1) {
				done <- errors.New("Write returned an unexpected sequence")
				return
			}
		}
		done <- nil
	}()

	for i, want := range msgs {
		h, got, err := server.Read()
		if err != nil {
			t.Fatalf("Read frame %d: %v", i+1, err)
		}
		if h.Sequence != uint32(i+1) || h.Type != want.Type() {
			t.Errorf("frame %d: header %+v, want seq %d type %s", i+1, h, i+1, want.Type())
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("frame %d (%s):\n got %#v\nwant %#v", i+1, want.Type(), got, want)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	// Sequences are per direction: the server's first frame is 1 too.
	if seq, err := server.Write(ctilink.Heartbeat{}); err != nil || seq != 1 {
		t.Fatalf("server's first Write = %d, %v; want 1, nil", seq, err)
	}
	h, m, err := client.Read()
	if err != nil || h.Sequence != 1 || m != (ctilink.Heartbeat{}) {
		t.Fatalf("client Read = %+v %#v %v", h, m, err)
	}

	// WriteBatch numbers on from where Write left off and returns the last.
	seq, err := client.WriteBatch(ctilink.Heartbeat{}, ctilink.DeviceListRequest{}, ctilink.SnapshotRequest{Device: "SEP1"})
	if err != nil || seq != uint32(len(msgs)+3) {
		t.Fatalf("WriteBatch = %d, %v; want %d", seq, err, len(msgs)+3)
	}
	for want := uint32(len(msgs) + 1); want <= seq; want++ {
		h, _, err := server.Read()
		if err != nil || h.Sequence != want {
			t.Fatalf("batch frame: header %+v err %v, want seq %d", h, err, want)
		}
	}
}

// TestWireGolden pins the exact bytes of two frames, so that an accidental
// change of header layout, byte order, field names or omitempty rules fails
// here rather than in a peer written from docs/protocol.md.
func TestWireGolden(t *testing.T) {
	hb, err := ctilink.AppendFrame(nil, 1, ctilink.Heartbeat{})
	if err != nil {
		t.Fatal(err)
	}
	// magic "CTIL", version 1, flags 0, type 0x0002, length 2, sequence 1, "{}"
	const wantHB = "4354494c" + "01" + "00" + "0002" + "00000002" + "00000001" + "7b7d"
	if got := hex.EncodeToString(hb); got != wantHB {
		t.Errorf("Heartbeat frame = %s, want %s", got, wantHB)
	}

	ev := ctilink.CallStateEvent{
		Device: "SEP001122334455", Line: "1001", CallHandle: 16777223, GlobalCallID: 4711,
		State: ctilink.CallStateOffering, Cause: ctilink.CauseNoError, Reason: ctilink.ReasonDirectCall,
		Calling: ctilink.Party{DN: "1002", Device: "SEP00AABBCCDDEE"}, Called: ctilink.Party{DN: "1001"},
		CurrentCalling: ctilink.Party{DN: "1002"}, CurrentCalled: ctilink.Party{DN: "1001"},
		TimeNs: 1767225600000000000,
	}
	frame, err := ctilink.AppendFrame(nil, 0x01020304, ev)
	if err != nil {
		t.Fatal(err)
	}
	const wantBody = `{"device":"SEP001122334455","line":"1001","callHandle":16777223,"globalCallId":4711,` +
		`"state":2,"cause":0,"reason":1,"calling":{"dn":"1002","device":"SEP00AABBCCDDEE"},` +
		`"called":{"dn":"1001"},"currentCalling":{"dn":"1002"},"currentCalled":{"dn":"1001"},` +
		`"lastRedirecting":{},"timeNs":1767225600000000000}`
	if got := string(frame[ctilink.HeaderSize:]); got != wantBody {
		t.Errorf("CallState body:\n got %s\nwant %s", got, wantBody)
	}
	wantHdr := "4354494c" + "01" + "00" + "0087" + fmt.Sprintf("%08x", len(wantBody)) + "01020304"
	if got := hex.EncodeToString(frame[:ctilink.HeaderSize]); got != wantHdr {
		t.Errorf("CallState header = %s, want %s", got, wantHdr)
	}
}

// TestUnknownFieldsIgnored: a newer peer may add fields; an older receiver
// must ignore them (forward compatibility, docs/protocol.md "Body encoding").
func TestUnknownFieldsIgnored(t *testing.T) {
	body := []byte(`{"device":"SEP1","line":"1001","futureField":{"x":[1,2,3]},"callHandle":5,"globalCallId":6,"state":8}`)
	m, err := ctilink.DecodeBody(ctilink.TypeCallState, body)
	if err != nil {
		t.Fatalf("DecodeBody: %v", err)
	}
	got := m.(ctilink.CallStateEvent)
	if got.Device != "SEP1" || got.Line != "1001" || got.CallHandle != 5 || got.GlobalCallID != 6 || got.State != ctilink.CallStateConnected {
		t.Fatalf("decoded %#v", got)
	}
}

// TestEmptyBodyIsEmptyObject: a zero-length body means {} — fine for types
// without required fields.
func TestEmptyBodyIsEmptyObject(t *testing.T) {
	for _, typ := range []ctilink.MsgType{ctilink.TypeHeartbeat, ctilink.TypeDeviceListRequest, ctilink.TypeProviderCloseRequest,
		ctilink.TypeProviderClosed, ctilink.TypeResponse, ctilink.TypeError} {
		frame := rawFrame(typ, 1, nil)
		_, m, err := ctilink.NewDecoder(bytes.NewReader(frame), 0).Next()
		if err != nil {
			t.Errorf("%s with empty body: %v", typ, err)
			continue
		}
		if m.Type() != typ {
			t.Errorf("%s decoded as %s", typ, m.Type())
		}
	}
}

// TestEncodeRejects covers what AppendFrame refuses: a nil message, a type
// the protocol does not know, and a body larger than HardMaxFrameSize. dst
// is returned unchanged in each case.
func TestEncodeRejects(t *testing.T) {
	prefix := []byte("keep")
	huge := ctilink.ErrorMessage{Text: string(bytes.Repeat([]byte("x"), ctilink.HardMaxFrameSize))}
	tests := []struct {
		name string
		msg  ctilink.Message
		want error
	}{
		{"nil", nil, ctilink.ErrInvalidMessage},
		{"unknown type", alienMessage{}, ctilink.ErrUnknownType},
		{"too large", huge, ctilink.ErrFrameTooLarge},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			out, err := ctilink.AppendFrame(append([]byte(nil), prefix...), 1, tc.msg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if string(out) != "keep" {
				t.Fatalf("dst = %q, want it unchanged", out)
			}
		})
	}
}

// alienMessage is a Message of a type this protocol version lacks.
type alienMessage struct{}

func (alienMessage) Type() ctilink.MsgType { return 0x7777 }
func (alienMessage) Validate() error       { return nil }

// TestConnWriteErrorKeepsSequence: a message that cannot be encoded is not
// sent and does not consume a sequence number, so the peer sees no gap.
func TestConnWriteErrorKeepsSequence(t *testing.T) {
	client, server := tcpPair(t)
	if _, err := client.Write(alienMessage{}); !errors.Is(err, ctilink.ErrUnknownType) {
		t.Fatalf("Write(alien) err = %v, want ErrUnknownType", err)
	}
	if _, err := client.WriteBatch(ctilink.Heartbeat{}, alienMessage{}); !errors.Is(err, ctilink.ErrUnknownType) {
		t.Fatalf("WriteBatch err = %v, want ErrUnknownType", err)
	}
	if seq, err := client.Write(ctilink.Heartbeat{}); err != nil || seq != 2 {
		t.Fatalf("Write = %d, %v; want 2 (the batch's Heartbeat took 1)", seq, err)
	}
	for want := uint32(1); want <= 2; want++ {
		h, _, err := server.Read()
		if err != nil || h.Sequence != want {
			t.Fatalf("Read: %+v %v, want seq %d", h, err, want)
		}
	}
}

// TestConnWriteTimeout: with a write timeout, a peer that stops reading
// makes Write fail with a deadline error instead of blocking forever.
func TestConnWriteTimeout(t *testing.T) {
	client, _ := tcpPair(t)
	client.SetWriteTimeout(20 * time.Millisecond)
	big := ctilink.ErrorMessage{Text: string(bytes.Repeat([]byte("y"), 4000))}
	batch := make([]ctilink.Message, 64)
	for i := range batch {
		batch[i] = big
	}
	// The kernel buffers a few MB at most; 4096 batches of 256 KB is far
	// beyond that, so the loop ends with the deadline, not by running out.
	var err error
	for i := 0; i < 4096 && err == nil; i++ {
		_, err = client.WriteBatch(batch...)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		t.Fatalf("err = %v, want a timeout", err)
	}
}

// tcpPair returns two Conns connected over 127.0.0.1.
func tcpPair(t *testing.T) (client, server *ctilink.Conn) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			close(accepted)
			return
		}
		accepted <- c
	}()
	cc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	sc, ok := <-accepted
	if !ok {
		t.Fatal("accept failed")
	}
	client, server = ctilink.NewConn(cc, 0), ctilink.NewConn(sc, 0)
	t.Cleanup(func() { client.Close(); server.Close() })
	return client, server
}

// rawFrame builds a frame by hand (for bodies AppendFrame would not produce).
func rawFrame(typ ctilink.MsgType, seq uint32, body []byte) []byte {
	b := make([]byte, ctilink.HeaderSize, ctilink.HeaderSize+len(body))
	ctilink.PutHeader(b, ctilink.Header{Version: ctilink.ProtocolVersion, Type: typ, Length: uint32(len(body)), Sequence: seq})
	return append(b, body...)
}

// mustJSON marshals v or fails the test.
func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
