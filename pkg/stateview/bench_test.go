package stateview_test

import (
	"context"
	"testing"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/replaystore/storetest"
	"github.com/ctibridge/ctibridge/pkg/stateview"
)

// BenchmarkViewApply is the state view's cost per event in the bridge:
// fold, index, and the coalesced key writes to an embedded server, for a
// log of calls among 200 lines (b.N events).
//
//	go test -run '^$' -bench 'ViewApply' -benchmem ./pkg/stateview
func BenchmarkViewApply(b *testing.B) {
	nc, _ := startBucketB(b)
	evs := storetest.SyntheticLog(storetest.LogConfig{Events: max(b.N, 1000), Lines: 200})
	v, err := stateview.New(stateview.Config{Conn: nc})
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- v.Run(context.Background()) }()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		v.Apply(evs[i])
	}
	testwait.Eventually(b, 0, "the view to fold every event", func() bool { return v.Stats().Events == uint64(b.N) })
	b.StopTimer()
	v.Close()
	<-done
	st := v.Stats()
	b.ReportMetric(float64(st.Writes)/float64(b.N), "writes/event")
}
