// Package ha is the NATS side of the bridge's high availability
// (docs/ha.md): several bridge instances with the same configuration elect
// one active instance through a lease in a JetStream KV bucket, and the
// active one fences the event log so that a stale active can never add to
// it.
//
// # Parts
//
//   - Elector drives the pure lease core (internal/ha/lease) against the
//     bucket: Create to campaign, Update at the last revision to renew,
//     a revision-checked Delete to release; the bucket's TTL expires a
//     holder that stopped renewing. Only the answers of those writes
//     decide leadership, never a read. MayAct is the self-fence by time:
//     false from the deadline on (last successful renewal sent + TTL −
//     margin, monotonic clock), whatever the process was doing meanwhile.
//   - WriteMarker is the fence in the log: each tenure stores its
//     LeaderAcquired event as the last message of the epoch subject
//     (EpochSubject), and the publisher sends every event of the tenure
//     expecting that marker to still be last (jetstream.Fence). The server
//     refuses a stale tenure's publishes from the moment its successor's
//     marker is stored. LastTenure reads how the previous tenure ended.
//   - Follower reads what is stored, for a hot standby (internal/ha/hot
//     keeps its own events and applies the takeover rule).
//
// The package never imports the CTI engine: internal/bridge ties the
// lease, the fence and the engine together.
package ha
