package jetstream

import (
	"errors"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// Sentinel errors.
var (
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("jetstream: publisher closed")
	// ErrRunning is returned by Run when the publisher already runs.
	ErrRunning = errors.New("jetstream: publisher already running")
	// ErrInvalidMessage is wrapped by Publish for a message without a
	// subject or an id.
	ErrInvalidMessage = errors.New("jetstream: invalid message")
	// ErrNotRunning is returned by Embedded methods that need a started
	// server.
	ErrNotRunning = errors.New("jetstream: embedded server not running")
)

// permanent reports whether a publish error means the server (or the
// client library) will refuse this message whatever the number of
// attempts: resending it would block its entity forever. Everything else
// (disconnects, timeouts, no responders while a stream is loading, 429
// ingest limits, storage pressure) is an unknown outcome and is resent
// with the same Nats-Msg-Id.
func permanent(err error) bool {
	switch {
	case errors.Is(err, nats.ErrMaxPayload),
		errors.Is(err, nats.ErrBadSubject),
		errors.Is(err, nats.ErrHeadersNotSupported),
		errors.Is(err, natsjs.ErrStreamMessageExceedsMaximum):
		return true
	}
	return false
}
