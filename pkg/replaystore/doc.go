// Package replaystore reads the bridge's event log back: from a NATS
// server, or offline from a copied JetStream store directory; and it keeps
// snapshots of the folded state (pkg/callstate) next to it, so a
// point-in-time rebuild reads only the events after the nearest snapshot.
//
// # Usage
//
//	st, err := replaystore.Open(ctx, replaystore.Config{Server: "nats://127.0.0.1:4222"})
//	// or offline: replaystore.Config{StoreDir: "/var/lib/ctibridge"}
//	defer st.Close()
//	cluster, err := st.Cluster(ctx)
//	state, res, err := st.StateAt(ctx, cluster, replaystore.Point{Time: t}, nil)
//	_, err = st.ReadEvents(ctx, replaystore.Query{Subjects: []string{replaystore.CallSubjects(cluster, "4711")}},
//		func(r replaystore.Record) error { fmt.Println(r.Event.Name); return nil })
//
// Reads use an ordered consumer (ephemeral, flow-controlled, recreated by
// nats.go on a gap) with subject filters and a start sequence or time. A
// bounded read ends at the last message present when it started; a Follow
// read (tail) goes on until its context ends.
//
// # Offline stores
//
// With Config.StoreDir the directory is copied to a temporary directory
// and served by an in-process nats-server that listens on no port
// (DontListen) and is reached over an in-process connection. The user's
// directory is never written to; the copy is removed by Close. The
// streams' index files are not copied: the server rebuilds them from the
// message blocks, so a store written concurrently is read to the last
// intact message rather than to messages a stale index promises.
//
// # Snapshots
//
// A Snapshotter (run by the bridge next to its publisher, or by any
// service with access to the stream) consumes a cluster's events as they
// are stored, folds them with callstate, and every Every events (default
// 10,000) or Interval (default one minute, when events arrived) publishes
// the folded state to the snapshot stream (default "CTI_SNAPSHOTS",
// subjects "ctisnap.>", created idempotently), on subject
// ctisnap.<cluster>. The message body is the gzip-compressed callstate
// JSON document; headers give the last stream sequence and the latest event
// time it covers (Ctisnap-Seq, Ctisnap-Time). A snapshot too large for one
// message is split into parts; the last part lists the others. When the
// Snapshotter restarts it resumes from its latest snapshot.
//
// NearestSnapshot finds the latest snapshot at or before a stream
// sequence or a time (a headers-only scan of the few snapshot messages);
// StateAt loads it and folds the events after it up to the point.
//
// # Concurrency
//
// A Store may be used by several goroutines; each Read runs its own
// consumer and calls its callback on the calling goroutine, in stream
// order. Snapshotter.Run owns its state on one goroutine.
package replaystore
