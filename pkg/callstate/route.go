package callstate

import (
	"slices"
	"strings"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// maxRouteSessions bounds the open sessions kept per route point; a log
// that never ends its route sessions must not grow the state without
// bound. The oldest session is forgotten first.
const maxRouteSessions = 4096

func (s *State) applyRoute(ev *schema.Event) {
	d := ev.Data.Route
	addr := ev.Entity
	if addr == "" && d != nil {
		addr = d.Address
	}
	if addr == "" {
		s.stats.Ignored++
		return
	}
	if d == nil {
		d = &schema.RouteData{}
	}
	rp, ok := s.routePoints[addr]
	if !ok {
		rp = &RoutePoint{Address: addr}
		s.routePoints[addr] = rp
	}
	if d.Terminal != "" {
		rp.Terminal = d.Terminal
	}
	switch ev.Name {
	case schema.EvRouteRegistered:
		rp.Registered = d.Registered == nil || *d.Registered
		rp.CallbackKept = d.CallbackKept
	case schema.EvRoute, schema.EvReRoute:
		state := "ROUTE"
		if ev.Name == schema.EvReRoute {
			state = "RE_ROUTE"
		} else {
			rp.Routed++
		}
		rs := rp.session(d.SessionID, ev)
		rs.State = firstNonEmpty(d.State, state)
		if d.CallID != "" {
			rs.CallID = d.CallID
		}
		setParty(&rs.Calling, d.Calling)
		setParty(&rs.Called, d.Called)
	case schema.EvRouteUsed:
		rs := rp.session(d.SessionID, ev)
		rs.State = firstNonEmpty(d.State, "ROUTE_USED")
		if d.Selected != "" {
			rs.Selected = d.Selected
		}
		if d.CallID != "" {
			rs.CallID = d.CallID
		}
	case schema.EvRouteEnd:
		rp.Sessions = slices.DeleteFunc(rp.Sessions, func(r RouteSession) bool { return r.ID == d.SessionID })
	case schema.EvRouteCallbackEnded:
		rp.Registered = false
		rp.CallbackKept = false
		rp.Sessions = nil
	default:
		s.stats.UnknownEvents++
	}
}

func (rp *RoutePoint) session(id string, ev *schema.Event) *RouteSession {
	for i := range rp.Sessions {
		if rp.Sessions[i].ID == id {
			return &rp.Sessions[i]
		}
	}
	if len(rp.Sessions) >= maxRouteSessions {
		oldest := 0
		for i := range rp.Sessions {
			if rp.Sessions[i].Since.Before(rp.Sessions[oldest].Since) {
				oldest = i
			}
		}
		rp.Sessions = slices.Delete(rp.Sessions, oldest, oldest+1)
	}
	at, _ := slices.BinarySearchFunc(rp.Sessions, id, func(r RouteSession, id string) int { return strings.Compare(r.ID, id) })
	rp.Sessions = slices.Insert(rp.Sessions, at, RouteSession{ID: id, Since: ev.Time})
	return &rp.Sessions[at]
}
