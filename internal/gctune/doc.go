// Package gctune sets the garbage collector's pace of a bridge process:
// GOGC 400 unless the environment sets GOGC.
//
// Why: at a contact centre's 10,000 events/s the bridge allocates a few
// kilobytes per event (frames, events, encodings, nats.go's messages)
// against a live heap of tens of megabytes, so at Go's default (GOGC 100)
// it collects several times a second. Each collection's mark phase takes
// a quarter of the CPUs and assists from allocating goroutines, and the
// publisher's goroutine then waits for a processor: that is most of the
// latency tail (docs/benchmarks.md, runs 13 and 15). At GOGC 400 the
// collector runs about a quarter as often; the heap between collections
// may grow to five times the live heap instead of twice (the live heap,
// which the memory targets measure, does not change). GOMEMLIMIT, if set,
// still makes the collector run before the heap reaches it, which is how
// a tight container keeps the peak bounded.
//
// The decision is the process's, not a library's: cmd/bridge applies it
// at start (`bridge run` and `bridge demo`), and the latency benchmark
// applies the same to its process so that it measures what runs.
package gctune
