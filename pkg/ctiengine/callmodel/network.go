package callmodel

import "github.com/ctibridge/ctibridge/pkg/ctilink"

// farExternal reports whether the far party of the line's leg (as farDN
// picks it) is outside the cluster: the wire marks such a party External,
// with the trunk that reaches it as its device.
//
// JTAPI's CallControlConnection has NETWORK_REACHED ("the outgoing call
// has reached the network") and NETWORK_ALERTING for a call that left the
// switch's domain (JTAPI 1.4, CallControlConnection). Cisco's guide shows
// an originating connection inside the cluster going straight from
// DIALING to ESTABLISHED (CallCtlConnDialingEv-A, CallCtlConnEstablishedEv-A,
// JTAPI guide 15 p.1024) and never the network states for a far end in
// the cluster; it is silent on the exact trunk sequence. So the model
// reports NETWORK_REACHED at PROCEEDING and NETWORK_ALERTING at RINGBACK
// only when the far end is external, and ESTABLISHED at PROCEEDING for
// every far end inside the cluster, observed or not (an unobserved one is
// still synthesized OFFERED, ALERTING, ESTABLISHED from the line's events).
func farExternal(ev *ctilink.CallStateEvent, origin bool) bool {
	if origin {
		if ev.CurrentCalled.DN != "" {
			return ev.CurrentCalled.External
		}
		return ev.Called.External
	}
	if ev.CurrentCalling.DN != "" {
		return ev.CurrentCalling.External
	}
	return ev.Calling.External
}
