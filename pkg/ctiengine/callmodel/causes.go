package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// mapCause maps a wire CALLSTATECAUSE (Q.850) to the JTAPI Ev cause, the
// CallCtlEv cause (0 when none applies) and whether the cause means the
// connection failed (ConnFailedEv before the disconnection). The table is
// schema.Q850Mappings, shared with the readers that show it; see doc.go.
func mapCause(c ctilink.Cause) (core, cc int, failure bool) {
	return schema.MapQ850(int(c))
}

// Wire state classes: which side of the call a state belongs to, and the
// meta code of its events.
const (
	classOrigin      = iota // the line placed the call; far end = called party
	classTerminating        // the line receives the call; far end = calling party
	classNeutral            // either; far end by the Origin flag
	classEnding
)

func stateClass(s ctilink.CallState) int {
	switch s {
	case ctilink.CallStateDialTone, ctilink.CallStateDialing, ctilink.CallStateProceeding,
		ctilink.CallStateProgressing, ctilink.CallStateRingback, ctilink.CallStateBusy:
		return classOrigin
	case ctilink.CallStateOffering, ctilink.CallStateAccepted, ctilink.CallStateQueued, ctilink.CallStateWaiting:
		return classTerminating
	case ctilink.CallStateDisconnected, ctilink.CallStateIdle:
		return classEnding
	}
	return classNeutral
}

// metaFor is the meta code of a live (non-snapshot) line state's events.
func metaFor(s ctilink.CallState) int {
	switch s {
	case ctilink.CallStateDialTone, ctilink.CallStateDialing, ctilink.CallStateProceeding,
		ctilink.CallStateProgressing, ctilink.CallStateRingback, ctilink.CallStateOffering,
		ctilink.CallStateAccepted, ctilink.CallStateQueued, ctilink.CallStateWaiting:
		return schema.MetaCallStarting
	case ctilink.CallStateBusy, ctilink.CallStateDisconnected, ctilink.CallStateIdle:
		return schema.MetaCallEnding
	}
	return schema.MetaCallProgress
}

// featureCtx overrides causes and meta while a transfer or conference is
// in progress on the call.
func featureCtx(x evctx, feature uint8) evctx {
	switch feature {
	case featTransfer:
		x.ccCause, x.meta = schema.CCCauseTransfer, schema.MetaCallTransferring
	case featConference:
		x.ccCause, x.meta = schema.CCCauseConference, schema.MetaCallMerging
	}
	return x
}

// routeCauseNames names RouteSession causes (jtapi-facts §14); they
// overlap the Ev cause numbers, so schema.CauseNames cannot be used.
var routeCauseNames = map[int]string{
	100: "NO_ERROR", 101: "ROUTING_TIMER_EXPIRED", 102: "PARAMETER_NOT_SUPPORTED",
	103: "INVALID_DESTINATION", 104: "STATE_INCOMPATIBLE", 105: "UNSPECIFIED_ERROR",
}
