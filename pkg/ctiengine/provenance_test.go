package ctiengine

import (
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Every event derived from an inbound frame names it ("<providerId>:<seq>"),
// including call messages held back while devices are opened and applied
// later; events the engine originates (timers, link loss) name none.
func TestMachine_EventsCarryTheFrameTheyCameFrom(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.up()
	h.openResponse(10*time.Second, 10*time.Second)
	h.openCompleted(0)
	h.deviceList(phones(2), 500)
	// Devices are being opened: this call message is held back.
	call := ctilink.CallStateEvent{Device: "SEP000000000001", Line: "1001", CallHandle: 1, GlobalCallID: 42,
		State: ctilink.CallStateOffering, Calling: ctilink.Party{DN: "9999"}, Called: ctilink.Party{DN: "1001"}, TimeNs: t0.UnixNano()}
	h.record(h.m.MessageSeq(h.link, 9, call, h.now))
	h.take()
	h.answerRequests(nil)
	var callEvs int
	for _, ev := range h.take() {
		switch {
		case ev.Family == schema.FamilyCall:
			callEvs++
			if ev.Frame != "prov-1:9" {
				t.Fatalf("held-back call event %s has frame %q, want prov-1:9", ev.Name, ev.Frame)
			}
		case ev.Frame != "":
			t.Fatalf("%s came from a frame without a sequence but names %q", ev.Name, ev.Frame)
		}
	}
	if callEvs == 0 {
		t.Fatal("the held-back call message produced no event")
	}

	call.State = ctilink.CallStateAccepted
	h.record(h.m.MessageSeq(h.link, 31, call, h.now))
	evs := h.take()
	if len(evs) == 0 {
		t.Fatal("no event for ACCEPTED")
	}
	for _, ev := range evs {
		if ev.Frame != "prov-1:31" {
			t.Fatalf("%s: frame %q, want prov-1:31", ev.Name, ev.Frame)
		}
	}

	// A heartbeat miss is the engine's own doing: no frame.
	h.advance(time.Minute)
	evs = h.take()
	if len(evs) == 0 || evs[0].Name != schema.EvCTIManagerLost {
		t.Fatalf("no link loss: %v", names(evs))
	}
	for _, ev := range evs {
		if ev.Frame != "" {
			t.Fatalf("%s after a heartbeat miss names frame %q", ev.Name, ev.Frame)
		}
	}
}

// A gap carried over from a previous run opens first and is reconciled
// against the first provider's snapshot: every call it reports is
// discovered (nothing is known from before), then GapClosed counts them.
func TestMachine_PriorGapReconciledByTheFirstSnapshot(t *testing.T) {
	h := newHarness(t, testConfig())
	began := t0.Add(-42 * time.Second)
	h.m.SetPriorGap(PriorGap{Reason: "bridge restart: previous run b0 ended without an orderly stop", OpenedAt: began})
	h.start()
	evs := h.take()
	if len(evs) < 1 || evs[0].Name != schema.EvGapOpened {
		t.Fatalf("first events %v, want GapOpened first", names(evs))
	}
	opened := evs[0].Data.Bridge.Gap
	if opened.Kind != "provider" || !opened.OpenedAt.Equal(began) || opened.Reason == "" {
		t.Fatalf("GapOpened %+v", opened)
	}
	h.advance(2 * time.Second)
	h.establish(phones(2), func(dev string) []ctilink.Message {
		if dev == "SEP000000000002" {
			return []ctilink.Message{snapCall("SEP000000000002", "1002", 77, 5, "8888")}
		}
		return nil
	})
	evs = h.take()
	var discovered bool
	for _, ev := range evs {
		if ev.Name == schema.EvCallDiscovered {
			discovered = ev.Entity == "77" && ev.Data.Inferred && ev.Data.Call.GapID == opened.ID
		}
	}
	if !discovered {
		t.Fatalf("no CallDiscoveredBySnapshot for the call up across the restart: %v", names(evs))
	}
	last := evs[len(evs)-1]
	if last.Name != schema.EvGapClosed {
		t.Fatalf("last event %s, want GapClosed", last.Name)
	}
	g := last.Data.Bridge.Gap
	if g.ID != opened.ID || !g.OpenedAt.Equal(began) || g.DurationMs != 44000 || g.CallsDiscovered != 1 || g.CallsBefore != 0 || g.CallsAfter != 1 {
		t.Fatalf("GapClosed %+v", g)
	}
}

// A call's per-entity sequence never restarts within a session: a call
// that ended and is reported again (after a failover, another device's
// snapshot can name a call that already ended for the first device) goes
// on from its last sequence. The fault matrix's soak found calls whose
// events restarted at 1.
func TestMachine_CallSequenceContinuesAfterTheCallIsForgotten(t *testing.T) {
	h := newHarness(t, testConfig())
	h.start()
	h.establish(phones(2), nil)
	h.take()
	leg := ctilink.CallStateEvent{Device: "SEP000000000001", Line: "1001", CallHandle: 1, GlobalCallID: 42, State: ctilink.CallStateConnected,
		Origin: true, Calling: ctilink.Party{DN: "1001"}, Called: ctilink.Party{DN: "9999"}, TimeNs: t0.UnixNano()}
	h.recv(leg)
	leg.State = ctilink.CallStateDisconnected
	h.recv(leg)
	first := h.take()
	var last uint64
	for _, ev := range first {
		if ev.Entity == "42" {
			last = ev.Sequence
		}
	}
	if n := count(first, "CallObservationEndedEv"); n != 1 || last == 0 {
		t.Fatalf("the call did not end: %v", names(first))
	}
	h.recv(snapCall("SEP000000000002", "1002", 42, 2, "1001"))
	again := h.take()
	if len(again) == 0 {
		t.Fatal("the snapshot did not report the call again")
	}
	for _, ev := range again {
		if ev.Entity != "42" {
			continue
		}
		last++
		if ev.Sequence != last {
			t.Fatalf("%s has sequence %d, want %d (no restart within a session)", ev.Name, ev.Sequence, last)
		}
	}
}

// After a failover the provider is out of service, inside a gap, until
// the new link has opened the devices; call messages that arrive
// meanwhile are held back. When that link ends first — Close during the
// opens (the bridge stopping), or the link lost — the provider never
// came back on it: the messages are never applied (no call event may
// precede ProvInServiceEv, including a message that arrives while the
// close is pending), they are counted and logged as discarded inside the
// gap, and the gap stays open. (The fault matrix once found the stopping
// case: the engine applied the later message, so flushed the earlier one,
// with the provider out of service.)
func TestMachine_HeldBackMessagesDiscardedWhenTheLinkEndsBeforeInService(t *testing.T) {
	for _, end := range []string{"close", "closed by CTIManager"} {
		t.Run(end, func(t *testing.T) {
			h := newHarness(t, testConfig())
			h.start()
			h.establish(phones(2), nil)
			h.down(nil)
			h.up()
			h.openResponse(10*time.Second, 10*time.Second)
			h.openCompleted(0)
			h.deviceList(phones(2), 500)
			h.take()
			call := ctilink.CallStateEvent{Device: "SEP000000000001", Line: "1001", CallHandle: 1, GlobalCallID: 42,
				State: ctilink.CallStateOffering, Calling: ctilink.Party{DN: "9999"}, Called: ctilink.Party{DN: "1001"}, TimeNs: t0.UnixNano()}
			h.record(h.m.MessageSeq(h.link, 9, call, h.now))
			if end == "close" {
				h.record(h.m.Shutdown(h.now))
				call.State = ctilink.CallStateAccepted
				h.record(h.m.MessageSeq(h.link, 10, call, h.now))
				h.record(h.m.MessageSeq(h.link, 11, ctilink.ProviderClosed{Reason: ctilink.CloseApplicationRequest}, h.now))
			} else {
				h.record(h.m.MessageSeq(h.link, 10, ctilink.ProviderClosed{Reason: ctilink.CloseHeartbeatMissed}, h.now))
			}
			evs := h.take()
			for _, ev := range evs {
				if ev.Family == schema.FamilyCall || ev.Name == schema.EvProvInService || ev.Name == schema.EvGapClosed {
					t.Fatalf("%s while the provider never came back in service: %v", ev.Name, names(evs))
				}
			}
			want := []string{schema.EvCTIManagerLost, schema.EvProvShutdown}
			if end != "close" {
				want = []string{schema.EvCTIManagerLost, schema.EvCTIManagerConnecting}
			}
			eqStrings(t, "events", names(evs), want)
			discarded := uint64(1)
			if end == "close" {
				discarded = 2
			}
			if n := h.m.Status().Counters.HeldBackDiscarded; n != discarded {
				t.Errorf("HeldBackDiscarded = %d, want %d", n, discarded)
			}
			if st := h.m.Status(); st.Gap == nil || st.Gap.ID != "b1-gap1" {
				t.Errorf("gap %+v, want b1-gap1 still open", st.Gap)
			}
			noted := false
			for _, n := range h.notes {
				noted = noted || strings.Contains(n.Msg, "discarded") && strings.Contains(n.Msg, "inside provider gap b1-gap1")
			}
			if !noted {
				t.Errorf("no note says the held-back messages were discarded inside the gap: %+v", h.notes)
			}
		})
	}
}

// A takeover from a bridge that released its lease in order: its open
// gap is adopted (no second GapOpened) and the calls its log held are
// reconciled by the first snapshot: the one still up continues (re-opened
// with CallActiveEv), the one gone ends with CallEndedDuringGap, and a
// call unknown to the log is discovered; GapClosed closes the adopted gap
// with those counts.
func TestMachine_PriorGapWithKnownCallsAndAnAdoptedGap(t *testing.T) {
	h := newHarness(t, testConfig())
	began := t0.Add(-3 * time.Second)
	h.m.SetPriorGap(PriorGap{Reason: "provider shut down: APPLICATIONREQUEST", OpenedAt: began, ID: "a-gap1", Calls: []uint32{77, 78}})
	h.start()
	h.advance(time.Second)
	h.establish(phones(2), func(dev string) []ctilink.Message {
		switch dev {
		case "SEP000000000001":
			return []ctilink.Message{snapCall("SEP000000000001", "1001", 79, 4, "7777")}
		case "SEP000000000002":
			return []ctilink.Message{snapCall("SEP000000000002", "1002", 77, 5, "8888")}
		}
		return nil
	})
	evs := h.take()
	if n := count(evs, schema.EvGapOpened); n != 0 {
		t.Fatalf("%d GapOpened: the adopted gap was opened again: %v", n, names(evs))
	}
	var ended, discovered, reopened bool
	for _, ev := range evs {
		switch {
		case ev.Name == schema.EvCallEndedInGap && ev.Entity == "78":
			ended = ev.Data.Call.GapID == "a-gap1"
		case ev.Name == schema.EvCallDiscovered && ev.Entity == "79":
			discovered = true
		case ev.Name == schema.EvCallActive && ev.Entity == "77":
			reopened = true
		case ev.Name == schema.EvCallDiscovered && ev.Entity == "77":
			t.Fatal("the call the log knew was discovered as new")
		}
	}
	if !ended || !discovered || !reopened {
		t.Fatalf("ended 78 %v, discovered 79 %v, re-opened 77 %v: %v", ended, discovered, reopened, names(evs))
	}
	last := evs[len(evs)-1]
	g := last.Data.Bridge.Gap
	if last.Name != schema.EvGapClosed || g.ID != "a-gap1" || g.CallsBefore != 2 || g.CallsEnded != 1 || g.CallsContinued != 1 || g.CallsDiscovered != 1 {
		t.Fatalf("last event %s %+v", last.Name, g)
	}
}
