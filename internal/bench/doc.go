// Package bench holds the end-to-end benchmarks of PRODUCT.md §6
// "Performance": the whole path from the simulated CTIManager
// (pkg/ctisim) through the bridge (internal/bridge: engine, CloudEvents
// encoder, JetStream publisher) to JetStream acks on an embedded server
// (pkg/jetstream.Embedded, file storage), each measured against a
// baseline in the same run because the machine is shared and noisy.
//
// The package has no API: everything lives in _test.go files, and the
// only Test is a small smoke test of the harness, so `go test ./...`
// stays fast. The per-package benchmarks (encoding, publisher, engine
// core, call model, wire codec, traffic model) stay next to their code;
// docs/benchmarks.md collects every figure with the command that
// produced it.
//
// # Usage
//
//	go test -run '^$' -bench 'Ingest' -benchtime 200000x -count 3 ./internal/bench
//	go test -run '^$' -bench 'Latency10k' -benchtime 50000x -count 3 ./internal/bench
//	go test -run '^$' -bench 'FailoverDetection' -benchtime 5x -count 3 ./internal/bench
//	go test -run '^$' -bench 'FailoverPublished' -benchtime 3x -count 3 ./internal/bench
//	go test -run '^$' -bench 'MemoryEndToEnd' -benchtime 1x -count 3 ./internal/bench
//
// With -benchtime Nx, N is the number of events for the ingest and
// latency benchmarks (ingest stops generating traffic once N events were
// produced, so it stores N plus what was in flight), the number of
// failovers for the failover benchmarks, and the number of full
// measurements for the memory benchmark.
//
// # How the figures are taken
//
// Ingest throughput is read back from the stream after the run, so
// nothing is added to the measured path: the data of every CloudEvent
// carries times.received (when the engine took the CTI frame in hand),
// and JetStream stamps each message when it stores it, just before it
// sends the PubAck. "First frame received → last message stored" is the
// end-to-end window; the raw baseline's window is "first PublishMsgAsync
// → last message stored", for the same messages on a fresh server of the
// same kind.
//
// Latency is observed per event by the publisher's EventLatency (from the
// event's receive time to its PubAck, as the bridge's
// ctibridge_event_latency_seconds); the simulator runs in a child process (the test binary
// started again, see TestMain), as a CTIManager is another machine, and
// with -latency.nats process so does the NATS server. The latency and
// failover figures each come with a raw baseline on the same server: the
// same messages published straight through PublishMsgAsync (at the same
// rate, or as fast as the client takes them).
//
// # Concurrency
//
// Each benchmark builds its own servers and tears them down; none runs
// in parallel with another.
package bench
