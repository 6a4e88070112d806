package bridge_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"
)

// The end-to-end latency histogram (CTI frame read → JetStream ack)
// observes every event the bridge publishes: once the snapshot of a
// freshly opened provider is acknowledged, its count equals the events
// published.
func TestEventLatencyObservesEveryPublishedEvent(t *testing.T) {
	_, b := startBridgeWithOps(t)
	sample := func(body, name string) float64 {
		for line := range strings.Lines(body) {
			if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+" "); ok {
				f, err := strconv.ParseFloat(v, 64)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				return f
			}
		}
		t.Fatalf("/metrics lacks %s", name)
		return 0
	}
	var published, observed float64
	testwait.Eventually(t, 30*time.Second, "every published event's latency observed", func() bool {
		_, body := opsGet(t, b, "/metrics")
		published = sample(body, "ctibridge_events_published_total")
		observed = sample(body, "ctibridge_event_latency_seconds_count")
		return published > 0 && observed == published && b.Publisher().Stats().Buffered == 0
	})
	t.Logf("%v events published, %v latencies observed", published, observed)
}
