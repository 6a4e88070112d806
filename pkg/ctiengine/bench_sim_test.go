package ctiengine

import (
	"context"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// timingSink counts events and records when the failover milestones were
// received.
type timingSink struct {
	mu        sync.Mutex
	n         int
	talking   int
	connectAt map[string]time.Time // CTIManagerConnecting by CTIManager
	closed    chan time.Time       // GapClosed receive times
}

func (s *timingSink) Emit(ev schema.Event) {
	s.mu.Lock()
	s.n++
	switch ev.Name {
	case schema.EvCTIManagerConnecting:
		s.connectAt[ev.Data.Provider.CTIManager] = ev.Received
	case schema.EvCallCtlTermConnTalking:
		s.talking++
	}
	s.mu.Unlock()
	if ev.Name == schema.EvGapClosed {
		s.closed <- ev.Received
	}
}

func (s *timingSink) get() (int, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n, s.talking
}

// BenchmarkSimFailover_10kDevices2kCalls measures a CTIManager crash with
// 10,000 observed phones and 2,000 active calls, engine and simulator over
// TCP on loopback: from the engine starting to connect to the backup
// CTIManager to every device reinstated, every snapshot emitted and the
// gap closed (target ≤ 1 s). One op = one failover.
func BenchmarkSimFailover_10kDevices2kCalls(b *testing.B) {
	const phonesN, callsN = 10_000, 2_000
	cl := ctisim.ClusterConfig{
		Name:         "bench",
		CallManagers: []string{"cm1", "cm2"},
		CTIManagers:  []ctisim.NodeConfig{{Name: "ctim-a"}, {Name: "ctim-b"}},
		PhoneBlocks:  []ctisim.PhoneBlock{{Prefix: "SEP", Count: phonesN, FirstDN: 100000}},
		Users:        []ctisim.UserConfig{{Login: "ctibridge", Password: "secret", ControlAll: true}},
	}
	srv, err := ctisim.New(ctisim.Config{Cluster: cl, ManualTime: true, GroundTruthLimit: -1,
		Traffic: traffic.Config{Seed: 1, RingTime: time.Second, RingTimeMax: time.Second,
			TalkTime: time.Hour, TalkTimeMax: time.Hour}})
	if err != nil {
		b.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		b.Fatal(err)
	}
	defer srv.Close()
	sink := &timingSink{connectAt: map[string]time.Time{}, closed: make(chan time.Time, 16)}
	cfg := simConfig(srv)
	cfg.Sink = sink
	eng, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- eng.Run(context.Background()) }()
	defer func() { eng.Close(); <-done }()
	waitUp := func(node string) {
		testwait.Eventually(b, time.Minute, "engine up on "+node, func() bool {
			s := eng.Status()
			return s.Link == LinkUp.String() && s.CTIManager == node
		})
	}
	waitUp("ctim-a")
	for i := 0; i < callsN; i++ {
		if _, err := srv.Place(traffic.Basic, strconv.Itoa(100000+2*i), strconv.Itoa(100000+2*i+1), ""); err != nil {
			b.Fatal(err)
		}
	}
	if err := srv.Advance(2 * time.Second); err != nil {
		b.Fatal(err)
	}
	testwait.Eventually(b, time.Minute, "every call talking", func() bool {
		_, talking := sink.get()
		return talking == 2*callsN
	})
	nodes := []string{"ctim-a", "ctim-b"}
	var total time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		from, to := nodes[i%2], nodes[(i+1)%2]
		if err := srv.KillNode(from); err != nil {
			b.Fatal(err)
		}
		closedAt := <-sink.closed
		sink.mu.Lock()
		start := sink.connectAt[to]
		sink.mu.Unlock()
		total += closedAt.Sub(start)
		b.StopTimer()
		waitUp(to)
		if err := srv.RestoreNode(from); err != nil {
			b.Fatal(err)
		}
		if s := eng.Status(); s.Calls != callsN || s.DevicesInService != phonesN {
			b.Fatalf("after failover: %d calls, %d devices in service", s.Calls, s.DevicesInService)
		}
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Milliseconds())/float64(b.N), "ms/failover")
}
