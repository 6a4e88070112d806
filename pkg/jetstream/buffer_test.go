package jetstream

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
)

func bentry(key string, id string, size int64) *entry {
	return &entry{msg: Message{Subject: key + ".Ev", ID: id, EntityKey: key}, size: size}
}

func ids(es []*entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.msg.ID)
	}
	return out
}

// drain takes every entry next hands out now.
func drain(b *buffer) []*entry {
	var out []*entry
	for e := b.next(); e != nil; e = b.next() {
		out = append(out, e)
	}
	return out
}

func TestBufferPipelinesInEnqueueOrder(t *testing.T) {
	b := newBuffer(0, 0)
	a1, a2, b1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1)
	for _, e := range []*entry{a1, a2, b1} {
		b.add(e, nil)
	}
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "a2", "b1"}) {
		t.Fatalf("pipelined mode sends in enqueue order across entities, got %v", got)
	}
	for _, e := range []*entry{a1, a2, b1} {
		if b.acked(e, false) {
			t.Fatalf("%s reported as reordered", e.msg.ID)
		}
	}
	if b.msgs != 0 || b.inflight != 0 || b.pending != 0 || len(b.entities) != 0 {
		t.Fatalf("not empty: msgs %d inflight %d pending %d entities %d", b.msgs, b.inflight, b.pending, len(b.entities))
	}
}

// At a steady rate most messages find their entity gone (its previous
// message acked): entities are reused then, and a reused one must serve
// its new key only.
func TestBufferReusesEntitiesInPipelinedMode(t *testing.T) {
	b := newBuffer(0, 0)
	for round := range 3 {
		var es []*entry
		for _, k := range []string{"A", "B", "C"} {
			e := bentry(fmt.Sprintf("%s%d", k, round), fmt.Sprintf("%s%d-1", k, round), 1)
			es = append(es, e)
			b.add(e, nil)
		}
		for k, ent := range b.entities {
			if ent.key != k || ent.head == nil || ent.head.msg.EntityKey != k {
				t.Fatalf("round %d: entity under %q has key %q", round, k, ent.key)
			}
		}
		if got := ids(drain(b)); !slices.Equal(got, ids(es)) {
			t.Fatalf("round %d: sent %v", round, got)
		}
		for _, e := range es {
			b.acked(e, false)
		}
		if len(b.entities) != 0 {
			t.Fatalf("round %d: %d entities left after every ack", round, len(b.entities))
		}
		if round > 0 && len(b.spare) != 3 {
			t.Fatalf("round %d: %d spare entities, want the 3 reused ones back", round, len(b.spare))
		}
	}
}

// A disconnect fails everything in flight: safe mode resends the failed
// messages first, one per entity, in order; new messages follow.
func TestBufferDisconnectResendsInOrderThenPipelinesAgain(t *testing.T) {
	b := newBuffer(0, 0)
	a1, a2, b1, c1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1), bentry("C", "c1", 1)
	b.add(a1, nil)
	b.add(a2, nil)
	b.add(b1, nil)
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "a2", "b1"}) {
		t.Fatalf("got %v", got)
	}
	b.add(c1, nil)
	b.failed(a1)
	b.failed(a2)
	b.failed(b1)
	// a1 and b1 go again; a2 waits for a1, and c1 (never sent) for every
	// failed message to be resent.
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("after the failures: %v", got)
	}
	if a1.attempts != 2 || b.pending != 3 {
		t.Fatalf("attempts %d pending %d", a1.attempts, b.pending)
	}
	// a1 had been stored before the disconnect: its resend is a duplicate.
	if b.acked(a1, true) {
		t.Fatal("a duplicate ack reported as a reorder")
	}
	if got := ids(drain(b)); !slices.Equal(got, []string{"a2", "c1"}) {
		t.Fatalf("after a1 resolved: %v", got)
	}
	b.acked(a2, false)
	b.acked(b1, false)
	b.acked(c1, false)
	// Everything resolved: pipelined again.
	d1, d2 := bentry("D", "d1", 1), bentry("D", "d2", 1)
	b.add(d1, nil)
	b.add(d2, nil)
	if got := ids(drain(b)); !slices.Equal(got, []string{"d1", "d2"}) {
		t.Fatalf("back in pipelined mode: %v", got)
	}
}

// The server refuses a1 but stores a2, already in flight: the entity's
// order is broken and that is reported when a1 is finally stored as new.
func TestBufferReportsReorderAfterRefusal(t *testing.T) {
	b := newBuffer(0, 0)
	a1, a2 := bentry("A", "a1", 1), bentry("A", "a2", 1)
	b.add(a1, nil)
	b.add(a2, nil)
	drain(b)
	b.failed(a1)
	if b.acked(a2, false) {
		t.Fatal("a2 itself is in order")
	}
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("got %v", got)
	}
	if !b.acked(a1, false) {
		t.Fatal("a1 stored after a2 not reported")
	}
}

func TestBufferEvictsOldestNeverSent(t *testing.T) {
	b := newBuffer(3, 0)
	a1, a2, b1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1)
	b.add(a1, nil)
	b.add(a2, nil)
	b.add(b1, nil)
	if e := b.next(); e != a1 {
		t.Fatalf("next %v", e.msg.ID)
	}
	b.failed(a1) // sent once: outcome unknown, never evicted
	ev := b.add(bentry("B", "b2", 1), nil)
	if got := ids(ev); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("evicted %v, want the oldest never-sent a2", got)
	}
	ev = b.add(bentry("C", "c1", 1), nil)
	if got := ids(ev); !slices.Equal(got, []string{"b1"}) {
		t.Fatalf("evicted %v, want b1", got)
	}
	if b.msgs != 3 {
		t.Fatalf("msgs %d", b.msgs)
	}
	// Entity B lost its head b1: b2 is now sendable; A resends a1 first.
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "b2", "c1"}) {
		t.Fatalf("got %v", got)
	}
}

func TestBufferOverflowDropsNewWhenAllSent(t *testing.T) {
	b := newBuffer(2, 0)
	b.add(bentry("A", "a1", 1), nil)
	b.add(bentry("B", "b1", 1), nil)
	drain(b)
	ev := b.add(bentry("C", "c1", 1), nil)
	if got := ids(ev); !slices.Equal(got, []string{"c1"}) {
		t.Fatalf("evicted %v: with everything in flight the newcomer must go", got)
	}
	if b.msgs != 2 || len(b.entities) != 2 {
		t.Fatalf("msgs %d entities %d", b.msgs, len(b.entities))
	}
}

func TestBufferBytesBoundAndPinned(t *testing.T) {
	b := newBuffer(0, 100)
	b.add(bentry("A", "a1", 60), nil)
	ev := b.add(bentry("A", "a2", 60), nil)
	if got := ids(ev); !slices.Equal(got, []string{"a1"}) {
		t.Fatalf("evicted %v", got)
	}
	g := bentry("G", "gap", 500)
	g.pinned = true
	if ev := b.add(g, nil); len(ev) != 0 {
		t.Fatalf("a gap record evicted %v", ids(ev))
	}
	if got := ids(drain(b)); !slices.Equal(got, []string{"a2", "gap"}) {
		t.Fatalf("got %v", got)
	}
}

// A long random run against a model of one connection: acks come in send
// order; a failure is a disconnect that fails everything in flight after
// the server stored a random prefix of it. Per entity, the stored order
// must be Publish order minus the dropped messages, with no reorder
// reported; a sent message is never dropped; the pending count respects
// the caller's limit.
func TestBufferRandomizedModel(t *testing.T) {
	t.Run("pipelined", func(t *testing.T) { bufferRandomizedModel(t, false) })
	t.Run("serialized", func(t *testing.T) { bufferRandomizedModel(t, true) })
}

func bufferRandomizedModel(t *testing.T, serialized bool) {
	const maxInFlight = 8
	r := rand.New(rand.NewPCG(1, 2))
	b := newBuffer(40, 0)
	if serialized {
		b.serializeEntities()
	}
	var inflight []*entry // send order
	added := map[string][]string{}
	stored := map[string][]string{}
	isStored := map[string]bool{}
	dropped := map[string]bool{}
	n := 0
	ack := func(e *entry) {
		dup := isStored[e.msg.ID]
		if !dup {
			isStored[e.msg.ID] = true
			stored[e.msg.EntityKey] = append(stored[e.msg.EntityKey], e.msg.ID)
		}
		if b.acked(e, dup) {
			t.Fatalf("%s reported as reordered on a single connection", e.msg.ID)
		}
	}
	for step := 0; step < 20000; step++ {
		switch op := r.IntN(10); {
		case op < 4:
			key := fmt.Sprintf("E%d", r.IntN(6))
			e := bentry(key, fmt.Sprintf("m%d", n), 1)
			n++
			added[key] = append(added[key], e.msg.ID)
			for _, v := range b.add(e, nil) {
				if v.attempts != 0 {
					t.Fatalf("evicted %s after it was sent", v.msg.ID)
				}
				dropped[v.msg.ID] = true
			}
		case op < 6:
			for b.inflight < maxInFlight {
				e := b.next()
				if e == nil {
					break
				}
				inflight = append(inflight, e)
			}
			if b.pending > maxInFlight {
				t.Fatalf("pending %d > %d", b.pending, maxInFlight)
			}
		case len(inflight) > 0 && op < 9:
			e := inflight[0]
			inflight = inflight[1:]
			ack(e)
		case len(inflight) > 0:
			k := r.IntN(len(inflight) + 1)
			for i, e := range inflight {
				if i < k && !isStored[e.msg.ID] {
					isStored[e.msg.ID] = true
					stored[e.msg.EntityKey] = append(stored[e.msg.EntityKey], e.msg.ID)
				}
				b.failed(e)
			}
			inflight = nil
		}
	}
	// Settle: resolve everything still buffered.
	for _, e := range inflight {
		ack(e)
	}
	for e := b.next(); e != nil; e = b.next() {
		ack(e)
	}
	if b.msgs != 0 || b.pending != 0 || b.inflight != 0 || len(b.entities) != 0 {
		t.Fatalf("not empty after settling: msgs %d pending %d", b.msgs, b.pending)
	}
	for key, all := range added {
		var want []string
		for _, id := range all {
			if !dropped[id] {
				want = append(want, id)
			}
		}
		got := stored[key]
		if !slices.Equal(got, want) {
			t.Fatalf("entity %s: stored %v, want %v", key, got, want)
		}
	}
}

// Under steady traffic something is always in flight: safe mode must end
// once the messages sent before the failure and the resends are resolved,
// not wait for a moment with nothing in flight, or a busy entity would be
// held to one message per round trip long after the failure.
func TestBufferSafeModeEndsUnderSteadyTraffic(t *testing.T) {
	b := newBuffer(0, 0)
	a1, a2, b1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1)
	for _, e := range []*entry{a1, a2, b1} {
		b.add(e, nil)
	}
	drain(b)
	b.failed(a1) // a2 and b1 were in flight: sent before the failure
	c1 := bentry("C", "c1", 1)
	b.add(c1, nil)
	b.acked(a2, false)
	b.acked(b1, false)
	// a1 is resent; c1 goes once a1 is resent (nothing new before).
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "c1"}) {
		t.Fatalf("safe mode sent %v", got)
	}
	b.acked(a1, false)
	// c1, sent in safe mode, is still in flight and traffic goes on: E's
	// two messages are pipelined again.
	e1, e2 := bentry("E", "e1", 1), bentry("E", "e2", 1)
	b.add(e1, nil)
	b.add(e2, nil)
	if got := ids(drain(b)); !slices.Equal(got, []string{"e1", "e2"}) {
		t.Fatalf("with c1 in flight, after the failure resolved: %v, want e1 and e2 pipelined", got)
	}
}

// With entities serialized (a replicated stream) an entity never has two
// messages in flight, failure or not, while entities still pipeline.
func TestBufferSerializedEntities(t *testing.T) {
	b := newBuffer(0, 0)
	b.serializeEntities()
	a1, a2, b1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1)
	for _, e := range []*entry{a1, a2, b1} {
		b.add(e, nil)
	}
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("sent %v, want a1 and b1 (a2 waits for a1)", got)
	}
	b.acked(b1, false)
	b.acked(a1, false)
	if got := ids(drain(b)); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("after a1: %v", got)
	}
	b.acked(a2, false)
	if !b.safe || b.pipelined() {
		t.Fatal("serialized buffer left safe mode")
	}
}
