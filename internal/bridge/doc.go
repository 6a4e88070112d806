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
// # Concurrency
//
// The engine calls Emit from its single goroutine; encoding happens there
// (it is cheap) and the publisher takes the message without blocking. The
// HTTP handlers read state through snapshot functions that are safe for
// concurrent use.
package bridge
