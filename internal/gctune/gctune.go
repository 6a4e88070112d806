package gctune

import (
	"runtime/debug"
	"strconv"
)

// DefaultPercent is the bridge's GOGC when the environment sets none.
const DefaultPercent = 400

// LogMessage is the start-up log line's message beside the Setting.
const LogMessage = `garbage collector pace (docs/operations.md, "Memory and the garbage collector")`

// Setting is the collector's pace after Apply.
type Setting struct {
	// Percent is GOGC's value (-1: collection off, GOGC=off).
	Percent int
	// FromEnv: the environment's GOGC was kept; otherwise DefaultPercent
	// was set.
	FromEnv bool
}

// String reads as a log value: "400 (bridge default)" or "100 (GOGC)".
func (s Setting) String() string {
	v := strconv.Itoa(s.Percent)
	if s.Percent < 0 {
		v = "off"
	}
	if s.FromEnv {
		return v + " (GOGC)"
	}
	return v + " (bridge default)"
}

// Apply sets GOGC to DefaultPercent unless getenv("GOGC") is set (the
// runtime has then applied it already), and returns the setting in force.
func Apply(getenv func(string) string) Setting {
	if getenv("GOGC") != "" {
		return Setting{Percent: Current(), FromEnv: true}
	}
	debug.SetGCPercent(DefaultPercent)
	return Setting{Percent: DefaultPercent}
}

// Current reads GOGC's value in force (the runtime offers no getter).
func Current() int {
	v := debug.SetGCPercent(100)
	debug.SetGCPercent(v)
	return v
}
