package ctiengine

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// A re-route is answered once per route session. Answering every re-route
// at once looped with CTIManager at network speed while the destinations
// stayed busy: the fault matrix's soak saw ~6,000 route events a second
// for a handful of calls.
func TestMachine_ReRouteAnsweredOncePerSession(t *testing.T) {
	cfg := testConfig()
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001", "1002"}}}
	h := newHarness(t, cfg)
	h.start()
	devs := append(phones(2), ctilink.DeviceInfo{Name: "RP1", Type: ctilink.DeviceRoutePoint, Lines: []ctilink.LineInfo{{DN: "5000"}},
		Registered: true, InService: true})
	h.establish(devs, nil)
	route := ctilink.RouteEvent{Kind: ctilink.RouteKindRoute, Device: "RP1", Line: "5000", SessionID: 7, GlobalCallID: 70, CallHandle: 3}
	h.recv(route)
	reroute := route
	reroute.Kind = ctilink.RouteKindReRoute
	for range 5 {
		h.recv(reroute)
	}
	if n := len(collect[ctilink.RouteSelectRequest](h.frames)); n != 2 {
		t.Fatalf("%d route selects for one route and five re-routes, want 2 (the route and one re-route)", n)
	}
	// A new session is answered again.
	route.SessionID, reroute.SessionID = 8, 8
	h.recv(route)
	h.recv(reroute)
	if n := len(collect[ctilink.RouteSelectRequest](h.frames)); n != 4 {
		t.Fatalf("%d route selects after a second session, want 4", n)
	}
}

// A passive provider (a hot standby) reports route events but leaves the
// route requests to the active application; once active it answers.
func TestMachine_PassiveLeavesRouteRequestsUnanswered(t *testing.T) {
	cfg := testConfig()
	cfg.RoutePoints = map[string]RoutePointConfig{"5000": {Destinations: []string{"1001", "1002"}}}
	cfg.Passive = true
	h := newHarness(t, cfg)
	h.start()
	devs := append(phones(2), ctilink.DeviceInfo{Name: "RP1", Type: ctilink.DeviceRoutePoint, Lines: []ctilink.LineInfo{{DN: "5000"}},
		Registered: true, InService: true})
	h.establish(devs, nil)
	h.take()
	route := ctilink.RouteEvent{Kind: ctilink.RouteKindRoute, Device: "RP1", Line: "5000", SessionID: 7, GlobalCallID: 70, CallHandle: 3}
	h.recv(route)
	if n := len(collect[ctilink.RouteSelectRequest](h.frames)); n != 0 {
		t.Fatalf("a passive provider sent %d route selects", n)
	}
	if evs := h.take(); len(evs) == 0 {
		t.Fatal("a passive provider did not report the route event")
	}
	h.m.SetPassive(false, h.now)
	route.SessionID = 8
	h.recv(route)
	if n := len(collect[ctilink.RouteSelectRequest](h.frames)); n != 1 {
		t.Fatalf("%d route selects once active, want 1", n)
	}
}
