// Package tlse2e proves the bridge's TLS promises end to end: the real
// bridge (internal/bridge: engine, CloudEvents encoder, JetStream publisher,
// ops HTTP endpoints) against the simulator's TLS 1.3 ports (pkg/ctisim with
// a development PKI) and an embedded NATS server with JetStream
// (pkg/jetstream). Every assertion is made on what an operator or a consumer
// sees: the events stored in the stream, /readyz, /metrics and the log
// lines.
//
// The package's non-test code is the test harness ([NATS], [StartSim],
// [StartBridge], [Logs]); internal/limits uses it too. It is internal and
// meant only for tests: its helpers take a testing.TB and fail the test on
// error.
//
// # Usage
//
//	n := tlse2e.StartNATS(t)
//	sim, pkiDir := tlse2e.StartTLSSim(t, []string{"inst-1"}, nil)
//	cfg := tlse2e.EngineConfig(sim)
//	tlse2e.WithTLS(&cfg, "inst-1", pkiDir, filepath.Join(t.TempDir(), "ctl.pem"))
//	br := tlse2e.StartBridge(t, n, tlse2e.BridgeOptions{Engine: cfg})
//	br.WaitReady(t)
//	evs := n.WaitEvents(t, "provider in service", tlse2e.Has(schema.EvProvInService, 1))
//
// README.md in this directory lists what each test proves, in a form
// docs/reliability.md quotes.
//
// # Concurrency
//
// Every helper is safe to call from the test goroutine; [Logs] may be
// written from any goroutine. Waits poll real I/O with a bounded deadline
// ([WaitBound]); nothing sleeps to let something happen.
package tlse2e
