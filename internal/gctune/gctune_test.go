package gctune

import (
	"runtime/debug"
	"testing"
)

// restoreGC puts the test process's GOGC back when the test ends.
func restoreGC(t *testing.T) {
	was := Current()
	t.Cleanup(func() { debug.SetGCPercent(was) })
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// Without GOGC in the environment the process collects at the bridge's
// pace; a GOGC the operator set (the runtime applied it at start) is left
// alone and reported.
func TestApply(t *testing.T) {
	restoreGC(t)
	debug.SetGCPercent(100)
	got := Apply(env(nil))
	if got != (Setting{Percent: DefaultPercent}) || Current() != DefaultPercent {
		t.Fatalf("no GOGC: setting %+v, runtime at %d; want %d from the bridge", got, Current(), DefaultPercent)
	}
	if s := got.String(); s != "400 (bridge default)" {
		t.Errorf("String() = %q", s)
	}

	debug.SetGCPercent(150) // as the runtime does for GOGC=150
	got = Apply(env(map[string]string{"GOGC": "150"}))
	if got != (Setting{Percent: 150, FromEnv: true}) || Current() != 150 {
		t.Fatalf("GOGC=150: setting %+v, runtime at %d; want 150 kept", got, Current())
	}
	if s := got.String(); s != "150 (GOGC)" {
		t.Errorf("String() = %q", s)
	}

	debug.SetGCPercent(-1)
	if s := Apply(env(map[string]string{"GOGC": "off"})).String(); s != "off (GOGC)" || Current() != -1 {
		t.Fatalf("GOGC=off: %q, runtime at %d", s, Current())
	}
}
