package jetstream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Provisioning defaults (see docs/jetstream.md for the reasoning). They are
// the one definition of the stream and bucket names: the bridge, replay,
// the configuration and the tests use these constants.
const (
	DefaultStream     = "CTI"
	DefaultMaxAge     = 7 * 24 * time.Hour
	DefaultDuplicates = 10 * time.Minute
	// DefaultReplicas is 1: the embedded server is a single node.
	DefaultReplicas = 1
	// DefaultStateBucket is the state view: current state per line and
	// per device (pkg/stateview), kept by the bridge.
	DefaultStateBucket = "cti-state"
	// DefaultLeaderBucket holds the HA lease (ProvisionLeader).
	DefaultLeaderBucket = "cti-leader"
	DefaultLeaderTTL    = 10 * time.Second
)

// ProvisionConfig describes the event stream and the KV buckets.
type ProvisionConfig struct {
	// Stream is the event stream's name; default "CTI".
	Stream string
	// Cluster, if set, restricts the stream to one CUCM cluster's
	// subjects (cti.<cluster>.>); the name is escaped with
	// schema.EscapeToken. Default: every cluster (cti.>). The first token
	// is always schema.SubjectRoot, the one the encoder writes.
	Cluster string
	// MaxAge is how long events are kept; default 7 days.
	MaxAge time.Duration
	// MaxBytes caps the stream's size; oldest events go first. Default
	// 0: no cap beyond MaxAge and the server's JetStream store limit.
	MaxBytes int64
	// Memory stores the stream in memory instead of files (tests,
	// throwaway demos). Default file storage.
	Memory bool
	// Replicas is the number of copies: 1 for the embedded server (the
	// default), 3 on a NATS cluster.
	Replicas int
	// Duplicates is the Nats-Msg-Id dedupe window; default 10 minutes.
	// It must cover the longest NATS outage plus the resend time: a
	// message whose ack was lost is resent when NATS is back, and only a
	// window that still remembers its id stops it being stored twice.
	Duplicates time.Duration
	// StateView provisions StateBucket (default "cti-state"), the current
	// state per line and per device that the bridge keeps (pkg/stateview);
	// without it the bucket is not created. It has no TTL: it holds one
	// key per configured line and device.
	StateView   bool
	StateBucket string
	// Leader provisions LeaderBucket, the HA lease, as ProvisionLeader
	// does: set by a bridge that runs with high availability, so that
	// its background provisioning creates the lease bucket with the
	// stream. Without it (and without ProvisionLeader) the bucket is not
	// created.
	Leader bool
	// LeaderBucket holds the HA lease; default "cti-leader", TTL
	// LeaderTTL (default 10 s).
	LeaderBucket string
	LeaderTTL    time.Duration
	// ReportOnly reports drift without updating anything.
	ReportOnly bool
}

func (c *ProvisionConfig) setDefaults() {
	if c.Stream == "" {
		c.Stream = DefaultStream
	}
	if c.MaxAge == 0 {
		c.MaxAge = DefaultMaxAge
	}
	if c.Replicas == 0 {
		c.Replicas = DefaultReplicas
	}
	if c.Duplicates == 0 {
		c.Duplicates = DefaultDuplicates
	}
	if c.StateBucket == "" {
		c.StateBucket = DefaultStateBucket
	}
	if c.LeaderBucket == "" {
		c.LeaderBucket = DefaultLeaderBucket
	}
	if c.LeaderTTL == 0 {
		c.LeaderTTL = DefaultLeaderTTL
	}
}

// Validate reports every problem with the configuration as Provision
// applies it (zero values take their defaults).
func (c *ProvisionConfig) Validate() error {
	d := *c
	d.setDefaults()
	return d.validate()
}

func (c *ProvisionConfig) validate() error {
	var errs []error
	if err := checkStreamName("Stream", c.Stream); err != nil {
		errs = append(errs, err)
	}
	if c.MaxAge < 0 {
		errs = append(errs, fmt.Errorf("jetstream: MaxAge %s is negative: use 0 for the default (%s)", c.MaxAge, DefaultMaxAge))
	}
	if c.MaxBytes < 0 {
		errs = append(errs, fmt.Errorf("jetstream: MaxBytes %d is negative: use 0 for no cap", c.MaxBytes))
	}
	if c.Replicas < 1 || c.Replicas > 5 {
		errs = append(errs, fmt.Errorf("jetstream: Replicas %d: use 1 (single server) to 5; 3 is usual on a cluster", c.Replicas))
	}
	if c.Duplicates < 100*time.Millisecond {
		errs = append(errs, fmt.Errorf("jetstream: Duplicates %s: the dedupe window must be at least 100ms (default %s)", c.Duplicates, DefaultDuplicates))
	}
	if c.MaxAge > 0 && c.Duplicates > c.MaxAge {
		errs = append(errs, fmt.Errorf("jetstream: Duplicates %s exceeds MaxAge %s: the dedupe window cannot outlive the messages", c.Duplicates, c.MaxAge))
	}
	for _, b := range []struct{ field, name string }{{"StateBucket", c.StateBucket}, {"LeaderBucket", c.LeaderBucket}} {
		if !validBucket(b.name) {
			errs = append(errs, fmt.Errorf("jetstream: %s %q: use letters, digits, '-' and '_' only", b.field, b.name))
		}
	}
	if c.LeaderTTL < time.Second {
		errs = append(errs, fmt.Errorf("jetstream: LeaderTTL %s: use at least 1s (default %s)", c.LeaderTTL, DefaultLeaderTTL))
	}
	return errors.Join(errs...)
}

func validBucket(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

// Subjects returns the subjects the stream captures.
func (c *ProvisionConfig) Subjects() []string {
	if c.Cluster != "" {
		return []string{schema.ClusterFilter(c.Cluster)}
	}
	return []string{schema.SubjectRoot + ".>"}
}

// StreamConfig returns the desired event stream configuration.
func (c *ProvisionConfig) StreamConfig() natsjs.StreamConfig {
	maxBytes := c.MaxBytes
	if maxBytes == 0 {
		maxBytes = -1
	}
	src, dst := schema.CallTransform(c.Cluster)
	return natsjs.StreamConfig{
		Name:              c.Stream,
		Description:       "CTI events as CloudEvents (ctibridge)",
		Subjects:          c.Subjects(),
		SubjectTransform:  &natsjs.SubjectTransformConfig{Source: src, Destination: dst},
		Metadata:          map[string]string{schema.LayoutMetadataKey: schema.CurrentLayout.String()},
		Retention:         natsjs.LimitsPolicy,
		MaxConsumers:      -1,
		MaxMsgs:           -1,
		MaxBytes:          maxBytes,
		MaxMsgsPerSubject: -1,
		Discard:           natsjs.DiscardOld,
		MaxAge:            c.MaxAge,
		Storage:           c.storage(),
		Compression:       natsjs.S2Compression,
		Replicas:          c.Replicas,
		Duplicates:        c.Duplicates,
		AllowDirect:       true,
	}
}

// KeyValueConfigs returns the desired configurations of the buckets
// Provision creates: the state view's, when StateView is set.
func (c *ProvisionConfig) KeyValueConfigs() []natsjs.KeyValueConfig {
	if !c.StateView {
		return nil
	}
	return []natsjs.KeyValueConfig{
		{Bucket: c.StateBucket, Description: "ctibridge current state per line and device", History: 1, Storage: c.storage(), Replicas: c.Replicas},
	}
}

// LeaderKeyValueConfig is the HA lease bucket's desired configuration
// (ProvisionLeader).
func (c *ProvisionConfig) LeaderKeyValueConfig() natsjs.KeyValueConfig {
	return natsjs.KeyValueConfig{Bucket: c.LeaderBucket, Description: "ctibridge active-instance lease", History: 1, TTL: c.LeaderTTL, Storage: c.storage(), Replicas: c.Replicas}
}

func (c *ProvisionConfig) storage() natsjs.StorageType {
	if c.Memory {
		return natsjs.MemoryStorage
	}
	return natsjs.FileStorage
}

// Action is what provisioning did to one resource.
type Action string

// Actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
	// Drifted: the resource differs and was left as is (ReportOnly, or
	// only fields the server cannot change differ).
	Drifted Action = "drifted"
)

// Drift is one field where an existing resource differs from the desired
// configuration.
type Drift struct {
	// Resource is "stream CTI" or "kv cti-state".
	Resource string
	Field    string
	Want     string
	Have     string
	// Applied is true when the field was updated to Want.
	Applied bool
	// Note says why a field was not applied.
	Note string
}

func (d Drift) String() string {
	s := fmt.Sprintf("%s %s: want %s, have %s", d.Resource, d.Field, d.Want, d.Have)
	switch {
	case d.Applied:
		s += " (updated)"
	case d.Note != "":
		s += " (not updated: " + d.Note + ")"
	}
	return s
}

// Provisioned reports what Provision did.
type Provisioned struct {
	// Actions per resource ("stream CTI", "kv cti-state", ...), in
	// provisioning order.
	Resources []string
	Actions   map[string]Action
	// Drift lists every difference found on existing resources, applied
	// or not; the caller logs it.
	Drift []Drift
}

// Provision creates the event stream and, with StateView, the state view's
// bucket and, with Leader, the HA lease bucket, or checks and updates existing ones. It is idempotent: a second
// run with the same configuration changes nothing and reports no drift. An
// existing resource whose managed fields differ is updated where the
// server allows (limits, dedupe window, replicas, subjects) and every
// difference is reported; fields the server cannot change (storage type)
// are reported and left alone. Nothing is deleted. An existing stream
// holding events in another subject layout is never written into: Provision
// returns a *LayoutError saying what to do (layout.go).
func Provision(ctx context.Context, js natsjs.JetStream, cfg ProvisionConfig) (*Provisioned, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res := &Provisioned{Actions: make(map[string]Action)}
	if err := provisionStream(ctx, js, &cfg, res); err != nil {
		return res, err
	}
	for _, kvc := range cfg.KeyValueConfigs() {
		if err := provisionKV(ctx, js, &cfg, kvc, res); err != nil {
			return res, err
		}
	}
	if cfg.Leader {
		if err := provisionKV(ctx, js, &cfg, cfg.LeaderKeyValueConfig(), res); err != nil {
			return res, err
		}
	}
	return res, nil
}

// ProvisionUntilDone calls Provision until it succeeds, its error is one
// retrying cannot cure (an invalid configuration, another subject layout),
// or ctx ends; each attempt is bounded by attemptTimeout. A JetStream
// cluster that has just formed, or is between meta leaders, can leave an
// API request unanswered (dropped, not refused): a single call then waits
// out its whole deadline. The bridge's Provisioner does the same with
// readiness reporting and backoff; this is for tools and test rigs that
// start a cluster and must provision it before going on.
//
// Like the Provisioner, each attempt first asks for the account's
// JetStream information, so that the first create goes to a cluster that
// answers.
func ProvisionUntilDone(ctx context.Context, js natsjs.JetStream, cfg ProvisionConfig, attemptTimeout time.Duration) (*Provisioned, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	for {
		actx, cancel := context.WithTimeout(ctx, attemptTimeout)
		var res *Provisioned
		_, err := js.AccountInfo(actx)
		if err == nil {
			res, err = Provision(actx, js, cfg)
		}
		cancel()
		if err == nil || errors.Is(err, ErrLayout) || ctx.Err() != nil {
			return res, err
		}
		select {
		case <-ctx.Done():
			return res, err
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// ProvisionLeader creates or checks the HA lease bucket (LeaderBucket,
// TTL LeaderTTL) the way Provision treats the others. Only a bridge
// running with high availability calls it; nothing else uses the bucket.
func ProvisionLeader(ctx context.Context, js natsjs.JetStream, cfg ProvisionConfig) (*Provisioned, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	res := &Provisioned{Actions: make(map[string]Action)}
	return res, provisionKV(ctx, js, &cfg, cfg.LeaderKeyValueConfig(), res)
}

// field is one managed configuration field: how to show it, whether the
// server can update it, and how to copy the desired value over.
type field struct {
	name      string
	want, got string
	fixed     string // non-empty: why the server cannot change it
	apply     func(dst *natsjs.StreamConfig)
}

func provisionStream(ctx context.Context, js natsjs.JetStream, cfg *ProvisionConfig, res *Provisioned) error {
	want := cfg.StreamConfig()
	name := "stream " + want.Name
	res.Resources = append(res.Resources, name)
	s, err := js.Stream(ctx, want.Name)
	if errors.Is(err, natsjs.ErrStreamNotFound) {
		if _, err := js.CreateStream(ctx, want); err != nil {
			return fmt.Errorf("jetstream: create %s: %w", name, err)
		}
		res.Actions[name] = Created
		return nil
	}
	if err != nil {
		return fmt.Errorf("jetstream: look up %s: %w", name, err)
	}
	if err := checkLayout(s.CachedInfo(), cfg); err != nil {
		return err
	}
	have := s.CachedInfo().Config
	fields := streamFields(&want, &have)
	updated, err := reconcile(name, fields, &have, cfg.ReportOnly, res, func(c natsjs.StreamConfig) error {
		_, err := js.UpdateStream(ctx, c)
		return err
	})
	if err != nil {
		return err
	}
	res.Actions[name] = updated
	return nil
}

// reconcile records the differing fields and, unless reportOnly, applies
// the updatable ones with a single update call.
func reconcile(name string, fields []field, have *natsjs.StreamConfig, reportOnly bool, res *Provisioned, update func(natsjs.StreamConfig) error) (Action, error) {
	upd := *have
	first := len(res.Drift)
	n := 0
	for _, f := range fields {
		if f.want == f.got {
			continue
		}
		d := Drift{Resource: name, Field: f.name, Want: f.want, Have: f.got}
		switch {
		case f.fixed != "":
			d.Note = f.fixed
		case reportOnly:
			d.Note = "report only"
		default:
			f.apply(&upd)
			d.Applied = true
			n++
		}
		res.Drift = append(res.Drift, d)
	}
	switch {
	case len(res.Drift) == first:
		return Unchanged, nil
	case n == 0:
		return Drifted, nil
	}
	if err := update(upd); err != nil {
		for i := first; i < len(res.Drift); i++ {
			if res.Drift[i].Applied {
				res.Drift[i].Applied = false
				res.Drift[i].Note = "update failed"
			}
		}
		return Drifted, fmt.Errorf("jetstream: update %s: %w", name, err)
	}
	return Updated, nil
}

func streamFields(want, have *natsjs.StreamConfig) []field {
	return []field{
		{name: "subjects", want: subjectsString(want.Subjects), got: subjectsString(have.Subjects),
			apply: func(d *natsjs.StreamConfig) { d.Subjects = want.Subjects }},
		{name: "storage", want: want.Storage.String(), got: have.Storage.String(),
			fixed: "the server cannot change the storage type of a stream; recreate it to change it"},
		{name: "retention", want: want.Retention.String(), got: have.Retention.String(),
			fixed: retentionFixed(want.Retention, have.Retention),
			apply: func(d *natsjs.StreamConfig) { d.Retention = want.Retention }},
		{name: "max_age", want: want.MaxAge.String(), got: have.MaxAge.String(),
			apply: func(d *natsjs.StreamConfig) { d.MaxAge = want.MaxAge }},
		{name: "max_bytes", want: limit(want.MaxBytes), got: limit(have.MaxBytes),
			apply: func(d *natsjs.StreamConfig) { d.MaxBytes = want.MaxBytes }},
		{name: "discard", want: want.Discard.String(), got: have.Discard.String(),
			apply: func(d *natsjs.StreamConfig) { d.Discard = want.Discard }},
		{name: "replicas", want: fmt.Sprint(want.Replicas), got: fmt.Sprint(have.Replicas),
			apply: func(d *natsjs.StreamConfig) { d.Replicas = want.Replicas }},
		{name: "duplicate_window", want: want.Duplicates.String(), got: have.Duplicates.String(),
			apply: func(d *natsjs.StreamConfig) { d.Duplicates = want.Duplicates }},
		{name: "allow_direct", want: fmt.Sprint(want.AllowDirect), got: fmt.Sprint(have.AllowDirect),
			apply: func(d *natsjs.StreamConfig) { d.AllowDirect = want.AllowDirect }},
		{name: "compression", want: want.Compression.String(), got: have.Compression.String(),
			apply: func(d *natsjs.StreamConfig) { d.Compression = want.Compression }},
		{name: "subject_transform", want: transformString(want.SubjectTransform), got: transformString(have.SubjectTransform),
			apply: func(d *natsjs.StreamConfig) { d.SubjectTransform = want.SubjectTransform }},
		{name: "metadata " + schema.LayoutMetadataKey, want: want.Metadata[schema.LayoutMetadataKey], got: cmp.Or(have.Metadata[schema.LayoutMetadataKey], "none"),
			apply: func(d *natsjs.StreamConfig) {
				// Keep the server's own metadata (_nats.*) and anyone else's keys.
				m := maps.Clone(d.Metadata)
				if m == nil {
					m = map[string]string{}
				}
				m[schema.LayoutMetadataKey] = want.Metadata[schema.LayoutMetadataKey]
				d.Metadata = m
			}},
	}
}

func transformString(t *natsjs.SubjectTransformConfig) string {
	if t == nil {
		return "none"
	}
	return t.Source + " -> " + t.Destination
}

func retentionFixed(want, have natsjs.RetentionPolicy) string {
	if want != have && (want == natsjs.WorkQueuePolicy || have == natsjs.WorkQueuePolicy) {
		return "the server cannot change retention to or from work queue; recreate the stream to change it"
	}
	return ""
}

func subjectsString(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return "[" + strings.Join(s, " ") + "]"
}

// limit shows a stream limit, 0 and -1 both meaning none.
func limit(v int64) string {
	if v <= 0 {
		return "unlimited"
	}
	return fmt.Sprint(v)
}

func provisionKV(ctx context.Context, js natsjs.JetStream, cfg *ProvisionConfig, want natsjs.KeyValueConfig, res *Provisioned) error {
	name := "kv " + want.Bucket
	res.Resources = append(res.Resources, name)
	_, err := js.KeyValue(ctx, want.Bucket)
	if errors.Is(err, natsjs.ErrBucketNotFound) {
		if _, err := js.CreateKeyValue(ctx, want); err != nil {
			return fmt.Errorf("jetstream: create %s: %w", name, err)
		}
		res.Actions[name] = Created
		return nil
	}
	if err != nil {
		return fmt.Errorf("jetstream: look up %s: %w", name, err)
	}
	s, err := js.Stream(ctx, "KV_"+want.Bucket)
	if err != nil {
		return fmt.Errorf("jetstream: look up %s: %w", name, err)
	}
	have := s.CachedInfo().Config
	history := int64(max(want.History, 1))
	fields := []field{
		{name: "history", want: fmt.Sprint(history), got: fmt.Sprint(have.MaxMsgsPerSubject),
			apply: func(d *natsjs.StreamConfig) { d.MaxMsgsPerSubject = history }},
		{name: "ttl", want: want.TTL.String(), got: have.MaxAge.String(),
			apply: func(d *natsjs.StreamConfig) { d.MaxAge = want.TTL }},
		{name: "storage", want: want.Storage.String(), got: have.Storage.String(),
			fixed: "the server cannot change the storage type of a bucket; recreate it to change it"},
		{name: "replicas", want: fmt.Sprint(want.Replicas), got: fmt.Sprint(have.Replicas),
			apply: func(d *natsjs.StreamConfig) { d.Replicas = want.Replicas }},
	}
	action, err := reconcile(name, fields, &have, cfg.ReportOnly, res, func(c natsjs.StreamConfig) error {
		// UpdateKeyValue rebuilds the whole backing-stream config from a
		// KeyValueConfig; keep the fields it must not change as they are.
		kv := want
		kv.History = uint8(min(c.MaxMsgsPerSubject, 64))
		kv.TTL = c.MaxAge
		kv.Storage = c.Storage
		kv.Replicas = c.Replicas
		_, err := js.UpdateKeyValue(ctx, kv)
		return err
	})
	if err != nil {
		return err
	}
	res.Actions[name] = action
	return nil
}

// checkStreamName reports a stream name the server would refuse (field
// names the setting).
func checkStreamName(field, name string) error {
	if strings.ContainsAny(name, ". *>\t\r\n/\\") {
		return fmt.Errorf("jetstream: %s %q: a stream name cannot contain '.', '*', '>', '/', '\\' or whitespace", field, name)
	}
	return nil
}
