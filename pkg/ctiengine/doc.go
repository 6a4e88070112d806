// Package ctiengine is the JTAPI client side of the bridge: it holds one
// provider session to a cluster's CTIManagers over the link protocol
// (pkg/ctilink), runs the JTAPI connection and failover state machine, and
// turns everything CTIManager reports into the JTAPI event sequence a JTAPI
// application would see, plus the bridge's own lifecycle and gap records.
// It emits schema.Event values to a Sink and imports nothing of NATS.
//
// The design is a deterministic core and a runner:
//
//   - [Machine] is pure, entered through [Machine.Step](now, [Input]) over a
//     closed set of inputs (a decoded frame with the link it came from, a
//     link up/failed/down notification, a timer expiry, a probe result, a
//     command); each step returns an [Output]: frames to send, a link to hang up, a CTIManager to dial or
//     probe, timers to arm or cancel, events for the Sink, state transitions
//     and notes to log. It reads no clock and does no I/O. Call-level JTAPI
//     events come from the call model in package callmodel, which the
//     machine drives.
//   - [Engine] owns the single goroutine stepping the machine, the
//     connection and its reader goroutine, the dialer (TCP or TLS 1.3 with
//     the instance's client certificate and a pinned server trust), the
//     injected [Clock], the zerolog logger and the [Sink].
//
// The provider rules it implements (PRODUCT.md §3.3, docs/engine.md):
// two-phase open; server-decided heartbeats with teardown after twice the
// server interval of silence; the CTIManager-failure sequence
// (CallObservationEndedEv, out-of-service events for observed addresses and
// terminals only, ProvOutOfServiceEv, next CTIManager, ProvInServiceEv,
// devices reinstated with the same observers, CTI port media and route
// callbacks, in-service events, snapshots except for route points); the
// least-priority CTIManager and fallback; CallManager node failures that
// leave the provider in service; jtapi.ini retry settings; TLS with
// one-provider-per-certificate handling; and gap accounting with inferred
// events.
//
// # Usage
//
//	eng, err := ctiengine.New(ctiengine.Config{
//		CTIManagers: []ctiengine.CTIManager{
//			{Name: "cucm-a", Addr: "10.0.0.1:2748"},
//			{Name: "cucm-b", Addr: "10.0.0.2:2748"},
//			{Name: "cucm-dr", Addr: "10.9.0.1:2748", LeastPriority: true},
//		},
//		Login: "ctibridge", Password: secret, AppInfo: "ctibridge",
//		BridgeInstance: runID, // unique per run: event ids derive from it
//		Sink:           publisher,
//		Logger:         log,
//	})
//	if err != nil {
//		return err // every configuration problem, each naming its field
//	}
//	go func() { <-ctx.Done(); eng.Close() }()
//	return eng.Run(ctx)
//
// Run returns nil after Close, ctx.Err() when ctx ended (both after an
// orderly ProviderCloseRequest{APPLICATIONREQUEST}), or why the provider
// shut down for good: errors wrapping [ErrRetryAttemptsExceeded],
// [ErrCertCompromised] or [ErrOpenRefused].
//
// # Events
//
// Every event carries the provider session ("<BridgeInstance>-p<N>"; a
// new session starts with the reconnection after each loss), a
// session-wide sequence (SessionSeq, from 1; with the session it forms the
// CloudEvent id) and a per-entity sequence (Sequence). Besides JTAPI
// events the engine emits CTIManagerConnecting, CTIManagerConnected,
// CTIManagerConnectFailed, CTIManagerLost, CertificateProblem (provider
// family), RouteCallbackRegistered (route family) and GapOpened/GapClosed
// (bridge family; a GapClosed ending a CTIManager failover carries the
// failover's waves, schema.Gap.Waves); inferred call events
// (CallEndedDuringGap, CallDiscoveredBySnapshot) are flagged Data.Inferred.
//
// # Concurrency
//
// A Machine is not safe for concurrent use. An Engine runs everything on
// the goroutine that calls Run: Sink.Emit is called from it, in order, and
// a slow Sink slows the engine (and, through TCP backpressure, the
// CTIManager) rather than dropping or reordering events. Status, Ready,
// InitiateFallback and Close are safe from any goroutine.
//
// # Testing
//
// The core is tested with explicit time: the JTAPI sequences are
// data-driven scripts under testdata/scripts (one file per scenario, each
// citing its guide page; TestScripts, regenerated with -rewrite), and
// machine_test.go drives a Machine through a scripted CTIManager. Every rule of PRODUCT.md §3.3 has a
// scenario test named after it (TestRule1_… to TestRule9_…) running the
// engine against the simulator (pkg/ctisim) over real TCP, TLS for rule 7,
// with the fake clock of internal/fakeclock where timers matter.
// Benchmarks cover call-state processing, a 10,000-device / 2,000-call
// failover and the memory per tracked device.
package ctiengine
