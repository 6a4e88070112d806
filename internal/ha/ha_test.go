package ha

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/ha/lease"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

const cluster = "lab"

type rig struct {
	srv *jetstream.Embedded
	js  natsjs.JetStream
	kv  natsjs.KeyValue
	s   natsjs.Stream
}

func startNATS(t *testing.T, ttl time.Duration) *rig {
	t.Helper()
	srv, err := jetstream.NewEmbedded(jetstream.EmbeddedConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Shutdown(context.Background()) })
	nc, err := srv.Connect("ha-test")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, _ := natsjs.New(nc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := jetstream.Provision(ctx, js, jetstream.ProvisionConfig{Leader: true, LeaderTTL: ttl, Memory: true}); err != nil {
		t.Fatal(err)
	}
	kv, err := js.KeyValue(ctx, jetstream.DefaultLeaderBucket)
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	return &rig{srv: srv, js: js, kv: kv, s: s}
}

func startElector(t *testing.T, r *rig, instance string) (*Elector, context.CancelFunc) {
	t.Helper()
	e, err := NewElector(context.Background(), ElectorConfig{KV: r.kv, Key: LeaseKey(cluster), Instance: instance, Mode: ModeCold,
		Logger: zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = e.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return e, func() { cancel(); <-done }
}

func next(t *testing.T, e *Elector) lease.Change {
	t.Helper()
	select {
	case c := <-e.Changes():
		return c
	case <-time.After(20 * time.Second):
		t.Fatal("no change of role within 20s")
	}
	return lease.Change{}
}

// Two electors campaign on one key: exactly one wins; when it releases,
// the other takes over at once (the watch nudges it) with a higher epoch;
// when the holder dies without releasing, the other takes over once the
// bucket's TTL expired the key.
func TestElection(t *testing.T) {
	r := startNATS(t, 2*time.Second)
	a, _ := startElector(t, r, "a")
	b, stopB := startElector(t, r, "b")
	if a.LeaseConfig().TTL != 2*time.Second {
		t.Fatalf("lease TTL %s, want the bucket's 2s", a.LeaseConfig().TTL)
	}
	a.SetCampaign(true)
	first := next(t, a)
	if first.Kind != lease.Acquired || !a.MayAct() || a.Epoch() != first.Epoch {
		t.Fatalf("a: %+v", first)
	}
	b.SetCampaign(true)
	// b keeps failing to Create while a renews.
	testwait.Eventually(t, 10*time.Second, "b's failed campaigns", func() bool { return b.Status().Campaigns >= 3 })
	if b.MayAct() || a.Status().Renewals == 0 {
		t.Fatalf("b acts while a holds the lease: a %+v b %+v", a.Status(), b.Status())
	}

	// Orderly hand-over: no TTL to wait.
	released := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	a.Release(ctx)
	cancel()
	if c := next(t, a); c.Kind != lease.Lost || c.Reason != lease.ReasonReleased || a.MayAct() {
		t.Fatalf("a after release: %+v", c)
	}
	second := next(t, b)
	if second.Kind != lease.Acquired || second.Epoch <= first.Epoch {
		t.Fatalf("b: %+v after a's epoch %d", second, first.Epoch)
	}
	t.Logf("hand-over after release took %s", time.Since(released))

	// b dies without releasing; a (campaigning again) waits for the TTL.
	a.SetCampaign(true)
	stopB()
	third := next(t, a)
	if third.Kind != lease.Acquired || third.Epoch <= second.Epoch {
		t.Fatalf("a after b died: %+v", third)
	}
}

// A holder cut off from the bucket keeps trying until its deadline, then
// loses the lease (expired) and stops acting, before the server could let
// anyone else in.
func TestElectorExpiresWhenTheBucketIsGone(t *testing.T) {
	r := startNATS(t, 2*time.Second)
	a, _ := startElector(t, r, "a")
	a.SetCampaign(true)
	acq := next(t, a)
	if err := r.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	lost := next(t, a)
	if lost.Kind != lease.Lost || lost.Reason != lease.ReasonExpired || a.MayAct() {
		t.Fatalf("cut off: %+v", lost)
	}
	if time.Now().After(acq.Deadline.Add(2 * time.Second)) {
		t.Logf("note: the loss was noticed %s after the deadline (slow machine)", time.Since(acq.Deadline))
	}
}

func marker(t *testing.T, instance string, epoch uint64) jetstream.Message {
	t.Helper()
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := enc.Encode(&schema.Event{Family: schema.FamilyBridge, Name: schema.EvLeaderAcquired, Session: instance + "-b", SessionSeq: epoch, Sequence: epoch,
		Time: now, Received: now, Data: schema.Data{Event: schema.EvLeaderAcquired, Times: schema.Timestamps{Upstream: now, Received: now},
			Bridge: &schema.BridgeData{Instance: instance, Leader: &schema.Leader{Epoch: epoch, Mode: string(ModeCold)}}}}, now)
	if err != nil {
		t.Fatal(err)
	}
	return jetstream.FromSchema(m)
}

// Markers: each tenure's marker becomes the last on the epoch subject; a
// marker of an older epoch never overwrites a newer one; writing one's own
// marker again finds it; LastTenure reads an orderly release.
func TestEpochMarkers(t *testing.T) {
	r := startNATS(t, 2*time.Second)
	ctx := context.Background()
	if prev, err := LastTenure(ctx, r.s, cluster); err != nil || prev != nil {
		t.Fatalf("empty log: %+v %v", prev, err)
	}
	seq5, prev, err := WriteMarker(ctx, r.js, r.s, cluster, marker(t, "a", 5), 5)
	if err != nil || prev != nil {
		t.Fatalf("first marker: %d %+v %v", seq5, prev, err)
	}
	seq9, prev, err := WriteMarker(ctx, r.js, r.s, cluster, marker(t, "b", 9), 9)
	if err != nil || prev == nil || prev.Instance != "a" || prev.Epoch != 5 || prev.MarkerSeq != seq5 || prev.Released {
		t.Fatalf("second marker: %d %+v %v", seq9, prev, err)
	}
	if _, _, err := WriteMarker(ctx, r.js, r.s, cluster, marker(t, "a", 5), 5); !errors.Is(err, ErrStaleEpoch) {
		t.Fatalf("stale marker: %v", err)
	}
	if again, _, err := WriteMarker(ctx, r.js, r.s, cluster, marker(t, "b", 9), 9); err != nil || again != seq9 {
		t.Fatalf("own marker again: %d %v", again, err)
	}
	// b releases in order: LeaderLost (released) for epoch 9.
	enc, _ := schema.NewEncoder(schema.EncoderConfig{Cluster: cluster})
	now := time.Now()
	gap := &schema.Gap{ID: "b-gap1", Kind: "provider", OpenedAt: now, Reason: "provider shut down: APPLICATIONREQUEST"}
	m, _ := enc.Encode(&schema.Event{Family: schema.FamilyBridge, Name: schema.EvLeaderLost, Session: "b-b", SessionSeq: 10, Sequence: 1, Time: now, Received: now,
		Data: schema.Data{Event: schema.EvLeaderLost, Times: schema.Timestamps{Upstream: now, Received: now},
			Bridge: &schema.BridgeData{Instance: "b", Reason: ReasonReleased, Gap: gap, Leader: &schema.Leader{Epoch: 9}}}}, now)
	jm := jetstream.FromSchema(m)
	if _, err := r.js.PublishMsg(ctx, &nats.Msg{Subject: jm.Subject, Header: jm.Header, Data: jm.Data}); err != nil {
		t.Fatal(err)
	}
	last, err := LastTenure(ctx, r.s, cluster)
	if err != nil || last.Epoch != 9 || !last.Released || last.OpenGap == nil || last.OpenGap.ID != "b-gap1" {
		t.Fatalf("after the release: %+v %v", last, err)
	}
}

// AwaitHolder ends when a member creates the lease key, not on the
// holder's delete; without a holder it waits until its context ends.
func TestAwaitHolder(t *testing.T) {
	r := startNATS(t, 2*time.Second)
	a, _ := startElector(t, r, "a")
	a.SetCampaign(true)
	if c := next(t, a); c.Kind != lease.Acquired {
		t.Fatalf("a: %+v", c)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	a.Release(ctx)
	cancel()
	// Released (the key deleted), nobody campaigning: no holder.
	short, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	err := AwaitHolder(short, r.kv, cluster)
	cancel()
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("AwaitHolder with the lease released and nobody campaigning: %v, want the deadline", err)
	}
	b, _ := startElector(t, r, "b")
	waited := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		waited <- AwaitHolder(ctx, r.kv, cluster)
	}()
	b.SetCampaign(true)
	if c := next(t, b); c.Kind != lease.Acquired {
		t.Fatalf("b: %+v", c)
	}
	if err := <-waited; err != nil {
		t.Fatalf("AwaitHolder once b holds the lease: %v", err)
	}
}
