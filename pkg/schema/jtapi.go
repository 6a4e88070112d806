package schema

// JTAPI vocabulary: event names and ids, object states, causes and meta
// codes, with the values of Cisco's JTAPI 15 (see
// ../shared/reference/jtapi-facts.md §11–§13). Bridge-originated events have
// no JTAPI id.

// EventSpec describes one event kind.
type EventSpec struct {
	Name   string
	ID     int
	Family Family
	// Bridge is set for events the bridge originates (not JTAPI).
	Bridge bool
	Doc    string
}

// JTAPI event names used by the engine.
const (
	EvProvInService      = "ProvInServiceEv"
	EvProvOutOfService   = "ProvOutOfServiceEv"
	EvProvShutdown       = "ProvShutdownEv"
	EvProvObservationEnd = "ProvObservationEndedEv"

	EvCiscoProvConnToLeastPriorCtiServer = "CiscoProvConnToLeastPriorCtiServerEv"
	EvCiscoProvPrimNwReachable           = "CiscoProvPrimNwReachableEv"
	EvCiscoProvFallbackToPrimNwCompltd   = "CiscoProvFallbackToPrimNwCompltdEv"
	EvCiscoProvTerminalRegistered        = "CiscoProvTerminalRegisteredEv"
	EvCiscoProvTerminalUnRegistered      = "CiscoProvTerminalUnRegisteredEv"
	EvCiscoTermCreated                   = "CiscoTermCreatedEv"
	EvCiscoTermRemoved                   = "CiscoTermRemovedEv"
	EvCiscoAddrCreated                   = "CiscoAddrCreatedEv"
	EvCiscoAddrRemoved                   = "CiscoAddrRemovedEv"

	EvCiscoTermInService            = "CiscoTermInServiceEv"
	EvCiscoTermOutOfService         = "CiscoTermOutOfServiceEv"
	EvCiscoTermRegistrationFailed   = "CiscoTermRegistrationFailedEv"
	EvCiscoTermSnapshot             = "CiscoTermSnapshotEv"
	EvCiscoTermSnapshotCompleted    = "CiscoTermSnapshotCompletedEv"
	EvCiscoMediaOpenLogicalChannel  = "CiscoMediaOpenLogicalChannelEv"
	EvCiscoRTPInputStarted          = "CiscoRTPInputStartedEv"
	EvCiscoRTPOutputStarted         = "CiscoRTPOutputStartedEv"
	EvCiscoRTPInputStopped          = "CiscoRTPInputStoppedEv"
	EvCiscoRTPOutputStopped         = "CiscoRTPOutputStoppedEv"
	EvTermObservationEnded          = "TermObservationEndedEv"
	EvCiscoAddrInService            = "CiscoAddrInServiceEv"
	EvCiscoAddrOutOfService         = "CiscoAddrOutOfServiceEv"
	EvAddrObservationEnded          = "AddrObservationEndedEv"
	EvCallActive                    = "CallActiveEv"
	EvCallInvalid                   = "CallInvalidEv"
	EvCallObservationEnded          = "CallObservationEndedEv"
	EvConnAlerting                  = "ConnAlertingEv"
	EvConnConnected                 = "ConnConnectedEv"
	EvConnCreated                   = "ConnCreatedEv"
	EvConnDisconnected              = "ConnDisconnectedEv"
	EvConnFailed                    = "ConnFailedEv"
	EvConnInProgress                = "ConnInProgressEv"
	EvConnUnknown                   = "ConnUnknownEv"
	EvTermConnActive                = "TermConnActiveEv"
	EvTermConnCreated               = "TermConnCreatedEv"
	EvTermConnDropped               = "TermConnDroppedEv"
	EvTermConnPassive               = "TermConnPassiveEv"
	EvTermConnRinging               = "TermConnRingingEv"
	EvTermConnUnknown               = "TermConnUnknownEv"
	EvCallCtlConnAlerting           = "CallCtlConnAlertingEv"
	EvCallCtlConnDialing            = "CallCtlConnDialingEv"
	EvCallCtlConnDisconnected       = "CallCtlConnDisconnectedEv"
	EvCallCtlConnEstablished        = "CallCtlConnEstablishedEv"
	EvCallCtlConnFailed             = "CallCtlConnFailedEv"
	EvCallCtlConnInitiated          = "CallCtlConnInitiatedEv"
	EvCallCtlConnNetworkAlerting    = "CallCtlConnNetworkAlertingEv"
	EvCallCtlConnNetworkReached     = "CallCtlConnNetworkReachedEv"
	EvCallCtlConnOffered            = "CallCtlConnOfferedEv"
	EvCallCtlConnQueued             = "CallCtlConnQueuedEv"
	EvCallCtlConnUnknown            = "CallCtlConnUnknownEv"
	EvCallCtlTermConnBridged        = "CallCtlTermConnBridgedEv"
	EvCallCtlTermConnDropped        = "CallCtlTermConnDroppedEv"
	EvCallCtlTermConnHeld           = "CallCtlTermConnHeldEv"
	EvCallCtlTermConnInUse          = "CallCtlTermConnInUseEv"
	EvCallCtlTermConnRinging        = "CallCtlTermConnRingingEv"
	EvCallCtlTermConnTalking        = "CallCtlTermConnTalkingEv"
	EvCallCtlTermConnUnknown        = "CallCtlTermConnUnknownEv"
	EvCiscoConferenceEnd            = "CiscoConferenceEndEv"
	EvCiscoConferenceStart          = "CiscoConferenceStartEv"
	EvCiscoConsultCallActive        = "CiscoConsultCallActiveEv"
	EvCiscoTransferEnd              = "CiscoTransferEndEv"
	EvCiscoTransferStart            = "CiscoTransferStartEv"
	EvCiscoCallChanged              = "CiscoCallChangedEv"
	EvCiscoHuntConnCreated          = "CiscoHuntConnCreatedEv"
	EvRoute                         = "RouteEvent"
	EvReRoute                       = "ReRouteEvent"
	EvRouteUsed                     = "RouteUsedEvent"
	EvRouteEnd                      = "RouteEndEvent"
	EvRouteCallbackEnded            = "RouteCallbackEndedEvent"
	EvRouteRegistered               = "RouteCallbackRegistered"
	EvCiscoAddrIntercomInfoRestFail = "CiscoAddrIntercomInfoRestorationFailedEv"
)

// Bridge-originated event names.
const (
	EvBridgeStarted        = "BridgeStarted"
	EvBridgeStopping       = "BridgeStopping"
	EvBridgeHeartbeat      = "BridgeHeartbeat"
	EvCTIManagerConnecting = "CTIManagerConnecting"
	EvCTIManagerConnected  = "CTIManagerConnected"
	EvCTIManagerLost       = "CTIManagerLost"
	EvCTIManagerFailed     = "CTIManagerConnectFailed"
	EvGapOpened            = "GapOpened"
	EvGapClosed            = "GapClosed"
	EvCallEndedInGap       = "CallEndedDuringGap"
	EvCallDiscovered       = "CallDiscoveredBySnapshot"
	EvPublishGap           = "PublishGap"
	EvLeaderAcquired       = "LeaderAcquired"
	EvLeaderLost           = "LeaderLost"
	EvCertificateProblem   = "CertificateProblem"
	EvDeviceRejected       = "DeviceRejected"
	EvNATSLeaderChanged    = "NATSLeaderChanged"
	EvStreamRecreated      = "StreamRecreated"
)

// Events is the catalogue of every event kind the bridge can publish.
var Events = []EventSpec{
	{EvProvInService, 111, FamilyProvider, false, "Provider in service (open completed, device list known, or failover done)."},
	{EvProvOutOfService, 113, FamilyProvider, false, "Provider out of service (CTIManager lost)."},
	{EvProvShutdown, 114, FamilyProvider, false, "Provider shut down for good (application request, retries exhausted, certificate compromised)."},
	{EvProvObservationEnd, 112, FamilyProvider, false, "Provider observation ended."},
	{EvCiscoProvConnToLeastPriorCtiServer, 1073741859, FamilyProvider, false, "Now connected to the least-priority CTIManager."},
	{EvCiscoProvPrimNwReachable, 1073741860, FamilyProvider, false, "A normal-priority CTIManager is reachable again."},
	{EvCiscoProvFallbackToPrimNwCompltd, 1073741861, FamilyProvider, false, "Fallback off the least-priority CTIManager completed."},
	{EvCiscoProvTerminalRegistered, 1073741848, FamilyTerminal, false, "A device registered with a CallManager node."},
	{EvCiscoProvTerminalUnRegistered, 1073741849, FamilyTerminal, false, "A device unregistered."},
	{EvCiscoTermCreated, 1073745921, FamilyTerminal, false, "A terminal was added to the control list."},
	{EvCiscoTermRemoved, 1073745925, FamilyTerminal, false, "A terminal was removed from the control list."},
	{EvCiscoAddrCreated, 1073750017, FamilyAddress, false, "An address was added to the control list."},
	{EvCiscoAddrRemoved, 1073750020, FamilyAddress, false, "An address was removed from the control list."},
	{EvCiscoTermInService, 1073745923, FamilyTerminal, false, "Terminal in service."},
	{EvCiscoTermOutOfService, 1073745924, FamilyTerminal, false, "Terminal out of service (cause says why)."},
	{EvCiscoTermRegistrationFailed, 1073745937, FamilyTerminal, false, "CTI port or route point registration failed."},
	{EvCiscoTermSnapshot, 1073745938, FamilyTerminal, false, "Snapshot of a terminal started."},
	{EvCiscoTermSnapshotCompleted, 1073745939, FamilyTerminal, false, "Snapshot of a terminal completed."},
	{EvCiscoMediaOpenLogicalChannel, 1073758213, FamilyTerminal, false, "Media channel opened on a CTI port or route point (dynamic media)."},
	{EvCiscoRTPInputStarted, 1073758209, FamilyTerminal, false, "RTP input started."},
	{EvCiscoRTPOutputStarted, 1073758211, FamilyTerminal, false, "RTP output started."},
	{EvCiscoRTPInputStopped, 1073758210, FamilyTerminal, false, "RTP input stopped."},
	{EvCiscoRTPOutputStopped, 1073758212, FamilyTerminal, false, "RTP output stopped."},
	{EvTermObservationEnded, 121, FamilyTerminal, false, "Terminal observation ended."},
	{EvCiscoAddrInService, 1073750018, FamilyAddress, false, "Address in service."},
	{EvCiscoAddrOutOfService, 1073750019, FamilyAddress, false, "Address out of service (cause says why)."},
	{EvAddrObservationEnded, 100, FamilyAddress, false, "Address observation ended."},
	{EvCallActive, 101, FamilyCall, false, "Call became active."},
	{EvCallInvalid, 102, FamilyCall, false, "Call ended (no connections left)."},
	{EvCallObservationEnded, 103, FamilyCall, false, "Observation of the call ended (call may continue)."},
	{EvConnAlerting, 104, FamilyCall, false, "Connection alerting."},
	{EvConnConnected, 105, FamilyCall, false, "Connection connected."},
	{EvConnCreated, 106, FamilyCall, false, "Connection created."},
	{EvConnDisconnected, 107, FamilyCall, false, "Connection disconnected."},
	{EvConnFailed, 108, FamilyCall, false, "Connection failed."},
	{EvConnInProgress, 109, FamilyCall, false, "Connection in progress."},
	{EvConnUnknown, 110, FamilyCall, false, "Connection state unknown."},
	{EvTermConnActive, 115, FamilyCall, false, "Terminal connection active."},
	{EvTermConnCreated, 116, FamilyCall, false, "Terminal connection created."},
	{EvTermConnDropped, 117, FamilyCall, false, "Terminal connection dropped."},
	{EvTermConnPassive, 118, FamilyCall, false, "Terminal connection passive."},
	{EvTermConnRinging, 119, FamilyCall, false, "Terminal connection ringing."},
	{EvTermConnUnknown, 120, FamilyCall, false, "Terminal connection state unknown."},
	{EvCallCtlConnAlerting, 203, FamilyCall, false, "Call-control connection alerting."},
	{EvCallCtlConnDialing, 204, FamilyCall, false, "Call-control connection dialing."},
	{EvCallCtlConnDisconnected, 205, FamilyCall, false, "Call-control connection disconnected."},
	{EvCallCtlConnEstablished, 206, FamilyCall, false, "Call-control connection established."},
	{EvCallCtlConnFailed, 207, FamilyCall, false, "Call-control connection failed."},
	{EvCallCtlConnInitiated, 208, FamilyCall, false, "Call-control connection initiated."},
	{EvCallCtlConnNetworkAlerting, 209, FamilyCall, false, "Call-control connection network alerting."},
	{EvCallCtlConnNetworkReached, 210, FamilyCall, false, "Call-control connection network reached."},
	{EvCallCtlConnOffered, 211, FamilyCall, false, "Call-control connection offered."},
	{EvCallCtlConnQueued, 212, FamilyCall, false, "Call-control connection queued."},
	{EvCallCtlConnUnknown, 213, FamilyCall, false, "Call-control connection unknown."},
	{EvCallCtlTermConnBridged, 214, FamilyCall, false, "Call-control terminal connection bridged."},
	{EvCallCtlTermConnDropped, 215, FamilyCall, false, "Call-control terminal connection dropped."},
	{EvCallCtlTermConnHeld, 216, FamilyCall, false, "Call-control terminal connection held."},
	{EvCallCtlTermConnInUse, 217, FamilyCall, false, "Call-control terminal connection in use."},
	{EvCallCtlTermConnRinging, 218, FamilyCall, false, "Call-control terminal connection ringing."},
	{EvCallCtlTermConnTalking, 219, FamilyCall, false, "Call-control terminal connection talking."},
	{EvCallCtlTermConnUnknown, 220, FamilyCall, false, "Call-control terminal connection unknown."},
	{EvCiscoConferenceEnd, 1073754114, FamilyCall, false, "Conference ended."},
	{EvCiscoConferenceStart, 1073754115, FamilyCall, false, "Conference started."},
	{EvCiscoConsultCallActive, 1073754116, FamilyCall, false, "Consult call active."},
	{EvCiscoTransferEnd, 1073754117, FamilyCall, false, "Transfer ended."},
	{EvCiscoTransferStart, 1073754118, FamilyCall, false, "Transfer started."},
	{EvCiscoCallChanged, 1073754120, FamilyCall, false, "Call legs moved to a surviving call."},
	{EvCiscoHuntConnCreated, 1073766402, FamilyCall, false, "Connection of a hunt pilot created (a ConnCreatedEv for the pilot of a hunt-list call)."},
	{EvRoute, 0, FamilyRoute, false, "Route request on a route point (RouteSession ROUTE)."},
	{EvReRoute, 0, FamilyRoute, false, "Re-route request (selected destination unusable)."},
	{EvRouteUsed, 0, FamilyRoute, false, "Route used."},
	{EvRouteEnd, 0, FamilyRoute, false, "Route session ended."},
	{EvRouteCallbackEnded, 0, FamilyRoute, false, "Route callback ended."},
	{EvRouteRegistered, 0, FamilyRoute, true, "Route point registered and its route callback (re)installed."},

	{EvBridgeStarted, 0, FamilyBridge, true, "The bridge started."},
	{EvBridgeStopping, 0, FamilyBridge, true, "The bridge is stopping (drain, provider close); `reason` says why: `signal` (`detail` SIGINT or SIGTERM), `run-for` (the demo's `--run-for` elapsed), `provider shut down` (`detail`: why) or `stopped` (the program embedding the bridge stopped it)."},
	{EvBridgeHeartbeat, 0, FamilyBridge, true, "Periodic liveness record of the bridge."},
	{EvCTIManagerConnecting, 0, FamilyProvider, true, "Connecting to a CTIManager."},
	{EvCTIManagerConnected, 0, FamilyProvider, true, "Link to a CTIManager up, heartbeats negotiated."},
	{EvCTIManagerLost, 0, FamilyProvider, true, "Link to a CTIManager lost (reason, last heard)."},
	{EvCTIManagerFailed, 0, FamilyProvider, true, "Connecting to a CTIManager failed."},
	{EvGapOpened, 0, FamilyBridge, true, "Observation gap opened (provider out of service)."},
	{EvGapClosed, 0, FamilyBridge, true, "Observation gap closed, with duration and reconciliation counts, and (ending a CTIManager failover) the failover's waves of device and call events."},
	{EvCallEndedInGap, 0, FamilyCall, true, "Inferred: a call known before the gap ended during it."},
	{EvCallDiscovered, 0, FamilyCall, true, "Inferred: the snapshot found a call that began during the gap."},
	{EvPublishGap, 0, FamilyBridge, true, "Events dropped because the outbound buffer overflowed while NATS was unavailable."},
	{EvLeaderAcquired, 0, FamilyBridge, true, "A bridge of a high-availability pair became the active one (epoch, instance, how the previous tenure ended); its subject is the epoch fence of the log."},
	{EvLeaderLost, 0, FamilyBridge, true, "The active bridge stopped being active (released on shutdown or step-down, or its lease expired: then recorded by its successor)."},
	{EvCertificateProblem, 0, FamilyProvider, true, "TLS certificate problem (duplicate use, compromised, trust failure)."},
	{EvDeviceRejected, 0, FamilyProvider, true, "A device of the control list broke the link protocol's rules and was skipped (data.provider.device names it, detail says which rule); the other devices go into service."},
	{EvNATSLeaderChanged, 0, FamilyBridge, true, "The event stream's NATS (Raft) leader changed, as the bridge saw it; publishing rode it out with resends."},
	{EvStreamRecreated, 0, FamilyBridge, true, "The event stream was deleted under the running bridge and recreated; events stored before are gone with it."},
}

var eventsByName = func() map[string]EventSpec {
	m := make(map[string]EventSpec, len(Events))
	for _, e := range Events {
		m[e.Name] = e
	}
	return m
}()

// Spec returns the catalogue entry of an event name.
func Spec(name string) (EventSpec, bool) {
	e, ok := eventsByName[name]
	return e, ok
}

// Provider states.
const (
	ProviderInService    = 16
	ProviderOutOfService = 17
	ProviderShutdown     = 18
)

// Call states.
const (
	CallIdle    = 32
	CallActive  = 33
	CallInvalid = 34
)

// Connection (core) states.
const (
	ConnIdle         = 48
	ConnInProgress   = 49
	ConnAlerting     = 50
	ConnConnected    = 51
	ConnDisconnected = 52
	ConnFailed       = 53
	ConnUnknown      = 54
)

// TerminalConnection (core) states.
const (
	TermConnIdle    = 64
	TermConnRinging = 65
	TermConnPassive = 66
	TermConnActive  = 67
	TermConnDropped = 68
	TermConnUnknown = 69
)

// CallControlConnection states.
const (
	CCConnIdle            = 80
	CCConnOffered         = 81
	CCConnQueued          = 82
	CCConnAlerting        = 83
	CCConnInitiated       = 84
	CCConnDialing         = 85
	CCConnNetworkReached  = 86
	CCConnNetworkAlerting = 87
	CCConnEstablished     = 88
	CCConnDisconnected    = 89
	CCConnFailed          = 90
	CCConnUnknown         = 91
)

// CallControlTerminalConnection states.
const (
	CCTermConnIdle    = 96
	CCTermConnRinging = 97
	CCTermConnTalking = 98
	CCTermConnHeld    = 99
	CCTermConnBridged = 100
	CCTermConnInUse   = 101
	CCTermConnDropped = 102
	CCTermConnUnknown = 103
)

// StateNames maps every state code above to its JTAPI name.
var StateNames = map[int]string{
	16: "IN_SERVICE", 17: "OUT_OF_SERVICE", 18: "SHUTDOWN",
	32: "IDLE", 33: "ACTIVE", 34: "INVALID",
	48: "IDLE", 49: "INPROGRESS", 50: "ALERTING", 51: "CONNECTED", 52: "DISCONNECTED", 53: "FAILED", 54: "UNKNOWN",
	64: "IDLE", 65: "RINGING", 66: "PASSIVE", 67: "ACTIVE", 68: "DROPPED", 69: "UNKNOWN",
	80: "IDLE", 81: "OFFERED", 82: "QUEUED", 83: "ALERTING", 84: "INITIATED", 85: "DIALING",
	86: "NETWORK_REACHED", 87: "NETWORK_ALERTING", 88: "ESTABLISHED", 89: "DISCONNECTED", 90: "FAILED", 91: "UNKNOWN",
	96: "IDLE", 97: "RINGING", 98: "TALKING", 99: "HELD", 100: "BRIDGED", 101: "INUSE", 102: "DROPPED", 103: "UNKNOWN",
}

// CoreConnState is the normative call-control → core mapping for
// connections (JTAPI 1.4 CallControlConnection).
func CoreConnState(cc int) int {
	switch cc {
	case CCConnIdle:
		return ConnIdle
	case CCConnOffered, CCConnQueued:
		return ConnInProgress
	case CCConnAlerting:
		return ConnAlerting
	case CCConnInitiated, CCConnDialing, CCConnNetworkReached, CCConnNetworkAlerting, CCConnEstablished:
		return ConnConnected
	case CCConnDisconnected:
		return ConnDisconnected
	case CCConnFailed:
		return ConnFailed
	}
	return ConnUnknown
}

// CoreTermConnState is the normative call-control → core mapping for
// terminal connections.
func CoreTermConnState(cc int) int {
	switch cc {
	case CCTermConnIdle:
		return TermConnIdle
	case CCTermConnRinging:
		return TermConnRinging
	case CCTermConnTalking, CCTermConnHeld:
		return TermConnActive
	case CCTermConnBridged, CCTermConnInUse:
		return TermConnPassive
	case CCTermConnDropped:
		return TermConnDropped
	}
	return TermConnUnknown
}

// Ev causes (javax.telephony.events.Ev) and meta codes.
const (
	CauseNormal                 = 100
	CauseUnknown                = 101
	CauseCallCancelled          = 102
	CauseDestNotObtainable      = 103
	CauseIncompatibleDest       = 104
	CauseLockout                = 105
	CauseNewCall                = 106
	CauseResourcesNotAvailable  = 107
	CauseNetworkCongestion      = 108
	CauseNetworkNotObtainable   = 109
	CauseSnapshot               = 110
	MetaCallStarting            = 128
	MetaCallProgress            = 129
	MetaCallAdditionalParty     = 130
	MetaCallRemovingParty       = 131
	MetaCallEnding              = 132
	MetaCallMerging             = 133
	MetaCallTransferring        = 134
	MetaSnapshot                = 135
	MetaUnknown                 = 136
	CCCauseAlternate            = 202
	CCCauseBusy                 = 203
	CCCauseCallBack             = 204
	CCCauseCallNotAnswered      = 205
	CCCauseCallPickup           = 206
	CCCauseConference           = 207
	CCCauseDoNotDisturb         = 208
	CCCausePark                 = 209
	CCCauseRedirected           = 210
	CCCauseReorderTone          = 211
	CCCauseTransfer             = 212
	CCCauseTrunksBusy           = 213
	CCCauseUnhold               = 214
	OOSCauseCallManagerFailure  = 1001
	OOSCauseCTIManagerFailure   = 1007
	OOSCauseDeviceUnregistered  = 1005
	OOSCauseNoCallManagerAvail  = 1003
	OOSCauseRehomeToHigherPrio  = 1002
	OOSCauseDeviceFailure       = 1004
	OOSCauseEnergyWisePowerSave = 1010
)

// CauseNames maps cause and meta codes to their JTAPI names.
var CauseNames = map[int]string{
	100: "CAUSE_NORMAL", 101: "CAUSE_UNKNOWN", 102: "CAUSE_CALL_CANCELLED", 103: "CAUSE_DEST_NOT_OBTAINABLE",
	104: "CAUSE_INCOMPATIBLE_DESTINATION", 105: "CAUSE_LOCKOUT", 106: "CAUSE_NEW_CALL",
	107: "CAUSE_RESOURCES_NOT_AVAILABLE", 108: "CAUSE_NETWORK_CONGESTION", 109: "CAUSE_NETWORK_NOT_OBTAINABLE",
	110: "CAUSE_SNAPSHOT",
	128: "META_CALL_STARTING", 129: "META_CALL_PROGRESS", 130: "META_CALL_ADDITIONAL_PARTY",
	131: "META_CALL_REMOVING_PARTY", 132: "META_CALL_ENDING", 133: "META_CALL_MERGING",
	134: "META_CALL_TRANSFERRING", 135: "META_SNAPSHOT", 136: "META_UNKNOWN",
	202: "CAUSE_ALTERNATE", 203: "CAUSE_BUSY", 204: "CAUSE_CALL_BACK", 205: "CAUSE_CALL_NOT_ANSWERED",
	206: "CAUSE_CALL_PICKUP", 207: "CAUSE_CONFERENCE", 208: "CAUSE_DO_NOT_DISTURB", 209: "CAUSE_PARK",
	210: "CAUSE_REDIRECTED", 211: "CAUSE_REORDER_TONE", 212: "CAUSE_TRANSFER", 213: "CAUSE_TRUNKS_BUSY",
	214:  "CAUSE_UNHOLD",
	1001: "CALLMANAGER_FAILURE", 1002: "REHOME_TO_HIGHER_PRIORITY_CM", 1003: "NOCALLMANAGER_AVAILABLE",
	1004: "DEVICE_FAILURE", 1005: "DEVICE_UNREGISTERED", 1006: "REHOMING_FAILURE", 1007: "CTIMANAGER_FAILURE",
	1008: "DEVICE_RESTRICTED", 1009: "LINE_RESTRICTED", 1010: "ENERGYWISE_POWER_SAVE_PLUS",
}
