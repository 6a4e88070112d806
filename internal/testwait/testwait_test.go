package testwait

import (
	"sync/atomic"
	"testing"
	"time"
)

func TestPollReturnsOnceTheConditionHolds(t *testing.T) {
	var n atomic.Int32
	go func() {
		for i := 0; i < 3; i++ {
			n.Add(1)
		}
	}()
	if !Poll(10*time.Second, func() bool { return n.Load() == 3 }) {
		t.Fatal("Poll gave up on a condition that came true")
	}
}

func TestPollGivesUpAfterItsBound(t *testing.T) {
	calls := 0
	if Poll(5*time.Millisecond, func() bool { calls++; return false }) {
		t.Fatal("Poll reported success for a condition that never held")
	}
	if calls < 2 {
		t.Fatalf("condition evaluated %d times: Poll must retry before giving up", calls)
	}
}

type recorder struct {
	testing.TB
	failed string
}

func (r *recorder) Helper() {}
func (r *recorder) Fatalf(format string, args ...any) {
	r.failed = format
}

func TestEventuallyFailsWithWhatItWaitedFor(t *testing.T) {
	r := &recorder{TB: t}
	Eventually(r, time.Millisecond, "the moon", func() bool { return false })
	if r.failed == "" {
		t.Fatal("Eventually did not fail the test on timeout")
	}
}

func TestBufferKeepsUpToItsLimit(t *testing.T) {
	b := &Buffer{Limit: 5}
	for _, s := range []string{"abc", "def", "g"} {
		if n, err := b.Write([]byte(s)); n != len(s) || err != nil {
			t.Fatalf("Write(%q) = %d, %v", s, n, err)
		}
	}
	if got := b.String(); got != "abcde" {
		t.Fatalf("kept %q, want %q", got, "abcde")
	}
}
