package bridge_test

import (
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/testwait"
)

// The end-to-end latency histogram (CTI frame read → JetStream ack)
// observes every event the bridge publishes: once the snapshot of a
// freshly opened provider is acknowledged, its count equals the events
// published.
func TestEventLatencyObservesEveryPublishedEvent(t *testing.T) {
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	b, err := rig.StartBridge(func(c *bridge.Config) { c.HTTPListen = "127.0.0.1:0" })
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.WaitInService(30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
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
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + b.OpsAddr() + "/metrics")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		body := string(raw)
		published = sample(body, "ctibridge_events_published_total")
		observed = sample(body, "ctibridge_event_latency_seconds_count")
		return published > 0 && observed == published && b.Publisher().Stats().Buffered == 0
	})
	t.Logf("%v events published, %v latencies observed", published, observed)
}
