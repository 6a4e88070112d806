package jetstream

import (
	"context"
	"errors"
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
	if len(res.Resources) != 1 || res.Actions["stream CTI"] != Created {
		t.Fatalf("resources %v %v: want only the stream created", res.Resources, res.Actions)
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
		c.Storage != natsjs.FileStorage || c.Replicas != 1 || !c.AllowDirect || c.Retention != natsjs.LimitsPolicy || c.Discard != natsjs.DiscardOld ||
		c.Compression != natsjs.S2Compression {
		t.Fatalf("stream config %+v", c)
	}
	if c.SubjectTransform == nil || c.SubjectTransform.Source != "cti.*.call.*.*.*" || c.SubjectTransform.Destination != "cti.{{wildcard(1)}}.call.{{wildcard(2)}}" {
		t.Fatalf("subject transform %+v", c.SubjectTransform)
	}
	if l, err := StreamLayout(s.CachedInfo()); err != nil || l != schema.CurrentLayout {
		t.Fatalf("layout %v, %v (metadata %v)", l, err, c.Metadata)
	}
	// Buckets nobody uses are not provisioned.
	for _, b := range []string{DefaultStateBucket, DefaultLeaderBucket} {
		if _, err := js.KeyValue(ctx, b); !errors.Is(err, natsjs.ErrBucketNotFound) {
			t.Errorf("bucket %s: %v, want not found", b, err)
		}
	}

	// The state view's bucket comes with StateView, the lease's with
	// ProvisionLeader.
	res, err = Provision(ctx, js, ProvisionConfig{StateView: true})
	if err != nil || res.Actions["kv cti-state"] != Created || res.Actions["stream CTI"] != Unchanged {
		t.Fatalf("with the state view: %v, %v", res.Actions, err)
	}
	kv, err := js.KeyValue(ctx, "cti-state")
	if err != nil {
		t.Fatal(err)
	}
	if st, err := kv.Status(ctx); err != nil || st.TTL() != 0 || st.History() != 1 {
		t.Fatalf("state bucket: %v, %v", st, err)
	}
	res, err = ProvisionLeader(ctx, js, ProvisionConfig{})
	if err != nil || res.Actions["kv cti-leader"] != Created {
		t.Fatalf("leader: %v, %v", res.Actions, err)
	}
	kv, err = js.KeyValue(ctx, "cti-leader")
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
	// A high-availability bridge's background provisioning asks for it
	// with Leader: the same bucket, found unchanged.
	res, err = Provision(ctx, js, ProvisionConfig{StateView: true, Leader: true})
	if err != nil || res.Actions["kv cti-leader"] != Unchanged || res.Actions["stream CTI"] != Unchanged {
		t.Fatalf("with Leader: %v, %v", res.Actions, err)
	}
}

func TestProvisionTwiceIsNoOp(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	ctx := provisionCtx(t)
	cfg := ProvisionConfig{Cluster: "lab.east", MaxBytes: 1 << 30, StateView: true}
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
	if tr := s.CachedInfo().Config.SubjectTransform; tr == nil || tr.Source != "cti.lab~2Eeast.call.*.*.*" || tr.Destination != "cti.lab~2Eeast.call.{{wildcard(1)}}" {
		t.Fatalf("transform %+v", tr)
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
	// An empty stream without the layout gets it: nothing to mix.
	if d := got["subject_transform"]; !d.Applied || d.Have != "none" {
		t.Errorf("subject_transform drift %+v", d)
	}
	if d := got["metadata "+schema.LayoutMetadataKey]; !d.Applied || d.Want != "2" {
		t.Errorf("layout drift %+v", d)
	}
	if d := got["compression"]; !d.Applied || d.Have != "None" || d.Want != "S2" {
		t.Errorf("compression drift %+v", d)
	}
	if len(got) != 7 {
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
	if _, err := Provision(ctx, js, ProvisionConfig{StateView: true}); err != nil {
		t.Fatal(err)
	}
	if _, err := ProvisionLeader(ctx, js, ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
	// The state bucket was made with a TTL by an older version; new
	// wishes: longer lease, shorter retention.
	if _, err := js.UpdateKeyValue(ctx, natsjs.KeyValueConfig{Bucket: DefaultStateBucket, History: 1, TTL: DefaultMaxAge}); err != nil {
		t.Fatal(err)
	}
	cfg := ProvisionConfig{StateView: true, LeaderTTL: 30 * time.Second, MaxAge: 24 * time.Hour, ReportOnly: true}
	res, err := Provision(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	lres, err := ProvisionLeader(ctx, js, cfg)
	if err != nil {
		t.Fatal(err)
	}
	res.Drift = append(res.Drift, lres.Drift...)
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
	if lres, err = ProvisionLeader(ctx, js, cfg); err != nil {
		t.Fatal(err)
	}
	if lres.Actions["kv cti-leader"] != Updated || res.Actions["kv cti-state"] != Updated || res.Actions["stream CTI"] != Updated {
		t.Fatalf("actions %v %v", res.Actions, lres.Actions)
	}
	kv, _ := js.KeyValue(ctx, "cti-state")
	if st, _ := kv.Status(ctx); st.TTL() != 0 {
		t.Fatalf("state ttl %s", st.TTL())
	}
	kv, _ = js.KeyValue(ctx, "cti-leader")
	if st, _ := kv.Status(ctx); st.TTL() != 30*time.Second {
		t.Fatalf("leader ttl %s", st.TTL())
	}
}

func TestProvisionValidate(t *testing.T) {
	cfg := ProvisionConfig{Stream: "a.b", Replicas: 7, Duplicates: time.Hour, MaxAge: time.Minute, StateBucket: "bad name", LeaderTTL: time.Millisecond}
	cfg.setDefaults()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"Stream \"a.b\"", "Replicas 7", "Duplicates 1h0m0s exceeds MaxAge", "StateBucket", "LeaderTTL"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in %v", want, err)
		}
	}
}

// An existing stream in the first layout (one subject per call event) is
// never written into: Provision refuses it with instructions and leaves it
// as it is; an empty one is converted.
func TestProvisionRefusesAnotherLayout(t *testing.T) {
	e := startServer(t)
	js := newJS(t, dialTCP(t, e.ClientURL()))
	ctx := provisionCtx(t)
	old := natsjs.StreamConfig{Name: "CTI", Subjects: []string{"cti.>"}, Storage: natsjs.FileStorage, MaxAge: DefaultMaxAge, Duplicates: DefaultDuplicates, AllowDirect: true}
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	for _, subj := range []string{"cti.lab.call.42.CallActiveEv", "cti.lab.call.42.ConnCreatedEv", "cti.lab.provider.ProvInServiceEv"} {
		if _, err := js.Publish(ctx, subj, []byte("{}")); err != nil {
			t.Fatal(err)
		}
	}
	_, err := Provision(ctx, js, ProvisionConfig{})
	var le *LayoutError
	if !errors.Is(err, ErrLayout) || !errors.As(err, &le) {
		t.Fatalf("Provision on a layout-1 stream: %v", err)
	}
	if le.Have != schema.LayoutV1 || le.Want != schema.CurrentLayout || le.Messages != 3 || le.Subjects != 3 {
		t.Fatalf("layout error %+v", le)
	}
	for _, want := range []string{"stream CTI holds 3 events in subject layout 1", "nats.stream", "replay --stream CTI", "nats.stream", "CTI_V2", "nats stream rm CTI", "CTIBRIDGE_NATS_STREAM"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in:\n%v", want, err)
		}
	}
	s, _ := js.Stream(ctx, "CTI")
	if c := s.CachedInfo().Config; c.SubjectTransform != nil || c.Metadata[schema.LayoutMetadataKey] != "" {
		t.Fatalf("the old stream was changed: %+v", c)
	}

	// A stream marked with a layout this version does not know.
	old.Name, old.Subjects, old.Metadata = "FUTURE", []string{"future.>"}, map[string]string{schema.LayoutMetadataKey: "9"}
	if _, err := js.CreateStream(ctx, old); err != nil {
		t.Fatal(err)
	}
	if _, err := Provision(ctx, js, ProvisionConfig{Stream: "FUTURE"}); !errors.Is(err, ErrLayout) || !strings.Contains(err.Error(), `layout "9"`) {
		t.Fatalf("unknown layout: %v", err)
	}
}
