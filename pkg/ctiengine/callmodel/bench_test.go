package callmodel

import (
	"encoding/json"
	"runtime"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// BenchmarkApplyBasicCall: one basic call A→B (both lines controlled),
// ten wire events, 31 JTAPI events, from the first DIALTONE to
// CallObservationEndedEv.
func BenchmarkApplyBasicCall(b *testing.B) {
	msgs := basicCall(&wire{})
	m := New(controlled(lnA, lnB))
	id := uint32(0)
	events := 0
	b.ReportAllocs()
	for b.Loop() {
		id++
		for _, msg := range msgs {
			ev := msg.(ctilink.CallStateEvent)
			ev.GlobalCallID = id
			events += len(m.Apply(ev))
		}
	}
	b.ReportMetric(float64(events)/float64(b.N), "events/op")
	if m.Stats().Tracked != 0 {
		b.Fatalf("%d calls left tracked", m.Stats().Tracked)
	}
}

// decoded returns msg as the engine receives it: encoded and decoded by
// the link codec, so that its strings are fresh allocations the model may
// retain, as in production.
func decoded(tb testing.TB, msg ctilink.Message) ctilink.Message {
	body, err := json.Marshal(msg)
	if err != nil {
		tb.Fatal(err)
	}
	out, err := ctilink.DecodeBody(msg.Type(), body)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

const liveCalls = 2000

// heapPerActiveCall sets up liveCalls connected calls between distinct
// controlled lines, one of them on hold, and returns the retained heap
// per call.
func heapPerActiveCall(tb testing.TB) float64 {
	lines := make([]line, 0, 2*liveCalls)
	for i := range 2 * liveCalls {
		lines = append(lines, line{callIDString(uint32(100000 + i)), "SEP" + callIDString(uint32(100000+i))})
	}
	w := &wire{}
	m := New(controlled(lines...))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range liveCalls {
		id := uint32(i + 1)
		msgs := connect(w, id, lines[2*i], lines[2*i+1])
		_, a, _ := setup(id, lines[2*i], lines[2*i+1])
		msgs = append(msgs, w.st(a, ctilink.CallStateOnHold, 0))
		for _, msg := range msgs {
			m.Apply(decoded(tb, msg))
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if st := m.Stats(); st.Tracked != liveCalls {
		tb.Fatalf("tracked %d calls, want %d", st.Tracked, liveCalls)
	}
	runtime.KeepAlive(m)
	return float64(after.HeapAlloc-before.HeapAlloc) / liveCalls
}

// BenchmarkActiveCallMemory reports the heap retained per active call with
// 2,000 calls live (target ≤ 8 KB, PRODUCT.md §6).
func BenchmarkActiveCallMemory(b *testing.B) {
	var per float64
	for b.Loop() {
		per = heapPerActiveCall(b)
	}
	b.ReportMetric(per, "B/call")
}

// TestMemoryPerActiveCall keeps the 8 KB per active call budget.
func TestMemoryPerActiveCall(t *testing.T) {
	if testing.Short() {
		t.Skip("measures the heap with 2,000 live calls")
	}
	per := heapPerActiveCall(t)
	t.Logf("%.0f bytes per active call", per)
	if per > 8192 {
		t.Errorf("%.0f bytes per active call, budget 8192", per)
	}
}
