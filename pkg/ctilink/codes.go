package ctilink

import "strconv"

// CallState is a line's state within a call as CTIManager reports it (the
// wire CALLSTATE values).
type CallState uint8

// Wire call states. Values are stable on the wire.
const (
	CallStateUnknown               CallState = 0
	CallStateIdle                  CallState = 1
	CallStateOffering              CallState = 2
	CallStateAccepted              CallState = 3
	CallStateDialTone              CallState = 4
	CallStateDialing               CallState = 5
	CallStateRingback              CallState = 6
	CallStateBusy                  CallState = 7
	CallStateConnected             CallState = 8
	CallStateProceeding            CallState = 9
	CallStateOnHold                CallState = 10
	CallStateOnHoldPending         CallState = 11
	CallStateTransferOnHold        CallState = 12
	CallStateTransferOnHoldPending CallState = 13
	CallStateDisconnected          CallState = 14
	CallStateWaiting               CallState = 15
	CallStateRemoteInUse           CallState = 16
	CallStateProgressing           CallState = 17
	CallStateWhisper               CallState = 18
	CallStateQueued                CallState = 20
)

var callStateNames = map[CallState]string{
	CallStateUnknown: "UNKNOWN", CallStateIdle: "IDLE", CallStateOffering: "OFFERING",
	CallStateAccepted: "ACCEPTED", CallStateDialTone: "DIALTONE", CallStateDialing: "DIALING",
	CallStateRingback: "RINGBACK", CallStateBusy: "BUSY", CallStateConnected: "CONNECTED",
	CallStateProceeding: "PROCEEDING", CallStateOnHold: "ONHOLD", CallStateOnHoldPending: "ONHOLDPENDING",
	CallStateTransferOnHold: "TRANSFERONHOLD", CallStateTransferOnHoldPending: "TRANSFERONHOLDPENDING",
	CallStateDisconnected: "DISCONNECTED", CallStateWaiting: "WAITING", CallStateRemoteInUse: "REMOTEINUSE",
	CallStateProgressing: "PROGRESSING", CallStateWhisper: "WHISPER", CallStateQueued: "QUEUED",
}

func (s CallState) String() string {
	if n, ok := callStateNames[s]; ok {
		return n
	}
	return "CallState(" + strconv.Itoa(int(s)) + ")"
}

// Valid reports whether s is a defined wire call state.
func (s CallState) Valid() bool { _, ok := callStateNames[s]; return ok }

// Cause is the wire CALLSTATECAUSE (Q.850-like) carried by call-state events.
type Cause uint16

// Wire causes used by the simulator. Other Q.850 values pass through.
const (
	CauseNoError            Cause = 0
	CauseUnallocatedNumber  Cause = 1
	CauseNormalCallClearing Cause = 16
	CauseUserBusy           Cause = 17
	CauseNoUserResponding   Cause = 18
	CauseNoAnswerFromUser   Cause = 19
	CauseCallRejected       Cause = 21
	CauseNetworkOutOfOrder  Cause = 38
	CauseTemporaryFailure   Cause = 41
	CauseRecoveryOnTimerExp Cause = 102
	CauseMaxKnownWireCause  Cause = 127
	// CauseCallManagerFailure is not Q.850: CUCM's
	// CiscoCallEv.CAUSE_CALLMANAGER_FAILURE. On an UNKNOWN leg: the leg's
	// device lost its CallManager node during the call; CTIManager no
	// longer observes the leg (its media continue).
	CauseCallManagerFailure Cause = 508
)

var causeNames = map[Cause]string{
	CauseNoError: "NOERROR", CauseUnallocatedNumber: "UNALLOCATEDNUMBER",
	CauseNormalCallClearing: "NORMALCALLCLEARING", CauseUserBusy: "USERBUSY",
	CauseNoUserResponding: "NOUSERRESPONDING", CauseNoAnswerFromUser: "NOANSWERFROMUSER",
	CauseCallRejected: "CALLREJECTED", CauseNetworkOutOfOrder: "NETWORKOUTOFORDER",
	CauseTemporaryFailure: "TEMPORARYFAILURE", CauseRecoveryOnTimerExp: "RECOVERYONTIMEREXPIRY",
	CauseCallManagerFailure: "CALLMANAGER_FAILURE",
}

func (c Cause) String() string {
	if n, ok := causeNames[c]; ok {
		return n
	}
	return "Cause(" + strconv.Itoa(int(c)) + ")"
}

// CloseReason is JTAPI's PROVIDERCLOSEREASON, carried by ProviderClosed and
// by a failed ProviderOpenCompleted.
type CloseReason uint16

// Provider close reasons, values as in JTAPI.
const (
	CloseNone                         CloseReason = 0
	CloseHeartbeatMissed              CloseReason = 1
	CloseUnexpectedShutdown           CloseReason = 2
	CloseApplicationRequest           CloseReason = 3
	CloseProviderOpenFailure          CloseReason = 4
	CloseUserDeleted                  CloseReason = 5
	CloseSuperproviderRemove          CloseReason = 6
	CloseDuplicateCertUsed            CloseReason = 7
	CloseCAPFInfoUnavailable          CloseReason = 8
	CloseCertCompromised              CloseReason = 9
	CloseAllOtherReason               CloseReason = 10
	CloseUnauthorizedForTLS           CloseReason = 11
	CloseStandardCTIPermissionRemoved CloseReason = 12
	CloseAuthTypeOnUnsupportedPort    CloseReason = 13
	CloseLoginNotAllowed              CloseReason = 100
	CloseLoginFailed                  CloseReason = 101
	CloseIncompatibleProtocol         CloseReason = 102
	CloseUnknown                      CloseReason = 103
	CloseUserNotAuthorizedForSecurity CloseReason = 104
	CloseConnectionOnInvalidPort      CloseReason = 105
	CloseRetryAttemptsExceeded        CloseReason = 106
)

var closeReasonNames = map[CloseReason]string{
	CloseNone: "NONE", CloseHeartbeatMissed: "HEARTBEAT_MISSED", CloseUnexpectedShutdown: "UNEXPECTEDSHUTDOWN",
	CloseApplicationRequest: "APPLICATIONREQUEST", CloseProviderOpenFailure: "PROVIDEROPENFAILURE",
	CloseUserDeleted: "USERDELETED", CloseSuperproviderRemove: "SUPERPROVIDER_REMOVE",
	CloseDuplicateCertUsed: "DUPLICATECERTUSED", CloseCAPFInfoUnavailable: "CAPFINFOUNAVAILABLE",
	CloseCertCompromised: "CERTCOMPROMISED", CloseAllOtherReason: "ALLOTHER_REASON",
	CloseUnauthorizedForTLS: "UNAUTHORIZEDFORTLS", CloseStandardCTIPermissionRemoved: "STANDARD_CTI_ENABLED_PERMISSIONS_REMOVED",
	CloseAuthTypeOnUnsupportedPort: "AUTHENTICATION_TYPE_ON_UNSUPPORTED_PORT", CloseLoginNotAllowed: "LOGINNOTALLOWED",
	CloseLoginFailed: "LOGINFAILED", CloseIncompatibleProtocol: "INCOMPATIBLEPROTOCOL", CloseUnknown: "UNKNOWN",
	CloseUserNotAuthorizedForSecurity: "USERNOTAUTHORIZEDFORSECURITY", CloseConnectionOnInvalidPort: "CONNECTIONONINVALIDPORT",
	CloseRetryAttemptsExceeded: "RETRY_ATTEMPTS_EXCEEDED",
}

func (r CloseReason) String() string {
	if n, ok := closeReasonNames[r]; ok {
		return n
	}
	return "CloseReason(" + strconv.Itoa(int(r)) + ")"
}

// OutOfServiceReason is the wire DEVICE/LINE OUTOFSERVICEREASON.
type OutOfServiceReason uint16

// Out-of-service reasons (wire values). JTAPI maps them to CiscoOutOfServiceEv
// causes 1001–1010 (see JTAPICause).
const (
	OOSNone                     OutOfServiceReason = 0
	OOSCallManagerFailure       OutOfServiceReason = 1
	OOSRehomeToHigherPriorityCM OutOfServiceReason = 2
	OOSNoCallManagerAvailable   OutOfServiceReason = 3
	OOSDeviceFailure            OutOfServiceReason = 4
	OOSDeviceUnregistered       OutOfServiceReason = 5
	OOSEnergyWisePowerSavePlus  OutOfServiceReason = 6
	OOSCTIManagerFailure        OutOfServiceReason = 257
)

var oosNames = map[OutOfServiceReason]string{
	OOSNone: "NONE", OOSCallManagerFailure: "CALLMANAGER_FAILURE", OOSRehomeToHigherPriorityCM: "REHOME_TO_HIGHER_PRIORITY_CM",
	OOSNoCallManagerAvailable: "NOCALLMANAGER_AVAILABLE", OOSDeviceFailure: "DEVICE_FAILURE",
	OOSDeviceUnregistered: "DEVICE_UNREGISTERED", OOSEnergyWisePowerSavePlus: "ENERGYWISE_POWER_SAVE_PLUS",
	OOSCTIManagerFailure: "CTIMANAGER_FAILURE",
}

func (r OutOfServiceReason) String() string {
	if n, ok := oosNames[r]; ok {
		return n
	}
	return "OutOfServiceReason(" + strconv.Itoa(int(r)) + ")"
}

// JTAPICause maps the wire reason to the CiscoOutOfServiceEv cause value.
func (r OutOfServiceReason) JTAPICause() int {
	switch r {
	case OOSCallManagerFailure:
		return 1001
	case OOSRehomeToHigherPriorityCM:
		return 1002
	case OOSNoCallManagerAvailable:
		return 1003
	case OOSDeviceFailure:
		return 1004
	case OOSDeviceUnregistered:
		return 1005
	case OOSEnergyWisePowerSavePlus:
		return 1010
	case OOSCTIManagerFailure:
		return 1007
	}
	return 0
}

// ConnReason is CiscoConnection.getReason(): why this leg exists.
type ConnReason uint8

// Connection reasons, values as in JTAPI.
const (
	ReasonUnknown         ConnReason = 0
	ReasonDirectCall      ConnReason = 1
	ReasonTransferredCall ConnReason = 2
	ReasonForwardNoAnswer ConnReason = 3
	ReasonForwardBusy     ConnReason = 4
	ReasonForwardAll      ConnReason = 5
	ReasonRedirect        ConnReason = 6
	ReasonOutbound        ConnReason = 99
)

var connReasonNames = map[ConnReason]string{
	ReasonUnknown: "UNKNOWN", ReasonDirectCall: "DIRECTCALL", ReasonTransferredCall: "TRANSFERREDCALL",
	ReasonForwardNoAnswer: "FORWARDNOANSWER", ReasonForwardBusy: "FORWARDBUSY", ReasonForwardAll: "FORWARDALL",
	ReasonRedirect: "REDIRECT", ReasonOutbound: "OUTBOUND",
}

func (r ConnReason) String() string {
	if n, ok := connReasonNames[r]; ok {
		return n
	}
	return "ConnReason(" + strconv.Itoa(int(r)) + ")"
}

// Result is the outcome code of a request (Response.Result).
type Result uint16

// Request results.
const (
	ResultOK             Result = 0
	ResultUnknownDevice  Result = 1
	ResultNotControlled  Result = 2
	ResultInvalidState   Result = 3
	ResultMediaMismatch  Result = 4
	ResultAlreadyOwned   Result = 5
	ResultNotOpen        Result = 6
	ResultInvalidRequest Result = 7
	ResultUnknownSession Result = 8
)

var resultNames = map[Result]string{
	ResultOK: "OK", ResultUnknownDevice: "UNKNOWN_DEVICE", ResultNotControlled: "NOT_IN_CONTROL_LIST",
	ResultInvalidState: "INVALID_STATE", ResultMediaMismatch: "MEDIA_CAPABILITY_MISMATCH",
	ResultAlreadyOwned: "ALREADY_REGISTERED", ResultNotOpen: "NOT_OPEN", ResultInvalidRequest: "INVALID_REQUEST",
	ResultUnknownSession: "UNKNOWN_ROUTE_SESSION",
}

func (r Result) String() string {
	if n, ok := resultNames[r]; ok {
		return n
	}
	return "Result(" + strconv.Itoa(int(r)) + ")"
}

// ErrorCode is carried by an Error frame.
type ErrorCode uint16

// Error frame codes.
const (
	ErrCodeMalformed      ErrorCode = 1
	ErrCodeUnknownType    ErrorCode = 2
	ErrCodeInvalidMessage ErrorCode = 3
	ErrCodeFrameTooLarge  ErrorCode = 4
	ErrCodeVersion        ErrorCode = 5
	ErrCodeNotOpen        ErrorCode = 6
	ErrCodeUnexpected     ErrorCode = 7
	ErrCodeBadMagic       ErrorCode = 8
)

// DeviceType is the kind of a controllable device.
type DeviceType string

// Device types.
const (
	DevicePhone      DeviceType = "phone"
	DeviceCTIPort    DeviceType = "ctiport"
	DeviceRoutePoint DeviceType = "routepoint"
)

// Valid reports whether t is a known device type.
func (t DeviceType) Valid() bool {
	return t == DevicePhone || t == DeviceCTIPort || t == DeviceRoutePoint
}

// FeatureReason says which CUCM feature caused a line's state change
// (CallStateEvent.FeatureReason), where the state alone does not: the
// analogue of CiscoFeatureReason. The values are this protocol's own;
// receivers pass unknown values through (docs/protocol.md §8.12).
type FeatureReason uint8

// Feature reasons.
const (
	FeatureNone FeatureReason = 0
	// FeatureRedirect: the call left this line for another destination (a
	// call forward on no answer, a redirect); on the leg that leaves.
	FeatureRedirect FeatureReason = 1
	// FeaturePickup: on the leg that picks up a ringing call and on the
	// ringing leg it takes the call from.
	FeaturePickup FeatureReason = 2
	// FeaturePark: on the leg that parks the call and on the parked
	// party's leg, whose far party is then the park number.
	FeaturePark FeatureReason = 3
	// FeatureUnpark: on the leg that retrieves a parked call and on the
	// parked party's leg.
	FeatureUnpark FeatureReason = 4
)

var featureReasonNames = map[FeatureReason]string{
	FeatureNone: "NONE", FeatureRedirect: "REDIRECT", FeaturePickup: "PICKUP", FeaturePark: "PARK", FeatureUnpark: "UNPARK",
}

func (r FeatureReason) String() string {
	if n, ok := featureReasonNames[r]; ok {
		return n
	}
	return "FeatureReason(" + strconv.Itoa(int(r)) + ")"
}
