package callstate_test

import (
	"fmt"
	"runtime"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/callstate"
)

// manyCalls scripts n basic calls between distinct lines, all connected.
func manyCalls(n int) *script {
	s := newScript()
	for i := 0; i < 2*n; i++ {
		dn := fmt.Sprintf("%d", 100000+i)
		s.term[dn] = fmt.Sprintf("SEP%012d", i)
	}
	for i := 0; i < n; i++ {
		s.basicConnected(fmt.Sprint(i+1), fmt.Sprintf("%d", 100000+2*i), fmt.Sprintf("%d", 100000+2*i+1))
	}
	return s
}

// BenchmarkApply folds call events (setup to connected and teardown).
func BenchmarkApply(b *testing.B) {
	s := manyCalls(500)
	for i := 0; i < 500; i++ {
		s.hangup(fmt.Sprint(i+1), fmt.Sprintf("%d", 100000+2*i))
		s.hangup(fmt.Sprint(i+1), fmt.Sprintf("%d", 100000+2*i+1))
		s.endCall(fmt.Sprint(i + 1))
	}
	evs := s.events
	b.ReportAllocs()
	b.ResetTimer()
	st := callstate.New()
	for i := 0; i < b.N; i++ {
		st.Apply(evs[i%len(evs)])
	}
}

// BenchmarkMemory reports the heap the fold holds per tracked device
// (terminal + address) and per active call (two connections, each with a
// terminal connection).
func BenchmarkMemory(b *testing.B) {
	const devices, calls = 10_000, 2_000
	for i := 0; i < b.N; i++ {
		s := newScript()
		for d := 0; d < devices; d++ {
			dn := fmt.Sprintf("%d", 200000+d)
			term := fmt.Sprintf("SEP%012d", d)
			s.term[dn] = term
			s.line(dn, "in", 0)
			s.device(term, "in", 0)
		}
		c := manyCalls(calls)
		base := heap()
		st := callstate.New()
		for _, ev := range s.events {
			st.Apply(ev)
		}
		mid := heap()
		st2 := callstate.New()
		for _, ev := range c.events {
			st2.Apply(ev)
		}
		end := heap()
		perDevice := float64(int64(mid)-int64(base)) / devices
		perCall := float64(int64(end)-int64(mid)) / calls
		runtime.KeepAlive(st)
		runtime.KeepAlive(st2)
		runtime.KeepAlive(s)
		runtime.KeepAlive(c)
		b.ReportMetric(perDevice, "B/device")
		b.ReportMetric(perCall, "B/call")
	}
}

func heap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}
