package bench

import (
	"errors"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// rawLatency is the latency baseline of BenchmarkLatency10k: the same
// events, on the subjects the bridge published them on and with the same
// headers and data (a fresh Nats-Msg-Id each), published straight through
// PublishMsgAsync at 10,000 per second (bursts of 10 every millisecond,
// at most 1,024 in flight as the bridge's publisher) to the same server,
// and the time from each PublishMsgAsync to its PubAck, sorted.
func rawLatency(tb testing.TB, n *natsEnv, l storeLayout, evs []decoded) []time.Duration {
	tb.Helper()
	msgs := rawMsgs(evs, l, "raw")
	sent := make([]time.Time, len(msgs))
	lat := make([]time.Duration, 0, len(msgs))
	var mu sync.Mutex
	onAck := func(_ natsjs.JetStream, m *nats.Msg, _ *natsjs.PubAck) {
		at := time.Now()
		i, err := strconv.Atoi(strings.TrimPrefix(m.Header.Get(schema.HeaderMsgID), "raw-"))
		if err != nil {
			return
		}
		mu.Lock()
		lat = append(lat, at.Sub(sent[i]))
		mu.Unlock()
	}
	js, err := natsjs.New(n.nc, natsjs.WithPublishAsyncMaxPending(jetstream.DefaultMaxInFlight), natsjs.WithPublishAsyncAckHandler(onAck))
	if err != nil {
		tb.Fatal(err)
	}
	tk := time.NewTicker(time.Millisecond)
	defer tk.Stop()
	for i := 0; i < len(msgs); {
		<-tk.C
		for j := 0; j < 10 && i < len(msgs); j++ {
			mu.Lock()
			sent[i] = time.Now()
			mu.Unlock()
			if _, err := js.PublishMsgAsync(msgs[i]); err != nil && !errors.Is(err, natsjs.ErrTooManyStalledMsgs) {
				tb.Fatal(err)
			} else if err != nil {
				continue // stalled: sent again after the next tick
			}
			i++
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		tb.Fatal("raw latency: acks missing after a minute")
	}
	mu.Lock()
	defer mu.Unlock()
	return sortedCopy(lat)
}

// rawBurst is the baseline of BenchmarkFailoverPublished: the same
// events, on the subjects the bridge published them on and with the same
// headers and data (a fresh Nats-Msg-Id each), published straight through
// PublishMsgAsync as fast as the client takes them (at most 1,024 in
// flight, as the bridge's publisher) to the same server; it returns the
// time from the first publish to the last PubAck.
func rawBurst(tb testing.TB, n *natsEnv, l storeLayout, evs []decoded, tag string) time.Duration {
	tb.Helper()
	msgs := rawMsgs(evs, l, tag)
	js, err := natsjs.New(n.nc, natsjs.WithPublishAsyncMaxPending(jetstream.DefaultMaxInFlight))
	if err != nil {
		tb.Fatal(err)
	}
	began := time.Now()
	for i := 0; i < len(msgs); {
		if _, err := js.PublishMsgAsync(msgs[i]); err != nil {
			if !errors.Is(err, natsjs.ErrTooManyStalledMsgs) {
				tb.Fatal(err)
			}
			continue // stalled: the client let go after its stall wait; again
		}
		i++
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(time.Minute):
		tb.Fatal("raw burst: acks missing after a minute")
	}
	return time.Since(began)
}

// rawMsgs makes the baselines' messages: each event on the subject the
// bridge published it on, with its headers and data, and a fresh
// Nats-Msg-Id "<tag>-<index>".
func rawMsgs(evs []decoded, l storeLayout, tag string) []*nats.Msg {
	msgs := make([]*nats.Msg, len(evs))
	for i := range evs {
		h := nats.Header{}
		for k, v := range evs[i].header {
			h[k] = v
		}
		h.Set(schema.HeaderMsgID, tag+"-"+strconv.Itoa(i))
		msgs[i] = &nats.Msg{Subject: l.published(&evs[i].ev), Header: h, Data: evs[i].data}
	}
	return msgs
}
