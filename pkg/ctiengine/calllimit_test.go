package ctiengine

import (
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Beyond MaxCalls, calls are not tracked: counted in Status, warned about
// at the first dropped event and then at most once a minute.
func TestMachine_MaxCallsWarnsOncePerMinute(t *testing.T) {
	cfg := testConfig()
	cfg.MaxCalls = 2
	h := newHarness(t, cfg)
	h.start()
	devs := phones(1)
	h.establish(devs, nil)
	h.notes = nil
	offer := func(id uint32) {
		h.recv(ctilink.CallStateEvent{Device: devs[0].Name, Line: devs[0].Lines[0].DN, CallHandle: id, GlobalCallID: id,
			State: ctilink.CallStateOffering, Calling: ctilink.Party{DN: "2000"}, Called: ctilink.Party{DN: devs[0].Lines[0].DN}})
	}
	for id := uint32(1); id <= 10; id++ {
		offer(id)
	}
	warned := func() int {
		n := 0
		for _, note := range h.notes {
			if strings.Contains(note.Msg, "MaxCalls 2") {
				n++
			}
		}
		return n
	}
	if st := h.m.Status(); st.Calls != 2 || st.CallsUntracked != 8 || warned() != 1 {
		t.Fatalf("calls %d untracked %d warnings %d; want 2, 8, 1", st.Calls, st.CallsUntracked, warned())
	}
	h.now = h.now.Add(time.Minute)
	offer(11)
	if warned() != 2 || !strings.Contains(h.notes[len(h.notes)-1].Msg, "(9 so far") {
		t.Fatalf("after a minute: %d warnings, last %+v", warned(), h.notes[len(h.notes)-1])
	}
}
