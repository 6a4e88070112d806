package schema

import "sync"

// The memory behind an encoded message's Header and Data is the bulk of
// what Encode allocates (a 15-key map is four allocations, the data about
// 0.7 KB). A publisher holds each message until the stream acknowledges
// it and can then say so with Msg.Release, so that the next Encode reuses
// the memory instead of making garbage for the collector. The strings of
// a message (Subject, ID, EntityKey and the header values) are never
// reused: they are immutable and may outlive the message (map keys, logs,
// gap records), so each Encode still allocates them, once, in one block.

// maxHeaders is the most headers a message carries: 14 ce- headers and
// Nats-Msg-Id in binary mode.
const maxHeaders = 15

// hdrHint sizes a new binary-mode header map. A hint of 14 gives a table
// of 16 slots, which holds 14 keys (the usual count: traceparent is rare);
// a hint of 15 would double the table for every message. A message with
// all 15 headers grows its map once, and the grown map is then reused.
const hdrHint = maxHeaders - 1

// maxPooledData bounds the data buffer kept for reuse: an unusually large
// event's buffer is left to the collector rather than pinned in the pool.
const maxPooledData = 64 << 10

// msgMem is the reusable memory of one message. A header value is a
// one-element slice of vals, so the whole header costs no allocation
// beyond the map itself.
type msgMem struct {
	hdr  map[string][]string
	data []byte
	vals [maxHeaders]string
	// gen counts the leases of this memory: a Lease whose gen differs
	// belongs to an earlier message and must not release it again.
	gen uint64
	// leased is set from Encode until Release.
	leased bool
}

var memPool = sync.Pool{New: func() any { return new(msgMem) }}

// getMem leases memory for a message with n headers.
func getMem(n int) *msgMem {
	m := memPool.Get().(*msgMem)
	if m.hdr == nil {
		m.hdr = make(map[string][]string, n)
	}
	m.gen++
	m.leased = true
	return m
}

// setData copies data into the message's own buffer.
func (m *msgMem) setData(data []byte) []byte {
	m.data = append(m.data[:0], data...)
	return m.data[:len(m.data):len(m.data)]
}

// header sets one header value.
func (m *msgMem) header(i int, key, v string) {
	m.vals[i] = v
	m.hdr[key] = m.vals[i : i+1 : i+1]
}

// Lease is the claim of one encoded message on the reusable memory behind
// its Header and Data (see Msg.Release). The zero Lease releases nothing.
// It is small and copyable, so a publisher can keep it beside the
// message it built from the Msg.
type Lease struct {
	mem *msgMem
	gen uint64
}

// Lease returns the message's claim on its memory, to be released later
// with Lease.Release (instead of Msg.Release) by whoever owns it last.
func (m *Msg) Lease() Lease { return Lease{mem: m.mem, gen: m.gen} }

// Release hands the memory behind the message's Header (the map and its
// value slices) and Data back to the Encoder for a later message. Call it
// only once nothing refers to that memory any more: not the Header map,
// not the Data slice, not a nats.Msg built from them, and not while NATS
// may still send them again. Strings taken from the message stay valid.
// Releasing is optional (unreleased memory is simply collected); a second
// Release of the same message, or of a Msg not made by Encode, does
// nothing.
func (l Lease) Release() {
	m := l.mem
	if m == nil || !m.leased || m.gen != l.gen {
		return
	}
	m.leased = false
	clear(m.hdr) // no stale references to this message's strings
	clear(m.vals[:])
	if cap(m.data) > maxPooledData {
		m.data = nil
	}
	memPool.Put(m)
}

// Release releases the message's memory (see Lease.Release) and clears
// Header and Data, which must not be used afterwards.
func (m *Msg) Release() {
	l := m.Lease()
	m.mem, m.Header, m.Data = nil, nil, nil
	l.Release()
}
