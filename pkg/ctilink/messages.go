package ctilink

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// MsgType identifies a message. Client-to-server requests are below 0x80,
// server-to-client responses and events from 0x80; Heartbeat and Error go
// both ways.
type MsgType uint16

// Message types. Values are stable on the wire.
const (
	TypeProviderOpenRequest   MsgType = 0x01
	TypeHeartbeat             MsgType = 0x02
	TypeProviderCloseRequest  MsgType = 0x03
	TypeDeviceListRequest     MsgType = 0x04
	TypeDeviceOpenRequest     MsgType = 0x05
	TypeDeviceCloseRequest    MsgType = 0x06
	TypeLineOpenRequest       MsgType = 0x07
	TypeLineCloseRequest      MsgType = 0x08
	TypeCTIPortRegisterReq    MsgType = 0x09
	TypeRoutePointRegisterReq MsgType = 0x0A
	TypeSnapshotRequest       MsgType = 0x0B
	TypeRouteSelectRequest    MsgType = 0x0C
	TypeDeviceUnregisterReq   MsgType = 0x0D

	TypeProviderOpenResponse  MsgType = 0x81
	TypeProviderOpenCompleted MsgType = 0x82
	TypeProviderClosed        MsgType = 0x83
	TypeDeviceListResponse    MsgType = 0x84
	TypeResponse              MsgType = 0x85
	TypeSnapshotCompleted     MsgType = 0x86
	TypeCallState             MsgType = 0x87
	TypeDeviceService         MsgType = 0x88
	TypeLineService           MsgType = 0x89
	TypeDeviceRegistration    MsgType = 0x8A
	TypeFeature               MsgType = 0x8B
	TypeRoute                 MsgType = 0x8C
	TypeMedia                 MsgType = 0x8D
	TypeCallParty             MsgType = 0x8E
	TypeCallChanged           MsgType = 0x8F

	TypeError MsgType = 0xFF
)

var typeNames = map[MsgType]string{
	TypeProviderOpenRequest: "ProviderOpenRequest", TypeHeartbeat: "Heartbeat",
	TypeProviderCloseRequest: "ProviderCloseRequest", TypeDeviceListRequest: "DeviceListRequest",
	TypeDeviceOpenRequest: "DeviceOpenRequest", TypeDeviceCloseRequest: "DeviceCloseRequest",
	TypeLineOpenRequest: "LineOpenRequest", TypeLineCloseRequest: "LineCloseRequest",
	TypeCTIPortRegisterReq: "CTIPortRegisterRequest", TypeRoutePointRegisterReq: "RoutePointRegisterRequest",
	TypeSnapshotRequest: "SnapshotRequest", TypeRouteSelectRequest: "RouteSelectRequest",
	TypeDeviceUnregisterReq:  "DeviceUnregisterRequest",
	TypeProviderOpenResponse: "ProviderOpenResponse", TypeProviderOpenCompleted: "ProviderOpenCompleted",
	TypeProviderClosed: "ProviderClosed", TypeDeviceListResponse: "DeviceListResponse",
	TypeResponse: "Response", TypeSnapshotCompleted: "SnapshotCompleted", TypeCallState: "CallState",
	TypeDeviceService: "DeviceService", TypeLineService: "LineService",
	TypeDeviceRegistration: "DeviceRegistration", TypeFeature: "Feature", TypeRoute: "Route",
	TypeMedia: "Media", TypeCallParty: "CallParty", TypeCallChanged: "CallChanged", TypeError: "Error",
}

func (t MsgType) String() string {
	if n, ok := typeNames[t]; ok {
		return n
	}
	return "MsgType(0x" + strconv.FormatUint(uint64(t), 16) + ")"
}

// Message is one link-protocol message body.
type Message interface {
	Type() MsgType
	// Validate checks the fields a receiver relies on.
	Validate() error
}

// Requests carry the header sequence of the frame they were sent in; replies
// name it in ReqSeq.

// ProviderOpenRequest opens a provider session (phase one of two).
type ProviderOpenRequest struct {
	Login    string `json:"login"`
	Password string `json:"password"`
	// AppInfo names the application; it must not contain '=' or ';'.
	AppInfo    string `json:"appInfo,omitempty"`
	InstanceID string `json:"instanceId,omitempty"`
	// DesiredServerHeartbeatMs is the interval the client would like the
	// server to send heartbeats at; the server decides.
	DesiredServerHeartbeatMs int64  `json:"desiredServerHeartbeatMs"`
	ClientVersion            string `json:"clientVersion"`
	// ProtocolVersions lists the protocol versions the client speaks.
	ProtocolVersions    []int `json:"protocolVersions"`
	ApplicationPriority int   `json:"applicationPriority,omitempty"`
}

// Heartbeat keeps an idle link alive; any frame counts as one.
type Heartbeat struct{}

// ProviderCloseRequest closes the session on the client's request.
type ProviderCloseRequest struct {
	Reason CloseReason `json:"reason"`
}

// DeviceListRequest asks for the control list; answered by one or more
// DeviceListResponse pages.
type DeviceListRequest struct{}

// DeviceOpenRequest starts device-level events (registration, service).
type DeviceOpenRequest struct {
	Device string `json:"device"`
}

// DeviceCloseRequest stops them.
type DeviceCloseRequest struct {
	Device string `json:"device"`
}

// LineOpenRequest starts call-state and line-service events for one line.
type LineOpenRequest struct {
	Device string `json:"device"`
	Line   string `json:"line"`
}

// LineCloseRequest stops them.
type LineCloseRequest struct {
	Device string `json:"device"`
	Line   string `json:"line"`
}

// MediaParams describe a CTI port's RTP termination.
type MediaParams struct {
	IP       string   `json:"ip"`
	Port     int      `json:"port"`
	Codecs   []string `json:"codecs"`
	PacketMs int      `json:"packetMs"`
}

// CTIPortRegisterRequest registers a CTI port with static media parameters
// (or dynamic, per call, when Dynamic is set).
type CTIPortRegisterRequest struct {
	Device  string      `json:"device"`
	Dynamic bool        `json:"dynamic,omitempty"`
	Media   MediaParams `json:"media"`
}

// RoutePointRegisterRequest registers a route point for route events.
type RoutePointRegisterRequest struct {
	Device string `json:"device"`
	// DynamicMedia asks for per-call media (DYNAMIC_MEDIA_REGISTRATION).
	DynamicMedia bool `json:"dynamicMedia,omitempty"`
}

// DeviceUnregisterRequest releases a CTI port or route point registration.
type DeviceUnregisterRequest struct {
	Device string `json:"device"`
}

// SnapshotRequest asks for every existing call on a device: answered with
// CallState messages flagged Snapshot, then SnapshotCompleted.
type SnapshotRequest struct {
	Device string `json:"device"`
}

// RouteSelectRequest answers a route event with destinations; the first
// usable one is taken.
type RouteSelectRequest struct {
	SessionID    uint32   `json:"sessionId"`
	Destinations []string `json:"destinations"`
}

// ProviderOpenResponse is the synchronous reply to ProviderOpenRequest:
// the request was accepted and the heartbeat intervals are fixed. Login
// succeeds or fails later with ProviderOpenCompleted.
type ProviderOpenResponse struct {
	ReqSeq            uint32 `json:"reqSeq"`
	Result            Result `json:"result"`
	ProtocolVersion   int    `json:"protocolVersion"`
	ServerHeartbeatMs int64  `json:"serverHeartbeatMs"`
	ClientHeartbeatMs int64  `json:"clientHeartbeatMs"`
	ProviderID        string `json:"providerId"`
	ServerInfo        string `json:"serverInfo,omitempty"`
	CTIManager        string `json:"ctiManager"`
}

// ProviderOpenCompleted is the asynchronous outcome of the open: Reason 0
// means logged in; otherwise it is the close reason.
type ProviderOpenCompleted struct {
	ReqSeq                   uint32      `json:"reqSeq"`
	Reason                   CloseReason `json:"reason"`
	FailureDescription       string      `json:"failureDescription,omitempty"`
	ProviderID               string      `json:"providerId"`
	ClusterID                string      `json:"clusterId"`
	LoginUserName            string      `json:"loginUserName"`
	TotalControllableDevices int         `json:"totalControllableDevices"`
}

// ProviderClosed ends the session; the server closes the connection after it.
type ProviderClosed struct {
	Reason      CloseReason `json:"reason"`
	Description string      `json:"description,omitempty"`
}

// LineInfo describes one line (address) of a device.
type LineInfo struct {
	DN        string `json:"dn"`
	Partition string `json:"partition,omitempty"`
}

// DeviceInfo describes one device of the control list.
type DeviceInfo struct {
	Name        string     `json:"name"`
	Type        DeviceType `json:"type"`
	Model       string     `json:"model,omitempty"`
	CallManager string     `json:"callManager"`
	Lines       []LineInfo `json:"lines"`
	Registered  bool       `json:"registered"`
	InService   bool       `json:"inService"`
}

// DeviceListResponse is one page of the control list; More is set on every
// page but the last.
type DeviceListResponse struct {
	ReqSeq  uint32       `json:"reqSeq"`
	Devices []DeviceInfo `json:"devices"`
	More    bool         `json:"more"`
	Total   int          `json:"total"`
	// Rejected lists the entries of this page that broke the device rules
	// and were dropped from Devices when the page was decoded. Not sent.
	Rejected []DeviceRejection `json:"-"`
}

// Response answers requests that have no dedicated reply.
type Response struct {
	ReqSeq uint32 `json:"reqSeq"`
	Result Result `json:"result"`
	Error  string `json:"error,omitempty"`
}

// SnapshotCompleted ends a snapshot.
type SnapshotCompleted struct {
	ReqSeq uint32 `json:"reqSeq"`
	Device string `json:"device"`
	Calls  int    `json:"calls"`
}

// Party is one side of a call.
type Party struct {
	DN     string `json:"dn,omitempty"`
	Device string `json:"device,omitempty"`
	// External marks a party outside the cluster, reached through a
	// trunk or gateway (Device then names the trunk). Added in protocol
	// version 1 without a version change: receivers that do not know it
	// ignore it (docs/protocol.md §4.1, §7.3).
	External bool `json:"external,omitempty"`
}

// CallStateEvent reports a line's new state within a call.
type CallStateEvent struct {
	Device       string     `json:"device"`
	Line         string     `json:"line"`
	CallHandle   uint32     `json:"callHandle"`
	GlobalCallID uint32     `json:"globalCallId"`
	CallManager  string     `json:"callManager,omitempty"`
	State        CallState  `json:"state"`
	Cause        Cause      `json:"cause"`
	Reason       ConnReason `json:"reason"`
	// Origin is set when this line placed the call.
	Origin          bool  `json:"origin,omitempty"`
	Calling         Party `json:"calling"`
	Called          Party `json:"called"`
	CurrentCalling  Party `json:"currentCalling"`
	CurrentCalled   Party `json:"currentCalled"`
	LastRedirecting Party `json:"lastRedirecting,omitempty"`
	// Snapshot marks events that answer a SnapshotRequest.
	Snapshot bool `json:"snapshot,omitempty"`
	// TimeNs is when CTIManager saw the change (Unix nanoseconds).
	TimeNs int64 `json:"timeNs"`
	// FeatureReason names the feature behind the change (call pickup,
	// park, a forward on no answer), when the state alone does not say.
	// Added without a version change: older receivers ignore it.
	FeatureReason FeatureReason `json:"featureReason,omitempty"`
	// HuntPilot is the number of the hunt pilot the call was placed to,
	// on the caller's leg and on the leg of the line-group member it is
	// offered to (a pilot is a pattern, not a device).
	HuntPilot string `json:"huntPilot,omitempty"`
}

// DeviceServiceEvent reports a device going in or out of service.
type DeviceServiceEvent struct {
	Device    string             `json:"device"`
	InService bool               `json:"inService"`
	Reason    OutOfServiceReason `json:"reason"`
	TimeNs    int64              `json:"timeNs"`
}

// LineServiceEvent reports a line going in or out of service.
type LineServiceEvent struct {
	Device    string             `json:"device"`
	Line      string             `json:"line"`
	InService bool               `json:"inService"`
	Reason    OutOfServiceReason `json:"reason"`
	TimeNs    int64              `json:"timeNs"`
}

// RegistrationReason qualifies DeviceRegistrationEvent (JTAPI's
// CiscoProvTerminalUnRegisteredEv reasons).
type RegistrationReason uint8

// Registration reasons.
const (
	RegReasonUnknown RegistrationReason = 0
	RegReasonReset   RegistrationReason = 1
	RegReasonLogin   RegistrationReason = 2
	RegReasonLogout  RegistrationReason = 3
)

// DeviceRegistrationEvent reports a device registering with or leaving a
// CallManager node.
type DeviceRegistrationEvent struct {
	Device      string             `json:"device"`
	Registered  bool               `json:"registered"`
	CallManager string             `json:"callManager"`
	Reason      RegistrationReason `json:"reason"`
	TimeNs      int64              `json:"timeNs"`
}

// Feature names for FeatureEvent.
const (
	FeatureTransfer   = "transfer"
	FeatureConference = "conference"
)

// FeatureEvent reports a transfer or conference starting or ending on a
// controller line. On end, the consult call has merged into ResultCallID.
type FeatureEvent struct {
	Feature          string `json:"feature"`
	Started          bool   `json:"started"`
	Device           string `json:"device"`
	Line             string `json:"line"`
	PrimaryCallID    uint32 `json:"primaryCallId"`
	ConsultCallID    uint32 `json:"consultCallId"`
	ResultCallID     uint32 `json:"resultCallId,omitempty"`
	Blind            bool   `json:"blind,omitempty"`
	TransferredParty Party  `json:"transferredParty,omitempty"`
	TimeNs           int64  `json:"timeNs"`
	// Parties are the lines involved in the two calls when the feature
	// started (the controller's included): CTIManager sends the event to
	// the sessions that opened any of them, once each, as JTAPI delivers
	// transfer and conference events to the observers of every involved
	// address. At most MaxFeatureParties. Added in protocol version 1
	// without a version change: older receivers ignore it.
	Parties []Party `json:"parties,omitempty"`
	// Failed, on the end event: the feature did not complete (a party
	// dropped before CallProcessing completed it; JTAPI
	// CiscoTransferEndEv.isSuccess() false). Added without a version
	// change, like Parties.
	Failed bool `json:"failed,omitempty"`
}

// MaxFeatureParties bounds FeatureEvent.Parties.
const MaxFeatureParties = 16

// CallChangedEvent reports that a call's legs moved to another global call
// id (JTAPI CiscoCallChangedEv: surviving and original call).
type CallChangedEvent struct {
	Device         string `json:"device"`
	Line           string `json:"line"`
	OriginalCallID uint32 `json:"originalCallId"`
	SurvivingCall  uint32 `json:"survivingCallId"`
	CallHandle     uint32 `json:"callHandle"`
	TimeNs         int64  `json:"timeNs"`
}

// Route event kinds.
const (
	RouteKindRoute   = "route"
	RouteKindReRoute = "reroute"
	RouteKindUsed    = "used"
	RouteKindEnd     = "end"
)

// RouteEvent reports a route session on a registered route point.
type RouteEvent struct {
	Kind         string `json:"kind"`
	Device       string `json:"device"`
	Line         string `json:"line"`
	SessionID    uint32 `json:"sessionId"`
	GlobalCallID uint32 `json:"globalCallId"`
	CallHandle   uint32 `json:"callHandle"`
	Calling      Party  `json:"calling"`
	Called       Party  `json:"called"`
	Selected     string `json:"selected,omitempty"`
	// Cause is the RouteSession cause (100 NO_ERROR, 101 ROUTING_TIMER_EXPIRED, …).
	Cause  int   `json:"cause"`
	TimeNs int64 `json:"timeNs"`
}

// Media event kinds.
const (
	MediaOpenLogicalChannel = "openLogicalChannel"
	MediaRTPInputStarted    = "rtpInputStarted"
	MediaRTPOutputStarted   = "rtpOutputStarted"
	MediaRTPInputStopped    = "rtpInputStopped"
	MediaRTPOutputStopped   = "rtpOutputStopped"
)

// MediaEvent reports RTP activity on a CTI port or route point.
type MediaEvent struct {
	Kind         string `json:"kind"`
	Device       string `json:"device"`
	Line         string `json:"line,omitempty"`
	GlobalCallID uint32 `json:"globalCallId"`
	CallHandle   uint32 `json:"callHandle"`
	IP           string `json:"ip,omitempty"`
	Port         int    `json:"port,omitempty"`
	Codec        string `json:"codec,omitempty"`
	PacketMs     int    `json:"packetMs,omitempty"`
	TimeNs       int64  `json:"timeNs"`
}

// CallPartyEvent reports a party that appears in a call without a line of
// its own: with a calling-party transformation mask, the masked number is
// briefly added to the call and removed again (Transient).
type CallPartyEvent struct {
	Device       string `json:"device"`
	Line         string `json:"line"`
	GlobalCallID uint32 `json:"globalCallId"`
	Party        Party  `json:"party"`
	Added        bool   `json:"added"`
	Transient    bool   `json:"transient"`
	TimeNs       int64  `json:"timeNs"`
}

// ErrorMessage answers a frame the receiver could not use.
type ErrorMessage struct {
	ReqSeq uint32    `json:"reqSeq"`
	Code   ErrorCode `json:"code"`
	Text   string    `json:"text"`
}

func (ProviderOpenRequest) Type() MsgType       { return TypeProviderOpenRequest }
func (Heartbeat) Type() MsgType                 { return TypeHeartbeat }
func (ProviderCloseRequest) Type() MsgType      { return TypeProviderCloseRequest }
func (DeviceListRequest) Type() MsgType         { return TypeDeviceListRequest }
func (DeviceOpenRequest) Type() MsgType         { return TypeDeviceOpenRequest }
func (DeviceCloseRequest) Type() MsgType        { return TypeDeviceCloseRequest }
func (LineOpenRequest) Type() MsgType           { return TypeLineOpenRequest }
func (LineCloseRequest) Type() MsgType          { return TypeLineCloseRequest }
func (CTIPortRegisterRequest) Type() MsgType    { return TypeCTIPortRegisterReq }
func (RoutePointRegisterRequest) Type() MsgType { return TypeRoutePointRegisterReq }
func (DeviceUnregisterRequest) Type() MsgType   { return TypeDeviceUnregisterReq }
func (SnapshotRequest) Type() MsgType           { return TypeSnapshotRequest }
func (RouteSelectRequest) Type() MsgType        { return TypeRouteSelectRequest }
func (ProviderOpenResponse) Type() MsgType      { return TypeProviderOpenResponse }
func (ProviderOpenCompleted) Type() MsgType     { return TypeProviderOpenCompleted }
func (ProviderClosed) Type() MsgType            { return TypeProviderClosed }
func (DeviceListResponse) Type() MsgType        { return TypeDeviceListResponse }
func (Response) Type() MsgType                  { return TypeResponse }
func (SnapshotCompleted) Type() MsgType         { return TypeSnapshotCompleted }
func (CallStateEvent) Type() MsgType            { return TypeCallState }
func (DeviceServiceEvent) Type() MsgType        { return TypeDeviceService }
func (LineServiceEvent) Type() MsgType          { return TypeLineService }
func (DeviceRegistrationEvent) Type() MsgType   { return TypeDeviceRegistration }
func (FeatureEvent) Type() MsgType              { return TypeFeature }
func (CallChangedEvent) Type() MsgType          { return TypeCallChanged }
func (RouteEvent) Type() MsgType                { return TypeRoute }
func (MediaEvent) Type() MsgType                { return TypeMedia }
func (CallPartyEvent) Type() MsgType            { return TypeCallParty }
func (ErrorMessage) Type() MsgType              { return TypeError }

// decoders maps each known type to its body decoder.
var decoders = map[MsgType]func([]byte) (Message, error){
	TypeProviderOpenRequest:   decodeAs[ProviderOpenRequest],
	TypeHeartbeat:             decodeAs[Heartbeat],
	TypeProviderCloseRequest:  decodeAs[ProviderCloseRequest],
	TypeDeviceListRequest:     decodeAs[DeviceListRequest],
	TypeDeviceOpenRequest:     decodeAs[DeviceOpenRequest],
	TypeDeviceCloseRequest:    decodeAs[DeviceCloseRequest],
	TypeLineOpenRequest:       decodeAs[LineOpenRequest],
	TypeLineCloseRequest:      decodeAs[LineCloseRequest],
	TypeCTIPortRegisterReq:    decodeAs[CTIPortRegisterRequest],
	TypeRoutePointRegisterReq: decodeAs[RoutePointRegisterRequest],
	TypeDeviceUnregisterReq:   decodeAs[DeviceUnregisterRequest],
	TypeSnapshotRequest:       decodeAs[SnapshotRequest],
	TypeRouteSelectRequest:    decodeAs[RouteSelectRequest],
	TypeProviderOpenResponse:  decodeAs[ProviderOpenResponse],
	TypeProviderOpenCompleted: decodeAs[ProviderOpenCompleted],
	TypeProviderClosed:        decodeAs[ProviderClosed],
	TypeDeviceListResponse:    decodeDeviceList,
	TypeResponse:              decodeAs[Response],
	TypeSnapshotCompleted:     decodeAs[SnapshotCompleted],
	TypeCallState:             decodeAs[CallStateEvent],
	TypeDeviceService:         decodeAs[DeviceServiceEvent],
	TypeLineService:           decodeAs[LineServiceEvent],
	TypeDeviceRegistration:    decodeAs[DeviceRegistrationEvent],
	TypeFeature:               decodeAs[FeatureEvent],
	TypeCallChanged:           decodeAs[CallChangedEvent],
	TypeRoute:                 decodeAs[RouteEvent],
	TypeMedia:                 decodeAs[MediaEvent],
	TypeCallParty:             decodeAs[CallPartyEvent],
	TypeError:                 decodeAs[ErrorMessage],
}

func decodeAs[T Message](body []byte) (Message, error) {
	var v T
	if err := json.Unmarshal(body, &v); err != nil {
		return nil, err
	}
	return v, nil
}

// Known reports whether t is a message type of this protocol version.
func Known(t MsgType) bool { _, ok := decoders[t]; return ok }

// DecodeBody decodes and validates a message body of type t. The result is
// a value (not a pointer) of the message struct, e.g. ctilink.CallStateEvent.
func DecodeBody(t MsgType, body []byte) (Message, error) {
	dec, ok := decoders[t]
	if !ok {
		return nil, fmt.Errorf("%w: 0x%04X", ErrUnknownType, uint16(t))
	}
	if len(body) == 0 {
		body = []byte("{}")
	}
	m, err := dec(body)
	if err != nil {
		// %w twice: callers can reach the *json.SyntaxError (offset) too.
		return nil, fmt.Errorf("%w: %s: %w", ErrMalformedBody, t, err)
	}
	if err := m.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %s", ErrInvalidMessage, t, oneLine(err))
	}
	return m, nil
}

// oneLine renders an error from Validate (often several joined with
// errors.Join, one per line) as a single "; "-separated line, so that it
// reads well in a log line and in the Text of an Error frame.
func oneLine(err error) string {
	return strings.ReplaceAll(err.Error(), "\n", "; ")
}

func appendBody(dst []byte, msg Message) ([]byte, error) {
	if msg == nil {
		return dst, fmt.Errorf("%w: nil message", ErrInvalidMessage)
	}
	if !Known(msg.Type()) {
		return dst, fmt.Errorf("%w: 0x%04X", ErrUnknownType, uint16(msg.Type()))
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return dst, fmt.Errorf("ctilink: encoding %s: %w", msg.Type(), err)
	}
	return append(dst, b...), nil
}
