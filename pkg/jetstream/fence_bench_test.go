package jetstream

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
)

// BenchmarkFenceCost measures what the log fence of a high-availability
// tenure costs the publisher: the same b.N messages (512-byte payloads,
// 1,024 entities) are published through the Publisher without a fence and
// with one (every message expecting the epoch marker to be the last on
// its subject), alternately in halves of b.N/2 on one embedded server,
// and the ratio fenced / unfenced of the two rates is reported, wall and
// CPU. docs/benchmarks.md has the figures:
//
//	go test -run '^$' -bench 'FenceCost' -benchtime 200000x -count 3 ./pkg/jetstream
func BenchmarkFenceCost(b *testing.B) {
	env := newBenchEnv(b)
	ctx := context.Background()
	ack, err := env.js.PublishMsg(ctx, &nats.Msg{Subject: "cti." + testCluster + ".bridge.LeaderAcquired", Data: []byte("marker")})
	if err != nil {
		b.Fatal(err)
	}
	msgs := benchMessages(b.N)
	p, err := New(Config{Conn: env.nc, Encoder: newEncoder(b), BufferSize: max(b.N, DefaultMaxInFlight), BufferBytes: math.MaxInt64})
	if err != nil {
		b.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- p.Run(rctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	}()
	fence := Fence{Subject: "cti." + testCluster + ".bridge.LeaderAcquired", Seq: ack.Sequence, Epoch: 1}
	// Four rounds, unfenced and fenced alternately, so that a load change
	// on the machine hits both alike.
	const rounds = 4
	var wall, cpu [2]time.Duration
	var n [2]int
	b.SetBytes(benchPayload)
	b.ResetTimer()
	for r := 0; r < rounds; r++ {
		for fenced := 0; fenced < 2; fenced++ {
			lo, hi := (2*r+fenced)*len(msgs)/(2*rounds), (2*r+fenced+1)*len(msgs)/(2*rounds)
			if fenced == 1 {
				p.SetFence(fence)
			} else {
				p.SetFence(Fence{})
			}
			t0, c0 := time.Now(), cpuTime()
			for _, m := range msgs[lo:hi] {
				if err := p.Publish(m); err != nil {
					b.Fatal(err)
				}
			}
			fctx, fcancel := context.WithTimeout(ctx, time.Minute)
			if err := p.Flush(fctx); err != nil {
				b.Fatal(err)
			}
			fcancel()
			wall[fenced] += time.Since(t0)
			cpu[fenced] += cpuTime() - c0
			n[fenced] += hi - lo
		}
	}
	b.StopTimer()
	if st := p.Stats(); st.Acked != uint64(b.N) || st.Fenced != 0 {
		b.Fatalf("stats %+v", st)
	}
	rate := func(i int) float64 { return float64(n[i]) / wall[i].Seconds() }
	b.ReportMetric(rate(0), "unfenced-msgs/s")
	b.ReportMetric(rate(1), "fenced-msgs/s")
	b.ReportMetric(rate(1)/rate(0), "fenced/unfenced")
	b.ReportMetric((float64(cpu[0])/float64(n[0]))/(float64(cpu[1])/float64(n[1])), "cpu-ratio")
}
