package ctilink

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxNameLen bounds device names, line numbers, logins and similar
// identifiers. CUCM device names are at most 50 characters and directory
// numbers far shorter; the margin is for gateways that prefix partitions.
const MaxNameLen = 128

// join is errors.Join without its cost when every error is nil (the common
// case: every received frame is validated). errors.Join makes its variadic
// slice escape to the heap; here the slice is only copied when an error is
// actually returned, so validating a valid message allocates nothing.
func join(errs ...error) error {
	for _, e := range errs {
		if e != nil {
			return errors.Join(slices.Clone(errs)...)
		}
	}
	return nil
}

func checkName(field, v string, required bool) error {
	if v == "" {
		if required {
			return fmt.Errorf("%s is required", field)
		}
		return nil
	}
	if len(v) > MaxNameLen {
		return fmt.Errorf("%s is %d bytes long, limit %d", field, len(v), MaxNameLen)
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("%s is not valid UTF-8", field)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7F {
			return fmt.Errorf("%s contains control character %U", field, r)
		}
	}
	return nil
}

// ValidateName checks a required name against the rule every name field
// of the protocol follows (§4.2 of docs/protocol.md): non-empty, at most
// MaxNameLen bytes of UTF-8, no control character or DEL. Configurations
// that produce names (a simulator's trunk, say) use it so as never to send
// what a receiver must refuse.
func ValidateName(field, v string) error { return checkName(field, v, true) }

func checkParty(field string, p Party) error {
	// Build the field names only when they are needed: the concatenations
	// would otherwise allocate for every party of every valid event.
	if checkName("", p.DN, false) == nil && checkName("", p.Device, false) == nil {
		return nil
	}
	return join(checkName(field+".dn", p.DN, false), checkName(field+".device", p.Device, false))
}

func checkKind(field, v string, allowed ...string) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return fmt.Errorf("%s %q is not one of %s", field, v, strings.Join(allowed, ", "))
}

func (m ProviderOpenRequest) Validate() error {
	var errs []error
	errs = append(errs, checkName("login", m.Login, true), checkName("instanceId", m.InstanceID, false))
	if len(m.Password) > 1024 {
		errs = append(errs, errors.New("password longer than 1024 bytes"))
	}
	if err := checkName("appInfo", m.AppInfo, false); err != nil {
		errs = append(errs, err)
	} else if strings.ContainsAny(m.AppInfo, "=;") {
		errs = append(errs, errors.New("appInfo must not contain '=' or ';'"))
	}
	if m.DesiredServerHeartbeatMs < 0 {
		errs = append(errs, errors.New("desiredServerHeartbeatMs is negative"))
	}
	if len(m.ProtocolVersions) == 0 || len(m.ProtocolVersions) > 16 {
		errs = append(errs, fmt.Errorf("protocolVersions must list 1 to 16 versions, got %d", len(m.ProtocolVersions)))
	}
	if len(m.ClientVersion) > MaxNameLen {
		errs = append(errs, errors.New("clientVersion too long"))
	}
	return join(errs...)
}

func (Heartbeat) Validate() error         { return nil }
func (DeviceListRequest) Validate() error { return nil }

func (m ProviderCloseRequest) Validate() error { return nil }

func (m DeviceOpenRequest) Validate() error  { return checkName("device", m.Device, true) }
func (m DeviceCloseRequest) Validate() error { return checkName("device", m.Device, true) }
func (m LineOpenRequest) Validate() error {
	return join(checkName("device", m.Device, true), checkName("line", m.Line, true))
}
func (m LineCloseRequest) Validate() error {
	return join(checkName("device", m.Device, true), checkName("line", m.Line, true))
}

func (m CTIPortRegisterRequest) Validate() error {
	errs := []error{checkName("device", m.Device, true)}
	if !m.Dynamic {
		errs = append(errs, checkName("media.ip", m.Media.IP, true))
		if m.Media.Port <= 0 || m.Media.Port > 65535 {
			errs = append(errs, fmt.Errorf("media.port %d out of range 1-65535", m.Media.Port))
		}
	}
	if len(m.Media.Codecs) > 32 {
		errs = append(errs, errors.New("media.codecs lists more than 32 codecs"))
	}
	for _, c := range m.Media.Codecs {
		errs = append(errs, checkName("media.codecs[]", c, true))
	}
	if m.Media.PacketMs < 0 || m.Media.PacketMs > 1000 {
		errs = append(errs, fmt.Errorf("media.packetMs %d out of range 0-1000", m.Media.PacketMs))
	}
	return join(errs...)
}

func (m RoutePointRegisterRequest) Validate() error { return checkName("device", m.Device, true) }
func (m DeviceUnregisterRequest) Validate() error   { return checkName("device", m.Device, true) }
func (m SnapshotRequest) Validate() error           { return checkName("device", m.Device, true) }

func (m RouteSelectRequest) Validate() error {
	if m.SessionID == 0 {
		return errors.New("sessionId is required")
	}
	if len(m.Destinations) == 0 || len(m.Destinations) > 32 {
		return fmt.Errorf("destinations must list 1 to 32 numbers, got %d", len(m.Destinations))
	}
	var errs []error
	for _, d := range m.Destinations {
		errs = append(errs, checkName("destinations[]", d, true))
	}
	return join(errs...)
}

func (m ProviderOpenResponse) Validate() error {
	if m.Result != ResultOK {
		return nil
	}
	var errs []error
	if m.ServerHeartbeatMs <= 0 || m.ClientHeartbeatMs <= 0 {
		errs = append(errs, errors.New("heartbeat intervals must be positive"))
	}
	errs = append(errs, checkName("providerId", m.ProviderID, true), checkName("ctiManager", m.CTIManager, false))
	return join(errs...)
}

func (m ProviderOpenCompleted) Validate() error {
	if m.TotalControllableDevices < 0 {
		return errors.New("totalControllableDevices is negative")
	}
	return join(checkName("providerId", m.ProviderID, false), checkName("clusterId", m.ClusterID, false))
}

func (m ProviderClosed) Validate() error { return nil }

// Validate checks the page and every device on it. A decoded page always
// passes: DecodeBody moves the devices that break the rules into Rejected
// (see DeviceRejection) instead of refusing the page.
func (m DeviceListResponse) Validate() error {
	var errs []error
	for i, d := range m.Devices {
		if err := d.Validate(); err != nil {
			errs = append(errs, fmt.Errorf("devices[%d]: %w", i, err))
		}
	}
	if m.Total < 0 {
		errs = append(errs, errors.New("total is negative"))
	}
	return join(errs...)
}

// Validate checks one device of the control list: its name, CallManager,
// type, and lines (§4.2, §4.3 of docs/protocol.md). It is the one rule for a
// device: the receiver applies it per device (one bad device is dropped,
// the rest of its page kept), and the simulator's configuration refuses a
// device that breaks it.
func (d DeviceInfo) Validate() error {
	errs := []error{checkName("name", d.Name, true), checkName("callManager", d.CallManager, false)}
	if !d.Type.Valid() {
		errs = append(errs, fmt.Errorf("type %q unknown", d.Type))
	}
	if len(d.Lines) > 64 {
		errs = append(errs, fmt.Errorf("%d lines, limit 64", len(d.Lines)))
	}
	for _, l := range d.Lines {
		errs = append(errs, checkName("lines[].dn", l.DN, true), checkName("lines[].partition", l.Partition, false))
	}
	return join(errs...)
}

func (m Response) Validate() error          { return nil }
func (m SnapshotCompleted) Validate() error { return checkName("device", m.Device, true) }

func (m CallStateEvent) Validate() error {
	errs := []error{checkName("device", m.Device, true), checkName("line", m.Line, true),
		checkName("callManager", m.CallManager, false),
		checkParty("calling", m.Calling), checkParty("called", m.Called),
		checkParty("currentCalling", m.CurrentCalling), checkParty("currentCalled", m.CurrentCalled),
		checkParty("lastRedirecting", m.LastRedirecting), checkName("huntPilot", m.HuntPilot, false)}
	if m.GlobalCallID == 0 {
		errs = append(errs, errors.New("globalCallId is required"))
	}
	if m.CallHandle == 0 {
		errs = append(errs, errors.New("callHandle is required"))
	}
	if !m.State.Valid() {
		errs = append(errs, fmt.Errorf("state %d unknown", m.State))
	}
	return join(errs...)
}

func (m DeviceServiceEvent) Validate() error { return checkName("device", m.Device, true) }
func (m LineServiceEvent) Validate() error {
	return join(checkName("device", m.Device, true), checkName("line", m.Line, true))
}
func (m DeviceRegistrationEvent) Validate() error {
	return join(checkName("device", m.Device, true), checkName("callManager", m.CallManager, false))
}

func (m FeatureEvent) Validate() error {
	errs := []error{checkKind("feature", m.Feature, FeatureTransfer, FeatureConference),
		checkName("device", m.Device, true), checkName("line", m.Line, true), checkParty("transferredParty", m.TransferredParty)}
	if m.PrimaryCallID == 0 {
		errs = append(errs, errors.New("primaryCallId is required"))
	}
	if len(m.Parties) > MaxFeatureParties {
		errs = append(errs, fmt.Errorf("parties lists %d lines, at most %d", len(m.Parties), MaxFeatureParties))
	}
	for i, p := range m.Parties {
		errs = append(errs, checkParty(fmt.Sprintf("parties[%d]", i), p))
	}
	return join(errs...)
}

func (m CallChangedEvent) Validate() error {
	errs := []error{checkName("device", m.Device, true), checkName("line", m.Line, true)}
	if m.OriginalCallID == 0 || m.SurvivingCall == 0 {
		errs = append(errs, errors.New("originalCallId and survivingCallId are required"))
	}
	return join(errs...)
}

func (m RouteEvent) Validate() error {
	errs := []error{checkKind("kind", m.Kind, RouteKindRoute, RouteKindReRoute, RouteKindUsed, RouteKindEnd),
		checkName("device", m.Device, true), checkName("line", m.Line, true), checkName("selected", m.Selected, false),
		checkParty("calling", m.Calling), checkParty("called", m.Called)}
	if m.SessionID == 0 {
		errs = append(errs, errors.New("sessionId is required"))
	}
	return join(errs...)
}

func (m MediaEvent) Validate() error {
	errs := []error{checkKind("kind", m.Kind, MediaOpenLogicalChannel, MediaRTPInputStarted, MediaRTPOutputStarted,
		MediaRTPInputStopped, MediaRTPOutputStopped),
		checkName("device", m.Device, true), checkName("line", m.Line, false), checkName("ip", m.IP, false),
		checkName("codec", m.Codec, false)}
	if m.Port < 0 || m.Port > 65535 {
		errs = append(errs, fmt.Errorf("port %d out of range", m.Port))
	}
	return join(errs...)
}

func (m CallPartyEvent) Validate() error {
	errs := []error{checkName("device", m.Device, true), checkName("line", m.Line, true), checkParty("party", m.Party)}
	if m.Party.DN == "" {
		errs = append(errs, errors.New("party.dn is required"))
	}
	if m.GlobalCallID == 0 {
		errs = append(errs, errors.New("globalCallId is required"))
	}
	return join(errs...)
}

func (m ErrorMessage) Validate() error {
	if len(m.Text) > 4096 {
		return errors.New("text longer than 4096 bytes")
	}
	return nil
}
