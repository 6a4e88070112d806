package schema

import (
	"fmt"
	"hash/maphash"
	"strings"
	"sync"
	"testing"
	"unsafe"

	"github.com/google/go-cmp/cmp"
)

// allocsDecodeBinary is the allocation budget of decoding one binary-mode
// call event (sampleCallEvent): its CallData, its ConnectionData and one
// block for its four parties. Every string comes from the intern table
// once it has been seen; the Event itself stays on the caller's stack.
const allocsDecodeBinary = 3

func TestDecodeAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector changes allocation counts")
	}
	e, err := NewEncoder(EncoderConfig{Cluster: "lab", Mode: ModeBinary})
	if err != nil {
		t.Fatal(err)
	}
	ev := sampleCallEvent()
	m, err := e.Encode(&ev, benchPublished)
	if err != nil {
		t.Fatal(err)
	}
	n := testing.AllocsPerRun(200, func() {
		if _, _, err := Decode(m.Header, m.Data); err != nil {
			t.Fatal(err)
		}
	})
	if n > allocsDecodeBinary {
		t.Errorf("Decode of a binary call event allocates %.1f times, budget %d", n, allocsDecodeBinary)
	}
}

// TestDecodeSharedMemoryIntact decodes many distinct events from several
// goroutines at once — far more distinct strings than the intern table
// has slots, long ones included, so slots are overwritten while other
// decodes read them — and checks every event against what was encoded,
// and that the parties of one event (which share one block) and of two
// events stay independent.
func TestDecodeSharedMemoryIntact(t *testing.T) {
	e, err := NewEncoder(EncoderConfig{Cluster: "lab", Mode: ModeBinary})
	if err != nil {
		t.Fatal(err)
	}
	const workers, perWorker = 4, 3 * internSlots / 4
	type pair struct {
		want Event
		m    Msg
	}
	inputs := make([][]pair, workers)
	for w := range inputs {
		for i := range perWorker {
			ev := sampleCallEvent()
			id := fmt.Sprintf("%d%07d", w+1, i)
			ev.Entity, ev.SessionSeq = id, uint64(w*perWorker+i+1)
			ev.Data.Call.CallID = id
			ev.Data.Call.Calling = &Party{Address: "1" + id, Terminal: "SEP" + id}
			ev.Data.Call.Called = &Party{Address: "2" + id, Terminal: strings.Repeat("T", internMaxLen+1+i%3) + id}
			ev.Data.Call.CurrentCalling = &Party{Address: "3" + id}
			ev.Data.Call.CurrentCalled = &Party{Terminal: "SEPÄ" + id}
			m, err := e.Encode(&ev, benchPublished)
			if err != nil {
				t.Fatal(err)
			}
			ev.Data.Times.Published = benchPublished.UTC()
			inputs[w] = append(inputs[w], pair{ev, m})
		}
	}
	var wg sync.WaitGroup
	errs := make(chan string, workers)
	for _, in := range inputs {
		wg.Go(func() {
			var decoded []Event
			for _, p := range in {
				_, got, err := Decode(p.m.Header, p.m.Data)
				if err != nil {
					errs <- err.Error()
					return
				}
				decoded = append(decoded, got)
			}
			// Compared only once the whole batch is decoded: a string
			// handed out early must not have changed since.
			for i, got := range decoded {
				if d := cmp.Diff(in[i].want, got); d != "" {
					errs <- fmt.Sprintf("event %d (-want +got):\n%s", i, d)
					return
				}
			}
			c0, c1 := decoded[0].Data.Call, decoded[1].Data.Call
			c0.Calling.Address = "changed"
			c0.Called.Terminal = "changed"
			if c0.CurrentCalling.Address == "changed" || c0.CurrentCalled.Terminal == "changed" ||
				c1.Calling.Address == "changed" || c1.Called.Terminal == "changed" {
				errs <- "parties share memory"
			}
		})
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}

func TestIntern(t *testing.T) {
	if got := intern(nil); got != "" {
		t.Errorf("intern(nil) = %q", got)
	}
	b := []byte("CONNECTED")
	s1 := intern(b)
	b[0] = 'X' // the caller's bytes change; the string handed out must not
	s2 := intern([]byte("CONNECTED"))
	if s1 != "CONNECTED" || s2 != "CONNECTED" {
		t.Errorf("intern gave %q, %q", s1, s2)
	}
	long := strings.Repeat("x", internMaxLen+1)
	if got := intern([]byte(long)); got != long {
		t.Errorf("long string: got %q", got)
	}
}

// Strings that hash to one bucket of the intern table all stay shared as
// long as they fit its ways: a decode's strings never evict each other
// (a direct-mapped table made TestDecodeAllocations fail in about one
// process in forty, whenever two of the event's strings collided under
// that process's random hash seed).
func TestInternCollidingStringsStayShared(t *testing.T) {
	// Find internWays strings of one bucket under this process's seed.
	bucketOf := func(s string) uint64 {
		return maphash.String(internSeed, s) & (uint64(len(internTab)) - 1)
	}
	target := bucketOf("collide-0")
	same := []string{"collide-0"}
	for i := 1; len(same) < internWays; i++ {
		if s := fmt.Sprintf("collide-%d", i); bucketOf(s) == target {
			same = append(same, s)
		}
	}
	first := make([]string, len(same))
	for i, s := range same {
		first[i] = intern([]byte(s))
	}
	for round := range 3 {
		for i, s := range same {
			if got := intern([]byte(s)); unsafe.StringData(got) != unsafe.StringData(first[i]) {
				t.Fatalf("round %d: %q was evicted by another string of its bucket", round, s)
			}
		}
	}
	if raceEnabled {
		return // the race detector changes allocation counts
	}
	if n := testing.AllocsPerRun(50, func() {
		for _, s := range same {
			_ = intern(unsafe.Slice(unsafe.StringData(s), len(s)))
		}
	}); n != 0 {
		t.Errorf("interning %d strings of one bucket allocates %.1f times per round, want 0", len(same), n)
	}
}
