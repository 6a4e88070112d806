// Package hafaults holds the high-availability fault tests of the bridge
// (docs/ha.md): a group of two bridges, cold (one shared client
// certificate) or hot (one each), on the fault-matrix rig
// (internal/faultmatrix), with orderly hand-overs, crashes, SIGTERM,
// SIGSTOP, a member cut off from NATS and fifty hand-overs in a row, each
// judged by the ground-truth checker with its HA rules; and
// BenchmarkHATakeover, the takeover time after a crash at 10,000 devices.
//
// It has no code of its own outside its tests: it is a package so that
// the HA tests run in a test binary of their own, beside the fault
// matrix's, each well inside go test's default timeout.
package hafaults
