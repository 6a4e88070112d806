package replaystore

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// ErrNoCluster is returned by Cluster when the log names no cluster.
var ErrNoCluster = errors.New("replaystore: no cluster in the log")

// Clusters lists the CUCM clusters that have events in the stream, from
// the (few) provider and bridge subjects, so it stays cheap on a long log.
func (s *Store) Clusters(ctx context.Context) ([]string, error) {
	seen := map[string]bool{}
	for _, f := range []schema.Family{schema.FamilyProvider, schema.FamilyBridge} {
		si, err := s.stream.Info(ctx, natsjs.WithSubjectFilter(FamilySubjects("", f)))
		if err != nil {
			return nil, fmt.Errorf("replaystore: stream subjects: %w", err)
		}
		for subj := range si.State.Subjects {
			if c, ok := clusterOf(subj); ok {
				seen[c] = true
			}
		}
	}
	if len(seen) == 0 {
		// No provider or bridge event: take the cluster of the first
		// message.
		info, err := s.Info(ctx)
		if err != nil {
			return nil, err
		}
		for seq := info.FirstSeq; seq > 0 && seq <= info.LastSeq && seq < info.FirstSeq+16; seq++ {
			m, err := s.stream.GetMsg(ctx, seq)
			if err != nil {
				continue // deleted
			}
			if c, ok := clusterOf(m.Subject); ok {
				seen[c] = true
				break
			}
		}
	}
	out := make([]string, 0, len(seen))
	for c := range seen {
		out = append(out, c)
	}
	slices.Sort(out)
	return out, nil
}

// Cluster returns the only cluster of the log, or an error that lists the
// clusters when there are several.
func (s *Store) Cluster(ctx context.Context) (string, error) {
	cs, err := s.Clusters(ctx)
	if err != nil {
		return "", err
	}
	switch len(cs) {
	case 0:
		return "", fmt.Errorf("%w: stream %s has no cti.<cluster>.… events", ErrNoCluster, s.cfg.Stream)
	case 1:
		return cs[0], nil
	}
	return "", fmt.Errorf("replaystore: the log holds several clusters (%s): choose one with --cluster", strings.Join(cs, ", "))
}

func clusterOf(subject string) (string, bool) {
	rest, ok := strings.CutPrefix(subject, SubjectRoot+".")
	if !ok {
		return "", false
	}
	tok, _, _ := strings.Cut(rest, ".")
	c, err := schema.UnescapeToken(tok)
	if err != nil || c == "" {
		return "", false
	}
	return c, true
}

// Bounds returns when the stream's first and last events happened
// (EventTime; zero times for an empty stream): the reference points of
// relative times such as "+6s" or "-2m", on the clock the timeline and a
// state at a time use. They are read from the first and last messages
// only (a message that is not an event gives its stored time).
func (s *Store) Bounds(ctx context.Context) (first, last time.Time, err error) {
	info, err := s.Info(ctx)
	if err != nil || info.Messages == 0 {
		return time.Time{}, time.Time{}, err
	}
	at := func(seq uint64, stored time.Time) time.Time {
		m, err := s.stream.GetMsg(ctx, seq)
		if err != nil {
			return stored
		}
		_, ev, err := schema.Decode(m.Header, m.Data)
		if err != nil {
			return m.Time
		}
		return EventTime(&ev)
	}
	return at(info.FirstSeq, info.FirstTime), at(info.LastSeq, info.LastTime), nil
}

// HasCluster reports whether the stream holds any event of cluster (the
// last message on its subjects, one lookup).
func (s *Store) HasCluster(ctx context.Context, cluster string) (bool, error) {
	if cs, err := s.Clusters(ctx); err == nil && slices.Contains(cs, cluster) {
		return true, nil
	}
	_, err := s.stream.GetLastMsgForSubject(ctx, ClusterSubjects(cluster))
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, natsjs.ErrMsgNotFound):
		return false, nil
	}
	return false, fmt.Errorf("replaystore: look up cluster %s: %w", cluster, err)
}
