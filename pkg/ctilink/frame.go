package ctilink

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// Frame layout constants. Every frame is a 16-byte big-endian header followed
// by a body of Length bytes:
//
//	offset size field
//	0      4    magic "CTIL" (0x4354494C)
//	4      1    protocol version (ProtocolVersion)
//	5      1    flags (reserved, must be 0)
//	6      2    message type (MsgType)
//	8      4    body length in bytes
//	12     4    sequence (per session and direction, starts at 1)
const (
	Magic           uint32 = 0x4354494C // "CTIL"
	ProtocolVersion uint8  = 1
	HeaderSize             = 16

	// DefaultMaxFrameSize bounds the body of one frame. Device lists are
	// paginated so that no legitimate message needs more.
	DefaultMaxFrameSize = 256 << 10
	// HardMaxFrameSize is the largest limit a reader accepts; a configured
	// limit above it is clamped.
	HardMaxFrameSize = 4 << 20
)

// Sentinel errors. Fatal errors (the byte stream cannot be resynchronised)
// are marked by IsFatal; the others concern one frame and the stream stays
// usable.
var (
	ErrBadMagic       = errors.New("ctilink: bad magic (not a CTI link stream)")
	ErrVersion        = errors.New("ctilink: unsupported protocol version")
	ErrFlags          = errors.New("ctilink: reserved header flags set")
	ErrFrameTooLarge  = errors.New("ctilink: frame exceeds maximum size")
	ErrUnknownType    = errors.New("ctilink: unknown message type")
	ErrMalformedBody  = errors.New("ctilink: malformed message body")
	ErrInvalidMessage = errors.New("ctilink: invalid message")
)

// IsFatal reports whether err means the stream is unusable and the
// connection must be closed. Per-frame errors (unknown type, malformed or
// invalid body) are not fatal: the frame was consumed whole and the next one
// can be read.
func IsFatal(err error) bool {
	if err == nil {
		return false
	}
	return !(errors.Is(err, ErrUnknownType) || errors.Is(err, ErrMalformedBody) || errors.Is(err, ErrInvalidMessage))
}

// Header is the fixed part of a frame.
type Header struct {
	Version  uint8
	Flags    uint8
	Type     MsgType
	Length   uint32
	Sequence uint32
}

// PutHeader writes h into b, which must be at least HeaderSize long.
func PutHeader(b []byte, h Header) {
	binary.BigEndian.PutUint32(b[0:4], Magic)
	b[4] = h.Version
	b[5] = h.Flags
	binary.BigEndian.PutUint16(b[6:8], uint16(h.Type))
	binary.BigEndian.PutUint32(b[8:12], h.Length)
	binary.BigEndian.PutUint32(b[12:16], h.Sequence)
}

// ParseHeader decodes and checks a header. maxBody is the largest body the
// caller accepts; zero means DefaultMaxFrameSize.
func ParseHeader(b []byte, maxBody int) (Header, error) {
	if len(b) < HeaderSize {
		return Header{}, fmt.Errorf("ctilink: short header (%d bytes): %w", len(b), io.ErrUnexpectedEOF)
	}
	if m := binary.BigEndian.Uint32(b[0:4]); m != Magic {
		return Header{}, fmt.Errorf("%w: got 0x%08X", ErrBadMagic, m)
	}
	h := Header{
		Version:  b[4],
		Flags:    b[5],
		Type:     MsgType(binary.BigEndian.Uint16(b[6:8])),
		Length:   binary.BigEndian.Uint32(b[8:12]),
		Sequence: binary.BigEndian.Uint32(b[12:16]),
	}
	if h.Version != ProtocolVersion {
		return h, fmt.Errorf("%w: %d (this side speaks %d)", ErrVersion, h.Version, ProtocolVersion)
	}
	if h.Flags != 0 {
		return h, fmt.Errorf("%w: 0x%02X", ErrFlags, h.Flags)
	}
	if int64(h.Length) > int64(clampMax(maxBody)) {
		return h, fmt.Errorf("%w: %d bytes, limit %d", ErrFrameTooLarge, h.Length, clampMax(maxBody))
	}
	return h, nil
}

func clampMax(n int) int {
	switch {
	case n <= 0:
		return DefaultMaxFrameSize
	case n > HardMaxFrameSize:
		return HardMaxFrameSize
	}
	return n
}

// AppendFrame appends a complete frame (header and body) for msg to dst.
func AppendFrame(dst []byte, seq uint32, msg Message) ([]byte, error) {
	start := len(dst)
	dst = append(dst, make([]byte, HeaderSize)...)
	var err error
	dst, err = appendBody(dst, msg)
	if err != nil {
		return dst[:start], err
	}
	body := len(dst) - start - HeaderSize
	if body > HardMaxFrameSize {
		return dst[:start], fmt.Errorf("%w: encoding %s needs %d bytes", ErrFrameTooLarge, msg.Type(), body)
	}
	PutHeader(dst[start:], Header{Version: ProtocolVersion, Type: msg.Type(), Length: uint32(body), Sequence: seq})
	return dst, nil
}

// Decoder reads frames from a byte stream. It never allocates more than the
// configured maximum body size per frame, whatever the header claims.
type Decoder struct {
	r       io.Reader
	maxBody int
	hdr     [HeaderSize]byte
	buf     []byte
}

// NewDecoder returns a Decoder reading from r with the given body limit
// (zero means DefaultMaxFrameSize).
func NewDecoder(r io.Reader, maxBody int) *Decoder {
	return &Decoder{r: r, maxBody: clampMax(maxBody)}
}

// Next reads one frame and decodes its message. On a per-frame error
// (IsFatal false) the header is returned along with the error so that the
// caller can answer the offending sequence number. An oversized frame is
// fatal: its body is not read.
func (d *Decoder) Next() (Header, Message, error) {
	if _, err := io.ReadFull(d.r, d.hdr[:]); err != nil {
		return Header{}, nil, err
	}
	h, err := ParseHeader(d.hdr[:], d.maxBody)
	if err != nil {
		return h, nil, err
	}
	n := int(h.Length)
	if cap(d.buf) < n {
		d.buf = make([]byte, n)
	}
	body := d.buf[:n]
	if _, err := io.ReadFull(d.r, body); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return h, nil, fmt.Errorf("ctilink: reading %d-byte body of %s: %w", n, h.Type, err)
	}
	msg, err := DecodeBody(h.Type, body)
	return h, msg, err
}
