package ctilink_test

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// allTypes lists every message type of protocol version 1, in wire order.
var allTypes = []ctilink.MsgType{
	ctilink.TypeProviderOpenRequest, ctilink.TypeHeartbeat, ctilink.TypeProviderCloseRequest,
	ctilink.TypeDeviceListRequest, ctilink.TypeDeviceOpenRequest, ctilink.TypeDeviceCloseRequest,
	ctilink.TypeLineOpenRequest, ctilink.TypeLineCloseRequest, ctilink.TypeCTIPortRegisterReq,
	ctilink.TypeRoutePointRegisterReq, ctilink.TypeSnapshotRequest, ctilink.TypeRouteSelectRequest,
	ctilink.TypeDeviceUnregisterReq,
	ctilink.TypeProviderOpenResponse, ctilink.TypeProviderOpenCompleted, ctilink.TypeProviderClosed,
	ctilink.TypeDeviceListResponse, ctilink.TypeResponse, ctilink.TypeSnapshotCompleted,
	ctilink.TypeCallState, ctilink.TypeDeviceService, ctilink.TypeLineService,
	ctilink.TypeDeviceRegistration, ctilink.TypeFeature, ctilink.TypeRoute, ctilink.TypeMedia,
	ctilink.TypeCallParty, ctilink.TypeCallChanged,
	ctilink.TypeError,
}

// sampleMessages returns one representative, valid message of every type,
// with every field set to a non-zero value where the field allows it, so a
// round trip proves that each field survives encoding.
func sampleMessages() []ctilink.Message {
	const t0 = int64(1767225600123456789) // 2026-01-01T00:00:00.123456789Z
	a := ctilink.Party{DN: "1001", Device: "SEP001122334455"}
	b := ctilink.Party{DN: "1002", Device: "SEP00AABBCCDDEE"}
	y := ctilink.Party{DN: "800551001"}
	x := ctilink.Party{DN: "+4989555010", Device: "SIP-PSTN", External: true}
	return []ctilink.Message{
		ctilink.ProviderOpenRequest{
			Login: "jtapiuser", Password: "s3cret;=", AppInfo: "ctibridge-1.0 (Zoë)",
			InstanceID: "bridge-a", DesiredServerHeartbeatMs: 30000, ClientVersion: "ctibridge/0.1.0",
			ProtocolVersions: []int{1, 2}, ApplicationPriority: 2,
		},
		ctilink.Heartbeat{},
		ctilink.ProviderCloseRequest{Reason: ctilink.CloseApplicationRequest},
		ctilink.DeviceListRequest{},
		ctilink.DeviceOpenRequest{Device: "SEP001122334455"},
		ctilink.DeviceCloseRequest{Device: "SEP001122334455"},
		ctilink.LineOpenRequest{Device: "SEP001122334455", Line: "1001"},
		ctilink.LineCloseRequest{Device: "SEP001122334455", Line: "1001"},
		ctilink.CTIPortRegisterRequest{Device: "CTIP_IVR_01", Dynamic: true, Media: ctilink.MediaParams{
			IP: "192.0.2.10", Port: 24000, Codecs: []string{"G711U", "G729"}, PacketMs: 20,
		}},
		ctilink.RoutePointRegisterRequest{Device: "RP_SALES", DynamicMedia: true},
		ctilink.SnapshotRequest{Device: "SEP001122334455"},
		ctilink.RouteSelectRequest{SessionID: 7, Destinations: []string{"1002", "1003"}},
		ctilink.DeviceUnregisterRequest{Device: "CTIP_IVR_01"},
		ctilink.ProviderOpenResponse{
			ReqSeq: 1, Result: ctilink.ResultOK, ProtocolVersion: 1, ServerHeartbeatMs: 30000,
			ClientHeartbeatMs: 30000, ProviderID: "prov-42", ServerInfo: "ctisim 0.1 (CUCM 15.0 model)",
			CTIManager: "cucm-sub1",
		},
		ctilink.ProviderOpenCompleted{
			ReqSeq: 1, Reason: ctilink.CloseLoginFailed, FailureDescription: "account locked",
			ProviderID: "prov-42", ClusterID: "CLUSTER-A", LoginUserName: "jtapiuser",
			TotalControllableDevices: 1234,
		},
		ctilink.ProviderClosed{Reason: ctilink.CloseDuplicateCertUsed, Description: "certificate bridge-a in use by another provider"},
		ctilink.DeviceListResponse{ReqSeq: 3, More: true, Total: 501, Devices: []ctilink.DeviceInfo{
			{Name: "SEP001122334455", Type: ctilink.DevicePhone, Model: "Cisco 8865", CallManager: "cucm-pub",
				Lines: []ctilink.LineInfo{{DN: "1001", Partition: "PT_INTERNAL"}, {DN: "1101"}}, Registered: true, InService: true},
			{Name: "CTIP_IVR_01", Type: ctilink.DeviceCTIPort, CallManager: "cucm-sub1", Lines: []ctilink.LineInfo{{DN: "5001"}}},
			{Name: "RP_SALES", Type: ctilink.DeviceRoutePoint, CallManager: "cucm-sub1", Lines: []ctilink.LineInfo{{DN: "6000"}}, Registered: true},
		}},
		ctilink.Response{ReqSeq: 9, Result: ctilink.ResultUnknownDevice, Error: "device SEPDEADBEEF0000 is not in the control list"},
		ctilink.SnapshotCompleted{ReqSeq: 12, Device: "SEP001122334455", Calls: 2},
		ctilink.CallStateEvent{
			Device: "SEP001122334455", Line: "1001", CallHandle: 0x01000007, GlobalCallID: 4711,
			CallManager: "cucm-pub", State: ctilink.CallStateConnected, Cause: ctilink.CauseNormalCallClearing,
			Reason: ctilink.ReasonRedirect, Origin: true, Calling: a, Called: b, CurrentCalling: y,
			CurrentCalled: x, LastRedirecting: ctilink.Party{DN: "6000", Device: "RP_SALES"}, Snapshot: true, TimeNs: t0,
			FeatureReason: ctilink.FeaturePickup, HuntPilot: "2000",
		},
		ctilink.DeviceServiceEvent{Device: "SEP001122334455", InService: false, Reason: ctilink.OOSCallManagerFailure, TimeNs: t0},
		ctilink.LineServiceEvent{Device: "SEP001122334455", Line: "1001", InService: true, Reason: ctilink.OOSCTIManagerFailure, TimeNs: t0},
		ctilink.DeviceRegistrationEvent{Device: "SEP001122334455", Registered: true, CallManager: "cucm-sub2", Reason: ctilink.RegReasonReset, TimeNs: t0},
		ctilink.FeatureEvent{
			Feature: ctilink.FeatureTransfer, Started: true, Device: "SEP00AABBCCDDEE", Line: "1002",
			PrimaryCallID: 4711, ConsultCallID: 4712, ResultCallID: 4711, Blind: true, TransferredParty: a, TimeNs: t0,
			Parties: []ctilink.Party{a, b, {DN: "1003", Device: "SEP00CCDDEEFF00"}}, Failed: true,
		},
		ctilink.RouteEvent{
			Kind: ctilink.RouteKindUsed, Device: "RP_SALES", Line: "6000", SessionID: 7, GlobalCallID: 4713,
			CallHandle: 0x01000009, Calling: a, Called: ctilink.Party{DN: "6000", Device: "RP_SALES"},
			Selected: "1002", Cause: 100, TimeNs: t0,
		},
		ctilink.MediaEvent{
			Kind: ctilink.MediaRTPInputStarted, Device: "CTIP_IVR_01", Line: "5001", GlobalCallID: 4714,
			CallHandle: 0x0100000A, IP: "192.0.2.10", Port: 24000, Codec: "G711U", PacketMs: 20, TimeNs: t0,
		},
		ctilink.CallPartyEvent{Device: "SEP001122334455", Line: "1001", GlobalCallID: 4715, Party: y, Added: true, Transient: true, TimeNs: t0},
		ctilink.CallChangedEvent{Device: "SEP00CCDDEEFF00", Line: "1003", OriginalCallID: 4712, SurvivingCall: 4711, CallHandle: 0x0100000B, TimeNs: t0},
		ctilink.ErrorMessage{ReqSeq: 5, Code: ctilink.ErrCodeMalformed, Text: "ctilink: malformed message body: LineOpenRequest: unexpected end of JSON input"},
	}
}

// TestSamplesCoverEveryType keeps the round-trip tests honest: a new message
// type must get a sample (and a row in docs/protocol.md).
func TestSamplesCoverEveryType(t *testing.T) {
	seen := map[ctilink.MsgType]bool{}
	for _, m := range sampleMessages() {
		if seen[m.Type()] {
			t.Errorf("two samples of %s", m.Type())
		}
		seen[m.Type()] = true
		if err := m.Validate(); err != nil {
			t.Errorf("sample %s does not validate: %v", m.Type(), err)
		}
	}
	for _, typ := range allTypes {
		if !seen[typ] {
			t.Errorf("no sample of %s", typ)
		}
		if !ctilink.Known(typ) {
			t.Errorf("%s is not Known", typ)
		}
	}
	// Every type between 0x00 and 0xFFFF that Known accepts must be in allTypes.
	for i := 0; i <= 0xFFFF; i++ {
		typ := ctilink.MsgType(i)
		if ctilink.Known(typ) && !seen[typ] {
			t.Errorf("Known type %s (0x%04X) has no sample", typ, i)
		}
	}
}
