package jetstream

import (
	"context"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

func provisionCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestProvisionCreatesWithDefaults(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	ctx := provisionCtx(t)

	res, err := Provision(ctx, js, ProvisionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"stream CTI", "kv cti-state", "kv cti-leader"} {
		if res.Actions[r] != Created {
			t.Errorf("%s: %s, want created", r, res.Actions[r])
		}
	}
	if len(res.Drift) != 0 {
		t.Fatalf("drift on creation: %v", res.Drift)
	}
	s, err := js.Stream(ctx, "CTI")
	if err != nil {
		t.Fatal(err)
	}
	c := s.CachedInfo().Config
	if len(c.Subjects) != 1 || c.Subjects[0] != "cti.>" || c.MaxAge != 7*24*time.Hour || c.Duplicates != 10*time.Minute ||
		c.Storage != natsjs.FileStorage || c.Replicas != 1 || !c.AllowDirect || c.Retention != natsjs.LimitsPolicy || c.Discard != natsjs.DiscardOld {
		t.Fatalf("stream config %+v", c)
	}
	kv, err := js.KeyValue(ctx, "cti-leader")
	if err != nil {
		t.Fatal(err)
	}
	st, err := kv.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.TTL() != DefaultLeaderTTL || st.History() != 1 {
		t.Fatalf("leader bucket ttl %s history %d", st.TTL(), st.History())
	}
	kv, err = js.KeyValue(ctx, "cti-state")
	if err != nil {
		t.Fatal(err)
	}
	if st, err = kv.Status(ctx); err != nil || st.TTL() != DefaultMaxAge {
		t.Fatalf("state bucket: %v, %v", st, err)
	}
}

func TestProvisionTwiceIsNoOp(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	ctx := provisionCtx(t)
	cfg := ProvisionConfig{Cluster: "lab.east", MaxBytes: 1 << 30}
	if _, err := Provision(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	s, _ := js.Stream(ctx, "CTI")
	before := s.CachedInfo().Created
	res, err := Provision(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range res.Resources {
		if res.Actions[r] != Unchanged {
			t.Errorf("%s: %s on the second run", r, res.Actions[r])
		}
	}
	if len(res.Drift) != 0 {
		t.Fatalf("drift on the second run: %v", res.Drift)
	}
	s, _ = js.Stream(ctx, "CTI")
	if !s.CachedInfo().Created.Equal(before) {
		t.Fatal("stream was recreated")
	}
	want := "cti." + schema.EscapeToken("lab.east") + ".>"
	if got := s.CachedInfo().Config.Subjects; len(got) != 1 || got[0] != want || strings.Count(want, ".") != 2 {
		t.Fatalf("subjects %v, want [%s]", got, want)
	}
}

func TestProvisionReportsAndFixesDrift(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	ctx := provisionCtx(t)
	// Someone created the stream by hand: memory storage, 1 h, 2 min dedupe.
	_, err := js.CreateStream(ctx, natsjs.StreamConfig{
		Name: "CTI", Subjects: []string{"cti.>"}, Storage: natsjs.MemoryStorage,
		MaxAge: time.Hour, Duplicates: 2 * time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Provision(ctx, js, ProvisionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Actions["stream CTI"] != Updated {
		t.Fatalf("stream: %s", res.Actions["stream CTI"])
	}
	got := map[string]Drift{}
	for _, d := range res.Drift {
		got[d.Field] = d
	}
	if d := got["max_age"]; !d.Applied || d.Have != "1h0m0s" || d.Want != "168h0m0s" {
		t.Errorf("max_age drift %+v", d)
	}
	if d := got["duplicate_window"]; !d.Applied || d.Have != "2m0s" {
		t.Errorf("duplicate_window drift %+v", d)
	}
	if d := got["storage"]; d.Applied || d.Have != "Memory" || !strings.Contains(d.Note, "cannot change the storage type") {
		t.Errorf("storage drift %+v", d)
	}
	if d := got["allow_direct"]; !d.Applied {
		t.Errorf("allow_direct drift %+v", d)
	}
	if len(got) != 4 {
		t.Errorf("drift %v", res.Drift)
	}
	s, _ := js.Stream(ctx, "CTI")
	if c := s.CachedInfo().Config; c.MaxAge != DefaultMaxAge || c.Duplicates != DefaultDuplicates || c.Storage != natsjs.MemoryStorage {
		t.Fatalf("after update: %+v", c)
	}
	t.Logf("drift: %v", res.Drift)

	// A second run only reports what cannot be fixed.
	res, err = Provision(ctx, js, ProvisionConfig{})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Drift) != 1 || res.Drift[0].Field != "storage" || res.Actions["stream CTI"] != Drifted {
		t.Fatalf("second run: %s %v", res.Actions["stream CTI"], res.Drift)
	}
}

func TestProvisionReportOnlyAndBucketDrift(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	ctx := provisionCtx(t)
	if _, err := Provision(ctx, js, ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	// New wishes: longer lease, shorter retention.
	cfg := ProvisionConfig{LeaderTTL: 30 * time.Second, MaxAge: 24 * time.Hour, ReportOnly: true}
	res, err := Provision(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var fields []string
	for _, d := range res.Drift {
		if d.Applied || d.Note != "report only" {
			t.Errorf("report-only applied %v", d)
		}
		fields = append(fields, d.Resource+" "+d.Field)
	}
	want := "stream CTI max_age,kv cti-state ttl,kv cti-leader ttl"
	if strings.Join(fields, ",") != want {
		t.Fatalf("drift %v, want %s", fields, want)
	}
	s, _ := js.Stream(ctx, "CTI")
	if s.CachedInfo().Config.MaxAge != DefaultMaxAge {
		t.Fatal("report-only changed the stream")
	}

	cfg.ReportOnly = false
	res, err = Provision(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.Actions["kv cti-leader"] != Updated || res.Actions["kv cti-state"] != Updated || res.Actions["stream CTI"] != Updated {
		t.Fatalf("actions %v", res.Actions)
	}
	kv, _ := js.KeyValue(ctx, "cti-leader")
	if st, _ := kv.Status(ctx); st.TTL() != 30*time.Second {
		t.Fatalf("leader ttl %s", st.TTL())
	}
}

func TestProvisionValidate(t *testing.T) {
	cfg := ProvisionConfig{Stream: "a.b", SubjectPrefix: "x.y", Replicas: 7, Duplicates: time.Hour, MaxAge: time.Minute, StateBucket: "bad name", LeaderTTL: time.Millisecond}
	cfg.setDefaults()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"Stream \"a.b\"", "SubjectPrefix", "Replicas 7", "Duplicates 1h0m0s exceeds MaxAge", "StateBucket", "LeaderTTL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in %v", want, err)
		}
	}
}
