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
//	go test -run '^$' -bench 'Memory' -benchtime 1x -count 3 ./internal/bench
//
// With -benchtime Nx, N is the number of events for the ingest and
// latency benchmarks (the run stops generating traffic once N events were
// produced, so the count reported is N plus the calls already under way),
// the number of failovers for the detection benchmark, and ignored by the
// memory benchmark (one measurement per op).
//
// # How the figures are taken
//
// Throughput and latency are read back from the stream after the run, so
// nothing is added to the measured path: the data of every CloudEvent
// carries times.received (when the engine took the CTI frame in hand),
// and JetStream stamps each message when it stores it, just before it
// sends the PubAck. "First frame received → last message stored" is the
// end-to-end window; the raw baseline's window is "first PublishMsgAsync
// → last message stored", on a fresh server of the same kind.
package bench
