// Package bridge wires the daemon together: the CTI engine's events are
// observed by the metrics, encoded as CloudEvents and handed to the
// JetStream publisher; the ops HTTP server exposes /healthz, /readyz,
// /metrics and /status.
//
// # Readiness
//
// /readyz is 200 only while the provider is IN_SERVICE and the publisher is
// connected to NATS; otherwise 503 with the reasons. A compromised client
// certificate keeps it false until an operator intervenes.
//
// # High availability
//
// With Config.HA the bridge is one member of a group (docs/ha.md): ha.go
// holds the member's state and routes the engine's events (published while
// active; kept in the hot standby's window, or dropped, while standby),
// ha_run.go runs the lease, the tenure's start (epoch marker, log fence)
// and its end (release, demotion), ha_takeover.go the cold takeover (the
// log's fold, the wait, the takeover gap) and the hot one (the recovered
// events). A standby's /readyz says whether it could take over now.
//
// # Concurrency
//
// The engine calls Emit from its single goroutine; encoding happens there
// (it is cheap) and the publisher takes the message without blocking. The
// HTTP handlers read state through snapshot functions that are safe for
// concurrent use.
package bridge
