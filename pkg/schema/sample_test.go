package schema

import "time"

// Sample events used across the tests, benchmarks and generated docs.

var sampleTime = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func boolp(b bool) *bool { return &b }

// sampleCallEvent is a typical connection-level call event.
func sampleCallEvent() Event {
	return Event{
		Family: FamilyCall, Entity: "16777217", Name: EvCallCtlConnEstablished,
		Session: "lab-7f3a9c", SessionSeq: 42, Sequence: 5, CTIManager: "cucm-pub",
		Time: sampleTime, Received: sampleTime.Add(1200 * time.Microsecond),
		TraceParent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
		Data: Data{
			Event: EvCallCtlConnEstablished, EventID: 206, Cause: CauseNormal, CauseName: "CAUSE_NORMAL",
			CallControlCause: 0, MetaCode: MetaCallProgress, MetaName: "META_CALL_PROGRESS",
			Times: Timestamps{Upstream: sampleTime, Received: sampleTime.Add(1200 * time.Microsecond)},
			Call: &CallData{
				CallID: "16777217", State: "ACTIVE", StateCode: CallActive, CallManager: "cucm-sub1",
				Calling:        &Party{Address: "1001", Terminal: "SEP001122334455"},
				Called:         &Party{Address: "1002", Terminal: "SEP00AABBCCDDEE"},
				CurrentCalling: &Party{Address: "1001", Terminal: "SEP001122334455"},
				CurrentCalled:  &Party{Address: "1002", Terminal: "SEP00AABBCCDDEE"},
				Connection: &ConnectionData{
					Address: "1002", State: "CONNECTED", StateCode: ConnConnected,
					CallControlState: "ESTABLISHED", CallControlStateCode: CCConnEstablished,
					Reason: "DIRECTCALL", Controlled: true,
				},
			},
		},
	}
}

// sampleEvents has one event of every family, with awkward identifiers.
func sampleEvents() []Event {
	last := sampleTime.Add(-3 * time.Second)
	closed := sampleTime.Add(4 * time.Second)
	call := sampleCallEvent()
	return []Event{
		{
			Family: FamilyProvider, Name: EvProvInService, Session: "lab-7f3a9c", SessionSeq: 1, Sequence: 1,
			CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvProvInService, EventID: 111, Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Provider: &ProviderData{State: "IN_SERVICE", StateCode: ProviderInService, CTIManager: "cucm-pub",
					ProviderID: "ctibridge", ServerHeartbeatMs: 30000, ClientHeartbeatMs: 30000, Devices: 3}},
		},
		{
			Family: FamilyProvider, Name: EvCTIManagerLost, Session: "lab-7f3a9c", SessionSeq: 90, Sequence: 7,
			CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvCTIManagerLost, Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Provider: &ProviderData{State: "OUT_OF_SERVICE", StateCode: ProviderOutOfService, CTIManager: "cucm-pub",
					Reason: "HEARTBEAT_MISSED", ReasonCode: 2, LastHeardAt: &last, Reachable: []string{"cucm-sub1"}}},
		},
		{
			Family: FamilyTerminal, Entity: "SEP.Lobby *Zoë>", Name: EvCiscoTermOutOfService, Session: "lab-7f3a9c",
			SessionSeq: 3, Sequence: 2, CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvCiscoTermOutOfService, EventID: 1073745924, Cause: OOSCauseCallManagerFailure,
				CauseName: "CALLMANAGER_FAILURE", Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Terminal: &TerminalData{Name: "SEP.Lobby *Zoë>", Type: "phone", State: "OUT_OF_SERVICE",
					CallManager: "cucm-sub1", Registered: boolp(false), Addresses: []string{"1001", "+49 30 1234"}, Observed: true}},
		},
		{
			Family: FamilyTerminal, Entity: "CTIP-IVR1", Name: EvCiscoRTPInputStarted, Session: "lab-7f3a9c",
			SessionSeq: 4, Sequence: 9, CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvCiscoRTPInputStarted, EventID: 1073758209, Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Terminal: &TerminalData{Name: "CTIP-IVR1", Type: "ctiport", MediaIP: "127.0.0.1", MediaPort: 20000, MediaCodecs: []string{"G711U"}},
				Media:    &MediaData{Terminal: "CTIP-IVR1", Kind: "rtpInputStarted", IP: "127.0.0.1", Port: 20000, Codec: "G711U", PacketMs: 20}},
		},
		{
			Family: FamilyAddress, Entity: "+49 30 1234", Name: EvCiscoAddrInService, Session: "lab-7f3a9c",
			SessionSeq: 5, Sequence: 1, CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvCiscoAddrInService, EventID: 1073750018, Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Address: &AddressData{DN: "+49 30 1234", Terminal: "SEP.Lobby *Zoë>", State: "IN_SERVICE", Observed: true}},
		},
		call,
		{
			Family: FamilyCall, Entity: "16777218", Name: EvCiscoTransferEnd, Session: "lab-7f3a9c",
			SessionSeq: 60, Sequence: 14, CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvCiscoTransferEnd, EventID: 1073754117, MetaCode: MetaCallTransferring, MetaName: "META_CALL_TRANSFERRING",
				Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Call: &CallData{CallID: "16777218", State: "ACTIVE", StateCode: CallActive,
					Feature: &FeatureData{Feature: "transfer", Phase: "ended", Controller: &Party{Address: "1002", Terminal: "SEP00AABBCCDDEE"},
						PrimaryCallID: "16777218", ConsultCallID: "16777219", ResultCallID: "16777218"}}},
		},
		{
			Family: FamilyRoute, Entity: "8000", Name: EvRouteUsed, Session: "lab-7f3a9c",
			SessionSeq: 70, Sequence: 3, CTIManager: "cucm-pub", Time: sampleTime,
			Data: Data{Event: EvRouteUsed, Times: Timestamps{Upstream: sampleTime, Received: sampleTime},
				Route: &RouteData{Address: "8000", Terminal: "RP-Sales", SessionID: "77", CallID: "16777220",
					Calling: &Party{Address: "1001"}, Called: &Party{Address: "8000"}, Selected: "1003", State: "ROUTE_USED"}},
		},
		{
			Family: FamilyBridge, Name: EvGapClosed, Session: "lab-7f3a9c", SessionSeq: 120, Sequence: 2,
			Time: closed,
			Data: Data{Event: EvGapClosed, Inferred: false, Times: Timestamps{Upstream: closed, Received: closed},
				Bridge: &BridgeData{Instance: "bridge-1", Version: "0.1.0", Reason: "CTIMANAGER_FAILOVER",
					Gap: &Gap{ID: "gap-1", Kind: "provider", OpenedAt: sampleTime, ClosedAt: &closed, DurationMs: 4000,
						Reason: "HEARTBEAT_MISSED", CallsBefore: 2, CallsAfter: 2, CallsContinued: 2,
						WavesFrom: "lab-7f3a9c-000000000101",
						Waves: []GapWave{
							{Event: EvCiscoAddrOutOfService, Count: 3, Entities: 2, First: sampleTime, Last: sampleTime, FirstID: "lab-7f3a9c-000000000103"},
							{Event: WaveSnapshot, Count: 4, Entities: 2, First: closed, Last: closed, FirstID: "lab-7f3a9c-000000000115"},
						}}}},
		},
	}
}
