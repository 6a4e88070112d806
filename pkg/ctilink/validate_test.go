package ctilink_test

import (
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// sampleOf returns the sample message of type T.
func sampleOf[T ctilink.Message]() T {
	for _, m := range sampleMessages() {
		if v, ok := m.(T); ok {
			return v
		}
	}
	panic("no sample")
}

// with returns the sample of type T changed by f.
func with[T ctilink.Message](f func(*T)) ctilink.Message {
	m := sampleOf[T]()
	f(&m)
	return m
}

// TestValidate checks every rule of every message with required or bounded
// fields: the error names the field (and the limit), and the same body
// received from a peer is refused as ErrInvalidMessage (a per-frame error).
// Rows with want == "" are edge cases that must pass.
func TestValidate(t *testing.T) {
	n128 := strings.Repeat("n", ctilink.MaxNameLen)
	n129 := n128 + "n"
	type (
		POReq = ctilink.ProviderOpenRequest
		CPReg = ctilink.CTIPortRegisterRequest
		RSel  = ctilink.RouteSelectRequest
		PORsp = ctilink.ProviderOpenResponse
		POC   = ctilink.ProviderOpenCompleted
		DLR   = ctilink.DeviceListResponse
		CSE   = ctilink.CallStateEvent
		Feat  = ctilink.FeatureEvent
		CChg  = ctilink.CallChangedEvent
		Rte   = ctilink.RouteEvent
		Med   = ctilink.MediaEvent
		CPty  = ctilink.CallPartyEvent
	)
	tests := []struct {
		name string
		msg  ctilink.Message
		want string // substring of the error; "" = valid
		// notOnWire: the invalid value does not survive JSON (encoding/json
		// replaces invalid UTF-8), so only Validate is checked.
		notOnWire bool
	}{
		// ProviderOpenRequest
		{"login required", with(func(m *POReq) { m.Login = "" }), "login is required", false},
		{"login too long", with(func(m *POReq) { m.Login = n129 }), "login is 129 bytes long, limit 128", false},
		{"login at the limit", with(func(m *POReq) { m.Login = n128 }), "", false},
		{"login non-ASCII", with(func(m *POReq) { m.Login = "jürgen.müller" }), "", false},
		{"login tab", with(func(m *POReq) { m.Login = "a\tb" }), "login contains control character U+0009", false},
		{"login invalid UTF-8", with(func(m *POReq) { m.Login = "a\xffb" }), "login is not valid UTF-8", true},
		{"instanceId control char", with(func(m *POReq) { m.InstanceID = "x\x1b[2J" }), "instanceId contains control character", false},
		{"password too long", with(func(m *POReq) { m.Password = strings.Repeat("p", 1025) }), "password longer than 1024 bytes", false},
		{"password may hold = and ;", with(func(m *POReq) { m.Password = "a=b;c" }), "", false},
		{"appInfo with =", with(func(m *POReq) { m.AppInfo = "app=1" }), "appInfo must not contain '=' or ';'", false},
		{"appInfo with ;", with(func(m *POReq) { m.AppInfo = "app;login=x" }), "appInfo must not contain '=' or ';'", false},
		{"appInfo too long", with(func(m *POReq) { m.AppInfo = n129 }), "appInfo is 129 bytes long", false},
		{"heartbeat negative", with(func(m *POReq) { m.DesiredServerHeartbeatMs = -1 }), "desiredServerHeartbeatMs is negative", false},
		{"heartbeat zero accepted", with(func(m *POReq) { m.DesiredServerHeartbeatMs = 0 }), "", false},
		{"no protocol versions", with(func(m *POReq) { m.ProtocolVersions = nil }), "protocolVersions must list 1 to 16 versions, got 0", false},
		{"17 protocol versions", with(func(m *POReq) { m.ProtocolVersions = make([]int, 17) }), "got 17", false},
		{"clientVersion too long", with(func(m *POReq) { m.ClientVersion = n129 }), "clientVersion too long", false},

		// Device-only requests and events
		{"DeviceOpen device", ctilink.DeviceOpenRequest{}, "device is required", false},
		{"DeviceClose device", ctilink.DeviceCloseRequest{Device: n129}, "device is 129 bytes long", false},
		{"RoutePointRegister device", ctilink.RoutePointRegisterRequest{DynamicMedia: true}, "device is required", false},
		{"DeviceUnregister device", ctilink.DeviceUnregisterRequest{Device: "\u0085"}, "", false}, // C1 controls are not rejected
		{"Snapshot device", ctilink.SnapshotRequest{Device: "a\x00"}, "device contains control character U+0000", false},
		{"SnapshotCompleted device", ctilink.SnapshotCompleted{ReqSeq: 1}, "device is required", false},
		{"DeviceService device", ctilink.DeviceServiceEvent{InService: true}, "device is required", false},
		{"DeviceRegistration device", ctilink.DeviceRegistrationEvent{CallManager: "cm"}, "device is required", false},
		{"DeviceRegistration callManager", ctilink.DeviceRegistrationEvent{Device: "d", CallManager: n129}, "callManager is 129 bytes long", false},

		// Device + line
		{"LineOpen line", ctilink.LineOpenRequest{Device: "SEP1"}, "line is required", false},
		{"LineOpen both", ctilink.LineOpenRequest{}, "device is required; line is required", false},
		{"LineClose device", ctilink.LineCloseRequest{Line: "1001"}, "device is required", false},
		{"LineService line", ctilink.LineServiceEvent{Device: "SEP1", Line: "\x7f"}, "line contains control character U+007F", false},

		// CTIPortRegisterRequest
		{"CTI port device", with(func(m *CPReg) { m.Device = "" }), "device is required", false},
		{"static port needs ip", with(func(m *CPReg) { m.Dynamic = false; m.Media.IP = "" }), "media.ip is required", false},
		{"static port needs port", with(func(m *CPReg) { m.Dynamic = false; m.Media.Port = 0 }), "media.port 0 out of range 1-65535", false},
		{"static port port too big", with(func(m *CPReg) { m.Dynamic = false; m.Media.Port = 65536 }), "media.port 65536 out of range", false},
		{"dynamic port without media", ctilink.CTIPortRegisterRequest{Device: "CTIP1", Dynamic: true}, "", false},
		{"33 codecs", with(func(m *CPReg) {
			m.Media.Codecs = make([]string, 33)
			copy(m.Media.Codecs, strings.Split(strings.Repeat("G711U ", 33), " "))
		}), "media.codecs lists more than 32 codecs", false},
		{"empty codec", with(func(m *CPReg) { m.Media.Codecs = []string{"G711U", ""} }), "media.codecs[] is required", false},
		{"packetMs negative", with(func(m *CPReg) { m.Media.PacketMs = -1 }), "media.packetMs -1 out of range 0-1000", false},
		{"packetMs too big", with(func(m *CPReg) { m.Media.PacketMs = 1001 }), "media.packetMs 1001 out of range", false},

		// RouteSelectRequest
		{"route select session", with(func(m *RSel) { m.SessionID = 0 }), "sessionId is required", false},
		{"route select no destination", with(func(m *RSel) { m.Destinations = nil }), "destinations must list 1 to 32 numbers, got 0", false},
		{"route select 33 destinations", with(func(m *RSel) { m.Destinations = strings.Split(strings.Repeat("1,", 32)+"1", ",") }), "got 33", false},
		{"route select empty destination", with(func(m *RSel) { m.Destinations = []string{"1002", ""} }), "destinations[] is required", false},

		// ProviderOpenResponse
		{"open response heartbeats", with(func(m *PORsp) { m.ClientHeartbeatMs = 0 }), "heartbeat intervals must be positive", false},
		{"open response providerId", with(func(m *PORsp) { m.ProviderID = "" }), "providerId is required", false},
		{"open response ctiManager", with(func(m *PORsp) { m.CTIManager = "a\nb" }), "ctiManager contains control character", false},
		{"refused open needs no details", ctilink.ProviderOpenResponse{ReqSeq: 1, Result: ctilink.ResultInvalidRequest}, "", false},

		// ProviderOpenCompleted
		{"open completed negative devices", with(func(m *POC) { m.TotalControllableDevices = -1 }), "totalControllableDevices is negative", false},
		{"open completed clusterId", with(func(m *POC) { m.ClusterID = n129 }), "clusterId is 129 bytes long", false},
		{"open completed minimal", ctilink.ProviderOpenCompleted{ReqSeq: 1}, "", false},

		// DeviceListResponse
		{"device list name", with(func(m *DLR) { m.Devices[1].Name = "" }), "devices[1]: name is required", false},
		{"device list type", with(func(m *DLR) { m.Devices[0].Type = "fax" }), `devices[0]: type "fax" unknown`, false},
		{"device list 65 lines", with(func(m *DLR) { m.Devices[0].Lines = make([]ctilink.LineInfo, 65); fillLines(m.Devices[0].Lines) }), "devices[0]: 65 lines, limit 64", false},
		{"device list dn", with(func(m *DLR) { m.Devices[2].Lines = []ctilink.LineInfo{{Partition: "PT"}} }), "devices[2]: lines[].dn is required", false},
		{"device list partition", with(func(m *DLR) { m.Devices[0].Lines[0].Partition = n129 }), "lines[].partition is 129 bytes long", false},
		{"device list total", with(func(m *DLR) { m.Total = -1 }), "total is negative", false},
		{"device list empty last page", ctilink.DeviceListResponse{ReqSeq: 1}, "", false},

		// CallStateEvent
		{"call state device", with(func(m *CSE) { m.Device = "" }), "device is required", false},
		{"call state line", with(func(m *CSE) { m.Line = "" }), "line is required", false},
		{"call state handle", with(func(m *CSE) { m.CallHandle = 0 }), "callHandle is required", false},
		{"call state gcid", with(func(m *CSE) { m.GlobalCallID = 0 }), "globalCallId is required", false},
		{"call state unknown state", with(func(m *CSE) { m.State = 19 }), "state 19 unknown", false},
		{"call state QUEUED", with(func(m *CSE) { m.State = ctilink.CallStateQueued }), "", false},
		{"call state callManager", with(func(m *CSE) { m.CallManager = n129 }), "callManager is 129 bytes long", false},
		{"call state calling", with(func(m *CSE) { m.Calling.DN = "1\r\n" }), "calling.dn contains control character", false},
		{"call state called device", with(func(m *CSE) { m.Called.Device = n129 }), "called.device is 129 bytes long", false},
		{"call state currentCalling", with(func(m *CSE) { m.CurrentCalling.DN = "\x00" }), "currentCalling.dn contains control character", false},
		{"call state currentCalled", with(func(m *CSE) { m.CurrentCalled.Device = "\x01" }), "currentCalled.device contains control character", false},
		{"call state lastRedirecting", with(func(m *CSE) { m.LastRedirecting.DN = n129 }), "lastRedirecting.dn is 129 bytes long", false},
		{"call state empty parties", with(func(m *CSE) {
			m.Calling, m.Called, m.CurrentCalling, m.CurrentCalled, m.LastRedirecting = ctilink.Party{}, ctilink.Party{}, ctilink.Party{}, ctilink.Party{}, ctilink.Party{}
		}), "", false},

		// FeatureEvent
		{"feature kind", with(func(m *Feat) { m.Feature = "park" }), `feature "park" is not one of transfer, conference`, false},
		{"feature conference", with(func(m *Feat) { m.Feature = ctilink.FeatureConference }), "", false},
		{"feature primary", with(func(m *Feat) { m.PrimaryCallID = 0 }), "primaryCallId is required", false},
		{"feature line", with(func(m *Feat) { m.Line = "" }), "line is required", false},
		{"feature transferredParty", with(func(m *Feat) { m.TransferredParty.DN = "\x02" }), "transferredParty.dn contains control character", false},
		{"feature parties bound", with(func(m *Feat) { m.Parties = make([]ctilink.Party, ctilink.MaxFeatureParties+1) }),
			"parties lists 17 lines, at most 16", false},
		{"feature party", with(func(m *Feat) { m.Parties = []ctilink.Party{{DN: "1003\n"}} }), "parties[0].dn contains control character", false},

		// CallChangedEvent
		{"call changed ids", with(func(m *CChg) { m.SurvivingCall = 0 }), "originalCallId and survivingCallId are required", false},
		{"call changed device", with(func(m *CChg) { m.Device = "" }), "device is required", false},

		// RouteEvent
		{"route kind", with(func(m *Rte) { m.Kind = "ROUTE" }), `kind "ROUTE" is not one of route, reroute, used, end`, false},
		{"route session", with(func(m *Rte) { m.SessionID = 0 }), "sessionId is required", false},
		{"route selected", with(func(m *Rte) { m.Selected = "1\x00" }), "selected contains control character", false},
		{"route line", with(func(m *Rte) { m.Line = "" }), "line is required", false},
		{"route calling", with(func(m *Rte) { m.Calling.Device = n129 }), "calling.device is 129 bytes long", false},

		// MediaEvent
		{"media kind", with(func(m *Med) { m.Kind = "dtmf" }), `kind "dtmf" is not one of openLogicalChannel`, false},
		{"media port", with(func(m *Med) { m.Port = 70000 }), "port 70000 out of range", false},
		{"media line optional", with(func(m *Med) { m.Line = "" }), "", false},
		{"media codec", with(func(m *Med) { m.Codec = "\x07" }), "codec contains control character", false},
		{"media device", with(func(m *Med) { m.Device = "" }), "device is required", false},

		// CallPartyEvent
		{"call party dn", with(func(m *CPty) { m.Party.DN = "" }), "party.dn is required", false},
		{"call party gcid", with(func(m *CPty) { m.GlobalCallID = 0 }), "globalCallId is required", false},
		{"call party line", with(func(m *CPty) { m.Line = "" }), "line is required", false},

		// ErrorMessage
		{"error text too long", ctilink.ErrorMessage{Text: strings.Repeat("e", 4097)}, "text longer than 4096 bytes", false},
		{"error text at limit", ctilink.ErrorMessage{Text: strings.Repeat("e", 4096)}, "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.msg.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v, want nil", err)
				}
			} else if err == nil || !strings.Contains(strings.ReplaceAll(err.Error(), "\n", "; "), tc.want) {
				t.Fatalf("Validate = %v, want an error containing %q", err, tc.want)
			}
			if tc.notOnWire {
				return
			}
			if dl, ok := tc.msg.(ctilink.DeviceListResponse); ok && tc.want != "" && !strings.Contains(tc.want, "total") {
				checkDeviceRejected(t, dl, tc.want)
				return
			}
			_, err = ctilink.DecodeBody(tc.msg.Type(), mustJSON(t, tc.msg))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("DecodeBody: %v", err)
			case tc.want != "" && (!errors.Is(err, ctilink.ErrInvalidMessage) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("DecodeBody err = %v, want ErrInvalidMessage mentioning %q", err, tc.want)
			}
		})
	}
}

// checkDeviceRejected: a page with one device that breaks the rules is not
// refused; the device is dropped into Rejected with the broken rule, the
// others kept.
func checkDeviceRejected(t *testing.T, sent ctilink.DeviceListResponse, want string) {
	t.Helper()
	m, err := ctilink.DecodeBody(sent.Type(), mustJSON(t, sent))
	if err != nil {
		t.Fatalf("DecodeBody refused the page for one device: %v", err)
	}
	got := m.(ctilink.DeviceListResponse)
	if len(got.Rejected) != 1 || len(got.Devices) != len(sent.Devices)-1 {
		t.Fatalf("kept %d of %d devices, rejected %+v; want exactly one rejected", len(got.Devices), len(sent.Devices), got.Rejected)
	}
	r := got.Rejected[0]
	if full := fmt.Sprintf("devices[%d]: %s", r.Index, r.Reason); !strings.Contains(full, want) {
		t.Fatalf("rejection %q, want it to mention %q", full, want)
	}
}

func fillLines(ls []ctilink.LineInfo) {
	for i := range ls {
		ls[i].DN = "1000"
	}
}

// TestNoRequiredFields lists the messages that are valid with every field
// at its zero value, so an empty body is acceptable for them.
func TestNoRequiredFields(t *testing.T) {
	for _, m := range []ctilink.Message{
		ctilink.Heartbeat{}, ctilink.DeviceListRequest{}, ctilink.ProviderCloseRequest{},
		ctilink.ProviderClosed{}, ctilink.Response{}, ctilink.ErrorMessage{}, ctilink.ProviderOpenCompleted{},
		ctilink.DeviceListResponse{},
	} {
		if err := m.Validate(); err != nil {
			t.Errorf("%s{}: %v", m.Type(), err)
		}
	}
	// And every other type refuses its zero value.
	free := map[ctilink.MsgType]bool{ctilink.TypeHeartbeat: true, ctilink.TypeDeviceListRequest: true,
		ctilink.TypeProviderCloseRequest: true, ctilink.TypeProviderClosed: true, ctilink.TypeResponse: true,
		ctilink.TypeError: true, ctilink.TypeProviderOpenCompleted: true, ctilink.TypeDeviceListResponse: true}
	for _, typ := range allTypes {
		if free[typ] {
			continue
		}
		if _, err := ctilink.DecodeBody(typ, nil); !errors.Is(err, ctilink.ErrInvalidMessage) {
			t.Errorf("%s with an empty body: err = %v, want ErrInvalidMessage", typ, err)
		}
	}
}
