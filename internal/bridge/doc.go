// Package bridge wires the daemon together: the CTI engine's events are
// observed by the metrics, encoded as CloudEvents and handed to the
// JetStream publisher; the ops HTTP server exposes /healthz, /readyz,
// /metrics and /status.
//
// # Readiness
//
// /readyz is 200 only while the provider is IN_SERVICE, the event stream is
// provisioned and the publisher is connected to NATS; otherwise 503 with
// the reasons ("NATS not reachable: <error>", "JetStream not ready: no
// meta leader", "stream CTI not provisioned yet"). A compromised client
// certificate keeps it false until an operator intervenes.
//
// # Start in any order
//
// With Config.Provision set, the bridge provisions the stream itself in
// the background (eventlog.go): it starts and opens the provider before
// NATS is up, holds the publisher (events buffer) until the stream exists,
// does the restart check then, recreates a stream deleted under it
// (StreamRecreated) and records the stream's NATS leader changes
// (NATSLeaderChanged).
//
// # High availability
//
// With Config.HA the bridge is one member of a group (docs/ha.md): ha.go
// holds the member's state and routes the engine's events (published while
// active; kept in the hot standby's window, or dropped, while standby),
// ha_run.go runs the lease, the tenure's start (epoch marker, log fence)
// and its end (release, demotion), ha_takeover.go the cold takeover (the
// log's fold, the wait, the takeover gap) and the hot one (the recovered
// events; the engine's events held meanwhile, at most the window's bound —
// a takeover that cannot read the log up to its marker gives the lease
// back and is a standby again, with what it held in its window). A hot
// member that stops by handing over waits for a successor to take the
// lease and, if none does (a standby that died within its presence key's
// TTL), takes it back, publishes what it observed since its cut and stops
// with its provider closed. A hot standby keeps its presence key only
// while in sync: it deletes it as soon as its provider is out of service
// or the log is not followed, so an active that stops then stops like a
// cold member. A release that closed the provider publishes
// LeaderLost (released) only once the log holds every event of the
// tenure, flushing for as long as the stream keeps acknowledging;
// otherwise it publishes none, and the successor records a takeover gap
// as after a crash. A
// standby's /readyz says whether it could take over now. A member that
// provisions the stream (Config.Provision) neither campaigns nor publishes
// before the stream and the lease bucket exist. With Config.StateView
// every member folds the log into the state view (a cold member shares its
// takeovers' fold with it) and only the active one writes its keys
// (ha_stateview.go). Fault tests reach the takeover's failure paths through
// internal/failpoint.
//
// # Concurrency
//
// The engine calls Emit from its single goroutine; encoding happens there
// (it is cheap) and the publisher takes the message without blocking. The
// HTTP handlers read state through snapshot functions that are safe for
// concurrent use.
package bridge
