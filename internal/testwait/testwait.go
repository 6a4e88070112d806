package testwait

import (
	"testing"
	"time"
)

// DefaultTimeout bounds a wait when the caller passes 0. It is generous
// because CI machines are small and shared: a wait that succeeds returns
// as soon as its condition holds, so only a failing test pays it.
const DefaultTimeout = 30 * time.Second

// Eventually polls cond until it returns true, failing tb after timeout
// (DefaultTimeout if 0) with "timed out after …, waiting for <what>".
// The poll interval starts at 1 ms and doubles up to 50 ms, so short
// waits return quickly and long ones do not spin.
func Eventually(tb testing.TB, timeout time.Duration, what string, cond func() bool) {
	tb.Helper()
	if !Poll(timeout, cond) {
		if timeout <= 0 {
			timeout = DefaultTimeout
		}
		tb.Fatalf("timed out after %v, waiting for %s", timeout, what)
	}
}

// Poll is Eventually without a test: it reports whether cond held
// within timeout (DefaultTimeout if 0). Benchmarks' harnesses and
// commands that share test rigs use it.
func Poll(timeout time.Duration, cond func() bool) bool {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	step := time.Millisecond
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(step)
		if step < 50*time.Millisecond {
			step *= 2
		}
	}
	return true
}
