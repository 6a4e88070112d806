package ctiengine

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// randomMessage returns a server message with fields drawn from small
// ranges so that they often, but not always, refer to known things.
func randomMessage(r *rand.Rand) ctilink.Message {
	dev := []string{"SEP000000000001", "SEP000000000002", "RP1", "nope"}[r.IntN(4)]
	line := []string{"1001", "1002", "5000", "9999"}[r.IntN(4)]
	seq := uint32(r.IntN(40))
	switch r.IntN(16) {
	case 0:
		return ctilink.ProviderOpenResponse{ReqSeq: seq, ServerHeartbeatMs: int64(r.IntN(5000) + 1), ClientHeartbeatMs: int64(r.IntN(5000) + 1), ProviderID: "p"}
	case 1:
		return ctilink.ProviderOpenCompleted{ReqSeq: seq, Reason: ctilink.CloseReason([]int{0, 0, 0, 7, 101, 2}[r.IntN(6)])}
	case 2:
		return ctilink.DeviceListResponse{ReqSeq: seq, Devices: phones(r.IntN(3)), More: r.IntN(2) == 0}
	case 3:
		return ctilink.Response{ReqSeq: seq, Result: ctilink.Result(r.IntN(3))}
	case 4:
		return ctilink.SnapshotCompleted{ReqSeq: seq, Device: dev}
	case 5, 6, 7:
		return ctilink.CallStateEvent{Device: dev, Line: line, CallHandle: uint32(r.IntN(6) + 1), GlobalCallID: uint32(r.IntN(4) + 1),
			State: ctilink.CallState(r.IntN(21)), Snapshot: r.IntN(4) == 0, Origin: r.IntN(2) == 0,
			Calling: ctilink.Party{DN: line}, Called: ctilink.Party{DN: "1002"}}
	case 8:
		return ctilink.DeviceServiceEvent{Device: dev, InService: r.IntN(2) == 0, Reason: 1}
	case 9:
		return ctilink.LineServiceEvent{Device: dev, Line: line, InService: r.IntN(2) == 0, Reason: 1}
	case 10:
		return ctilink.DeviceRegistrationEvent{Device: dev, Registered: r.IntN(2) == 0}
	case 11:
		return ctilink.RouteEvent{Kind: []string{"route", "reroute", "used", "end"}[r.IntN(4)], Device: dev, Line: line,
			SessionID: uint32(r.IntN(3) + 1), GlobalCallID: uint32(r.IntN(4) + 1), CallHandle: 1}
	case 12:
		return ctilink.ProviderClosed{Reason: ctilink.CloseReason([]int{2, 7, 3}[r.IntN(3)])}
	case 13:
		return ctilink.ErrorMessage{ReqSeq: seq, Code: 3}
	case 14:
		return ctilink.FeatureEvent{Feature: "transfer", Started: r.IntN(2) == 0, Device: dev, Line: line,
			PrimaryCallID: uint32(r.IntN(4) + 1), ConsultCallID: uint32(r.IntN(4) + 1)}
	}
	return ctilink.Heartbeat{}
}

// TestMachine_SurvivesArbitraryInput drives the machine with random
// messages, timer fires and link events: it must never panic, never stop
// unless a close reason says so, and keep its invariants.
func TestMachine_SurvivesArbitraryInput(t *testing.T) {
	for seed := uint64(1); seed <= 40; seed++ {
		r := rand.New(rand.NewPCG(seed, seed))
		cfg := testConfig()
		cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001"}}}
		h := newHarness(t, cfg)
		h.start()
		for step := 0; step < 400 && !h.done; step++ {
			switch k := r.IntN(20); {
			case k == 0:
				h.advance(time.Duration(r.IntN(40)) * time.Second)
			case k == 1 && h.link == 0 && len(h.dials) > 0:
				h.up()
			case k == 2 && h.link == 0 && len(h.dials) > 0:
				h.fail(errors.New("refused"))
			case k == 3 && h.link != 0:
				h.down(errors.New("reset"))
			case k == 4:
				h.record(h.m.InitiateFallback(h.now))
			default:
				if h.link != 0 {
					h.recv(randomMessage(r))
				}
			}
			if h.m.Provider() == ProviderInService && h.m.link < LinkSnapshotting {
				t.Fatalf("seed %d: provider in service with link %s", seed, h.m.Link())
			}
			if len(h.m.pending) > h.m.cfg.RequestWindow {
				t.Fatalf("seed %d: %d requests in flight", seed, len(h.m.pending))
			}
		}
		if h.done && h.err == nil {
			t.Fatalf("seed %d: machine stopped without a reason", seed)
		}
		for i, ev := range h.events {
			if ev.Session == "" || ev.SessionSeq == 0 || ev.Sequence == 0 || ev.Data.Event != ev.Name {
				t.Fatalf("seed %d: event %d badly stamped: %+v", seed, i, ev)
			}
		}
	}
}
