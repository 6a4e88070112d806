package failpoint

import (
	"errors"
	"testing"
)

func TestCheckReturnsTheEnabledFaultUntilDisabled(t *testing.T) {
	errStall := errors.New("stalled")
	if err := Check("p", "a"); err != nil {
		t.Fatalf("a point nobody enabled returned %v", err)
	}
	n := 0
	disable := Enable("p", "a", func() error { n++; return errStall })
	if err := Check("p", "a"); !errors.Is(err, errStall) || n != 1 {
		t.Fatalf("enabled for a: %v after %d calls, want the fault once", err, n)
	}
	if err := Check("p", "b"); err != nil {
		t.Fatalf("enabled for a, checked by b: %v", err)
	}
	if err := Check("q", "a"); err != nil {
		t.Fatalf("another point: %v", err)
	}
	disableAny := Enable("p", Any, func() error { return errStall })
	if err := Check("p", "b"); !errors.Is(err, errStall) {
		t.Fatalf("enabled for any instance, checked by b: %v", err)
	}
	disable()
	disable() // idempotent
	disableAny()
	if err := Check("p", "a"); err != nil || enabled.Load() != 0 {
		t.Fatalf("after disabling: %v, %d points enabled", err, enabled.Load())
	}
}
