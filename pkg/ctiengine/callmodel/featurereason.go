package callmodel

import (
	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// redirectedHere reports whether a leg's CiscoConnection reason says the
// call was sent to it from elsewhere: a redirect or a call forward. Its
// connection is offered with the CallCtl cause REDIRECTED: the guide's
// forwarded call is reported with "CAUSE_REDIRECT and the reason received
// from CTI would be ForwardAll" (JTAPI guide 15 p.1553).
func redirectedHere(r ctilink.ConnReason) bool {
	switch r {
	case ctilink.ReasonRedirect, ctilink.ReasonForwardAll, ctilink.ReasonForwardBusy, ctilink.ReasonForwardNoAnswer:
		return true
	}
	return false
}

// featureCause is the CallControl cause of a change a CUCM feature caused
// (the wire's FeatureReason), 0 for none:
//
//	REDIRECT       REDIRECTED 210 (forward on no answer: the ringing party
//	               leaves, JTAPI guide 15 p.1559; a hunt member passed over)
//	PICKUP         CALL_PICKUP 206 (JTAPI guide 15 p.1178)
//	PARK, UNPARK   PARK 209 (JTAPI guide 15 p.1284 gives the park number's
//	               connection; the cause on retrieval is our choice)
func featureCause(r ctilink.FeatureReason) int {
	switch r {
	case ctilink.FeatureRedirect:
		return schema.CCCauseRedirected
	case ctilink.FeaturePickup:
		return schema.CCCauseCallPickup
	case ctilink.FeaturePark, ctilink.FeatureUnpark:
		return schema.CCCausePark
	}
	return 0
}

// featureReasonCtx applies the wire's FeatureReason to a line event's
// context: its CallControl cause, and REMOVING_PARTY for the leg that
// leaves the call because of the feature.
func featureReasonCtx(x evctx, ev *ctilink.CallStateEvent) evctx {
	cc := featureCause(ev.FeatureReason)
	if cc == 0 {
		return x
	}
	x.ccCause = cc
	if stateClass(ev.State) == classEnding {
		x.meta = schema.MetaCallRemovingParty
	}
	return x
}

// farStateFor is the state a far party synthesized from a line event
// moves to, adjusted for a feature: a parked call's far party is the park
// number, whose connection waits QUEUED (the guide's directed-park number
// gets "ConnCreatedEv, ConnInProgressEv and CallCtlConnQueuedEv", JTAPI
// guide 15 p.195).
func farStateFor(ev *ctilink.CallStateEvent, farCC uint8) uint8 {
	if ev.FeatureReason == ctilink.FeaturePark && farCC != 0 {
		return schema.CCConnQueued
	}
	return farCC
}
