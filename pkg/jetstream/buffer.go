package jetstream

import (
	"time"

	"github.com/nats-io/nats.go"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// entry is one buffered message. It sits in its entity's FIFO from
// enqueue until it is acked or dropped, and in the buffer's eviction list
// while it has never been sent.
type entry struct {
	msg  Message
	nm   *nats.Msg // what goes to nats.go: &first, then a fresh one per resend
	seq  uint64    // global enqueue order, from 1
	size int64
	enq  time.Time
	// received is when the event's CTI frame was read (Emit; zero for
	// other messages), for Config.EventLatency.
	received time.Time
	// first is the *nats.Msg of the first send, kept inside the entry to
	// save an allocation per message.
	first nats.Msg
	// lease is the claim on the encoder's memory behind msg.Header and
	// msg.Data (messages the publisher encoded itself: Emit, gap records).
	lease schema.Lease

	ent          *entity
	eprev, enext *entry // entity FIFO
	evict        link   // eviction list (never-sent, unpinned entries)
	send         link   // send list (never-sent entries, gap records too)

	inflight bool
	attempts int    // sends so far; > 0 means the outcome of some send is unknown
	order    uint64 // when it was last sent (buffer.sent)
	pinned   bool   // gap records: never evicted
	gap      *gapRecord
	// laterStored: a later message of the same entity was stored while
	// this one was unresolved (possible only in pipelined mode). If this
	// one is then stored as new, the entity's order was broken.
	laterStored bool
	// inProcessSince is when the sends of this message started being
	// refused "in process", one after the other (stuck.go); zero if the
	// last send was not.
	inProcessSince time.Time
}

// entity is the per-EntityKey FIFO of unacknowledged messages. In safe
// mode at most one of its entries (the head) is in flight or awaiting a
// resend: that keeps the entity's events in order whatever the server
// answers.
type entity struct {
	key        string
	head, tail *entry
	inflight   int  // entries in flight
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
// Scheduling has two modes.
//
// Pipelined mode (the normal case): messages go out strictly in enqueue
// order, several per entity in flight, so the stream holds the events in
// the order they were produced across all entities. One connection keeps
// them in order on the server, and after a disconnect the stored ones are a
// prefix of what was sent, so resending the failed ones in order keeps the
// order too (the stored prefix is deduplicated by Nats-Msg-Id).
//
// Safe mode, from a failed publish until every message sent before the
// latest failure and every resend has been resolved (under steady traffic
// "everything sent resolved" would rarely happen, and a busy entity — a
// route point, a hunt pilot — would stay limited to one message per round
// trip long after the failures ended): entities whose head can be sent wait in ready (FIFO, roughly
// enqueue order); entities whose head failed wait in retry, which is
// always served first, so a failed message is resent before anything that
// was not yet sent; and an entity sends only its head, only when none of
// its messages is in flight. The one case pipelining cannot undo — the
// server refusing a message (503/429) while storing a later one of the same
// entity that was already in flight — is detected (laterStored) and
// counted in Stats.Reordered, never hidden. The number of sent-but-unacked
// messages never exceeds the in-flight limit: new messages are only taken
// while retry is empty.
type buffer struct {
	entities map[string]*entity
	ready    fifo
	retry    fifo

	send entryList // never-sent entries, oldest first
	safe bool
	// strict keeps safe mode for good (serializeEntities).
	strict   bool
	awaiting int // failed entries awaiting their resend

	evict entryList // never-sent, unpinned entries, oldest first

	msgs, bytes int64 // everything buffered (queued, in flight, awaiting resend)
	// pinnedMsgs/pinnedBytes are the gap records among them: they do not
	// count against the bounds, or adding a record could evict (and so
	// report) one more message.
	pinnedMsgs, pinnedBytes int64
	inflight                int
	pending                 int // sent, unresolved or awaiting resend (inflight + retry heads)
	seq                     uint64
	// sent numbers the sends; mark is sent at the latest failure, legacy
	// the sends up to mark still unresolved, resending the resends in
	// flight. Safe mode ends when legacy, resending and awaiting are 0.
	sent      uint64
	mark      uint64
	legacy    int
	resending int

	maxMsgs, maxBytes int64

	// spare holds forgotten entities for reuse. At a steady rate most
	// messages find their entity gone (its previous message already
	// acked), so without it nearly every message would allocate one.
	spare []*entity
}

// maxSpare bounds the spare entities kept.
const maxSpare = 256

func newBuffer(maxMsgs, maxBytes int64) *buffer {
	return &buffer{
		entities: make(map[string]*entity), maxMsgs: maxMsgs, maxBytes: maxBytes,
		evict: entryList{on: func(e *entry) *link { return &e.evict }},
		send:  entryList{on: func(e *entry) *link { return &e.send }},
	}
}

// add appends e to its entity and returns the entries evicted to respect
// the bounds (oldest never-sent first; possibly e itself).
func (b *buffer) add(e *entry, evicted []*entry) []*entry {
	b.seq++
	e.seq = b.seq
	ent := b.entities[e.msg.EntityKey]
	if ent == nil {
		if n := len(b.spare); n > 0 {
			ent = b.spare[n-1]
			b.spare[n-1] = nil
			b.spare = b.spare[:n-1]
			ent.key = e.msg.EntityKey
		} else {
			ent = &entity{key: e.msg.EntityKey}
		}
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
	b.send.push(e)
	if e.pinned {
		b.pinnedMsgs++
		b.pinnedBytes += e.size
	} else {
		b.evict.push(e)
	}
	b.markReady(ent)
	for b.over() && b.evict.head != nil {
		v := b.evict.head
		b.remove(v)
		evicted = append(evicted, v)
	}
	return evicted
}

func (b *buffer) over() bool {
	return (b.maxMsgs > 0 && b.msgs-b.pinnedMsgs > b.maxMsgs) || (b.maxBytes > 0 && b.bytes-b.pinnedBytes > b.maxBytes)
}

// markReady queues ent for sending if its head can go. The queues serve
// safe mode only: pipelined mode sends from the send list.
func (b *buffer) markReady(ent *entity) {
	if !b.safe {
		return
	}
	if ent.head != nil && ent.inflight == 0 && !ent.queued {
		ent.queued = true
		if ent.head.attempts > 0 {
			b.retry.push(ent)
		} else {
			b.ready.push(ent)
		}
	}
}

// pipelined reports (and switches to) the mode: safe mode ends once every
// message sent before the latest failure, and every resend, has been
// resolved. Messages sent since, one per entity, may still be in flight:
// pipelining past them is what pipelined mode always does.
func (b *buffer) pipelined() bool {
	if b.safe && !b.strict && b.legacy == 0 && b.resending == 0 && b.awaiting == 0 {
		b.safe = false
		b.ready, b.retry = fifo{}, fifo{}
		for _, ent := range b.entities {
			ent.queued = false
		}
	}
	return !b.safe
}

// serializeEntities keeps the buffer in safe mode for good: each entity
// has at most one message in flight at any time, so its order in the
// stream holds whatever the server answers. Call it before the first add.
func (b *buffer) serializeEntities() {
	b.strict, b.safe = true, true
}

// enterSafe switches to safe mode, queueing every entity with a message
// to send in the order of its oldest unsent message.
func (b *buffer) enterSafe() {
	if b.safe {
		return
	}
	b.safe = true
	for e := b.send.head; e != nil; e = e.send.next {
		b.markReady(e.ent)
	}
}

// next hands out the next entry to send and marks it in flight, or nil.
// Stale queue slots (entity emptied by eviction) are skipped.
func (b *buffer) next() *entry {
	if b.pipelined() {
		e := b.send.head
		if e != nil {
			b.take(e)
		}
		return e
	}
	for {
		q := &b.ready
		if b.retry.size > 0 {
			q = &b.retry
		} else if b.awaiting > 0 {
			// A failed message whose entity still has one in flight: nothing
			// new goes out before it is resent.
			return nil
		}
		ent := q.pop()
		if ent == nil {
			return nil
		}
		ent.queued = false
		e := ent.head
		if e == nil || ent.inflight > 0 {
			continue
		}
		b.take(e)
		return e
	}
}

// take marks e in flight.
func (b *buffer) take(e *entry) {
	if e.attempts == 0 {
		b.evict.remove(e)
		b.send.remove(e)
		b.pending++
	} else {
		b.awaiting--
		b.resending++
	}
	b.sent++
	e.order = b.sent
	e.ent.inflight++
	e.inflight = true
	e.attempts++
	b.inflight++
}

// acked removes an in-flight entry for good. It reports whether the
// entity's order was broken: e was stored as new after a later message of
// its entity had been stored.
func (b *buffer) acked(e *entry, duplicate bool) (reordered bool) {
	b.resolvedSend(e)
	e.inflight = false
	b.inflight--
	b.pending--
	e.ent.inflight--
	reordered = e.laterStored && !duplicate
	if p := e.eprev; p != nil {
		p.laterStored = true
	}
	b.remove(e)
	return reordered
}

// failed puts an in-flight entry back in its entity, to be resent before
// anything new, and switches to safe mode.
func (b *buffer) failed(e *entry) {
	b.resolvedSend(e)
	e.inflight = false
	b.inflight--
	e.ent.inflight--
	b.awaiting++
	// Everything still in flight was sent before this failure.
	b.mark, b.legacy = b.sent, b.inflight
	b.enterSafe()
	b.markReady(e.ent)
}

// rejected removes an entry the server refused for good (it is counted as
// dropped by the caller).
func (b *buffer) rejected(e *entry) {
	b.resolvedSend(e)
	e.inflight = false
	b.inflight--
	b.pending--
	e.ent.inflight--
	b.remove(e)
}

// resolvedSend accounts for the outcome of e's latest send.
func (b *buffer) resolvedSend(e *entry) {
	if e.order <= b.mark && b.legacy > 0 {
		b.legacy--
	}
	if e.attempts > 1 {
		b.resending--
	}
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
	e.ent = nil // the entity may be reused for another key below
	b.evict.remove(e)
	b.send.remove(e)
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
		// Reuse it only in pipelined mode: the queues are empty then
		// (pipelined() resets them), so no stale slot can point at it. In
		// safe mode one may, and the entity reused for another key would
		// be served from that slot, out of its turn.
		if !b.safe && len(b.spare) < maxSpare {
			*ent = entity{}
			b.spare = append(b.spare, ent)
		}
		return
	}
	b.markReady(ent)
}

// link is an entry's place in one entryList.
type link struct{ prev, next *entry }

// entryList is an intrusive doubly linked list of entries; on selects
// which of an entry's links it uses, so one entry can sit in several lists.
type entryList struct {
	head, tail *entry
	on         func(*entry) *link
}

func (l *entryList) push(e *entry) {
	el := l.on(e)
	el.prev, el.next = l.tail, nil
	if l.tail != nil {
		l.on(l.tail).next = e
	} else {
		l.head = e
	}
	l.tail = e
}

// remove unlinks e if it is in the list.
func (l *entryList) remove(e *entry) {
	el := l.on(e)
	if el.prev == nil && l.head != e {
		return
	}
	if el.prev != nil {
		l.on(el.prev).next = el.next
	} else {
		l.head = el.next
	}
	if el.next != nil {
		l.on(el.next).prev = el.prev
	} else {
		l.tail = el.prev
	}
	el.prev, el.next = nil, nil
}
