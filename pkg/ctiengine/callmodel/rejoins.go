package callmodel

import "github.com/ctibridge/ctibridge/pkg/ctilink"

// rejoins reports whether a live event for a call that already ended for
// this session (its CallInvalidEv sent) brings the call back rather than
// straggling after it: a new leg of the call reaches an observed line. The
// guide shows a hunt call doing exactly this — "GC1: CallInvalidEv" when
// it moves to a member not observed, then "GC1: CallActiveEv" when it
// reaches an observed one (JTAPI guide 15 p.1092). A call that comes back
// is reported afresh from CallActiveEv. Other events of an ended call are
// stragglers and stay ignored.
func rejoins(ev *ctilink.CallStateEvent) bool {
	if ev.Snapshot {
		return false
	}
	switch ev.State {
	case ctilink.CallStateOffering, ctilink.CallStateDialTone:
		return true
	case ctilink.CallStateConnected:
		return ev.FeatureReason == ctilink.FeatureUnpark // a parked call retrieved here
	}
	return false
}
