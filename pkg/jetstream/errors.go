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

// PublishErrorKind classifies the unknown outcomes a publish can have.
// Every kind is resent with the same Nats-Msg-Id; the kinds are counted
// (Stats.Errors) because they say what the server went through. See
// docs/jetstream.md §6 for what a NATS cluster produces during elections
// and restarts.
type PublishErrorKind int

// Publish error kinds.
const (
	// ErrKindTimeout: no ack within Config.AckTimeout (a leader or the
	// quorum lost with the message in flight; it may be stored).
	ErrKindTimeout PublishErrorKind = iota
	// ErrKindNoResponders: 503, no server holds the stream's subjects —
	// a replicated stream between two leaders, or no stream at all.
	ErrKindNoResponders
	// ErrKindDisconnected: the connection dropped with the message in
	// flight (nats.go fails every pending ack), or was down at the send.
	ErrKindDisconnected
	// ErrKindUnavailable: 10008 "JetStream system temporarily
	// unavailable" (no meta leader) and other 503 API errors.
	ErrKindUnavailable
	// ErrKindInProcess: 10158 "duplicate message id is in process" — a
	// resend reached the leader while the first send was still being
	// proposed; the next resend gets the original's ack (duplicate). A
	// proposal lost in an election can leave the id staged on a node for
	// the whole dedupe window (docs/jetstream.md, "That fix is
	// incomplete"): then every resend gets this until the window ends or
	// the stream's leader moves, which the publisher asks for
	// (Config.Stream, stuck.go).
	ErrKindInProcess
	// ErrKindOther: anything else not permanent.
	ErrKindOther
	numErrKinds
)

// errCodeDuplicateInProcess is JSStreamDuplicateMessageConflict.
const errCodeDuplicateInProcess natsjs.ErrorCode = 10158

func (k PublishErrorKind) String() string {
	switch k {
	case ErrKindTimeout:
		return "timeout"
	case ErrKindNoResponders:
		return "no_responders"
	case ErrKindDisconnected:
		return "disconnected"
	case ErrKindUnavailable:
		return "unavailable"
	case ErrKindInProcess:
		return "in_process"
	}
	return "other"
}

// classifyPublishError says which kind of unknown outcome err is.
func classifyPublishError(err error) PublishErrorKind {
	var apiErr *natsjs.APIError
	switch {
	case errors.Is(err, natsjs.ErrAsyncPublishTimeout), errors.Is(err, nats.ErrTimeout):
		return ErrKindTimeout
	case errors.Is(err, natsjs.ErrNoStreamResponse), errors.Is(err, nats.ErrNoResponders):
		return ErrKindNoResponders
	case errors.Is(err, nats.ErrDisconnected), errors.Is(err, nats.ErrReconnectBufExceeded), errors.Is(err, nats.ErrConnectionClosed):
		return ErrKindDisconnected
	case errors.As(err, &apiErr) && apiErr.ErrorCode == errCodeDuplicateInProcess:
		return ErrKindInProcess
	case errors.As(err, &apiErr) && (apiErr.ErrorCode == errCodeClusterNotAvailable || apiErr.Code == 503):
		return ErrKindUnavailable
	}
	return ErrKindOther
}

// PublishErrors counts a publisher's unknown outcomes by kind.
type PublishErrors [numErrKinds]uint64

// Map returns the non-zero counts by kind name (for /status and logs).
func (e PublishErrors) Map() map[string]uint64 {
	m := map[string]uint64{}
	for k, n := range e {
		if n > 0 {
			m[PublishErrorKind(k).String()] = n
		}
	}
	return m
}
