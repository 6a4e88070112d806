package ha

import (
	"context"
	"errors"
	"fmt"
	"strings"

	natsjs "github.com/nats-io/nats.go/jetstream"
)

// kvToken makes a name safe as one token of a KV key (letters, digits,
// '-' and '_' kept; anything else '_' and its hex code).
func kvToken(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "_%02X", c)
	}
	if b.Len() == 0 {
		return "_"
	}
	return b.String()
}

// StandbyKey is the presence key of a hot standby of cluster: written
// every renewal period while it is in sync (provider in service, log
// followed), it expires with the bucket's TTL when the standby stops.
func StandbyKey(cluster, instance string) string {
	return "standby." + kvToken(cluster) + "." + kvToken(instance)
}

// AnnounceStandby writes (refreshes) instance's presence key.
func AnnounceStandby(ctx context.Context, kv natsjs.KeyValue, cluster, instance string) error {
	_, err := kv.PutString(ctx, StandbyKey(cluster, instance), instance)
	return err
}

// WithdrawStandby deletes instance's presence key (it takes over or stops).
func WithdrawStandby(ctx context.Context, kv natsjs.KeyValue, cluster, instance string) error {
	err := kv.Delete(ctx, StandbyKey(cluster, instance))
	if errors.Is(err, natsjs.ErrKeyNotFound) {
		return nil
	}
	return err
}

// StandbysInSync lists the hot standbys of cluster whose presence key is
// fresh (written within the bucket's TTL), other than except. An active
// hot bridge that stops hands over without a gap only when one exists:
// otherwise nobody would publish what it observes after its release, so
// it stops like a cold one (its provider closed, the gap recorded). The
// list decides how to stop, never who leads.
func StandbysInSync(ctx context.Context, kv natsjs.KeyValue, cluster, except string) ([]string, error) {
	l, err := kv.ListKeysFiltered(ctx, "standby."+kvToken(cluster)+".*")
	if err != nil {
		return nil, err
	}
	defer func() { _ = l.Stop() }()
	skip := StandbyKey(cluster, except)
	var out []string
	for k := range l.Keys() {
		if k != skip {
			out = append(out, k)
		}
	}
	return out, nil
}
