package ctiengine

import (
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// A flood of unusable frames is counted in full but logged sparingly: the
// first protoLogFirst in full, then one line per protoLogEvery with the
// running count.
func TestMachine_ProtocolErrorFloodLogsSparingly(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(1), nil)
	h.notes = nil
	for range 2500 {
		h.record(h.m.FrameError(h.link, ctilink.ErrUnknownType, h.now))
	}
	if got := h.m.Status().Counters.ProtocolErrors; got != 2500 {
		t.Fatalf("ProtocolErrors = %d, want 2500", got)
	}
	var full, summaries int
	for _, n := range h.notes {
		switch {
		case strings.Contains(n.Msg, "so far"):
			summaries++
		case strings.Contains(n.Msg, "unusable frame"):
			full++
		}
	}
	if full != protoLogFirst || summaries != 2 {
		t.Fatalf("%d full and %d summary notes for 2500 unusable frames, want %d and 2", full, summaries, protoLogFirst)
	}
	if !strings.Contains(h.notes[len(h.notes)-1].Msg, "2000 unusable or unexpected frames") {
		t.Fatalf("last summary %q", h.notes[len(h.notes)-1].Msg)
	}
}
