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

func TestBufferOneInFlightPerEntity(t *testing.T) {
	b := newBuffer(0, 0)
	a1, a2, b1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1)
	for _, e := range []*entry{a1, a2, b1} {
		b.add(e, nil)
	}
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("first round %v: a2 must wait for a1", got)
	}
	b.acked(a1)
	if got := ids(drain(b)); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("after a1 acked: %v", got)
	}
	b.acked(b1)
	b.acked(a2)
	if b.msgs != 0 || b.inflight != 0 || b.pending != 0 || len(b.entities) != 0 {
		t.Fatalf("not empty: msgs %d inflight %d pending %d entities %d", b.msgs, b.inflight, b.pending, len(b.entities))
	}
}

func TestBufferFailedResentFirstAndBlocksEntity(t *testing.T) {
	b := newBuffer(0, 0)
	a1, a2, b1, c1 := bentry("A", "a1", 1), bentry("A", "a2", 1), bentry("B", "b1", 1), bentry("C", "c1", 1)
	b.add(a1, nil)
	b.add(a2, nil)
	b.add(b1, nil)
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "b1"}) {
		t.Fatalf("got %v", got)
	}
	b.add(c1, nil)
	b.failed(a1)
	// a1 goes again before c1 (never sent), and a2 still waits.
	if got := ids(drain(b)); !slices.Equal(got, []string{"a1", "c1"}) {
		t.Fatalf("after failure: %v", got)
	}
	if a1.attempts != 2 || b.pending != 3 {
		t.Fatalf("attempts %d pending %d", a1.attempts, b.pending)
	}
	b.acked(a1)
	if got := ids(drain(b)); !slices.Equal(got, []string{"a2"}) {
		t.Fatalf("after resend acked: %v", got)
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

// A long random run against a model: entity order of acked messages is
// Publish order minus the dropped ones; one in flight per entity; a sent
// message is never dropped; the pending count respects the caller's limit.
func TestBufferRandomizedModel(t *testing.T) {
	const maxInFlight = 8
	r := rand.New(rand.NewPCG(1, 2))
	b := newBuffer(40, 0)
	var inflight []*entry
	added := map[string][]string{}
	acked := map[string][]string{}
	dropped := map[string]bool{}
	n := 0
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
				for _, o := range inflight {
					if o.ent == e.ent {
						t.Fatalf("two in flight for %s", e.ent.key)
					}
				}
				inflight = append(inflight, e)
			}
			if b.pending > maxInFlight {
				t.Fatalf("pending %d > %d", b.pending, maxInFlight)
			}
		case len(inflight) > 0:
			i := r.IntN(len(inflight))
			e := inflight[i]
			inflight = slices.Delete(inflight, i, i+1)
			if op < 9 {
				b.acked(e)
				acked[e.msg.EntityKey] = append(acked[e.msg.EntityKey], e.msg.ID)
			} else {
				b.failed(e)
			}
		}
	}
	// Settle: ack everything still buffered.
	for _, e := range inflight {
		b.acked(e)
		acked[e.msg.EntityKey] = append(acked[e.msg.EntityKey], e.msg.ID)
	}
	for e := b.next(); e != nil; e = b.next() {
		b.acked(e)
		acked[e.msg.EntityKey] = append(acked[e.msg.EntityKey], e.msg.ID)
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
		got := acked[key]
		if !slices.Equal(got, want) {
			t.Fatalf("entity %s: acked %v, want %v", key, got, want)
		}
	}
}
