package traffic

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// legal lists, per wire state, the states a leg may move to next. The
// first state of a leg is DIALTONE (it places a call) or OFFERING (it is
// called). Repeats that carry new parties are allowed where a transfer or
// conference re-reports a leg (CONNECTED→CONNECTED, ACCEPTED→ACCEPTED) or
// a forward on no answer moves the call on (RINGBACK→RINGBACK).
var legal = map[ctilink.CallState][]ctilink.CallState{
	ctilink.CallStateDialTone:   {ctilink.CallStateDialing, ctilink.CallStateDisconnected},
	ctilink.CallStateDialing:    {ctilink.CallStateProceeding, ctilink.CallStateDisconnected},
	ctilink.CallStateProceeding: {ctilink.CallStateRingback, ctilink.CallStateBusy, ctilink.CallStateDisconnected},
	ctilink.CallStateRingback:   {ctilink.CallStateConnected, ctilink.CallStateRingback, ctilink.CallStateDisconnected},
	ctilink.CallStateBusy:       {ctilink.CallStateDisconnected},
	ctilink.CallStateOffering:   {ctilink.CallStateAccepted, ctilink.CallStateDisconnected},
	ctilink.CallStateAccepted: {ctilink.CallStateConnected, ctilink.CallStateAccepted, ctilink.CallStateRemoteInUse,
		ctilink.CallStateDisconnected},
	ctilink.CallStateConnected: {ctilink.CallStateOnHold, ctilink.CallStateConnected, ctilink.CallStateRingback,
		ctilink.CallStateDisconnected},
	ctilink.CallStateOnHold: {ctilink.CallStateConnected, ctilink.CallStateRemoteInUse, ctilink.CallStateDisconnected},
	// A shared line's other appearance: the call is in use on another phone.
	ctilink.CallStateRemoteInUse: {ctilink.CallStateConnected, ctilink.CallStateDisconnected},
}

type legTrack struct {
	device, line string
	gid          uint32
	state        ctilink.CallState
	origin       bool
	lost         bool // lost to a CallManager node failure (UNKNOWN)
}

// checker verifies the invariants every emission stream must keep. It
// returns the first violation as an error so callers fail with context.
type checker struct {
	last     time.Time
	legs     map[uint32]*legTrack // by call handle
	liveOn   map[string]map[uint32]bool
	gids     map[uint32]bool // calls with at least one live leg or seen
	ended    map[uint32]bool // gids whose legs are all gone
	liveLegs map[uint32]int  // live legs per gid
	oos      map[string]bool // devices that must not get a new leg
	multi    map[string]bool // devices that take many calls at once (route points)
	events   int
}

func newChecker() *checker {
	return &checker{legs: map[uint32]*legTrack{}, liveOn: map[string]map[uint32]bool{},
		gids: map[uint32]bool{}, ended: map[uint32]bool{}, liveLegs: map[uint32]int{}, oos: map[string]bool{},
		multi: map[string]bool{"RP1": true, "RP2": true}}
}

func contains(s []ctilink.CallState, v ctilink.CallState) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (c *checker) add(ems []Emission) error {
	for _, e := range ems {
		if err := c.one(e); err != nil {
			return fmt.Errorf("emission %d (%T at %s): %w", c.events, e.Msg, e.At.Format(time.RFC3339Nano), err)
		}
		c.events++
	}
	return nil
}

func timeNs(msg ctilink.Message) int64 {
	switch e := msg.(type) {
	case ctilink.CallStateEvent:
		return e.TimeNs
	case ctilink.FeatureEvent:
		return e.TimeNs
	case ctilink.CallChangedEvent:
		return e.TimeNs
	case ctilink.RouteEvent:
		return e.TimeNs
	case ctilink.MediaEvent:
		return e.TimeNs
	case ctilink.CallPartyEvent:
		return e.TimeNs
	}
	return -1
}

func (c *checker) one(e Emission) error {
	if e.At.Before(c.last) {
		return fmt.Errorf("time went back from %s", c.last)
	}
	c.last = e.At
	if err := e.Msg.Validate(); err != nil {
		return fmt.Errorf("invalid message: %w", err)
	}
	if ns := timeNs(e.Msg); ns != e.At.UnixNano() {
		return fmt.Errorf("TimeNs %d differs from emission time %d", ns, e.At.UnixNano())
	}
	switch ev := e.Msg.(type) {
	case ctilink.CallStateEvent:
		if ev.Snapshot {
			return fmt.Errorf("snapshot flag on a live event")
		}
		l, ok := c.legs[ev.CallHandle]
		if !ok {
			// A retrieved parked call joins the retriever connected.
			retrieved := ev.State == ctilink.CallStateConnected && ev.FeatureReason == ctilink.FeatureUnpark
			if ev.State != ctilink.CallStateDialTone && ev.State != ctilink.CallStateOffering && !retrieved {
				return fmt.Errorf("leg %d starts in %s", ev.CallHandle, ev.State)
			}
			if c.ended[ev.GlobalCallID] {
				return fmt.Errorf("new leg in ended call %d", ev.GlobalCallID)
			}
			if c.oos[ev.Device] {
				return fmt.Errorf("new leg on out-of-service device %s", ev.Device)
			}
			key := ev.Device + "/" + ev.Line
			for h := range c.liveOn[key] {
				if c.multi[ev.Device] {
					break
				}
				// Only a transferring party places a second call, and
				// only with the first on hold.
				if ev.State != ctilink.CallStateDialTone || c.legs[h].state != ctilink.CallStateOnHold {
					return fmt.Errorf("line %s picked while in call (leg %d %s)", key, h, c.legs[h].state)
				}
			}
			l = &legTrack{device: ev.Device, line: ev.Line, gid: ev.GlobalCallID, state: ev.State, origin: ev.Origin}
			c.legs[ev.CallHandle] = l
			if c.liveOn[key] == nil {
				c.liveOn[key] = map[uint32]bool{}
			}
			c.liveOn[key][ev.CallHandle] = true
			c.gids[ev.GlobalCallID] = true
			c.liveLegs[ev.GlobalCallID]++
			if ev.Origin != (ev.State == ctilink.CallStateDialTone) {
				return fmt.Errorf("origin %v on a leg starting in %s", ev.Origin, ev.State)
			}
			return nil
		}
		if l.state == ctilink.CallStateDisconnected || l.lost {
			return fmt.Errorf("leg %d got %s after DISCONNECTED or lost to a CallManager failure", ev.CallHandle, ev.State)
		}
		if ev.GlobalCallID != l.gid {
			return fmt.Errorf("leg %d changed call %d→%d without CallChanged", ev.CallHandle, l.gid, ev.GlobalCallID)
		}
		if ev.Device != l.device || ev.Line != l.line || ev.Origin != l.origin {
			return fmt.Errorf("leg %d changed line or origin", ev.CallHandle)
		}
		if ev.State == ctilink.CallStateUnknown && ev.Cause == ctilink.CauseCallManagerFailure {
			// Lost to a CallManager node failure: nothing follows.
			l.lost, l.state = true, ev.State
			delete(c.liveOn[l.device+"/"+l.line], ev.CallHandle)
			c.dropLive(l.gid)
			return nil
		}
		if !contains(legal[l.state], ev.State) {
			return fmt.Errorf("leg %d (%s) illegal %s→%s", ev.CallHandle, ev.Line, l.state, ev.State)
		}
		l.state = ev.State
		if ev.State == ctilink.CallStateDisconnected {
			delete(c.liveOn[l.device+"/"+l.line], ev.CallHandle)
			c.dropLive(l.gid)
		}
	case ctilink.CallChangedEvent:
		l, ok := c.legs[ev.CallHandle]
		if !ok || l.state == ctilink.CallStateDisconnected {
			return fmt.Errorf("CallChanged for unknown or dead leg %d", ev.CallHandle)
		}
		if l.gid != ev.OriginalCallID || ev.Device != l.device || ev.Line != l.line {
			return fmt.Errorf("CallChanged %d→%d for leg %d of call %d", ev.OriginalCallID, ev.SurvivingCall, ev.CallHandle, l.gid)
		}
		if c.ended[ev.SurvivingCall] || !c.gids[ev.SurvivingCall] {
			return fmt.Errorf("CallChanged into unknown or ended call %d", ev.SurvivingCall)
		}
		c.dropLive(l.gid)
		l.gid = ev.SurvivingCall
		c.liveLegs[l.gid]++
	case ctilink.FeatureEvent:
		for _, g := range []uint32{ev.PrimaryCallID, ev.ConsultCallID} {
			if !c.gids[g] {
				return fmt.Errorf("feature names unknown call %d", g)
			}
		}
	case ctilink.RouteEvent:
		if !c.gids[ev.GlobalCallID] {
			return fmt.Errorf("route event for unknown call %d", ev.GlobalCallID)
		}
	case ctilink.MediaEvent:
		if l, ok := c.legs[ev.CallHandle]; !ok || l.gid != ev.GlobalCallID || l.device != ev.Device {
			return fmt.Errorf("media event for unknown leg %d", ev.CallHandle)
		}
	case ctilink.CallPartyEvent:
		if !c.gids[ev.GlobalCallID] || c.ended[ev.GlobalCallID] {
			return fmt.Errorf("call party event for unknown call %d", ev.GlobalCallID)
		}
	default:
		return fmt.Errorf("unexpected message type %T", e.Msg)
	}
	return nil
}

func (c *checker) dropLive(gid uint32) {
	c.liveLegs[gid]--
	if c.liveLegs[gid] == 0 {
		delete(c.liveLegs, gid)
		c.ended[gid] = true
	}
}

// allEnded reports a leg that never got DISCONNECTED.
func (c *checker) allEnded() error {
	for h, l := range c.legs {
		if l.state != ctilink.CallStateDisconnected && !l.lost {
			return fmt.Errorf("leg %d on %s left in %s", h, l.line, l.state)
		}
	}
	return nil
}
