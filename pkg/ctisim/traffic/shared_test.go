package traffic

import (
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// TestSharedLineSequence: 1001 calls 2005, shared by SEP1 and SEP2: both
// appearances ring; SEP1 answers and SEP2 shows the call in use; SEP1
// holds and SEP2 resumes; the caller hangs up, then both appearances.
func TestSharedLineSequence(t *testing.T) {
	dir := Directory{Phones: []Line{
		{Device: "SEPA", DN: "1001", CallManager: "cm1"},
		{Device: "SEP1", DN: "1002", CallManager: "cm1"},
		{Device: "SEP2", DN: "1003", CallManager: "cm2"},
		{Device: "SEP1", DN: "2005", CallManager: "cm1"},
		{Device: "SEP2", DN: "2005", CallManager: "cm2"},
	}}
	m, err := New(fixedConfig(), dir, newHooks())
	if err != nil {
		t.Fatal(err)
	}
	chk := newChecker()
	if _, err := m.Place(SharedLine, "1001", "2005", "", t0); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Place(SharedLine, "1002", "2005", "", t0); err == nil {
		t.Fatal("a busy shared line (and a caller on one of its phones) was placed")
	}
	var d describer
	ems := m.Advance(t0.Add(time.Minute))
	if err := chk.add(ems); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range ems {
		got = append(got, e.At.Sub(t0).String()+" "+d.line(e.Msg))
	}
	want := []string{
		"0s 1001 DIALTONE #1",
		"1s 1001 DIALING #1", "1s 1001 PROCEEDING #1",
		"1s 2005 OFFERING #1", "1s 2005 OFFERING #1", "1s 2005 ACCEPTED #1", "1s 2005 ACCEPTED #1",
		"1s 1001 RINGBACK #1",
		"3s 2005 CONNECTED #1", "3s 2005 REMOTEINUSE #1", "3s 1001 CONNECTED #1",
		"8s 2005 ONHOLD #1",
		"11s 2005 CONNECTED #1", "11s 2005 REMOTEINUSE #1",
		"16s 1001 DISCONNECTED #1 NORMALCALLCLEARING",
		"16s 2005 DISCONNECTED #1 NORMALCALLCLEARING", "16s 2005 DISCONNECTED #1 NORMALCALLCLEARING",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
	// SEP1 answers, SEP2 shows it in use; SEP2 resumes, SEP1 shows it in
	// use.
	var who []string
	for _, e := range ems {
		if ev, ok := e.Msg.(ctilink.CallStateEvent); ok && ev.Line == "2005" &&
			(ev.State == ctilink.CallStateConnected || ev.State == ctilink.CallStateRemoteInUse) {
			who = append(who, ev.Device+" "+ev.State.String())
		}
	}
	if diff := cmp.Diff([]string{"SEP1 CONNECTED", "SEP2 REMOTEINUSE", "SEP2 CONNECTED", "SEP1 REMOTEINUSE"}, who); diff != "" {
		t.Errorf("appearances (-want +got):\n%s", diff)
	}
	if err := chk.allEnded(); err != nil {
		t.Fatal(err)
	}
	if !m.DeviceIdle("SEP1") || !m.DeviceIdle("SEP2") {
		t.Error("the shared line's phones are not idle after the call")
	}
}
