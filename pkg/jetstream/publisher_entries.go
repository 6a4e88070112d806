package jetstream

import (
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Entries are reused: at a steady rate each message would otherwise cost
// an entry (with its first *nats.Msg, about 400 bytes) of garbage. An
// entry goes back to the spare list only once nothing can refer to it:
//
//   - acked or rejected for good: it has left the buffer and the inflight
//     map, and nats.go calls back once per send (a resend happens only
//     after the previous send's outcome), so no callback can still name
//     its *nats.Msg;
//   - evicted: it was never handed to nats.go.
//
// Everything about an entry happens under p.mu, except the sender reading
// e.nm of in-flight entries, which cannot be freed before their outcome.

// maxSpareEntries bounds the spare list (about 400 KB at most).
const maxSpareEntries = 1024

// newEntryLocked prepares a message for the buffer. The *nats.Msg of the
// first send is part of the entry; a resend gets a fresh one (takeLocked).
func (p *Publisher) newEntryLocked(msg Message, size int64, enq time.Time, lease schema.Lease) *entry {
	var e *entry
	if n := len(p.spare); n > 0 {
		e = p.spare[n-1]
		p.spare[n-1] = nil
		p.spare = p.spare[:n-1]
	} else {
		e = new(entry)
	}
	*e = entry{msg: msg, size: size, enq: enq, lease: lease}
	e.first = nats.Msg{Subject: msg.Subject, Header: msg.Header, Data: msg.Data}
	e.nm = &e.first
	return e
}

// freeLocked ends an entry's life: the message's memory goes back to the
// encoder (for messages the publisher encoded itself) and the entry to
// the spare list. See above for when it may be called.
func (p *Publisher) freeLocked(e *entry) {
	e.lease.Release()
	*e = entry{}
	if len(p.spare) < maxSpareEntries {
		p.spare = append(p.spare, e)
	}
}
