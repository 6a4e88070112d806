package replaystore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
)

// clusterNodes reports how many nodes' stores dir holds when it is the
// store of a JetStream cluster: subdirectories nats-1 … nats-N, each a
// nats-server store_dir (holding "jetstream"), as `bridge demo
// --nats-cluster N` leaves them (and as the compose cluster's volumes can
// be copied). 0 if it is not.
func clusterNodes(dir string) int {
	n := 0
	for ; ; n++ {
		st, err := os.Stat(filepath.Join(dir, jetstream.NodeName(n), "jetstream"))
		if err != nil || !st.IsDir() {
			break
		}
	}
	if n < 2 {
		return 0
	}
	return n
}

// openOfflineCluster serves copies of a cluster's stores with an embedded
// cluster of the same node names: a replicated stream lives in the nodes'
// Raft groups, which only a cluster of its peers brings back (a single
// server does not see it). Its leader has every acknowledged event.
func (s *Store) openOfflineCluster(nodes int) error {
	sweepStaleCopies()
	tmp, err := os.MkdirTemp("", fmt.Sprintf("%s%d-*", copyPrefix, os.Getpid()))
	if err != nil {
		return fmt.Errorf("replaystore: temporary directory for the store copy: %w", err)
	}
	s.tmp = tmp
	for i := range nodes {
		name := jetstream.NodeName(i)
		if err := copyTree(filepath.Join(s.cfg.StoreDir, name, "jetstream"), filepath.Join(tmp, name, "jetstream")); err != nil {
			return fmt.Errorf("replaystore: copy store %s: %w", filepath.Join(s.cfg.StoreDir, name), err)
		}
	}
	c, err := jetstream.NewEmbeddedCluster(jetstream.EmbeddedClusterConfig{
		DataDir: tmp, Nodes: nodes,
		// The copy is private: keep the servers from grabbing memory they
		// will not need.
		JetStreamMaxMemory: 64 << 20,
		Logger:             s.log.Level(zerolog.ErrorLevel),
	})
	if err != nil {
		return err
	}
	s.cluster = c
	if err := c.Start(); err != nil {
		return fmt.Errorf("replaystore: offline cluster over %s: %w", s.cfg.StoreDir, err)
	}
	nc, err := c.Connect(s.cfg.Name)
	if err != nil {
		return err
	}
	s.nc = nc
	// The stream answers once its Raft group has elected a leader.
	js, err := natsjs.New(nc)
	if err != nil {
		return fmt.Errorf("replaystore: jetstream: %w", err)
	}
	var lastErr error
	if !testwait.Poll(s.cfg.ConnectTimeout+30*time.Second, func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		st, err := js.Stream(ctx, s.cfg.Stream)
		lastErr = err
		if errors.Is(err, natsjs.ErrStreamNotFound) {
			return true // Open reports it
		}
		return err == nil && (st.CachedInfo().Cluster == nil || st.CachedInfo().Cluster.Leader != "")
	}) {
		return fmt.Errorf("replaystore: stream %s in the cluster store %s has no leader: %v", s.cfg.Stream, s.cfg.StoreDir, lastErr)
	}
	return nil
}
