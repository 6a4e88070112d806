package jetstream

import (
	"time"

	"github.com/nats-io/nats.go"
)

// entry is one buffered message. It sits in its entity's FIFO from
// enqueue until it is acked or dropped, and in the buffer's eviction list
// while it has never been sent.
type entry struct {
	msg  Message
	nm   *nats.Msg // what goes to nats.go; built once, reused on resends
	seq  uint64    // global enqueue order, from 1
	size int64
	enq  time.Time

	ent          *entity
	eprev, enext *entry // entity FIFO
	vprev, vnext *entry // eviction list (never-sent, unpinned entries)

	inflight bool
	attempts int  // sends so far; > 0 means the outcome of some send is unknown
	pinned   bool // gap records: never evicted
	gap      *gapRecord
	sentAt   time.Time
}

// evictable reports whether the entry may be dropped on overflow: only
// messages never handed to NATS. A message sent at least once may already
// be in the stream (unknown outcome), so dropping it would make a gap
// record claim a loss that may not have happened.
func (e *entry) evictable() bool { return e.attempts == 0 && !e.pinned && !e.inflight }

// entity is the per-EntityKey FIFO. At most one of its entries (the head)
// is in flight or awaiting a resend at any time: that is what keeps every
// entity's events in order in the stream whatever the server answers.
type entity struct {
	key        string
	head, tail *entry
	busy       bool // head is in flight
	queued     bool // entity is in the ready or retry queue
}

// fifo is a queue of entities (a growable ring).
type fifo struct {
	buf        []*entity
	head, size int
}

func (q *fifo) push(e *entity) {
	if q.size == len(q.buf) {
		n := 2 * len(q.buf)
		if n == 0 {
			n = 64
		}
		nb := make([]*entity, n)
		for i := 0; i < q.size; i++ {
			nb[i] = q.buf[(q.head+i)%len(q.buf)]
		}
		q.buf, q.head = nb, 0
	}
	q.buf[(q.head+q.size)%len(q.buf)] = e
	q.size++
}

func (q *fifo) pop() *entity {
	if q.size == 0 {
		return nil
	}
	e := q.buf[q.head]
	q.buf[q.head] = nil
	q.head = (q.head + 1) % len(q.buf)
	q.size--
	return e
}

// buffer holds every message between Publish and its ack (or drop). It is
// not safe for concurrent use; the Publisher guards it with its mutex.
//
// Scheduling: entities whose head can be sent wait in ready (FIFO, roughly
// enqueue order); entities whose head failed wait in retry, which is
// always served first, so a failed message is resent before anything that
// was not yet sent. The number of sent-but-unacked messages (in flight
// plus awaiting resend) therefore never exceeds the in-flight limit: new
// messages are only taken while retry is empty.
type buffer struct {
	entities map[string]*entity
	ready    fifo
	retry    fifo

	vhead, vtail *entry // eviction list, oldest first

	msgs, bytes int64 // everything buffered (queued, in flight, awaiting resend)
	// pinnedMsgs/pinnedBytes are the gap records among them: they do not
	// count against the bounds, or adding a record could evict (and so
	// report) one more message.
	pinnedMsgs, pinnedBytes int64
	inflight                int
	pending                 int // sent, unresolved or awaiting resend (inflight + retry heads)
	seq                     uint64

	maxMsgs, maxBytes int64
}

func newBuffer(maxMsgs, maxBytes int64) *buffer {
	return &buffer{entities: make(map[string]*entity), maxMsgs: maxMsgs, maxBytes: maxBytes}
}

// add appends e to its entity and returns the entries evicted to respect
// the bounds (oldest never-sent first; possibly e itself).
func (b *buffer) add(e *entry, evicted []*entry) []*entry {
	b.seq++
	e.seq = b.seq
	ent := b.entities[e.msg.EntityKey]
	if ent == nil {
		ent = &entity{key: e.msg.EntityKey}
		b.entities[ent.key] = ent
	}
	e.ent = ent
	if ent.tail == nil {
		ent.head, ent.tail = e, e
	} else {
		e.eprev = ent.tail
		ent.tail.enext = e
		ent.tail = e
	}
	b.msgs++
	b.bytes += e.size
	if e.pinned {
		b.pinnedMsgs++
		b.pinnedBytes += e.size
	} else {
		b.vpush(e)
	}
	b.markReady(ent)
	for b.over() && b.vhead != nil {
		v := b.vhead
		b.remove(v)
		evicted = append(evicted, v)
	}
	return evicted
}

func (b *buffer) over() bool {
	return (b.maxMsgs > 0 && b.msgs-b.pinnedMsgs > b.maxMsgs) || (b.maxBytes > 0 && b.bytes-b.pinnedBytes > b.maxBytes)
}

// markReady queues ent for sending if its head can go.
func (b *buffer) markReady(ent *entity) {
	if ent.head != nil && !ent.busy && !ent.queued {
		ent.queued = true
		if ent.head.attempts > 0 {
			b.retry.push(ent)
		} else {
			b.ready.push(ent)
		}
	}
}

// hasWork reports whether next would return an entry.
func (b *buffer) hasWork() bool { return b.retry.size > 0 || b.ready.size > 0 }

// retrying reports whether failed messages wait for a resend.
func (b *buffer) retrying() bool { return b.retry.size > 0 }

// next hands out the next entry to send and marks it in flight, or nil.
// Stale queue slots (entity emptied by eviction) are skipped.
func (b *buffer) next() *entry {
	for {
		q := &b.ready
		if b.retry.size > 0 {
			q = &b.retry
		}
		ent := q.pop()
		if ent == nil {
			return nil
		}
		ent.queued = false
		e := ent.head
		if e == nil || ent.busy {
			continue
		}
		if e.attempts == 0 {
			b.vremove(e)
			b.pending++
		}
		ent.busy = true
		e.inflight = true
		e.attempts++
		b.inflight++
		return e
	}
}

// acked removes an in-flight entry for good.
func (b *buffer) acked(e *entry) {
	e.inflight = false
	b.inflight--
	b.pending--
	e.ent.busy = false
	b.remove(e)
}

// failed puts an in-flight entry back at the head of its entity, to be
// resent before anything new.
func (b *buffer) failed(e *entry) {
	e.inflight = false
	b.inflight--
	e.ent.busy = false
	b.markReady(e.ent)
}

// rejected removes an entry the server refused for good (it is counted as
// dropped by the caller).
func (b *buffer) rejected(e *entry) {
	e.inflight = false
	b.inflight--
	b.pending--
	e.ent.busy = false
	b.remove(e)
}

// remove unlinks e from its entity and the eviction list and updates the
// totals. The entity is forgotten once empty and idle; a stale queue slot
// for it is skipped by next.
func (b *buffer) remove(e *entry) {
	ent := e.ent
	if e.eprev != nil {
		e.eprev.enext = e.enext
	} else {
		ent.head = e.enext
	}
	if e.enext != nil {
		e.enext.eprev = e.eprev
	} else {
		ent.tail = e.eprev
	}
	e.eprev, e.enext = nil, nil
	b.vremove(e)
	b.msgs--
	b.bytes -= e.size
	if e.pinned {
		b.pinnedMsgs--
		b.pinnedBytes -= e.size
	}
	if ent.head == nil {
		// Forget the entity; a stale slot for it in a queue is skipped by
		// next, and a later message for the key starts a new entity.
		delete(b.entities, ent.key)
		return
	}
	b.markReady(ent)
}

func (b *buffer) vpush(e *entry) {
	e.vprev = b.vtail
	e.vnext = nil
	if b.vtail != nil {
		b.vtail.vnext = e
	} else {
		b.vhead = e
	}
	b.vtail = e
}

// vremove unlinks e from the eviction list if it is on it.
func (b *buffer) vremove(e *entry) {
	if e.vprev == nil && b.vhead != e {
		return
	}
	if e.vprev != nil {
		e.vprev.vnext = e.vnext
	} else {
		b.vhead = e.vnext
	}
	if e.vnext != nil {
		e.vnext.vprev = e.vprev
	} else {
		b.vtail = e.vprev
	}
	e.vprev, e.vnext = nil, nil
}
