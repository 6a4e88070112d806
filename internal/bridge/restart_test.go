package bridge

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// The restart check reads what a previous run left in the stream: a run
// that published BridgeStopping and ProvShutdownEv stopped in order; a
// run whose stream just ends (killed) makes the next run start inside a
// provider gap opened at its last event's time.
func TestPreviousRunDetection(t *testing.T) {
	emb, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: t.TempDir(), NoListen: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := emb.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = emb.Shutdown(context.Background()) })
	nc, err := emb.Connect("test")
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if _, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{Memory: true}); err != nil {
		t.Fatal(err)
	}
	enc, _ := schema.NewEncoder(schema.EncoderConfig{Cluster: "lab"})
	t0 := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	seq := map[string]uint64{}
	publish := func(ev schema.Event) {
		t.Helper()
		seq[ev.Session]++
		ev.SessionSeq, ev.Sequence = seq[ev.Session], seq[ev.Session]
		ev.Received = ev.Time
		ev.Data.Event = ev.Name
		m, err := enc.Encode(&ev, ev.Time)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := js.PublishMsg(ctx, natsMsg(m)); err != nil {
			t.Fatal(err)
		}
	}
	bridgeEv := func(inst, name string, at time.Time) schema.Event {
		return schema.Event{Family: schema.FamilyBridge, Name: name, Session: inst + "-b", Time: at,
			Data: schema.Data{Bridge: &schema.BridgeData{Instance: inst}}}
	}
	provEv := func(inst, name string, at time.Time) schema.Event {
		return schema.Event{Family: schema.FamilyProvider, Name: name, Session: inst + "-p1", Time: at,
			Data: schema.Data{Provider: &schema.ProviderData{State: "IN_SERVICE", StateCode: 16}}}
	}

	if prev, err := readPreviousRun(ctx, js, "CTI", "lab"); err != nil || prev != nil {
		t.Fatalf("empty stream: %+v, %v", prev, err)
	}
	if _, open := priorGap(nil); open {
		t.Fatal("a gap for a stream without a previous run")
	}

	// Run 1 stops in order.
	publish(bridgeEv("run1", schema.EvBridgeStarted, t0))
	publish(provEv("run1", schema.EvProvInService, t0.Add(time.Second)))
	publish(bridgeEv("run1", schema.EvBridgeStopping, t0.Add(2*time.Second)))
	publish(provEv("run1", schema.EvProvShutdown, t0.Add(3*time.Second)))
	prev, err := readPreviousRun(ctx, js, "CTI", "lab")
	if err != nil {
		t.Fatal(err)
	}
	if prev.instance != "run1" || !prev.stopping || !prev.shutdown {
		t.Fatalf("orderly run read as %+v", prev)
	}
	if _, open := priorGap(prev); open {
		t.Fatal("a restart gap after an orderly stop")
	}

	// Run 2 is killed after a few events: its stream just ends.
	publish(bridgeEv("run2", schema.EvBridgeStarted, t0.Add(time.Minute)))
	lastAt := t0.Add(time.Minute + 5*time.Second)
	publish(provEv("run2", schema.EvProvInService, lastAt))
	prev, err = readPreviousRun(ctx, js, "CTI", "lab")
	if err != nil {
		t.Fatal(err)
	}
	g, open := priorGap(prev)
	if !open || prev.instance != "run2" || prev.stopping || prev.shutdown {
		t.Fatalf("killed run read as %+v (gap %v)", prev, open)
	}
	if !g.OpenedAt.Equal(lastAt) || !strings.HasPrefix(g.Reason, RestartGapReason+": previous run run2 ") {
		t.Fatalf("restart gap %+v", g)
	}

	// Another cluster's events do not count.
	other, _ := schema.NewEncoder(schema.EncoderConfig{Cluster: "other"})
	ev := bridgeEv("run9", schema.EvBridgeStopping, t0.Add(time.Hour))
	ev.SessionSeq, ev.Sequence = 1, 1
	m, _ := other.Encode(&ev, ev.Time)
	if _, err := js.PublishMsg(ctx, natsMsg(m)); err != nil {
		t.Fatal(err)
	}
	if prev, err = readPreviousRun(ctx, js, "CTI", "lab"); err != nil || prev.instance != "run2" {
		t.Fatalf("another cluster's events changed the previous run: %+v, %v", prev, err)
	}
}

func natsMsg(m schema.Msg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject, Header: nats.Header(m.Header), Data: m.Data}
}
