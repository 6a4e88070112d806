// Package failpoint injects faults into named points of the bridge's code
// for the fault tests, where a real fault cannot be produced on demand (a
// log read that stalls just after a lease is taken, say) — the idea of
// etcd's gofail, without code generation.
//
// Code marks a point with Check(point, instance): it returns nil unless a
// test has enabled the point for that instance (or for every instance)
// with Enable, which then decides what the point returns. Points are
// constants next to the code that checks them. A disabled point costs one
// atomic load; nothing is enabled outside tests.
package failpoint
