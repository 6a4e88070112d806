package ctilink

import (
	"bufio"
	"errors"
	"net"
	"sync"
	"time"
	"unicode/utf8"
)

// Conn carries link frames over a net.Conn. Reads must come from one
// goroutine; writes may come from several (they are serialised, and each
// frame gets the next outbound sequence number).
type Conn struct {
	nc  net.Conn
	dec *Decoder

	mu      sync.Mutex // guards the following fields
	w       *bufio.Writer
	seq     uint32
	scratch []byte
	// WriteTimeout bounds each write; zero means none.
	writeTimeout time.Duration
}

// NewConn wraps nc. maxBody bounds inbound frame bodies (zero:
// DefaultMaxFrameSize).
func NewConn(nc net.Conn, maxBody int) *Conn {
	return &Conn{
		nc:  nc,
		dec: NewDecoder(bufio.NewReaderSize(nc, 32<<10), maxBody),
		w:   bufio.NewWriterSize(nc, 32<<10),
	}
}

// SetWriteTimeout bounds every subsequent write.
func (c *Conn) SetWriteTimeout(d time.Duration) {
	c.mu.Lock()
	c.writeTimeout = d
	c.mu.Unlock()
}

// NetConn returns the underlying connection.
func (c *Conn) NetConn() net.Conn { return c.nc }

// Read returns the next frame's header and message. See Decoder.Next for
// the error contract.
func (c *Conn) Read() (Header, Message, error) { return c.dec.Next() }

// Write sends msg in one frame and flushes. It returns the sequence number
// the frame carried.
func (c *Conn) Write(msg Message) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	seq, err := c.writeLocked(msg)
	if err != nil {
		return seq, err
	}
	return seq, c.w.Flush()
}

// WriteBatch sends several messages and flushes once; it returns the
// sequence number of the last one.
func (c *Conn) WriteBatch(msgs ...Message) (uint32, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	var seq uint32
	for _, m := range msgs {
		var err error
		if seq, err = c.writeLocked(m); err != nil {
			return seq, err
		}
	}
	return seq, c.w.Flush()
}

func (c *Conn) writeLocked(msg Message) (uint32, error) {
	if c.writeTimeout > 0 {
		_ = c.nc.SetWriteDeadline(time.Now().Add(c.writeTimeout))
	}
	next := c.seq + 1
	var err error
	c.scratch, err = AppendFrame(c.scratch[:0], next, msg)
	if err != nil {
		return 0, err
	}
	if _, err := c.w.Write(c.scratch); err != nil {
		return 0, err
	}
	c.seq = next
	if cap(c.scratch) > 64<<10 {
		c.scratch = nil
	}
	return next, nil
}

// Close closes the connection.
func (c *Conn) Close() error { return c.nc.Close() }

// ErrorFor turns a per-frame decode error into the Error message that
// answers it.
func ErrorFor(h Header, err error) ErrorMessage {
	code := ErrCodeUnexpected
	switch {
	case errors.Is(err, ErrUnknownType):
		code = ErrCodeUnknownType
	case errors.Is(err, ErrMalformedBody):
		code = ErrCodeMalformed
	case errors.Is(err, ErrInvalidMessage):
		code = ErrCodeInvalidMessage
	case errors.Is(err, ErrFrameTooLarge):
		code = ErrCodeFrameTooLarge
	case errors.Is(err, ErrVersion):
		code = ErrCodeVersion
	case errors.Is(err, ErrBadMagic):
		code = ErrCodeBadMagic
	}
	return ErrorMessage{ReqSeq: h.Sequence, Code: code, Text: truncateUTF8(err.Error(), 512)}
}

// truncateUTF8 cuts s to at most n bytes without splitting a UTF-8 sequence:
// a split rune would reach the peer as U+FFFD (encoding/json replaces
// invalid UTF-8).
func truncateUTF8(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
