package schema

import "slices"

// Q850Names names the call-state causes a CTIManager reports with a call's
// line states: Q.850 cause values (ITU-T Q.850, Table 1), under the names
// of Cisco's CTI CALLSTATECAUSE constants (jtapi-facts §13). Values not
// listed pass through unnamed.
var Q850Names = map[int]string{
	0:   "NOERROR",
	1:   "UNALLOCATEDNUMBER",
	16:  "NORMALCALLCLEARING",
	17:  "USERBUSY",
	18:  "NOUSERRESPONDING",
	19:  "NOANSWERFROMUSER",
	21:  "CALLREJECTED",
	34:  "NOCIRCUITAVAILABLE",
	38:  "NETWORKOUTOFORDER",
	41:  "TEMPORARYFAILURE",
	42:  "SWITCHINGEQUIPMENTCONGESTION",
	47:  "RESOURCEUNAVAILABLE",
	102: "RECOVERYONTIMEREXPIRY",
}

// Q850Mapping is one row of the bridge's mapping from a CTIManager's
// Q.850 call-state cause to the JTAPI causes of the events it produces.
// Cisco does not publish how CTIManager causes become JTAPI causes; this
// is the bridge's choice, documented in pkg/ctiengine/callmodel, which
// maps with MapQ850.
type Q850Mapping struct {
	Q850 []int
	// Cause is the core Ev cause; CallControlCause the CallCtlEv cause (0
	// for none).
	Cause, CallControlCause int
	// Failure: the connection fails (ConnFailedEv) before it is dropped.
	Failure bool
}

// Q850Mappings is the mapping; a value not listed maps to CAUSE_UNKNOWN.
var Q850Mappings = []Q850Mapping{
	{Q850: []int{0, 16}, Cause: CauseNormal},
	{Q850: []int{17}, Cause: CauseNormal, CallControlCause: CCCauseBusy, Failure: true},
	{Q850: []int{18, 19}, Cause: CauseNormal, CallControlCause: CCCauseCallNotAnswered},
	{Q850: []int{1}, Cause: CauseDestNotObtainable, Failure: true},
	{Q850: []int{21}, Cause: CauseCallCancelled, Failure: true},
	{Q850: []int{38, 41}, Cause: CauseNetworkNotObtainable, Failure: true},
	{Q850: []int{34, 47}, Cause: CauseResourcesNotAvailable, Failure: true},
	{Q850: []int{42}, Cause: CauseNetworkCongestion, Failure: true},
}

// MapQ850 maps a Q.850 call-state cause to the JTAPI Ev cause, the
// CallCtlEv cause (0 when none applies) and whether the connection fails.
func MapQ850(q int) (cause, callControlCause int, failure bool) {
	for _, m := range Q850Mappings {
		if slices.Contains(m.Q850, q) {
			return m.Cause, m.CallControlCause, m.Failure
		}
	}
	return CauseUnknown, 0, false
}

// Q850For lists the Q.850 causes the bridge maps to a JTAPI cause: for a
// CallCtlEv cause (BUSY 203 …) the rows with it, for a core cause the rows
// with that cause and no CallCtlEv cause. None for other codes.
func Q850For(code int) []int {
	var out []int
	for _, m := range Q850Mappings {
		if m.CallControlCause == code || (m.CallControlCause == 0 && m.Cause == code) {
			out = append(out, m.Q850...)
		}
	}
	return out
}
