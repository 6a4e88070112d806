package traffic

import (
	"cmp"
	"slices"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// Snapshot returns the current CallStateEvent (Snapshot=true) of every live
// leg on the device's lines, line by line in directory order, oldest leg
// first. Each event carries the leg's current state, cause and parties;
// TimeNs is when the leg entered that state. Nothing is emitted and the
// model does not advance: the snapshot reflects every emission produced so
// far, including any a Place or RouteSelect left for the next Advance, so
// a driver collects those first to keep the order.
func (m *Model) Snapshot(device string) []ctilink.CallStateEvent {
	var out []ctilink.CallStateEvent
	for _, li := range m.byDevice[device] {
		for _, l := range m.lines[li].legs {
			if !l.lost {
				out = append(out, m.stateEvent(l, true))
			}
		}
	}
	return out
}

// DeviceIdle reports whether no call has a leg on the device's lines: a
// device re-homes to another CallManager node only then (JTAPI guide,
// Cisco Unified Communications Manager Server Failure).
func (m *Model) DeviceIdle(device string) bool {
	for _, li := range m.byDevice[device] {
		if len(m.lines[li].legs) > 0 {
			return false
		}
	}
	return true
}

// FailDevices plays a CallManager node failure for those devices: calls in
// setup on them are dropped (cause TEMPORARYFAILURE), connected calls
// survive but CTIManager loses the devices' legs in them: each such leg
// is reported once more, UNKNOWN with cause CALLMANAGER_FAILURE (508,
// CiscoCallEv.CAUSE_CALLMANAGER_FAILURE), and nothing after (JTAPI guide,
// Cisco Unified Communications Manager Server Failure: "the failure …
// during a call results only in termination of observation of that
// device. The media path continues to exist but without any further call
// control features"). The lost leg ends silently with its call.
//
// A call is in setup until one of its called legs has been CONNECTED; a
// call with a live leg on one of the devices is dropped: DISCONNECTED with
// cause TEMPORARYFAILURE on every live leg, in leg order (an open route
// session ends first with cause 105 UNSPECIFIED_ERROR). A dropped consult
// call gives the primary call back to the transferring party. The result
// holds every emission up to now, pending ones from Place or RouteSelect
// included, so the driver sends them in order. While the server reports a
// device out of service (Hooks.DeviceInService) the generator does not
// pick it and calls to it fail like busy.
func (m *Model) FailDevices(devices []string, now time.Time) []Emission {
	m.run(m.offset(now))
	failed := make(map[string]bool, len(devices))
	for _, d := range devices {
		failed[d] = true
	}
	var drop, lose []*call
	for _, c := range m.calls {
		if c.connected {
			for _, l := range c.legs {
				if failed[m.lines[l.line].Device] && !l.lost {
					lose = append(lose, c)
					break
				}
			}
			continue
		}
		for _, l := range c.legs {
			if failed[m.lines[l.line].Device] {
				drop = append(drop, c)
				break
			}
		}
	}
	// Map order is random; global ids give a deterministic order.
	slices.SortFunc(drop, func(a, b *call) int { return cmp.Compare(a.gid, b.gid) })
	for _, c := range drop {
		m.dropCall(c)
	}
	slices.SortFunc(lose, func(a, b *call) int { return cmp.Compare(a.gid, b.gid) })
	for _, c := range lose {
		for _, l := range c.legs {
			if failed[m.lines[l.line].Device] && !l.lost {
				l.state, l.cause, l.at = ctilink.CallStateUnknown, ctilink.CauseCallManagerFailure, m.cur
				m.emit(m.stateEvent(l, false))
				l.lost = true
			}
		}
	}
	return m.flush()
}

func (m *Model) dropCall(c *call) {
	f := c.f
	m.stats.Dropped++
	if f.session != 0 && f.call1 == c {
		m.endSession(f, RouteCauseUnspecifiedError)
	}
	f.epoch++ // every pending step of the flow is void now
	for _, l := range slices.Clone(c.legs) {
		m.set(l, ctilink.CallStateDisconnected, ctilink.CauseTemporaryFailure)
	}
	if !f.done && c == f.call2 {
		m.resume(f)
	}
}
