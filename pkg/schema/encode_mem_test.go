package schema

import (
	"bytes"
	"maps"
	"slices"
	"testing"
)

// Allocation budgets of Encode. A rise is a regression of the emit path's
// garbage (PRODUCT §6, docs/benchmarks.md): find the new allocation
// rather than raising the number.
const (
	// Released messages (the publisher's path): the one block holding the
	// message's strings.
	allocsEncodeReleased = 1
	// Messages never released: the strings, the data, the header map
	// (four allocations for 14 keys) and the header memory.
	allocsEncodeBinary = 7
)

func TestEncodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		e, err := NewEncoder(EncoderConfig{Cluster: "lab", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		ev := sampleCallEvent()
		released := testing.AllocsPerRun(200, func() {
			m, err := e.Encode(&ev, benchPublished)
			if err != nil {
				t.Fatal(err)
			}
			m.Release()
		})
		if released > allocsEncodeReleased {
			t.Errorf("%s: Encode+Release allocates %.1f times per event, budget %d", mode, released, allocsEncodeReleased)
		}
		if mode != ModeBinary {
			continue
		}
		kept := testing.AllocsPerRun(200, func() {
			if _, err := e.Encode(&ev, benchPublished); err != nil {
				t.Fatal(err)
			}
		})
		if kept > allocsEncodeBinary {
			t.Errorf("%s: Encode allocates %.1f times per event, budget %d", mode, kept, allocsEncodeBinary)
		}
	}
}

// snapshot is a deep copy of what a message puts on the wire.
type snapshot struct {
	subject, id, key string
	header           map[string][]string
	data             []byte
}

func snap(m Msg) snapshot {
	h := make(map[string][]string, len(m.Header))
	for k, v := range m.Header {
		h[k] = slices.Clone(v)
	}
	return snapshot{m.Subject, m.ID, m.EntityKey, h, bytes.Clone(m.Data)}
}

func (s snapshot) equal(m Msg) bool {
	return s.subject == m.Subject && s.id == m.ID && s.key == m.EntityKey &&
		maps.EqualFunc(s.header, m.Header, slices.Equal) && bytes.Equal(s.data, m.Data)
}

// Reused memory must not change a byte of any message: alternating modes
// and event kinds (different header sets and data sizes), every message
// encoded on released memory equals the same event encoded on fresh
// memory, and the strings of released messages stay intact.
func TestReleasedMemoryReusedIntact(t *testing.T) {
	enc := map[Mode]*Encoder{}
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		e, err := NewEncoder(EncoderConfig{Cluster: "lab", Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		enc[mode] = e
	}
	evs := sampleEvents()
	type kept struct {
		subject, id, key, hdrID string
	}
	var old []kept
	reused := 0
	var prev *msgMem
	for i := range 200 {
		mode := Mode(i / 3 % 2)
		ev := evs[i%len(evs)]
		// got takes the memory the previous iteration released; want, never
		// released, gets fresh memory.
		got, err := enc[mode].Encode(&ev, benchPublished)
		if err != nil {
			t.Fatal(err)
		}
		if got.mem == prev {
			reused++
		}
		want, err := enc[mode].Encode(&ev, benchPublished)
		if err != nil {
			t.Fatal(err)
		}
		if ref := snap(want); !ref.equal(got) {
			t.Fatalf("message %d (%s, %s) on reused memory differs:\n got %v\n%s\nwant %v\n%s", i, mode, ev.Name, got.Header, got.Data, want.Header, want.Data)
		}
		old = append(old, kept{got.Subject, got.ID, got.EntityKey, got.Header[HeaderMsgID][0]})
		prev = got.mem
		got.Release()
		if got.Header != nil || got.Data != nil {
			t.Fatal("Release left Header or Data set")
		}
	}
	for i, k := range old {
		ev := evs[i%len(evs)]
		if k.id != EventID(ev.Session, ev.SessionSeq) || k.hdrID != k.id || k.subject != Subject("lab", &ev) || k.key != EntityKey(k.subject) {
			t.Fatalf("message %d: strings changed after release: %+v", i, k)
		}
	}
	if reused == 0 && !raceEnabled {
		t.Fatal("no message reused released memory: the pool is not used")
	}
}

// A lease releases its memory once: a copy released again, or released
// after the memory went to a later message, must not free that message's
// memory.
func TestLeaseReleasesOnce(t *testing.T) {
	e, err := NewEncoder(EncoderConfig{Cluster: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	ev := sampleCallEvent()
	m, err := e.Encode(&ev, benchPublished)
	if err != nil {
		t.Fatal(err)
	}
	mem := m.mem
	if mem == nil || !mem.leased {
		t.Fatal("Encode did not lease memory")
	}
	l := m.Lease()
	stale := l
	l.Release()
	if mem.leased || len(mem.hdr) != 0 {
		t.Fatalf("after Release: leased %v, %d header keys left", mem.leased, len(mem.hdr))
	}
	// A later message takes the same memory (as getMem does).
	mem.gen++
	mem.leased = true
	stale.Release()
	l.Release()
	if !mem.leased {
		t.Fatal("a stale lease released memory that a later message holds")
	}
	var zero Lease
	zero.Release() // no memory: nothing happens
	var notEncoded Msg
	notEncoded.Release()
}
