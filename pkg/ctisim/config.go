package ctisim

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim/dialplan"
)

// ClusterConfig describes a simulated CUCM cluster: its CTIManager nodes
// (what clients connect to), its CallManager nodes (what devices register
// to), the devices, the application users and their control lists, and the
// calling-party transformation patterns. It is what the YAML file holds; see
// docs/simulator.md for the reference and DefaultCluster for the built-in one.
type ClusterConfig struct {
	// Name is the cluster id reported in ProviderOpenCompleted.ClusterID.
	Name string `yaml:"name"`
	// CallManagers lists the CallManager nodes devices register to.
	CallManagers []string `yaml:"callManagers"`
	// CTIManagers lists the CTIManager nodes, each with its own ports.
	CTIManagers []NodeConfig `yaml:"ctiManagers"`
	// Devices lists phones, CTI ports and route points.
	Devices []DeviceConfig `yaml:"devices"`
	// PhoneBlocks generate many phones at once (large benchmarks); they are
	// expanded into Devices by Expand.
	PhoneBlocks []PhoneBlock `yaml:"phoneBlocks,omitempty"`
	// Users are the application users allowed to open a provider.
	Users []UserConfig `yaml:"users"`
	// Patterns are calling-party transformation patterns used by the
	// "transform" traffic scenario.
	Patterns []PatternConfig `yaml:"patterns"`
	// Trunks reach numbers outside the cluster (the "outbound" and
	// "inbound" traffic scenarios).
	Trunks []TrunkConfig `yaml:"trunks,omitempty"`
	// Forwards configure call forwarding on phone lines (the forward
	// traffic scenarios, and any two-party call to such a line).
	Forwards []ForwardConfig `yaml:"forwards,omitempty"`
	// PickupGroups are call pickup groups (the "pickup" traffic scenario).
	PickupGroups []PickupGroupConfig `yaml:"pickupGroups,omitempty"`
	// ParkNumbers are the call park numbers calls are parked on (the
	// "park" traffic scenario); they are not lines.
	ParkNumbers []string `yaml:"parkNumbers,omitempty"`
	// HuntPilots are hunt pilots with their line groups (the "hunt"
	// traffic scenario).
	HuntPilots []HuntPilotConfig `yaml:"huntPilots,omitempty"`
	// CertRetryCount is how many duplicate-certificate clashes a client
	// certificate survives: clashes 1..N-1 close both sessions with
	// DUPLICATECERTUSED, clash N closes both with CERTCOMPROMISED and the
	// certificate is refused from then on. Zero means 3.
	CertRetryCount int `yaml:"certRetryCount,omitempty"`
}

// NodeConfig is one CTIManager node.
type NodeConfig struct {
	// Name identifies the node (ProviderOpenResponse.CTIManager, fault API).
	Name string `yaml:"name"`
	// Host is the address to listen on; empty means 127.0.0.1.
	Host string `yaml:"host,omitempty"`
	// Port is the plain TCP port; 0 picks a free port.
	Port int `yaml:"port"`
	// TLSPort is the TLS 1.3 mutual-auth port; 0 picks a free port. TLS is
	// only served when the simulator has a PKI (Config.PKI).
	TLSPort int `yaml:"tlsPort"`
	// LeastPriority marks the node meant as the least-priority CTIManager
	// (informational: the client decides how to use it).
	LeastPriority bool `yaml:"leastPriority,omitempty"`
	// Heartbeat bounds the negotiated heartbeat intervals.
	Heartbeat HeartbeatConfig `yaml:"heartbeat,omitempty"`
}

// HeartbeatConfig is a node's heartbeat policy. Zero fields take the
// defaults noted on each.
type HeartbeatConfig struct {
	// Min and Max bound the server heartbeat interval; the client's desired
	// interval is clamped into [Min, Max]. Defaults 1s and 60s.
	Min time.Duration `yaml:"min,omitempty"`
	Max time.Duration `yaml:"max,omitempty"`
	// Default is used when the client desires 0. Default 30s (clamped).
	Default time.Duration `yaml:"default,omitempty"`
	// Client is the interval the client must send at; zero means the
	// negotiated server interval. The server drops a client silent for
	// twice this.
	Client time.Duration `yaml:"client,omitempty"`
}

// DeviceConfig is one controllable device.
type DeviceConfig struct {
	Name string             `yaml:"name"`
	Type ctilink.DeviceType `yaml:"type"`
	// Model is the phone model string reported in the device list.
	Model       string `yaml:"model,omitempty"`
	CallManager string `yaml:"callManager"`
	// Lines are the device's directory numbers.
	Lines []string `yaml:"lines"`
}

// info is the device as the device list sends it (registration and
// service state aside). Validate checks exactly this value against the link
// protocol's rule, so the simulator never sends a device a client must
// reject.
func (d DeviceConfig) info() ctilink.DeviceInfo {
	lines := make([]ctilink.LineInfo, len(d.Lines))
	for i, dn := range d.Lines {
		lines[i] = ctilink.LineInfo{DN: dn}
	}
	return ctilink.DeviceInfo{Name: d.Name, Type: d.Type, Model: d.Model, CallManager: d.CallManager, Lines: lines}
}

// PhoneBlock generates Count phones named Prefix+index (index zero-padded
// to make a 15-character SEP-like name), one line each, numbered from
// FirstDN, spread round-robin over CallManagers (all CallManagers when
// empty).
type PhoneBlock struct {
	Prefix       string   `yaml:"prefix"`
	Count        int      `yaml:"count"`
	FirstDN      int      `yaml:"firstDN"`
	CallManagers []string `yaml:"callManagers,omitempty"`
}

// UserConfig is an application user.
type UserConfig struct {
	Login    string `yaml:"login"`
	Password string `yaml:"password"`
	// ControlAll puts every device of the cluster in the control list.
	ControlAll bool `yaml:"controlAll,omitempty"`
	// ControlList names the controlled devices (added to ControlAll's).
	ControlList []string `yaml:"controlList,omitempty"`
}

// PatternConfig is a calling-party transformation pattern: dialling
// Prefix+DN reaches DN and presents the caller as CallingMask applied to its
// number (X keeps the caller's digit at that position, counted from the
// right).
type PatternConfig struct {
	Prefix      string `yaml:"prefix"`
	CallingMask string `yaml:"callingMask"`
}

// TrunkConfig is a SIP trunk or gateway to the outside world. It is not a
// device of the control list (CTI does not control trunks); parties
// reached through it are marked external on the wire, with the trunk's
// name as their device.
type TrunkConfig struct {
	Name        string `yaml:"name"`
	CallManager string `yaml:"callManager"`
	// Prefixes are the dialled-number prefixes the trunk carries (route
	// patterns such as "0" or "+"); a number of the cluster never leaves
	// it. The longest matching prefix wins (dialplan.Route).
	Prefixes []string `yaml:"prefixes"`
	// Numbers are outside numbers the traffic generator calls and is
	// called from; each must route through this trunk.
	Numbers []string `yaml:"numbers,omitempty"`
}

// ForwardConfig is the call forwarding of one phone line: the phone line
// its calls go to always (all), when it is busy (busy) and when it does
// not answer (noAnswer); empty for none.
type ForwardConfig struct {
	Line     string `yaml:"line"`
	All      string `yaml:"all,omitempty"`
	Busy     string `yaml:"busy,omitempty"`
	NoAnswer string `yaml:"noAnswer,omitempty"`
}

// PickupGroupConfig is a call pickup group: phone lines any of which may
// pick up a call ringing on another.
type PickupGroupConfig struct {
	Name string `yaml:"name"`
	// Number is the group's pickup number (informational; unique among
	// the cluster's numbers).
	Number string   `yaml:"number"`
	Lines  []string `yaml:"lines"`
}

// HuntPilotConfig is a hunt pilot: a number (not a line) whose calls
// hunt its line group's members top-down.
type HuntPilotConfig struct {
	Number  string   `yaml:"number"`
	Members []string `yaml:"members"`
}

// Default ports of the first CTIManager; later nodes add 10 each.
const (
	DefaultPort    = 2748
	DefaultTLSPort = 2749
)

// Sizes of the default cluster (DefaultCluster).
const (
	DefaultPhones     = 300
	DefaultCTIPorts   = 16
	DefaultDialPlanDN = 4 // phones whose line shows the dial plan: +E.164, \+, *, #
)

// DefaultTrunk is the default cluster's SIP trunk to the PSTN.
const DefaultTrunk = "SIP-PSTN"

// defaultOutsideNumbers are the outside numbers of the default trunk:
// twelve Munich numbers in +E.164 and four national ones with the
// trunk-access 0.
func defaultOutsideNumbers() []string {
	var out []string
	for i := 0; i < 12; i++ {
		out = append(out, fmt.Sprintf("+4989555%04d", 100+i))
	}
	for i := 0; i < 4; i++ {
		out = append(out, fmt.Sprintf("0301234%04d", 500+i))
	}
	return out
}

// defaultForwards: of lines 1281–1289, three forward always, three when
// busy and three when unanswered, each to the line ten above (1281 →
// 1291, …); 1290 forwards when busy and when unanswered to 1300.
func defaultForwards() []ForwardConfig {
	var out []ForwardConfig
	for i := 0; i < 9; i++ {
		line, dest := fmt.Sprint(1281+i), fmt.Sprint(1291+i)
		switch i / 3 {
		case 0:
			out = append(out, ForwardConfig{Line: line, All: dest})
		case 1:
			out = append(out, ForwardConfig{Line: line, Busy: dest})
		default:
			out = append(out, ForwardConfig{Line: line, NoAnswer: dest})
		}
	}
	return append(out, ForwardConfig{Line: "1290", Busy: "1300", NoAnswer: "1300"})
}

// DefaultDialPlanDNs are the directory numbers of the default cluster's
// dial-plan phones SEP001122440001…0004: a +E.164 number written plainly, one
// written with CUCM's escape, and two feature-style numbers.
var DefaultDialPlanDNs = []string{"+4930123", `\+4930`, "*55", "#1"}

// DefaultCluster returns the built-in "lab" cluster, sized like a small
// contact-centre site: CallManagers cm1 and cm2; CTIManagers ctim-a
// (primary, 2748/2749), ctim-b (backup, 2758/2759) and ctim-c (least
// priority, 2768/2769); 300 phones SEP001122330001… with lines 1001–1300
// (every fifth phone i also has line 2000+i, except phone 10, which shares
// phone 5's 2005: a shared line), plus 4 phones whose lines show the dial
// plan (DefaultDialPlanDNs); 16 CTI ports CTIP0001–0016 (lines
// 7001–7016) and route points RP0001/RP0002 (lines 5000/5001); devices
// alternate between cm1 and cm2; the pattern prefix "9" with calling mask
// "80055XXXX"; and the application user ctibridge/secret controlling every
// device; and the SIP trunk SIP-PSTN (cm1) carrying numbers that start
// with 0 or + (the cluster's own +E.164 numbers stay inside), with 16
// outside numbers for the traffic generator. docs/simulator.md lists it.
func DefaultCluster() ClusterConfig {
	cms := []string{"cm1", "cm2"}
	c := ClusterConfig{
		Name:         "lab",
		CallManagers: cms,
		CTIManagers: []NodeConfig{
			{Name: "ctim-a", Port: DefaultPort, TLSPort: DefaultTLSPort},
			{Name: "ctim-b", Port: DefaultPort + 10, TLSPort: DefaultTLSPort + 10},
			{Name: "ctim-c", Port: DefaultPort + 20, TLSPort: DefaultTLSPort + 20, LeastPriority: true},
		},
		Patterns: []PatternConfig{{Prefix: "9", CallingMask: "80055XXXX"}},
		Users:    []UserConfig{{Login: "ctibridge", Password: "secret", ControlAll: true}},
		Trunks: []TrunkConfig{{Name: DefaultTrunk, CallManager: "cm1", Prefixes: []string{"0", "+"},
			Numbers: defaultOutsideNumbers()}},
		Forwards: defaultForwards(),
		PickupGroups: []PickupGroupConfig{
			{Name: "PG-FRONTDESK", Number: "8101", Lines: []string{"1261", "1262", "1263", "1264", "1265"}},
			{Name: "PG-SUPPORT", Number: "8102", Lines: []string{"1266", "1267", "1268", "1269", "1270"}},
		},
		ParkNumbers: []string{"8500", "8501", "8502", "8503", "8504", "8505", "8506", "8507", "8508", "8509"},
		HuntPilots: []HuntPilotConfig{
			{Number: "4000", Members: []string{"1271", "1272", "1273", "1274", "1275"}},
			{Number: "4001", Members: []string{"1276", "1277", "1278", "1279", "1280"}},
		},
	}
	for i := 1; i <= DefaultPhones; i++ {
		d := DeviceConfig{
			Name:        fmt.Sprintf("SEP00112233%04X", i),
			Type:        ctilink.DevicePhone,
			Model:       "Cisco 8841",
			CallManager: cms[(i-1)%2],
			Lines:       []string{fmt.Sprintf("%d", 1000+i)},
		}
		if i%5 == 0 {
			d.Lines = append(d.Lines, fmt.Sprintf("%d", 2000+i))
		}
		if i == 10 {
			// 2005 is a shared line: phone 5's second line appears on
			// phone 10 too.
			d.Lines[1] = "2005"
		}
		c.Devices = append(c.Devices, d)
	}
	for i, dn := range DefaultDialPlanDNs {
		c.Devices = append(c.Devices, DeviceConfig{
			Name: fmt.Sprintf("SEP00112244%04X", i+1), Type: ctilink.DevicePhone, Model: "Cisco 8865",
			CallManager: cms[i%2], Lines: []string{dn},
		})
	}
	for i := 1; i <= DefaultCTIPorts; i++ {
		c.Devices = append(c.Devices, DeviceConfig{
			Name: fmt.Sprintf("CTIP%04d", i), Type: ctilink.DeviceCTIPort, Model: "CTI Port",
			CallManager: cms[(i-1)%2], Lines: []string{fmt.Sprintf("%d", 7000+i)},
		})
	}
	for i := 0; i < 2; i++ {
		c.Devices = append(c.Devices, DeviceConfig{
			Name: fmt.Sprintf("RP%04d", i+1), Type: ctilink.DeviceRoutePoint, Model: "CTI Route Point",
			CallManager: cms[i%2], Lines: []string{fmt.Sprintf("%d", 5000+i)},
		})
	}
	return c
}

// WithEphemeralPorts returns a copy of c with every port set to 0, so that
// tests can run several simulators side by side.
func (c ClusterConfig) WithEphemeralPorts() ClusterConfig {
	out := c
	out.CTIManagers = append([]NodeConfig(nil), c.CTIManagers...)
	for i := range out.CTIManagers {
		out.CTIManagers[i].Port, out.CTIManagers[i].TLSPort = 0, 0
	}
	return out
}

// WithHeartbeat returns a copy of c with every node's heartbeat policy set
// to hb.
func (c ClusterConfig) WithHeartbeat(hb HeartbeatConfig) ClusterConfig {
	out := c
	out.CTIManagers = append([]NodeConfig(nil), c.CTIManagers...)
	for i := range out.CTIManagers {
		out.CTIManagers[i].Heartbeat = hb
	}
	return out
}

// ParseCluster decodes a YAML cluster configuration, rejecting unknown
// fields, expands phone blocks and validates the result.
func ParseCluster(data []byte) (ClusterConfig, error) {
	var c ClusterConfig
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return ClusterConfig{}, fmt.Errorf("ctisim: parsing cluster YAML: %w", err)
	}
	c = c.Expand()
	if err := c.Validate(); err != nil {
		return ClusterConfig{}, err
	}
	return c, nil
}

// LoadCluster reads and parses a YAML cluster configuration file.
func LoadCluster(path string) (ClusterConfig, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return ClusterConfig{}, fmt.Errorf("ctisim: reading cluster config: %w", err)
	}
	c, err := ParseCluster(data)
	if err != nil {
		return ClusterConfig{}, fileError{path, err}
	}
	return c, nil
}

// fileError names the file a configuration problem is in, with the
// package prefix once: "ctisim: lab.yaml: devices[3] ...".
type fileError struct {
	path string
	err  error
}

func (e fileError) Error() string {
	return "ctisim: " + e.path + ": " + strings.TrimPrefix(e.err.Error(), "ctisim: ")
}

func (e fileError) Unwrap() error { return e.err }

// Expand returns c with PhoneBlocks turned into Devices (and PhoneBlocks
// cleared). Invalid blocks are left for Validate to report.
func (c ClusterConfig) Expand() ClusterConfig {
	if len(c.PhoneBlocks) == 0 {
		return c
	}
	out := c
	out.Devices = append([]DeviceConfig(nil), c.Devices...)
	var keep []PhoneBlock
	for _, b := range c.PhoneBlocks {
		cms := b.CallManagers
		if len(cms) == 0 {
			cms = c.CallManagers
		}
		if b.Count <= 0 || b.FirstDN <= 0 || len(cms) == 0 || b.Prefix == "" {
			keep = append(keep, b)
			continue
		}
		width := 15 - len(b.Prefix)
		if width < 1 {
			width = 1
		}
		for i := 0; i < b.Count; i++ {
			out.Devices = append(out.Devices, DeviceConfig{
				Name:        fmt.Sprintf("%s%0*d", b.Prefix, width, i+1),
				Type:        ctilink.DevicePhone,
				Model:       "Cisco 8841",
				CallManager: cms[i%len(cms)],
				Lines:       []string{fmt.Sprintf("%d", b.FirstDN+i)},
			})
		}
	}
	out.PhoneBlocks = keep
	return out
}

func (c ClusterConfig) certRetryCount() int {
	if c.CertRetryCount <= 0 {
		return 3
	}
	return c.CertRetryCount
}

// Validate reports every problem of the configuration at once.
func (c ClusterConfig) Validate() error {
	var errs []error
	add := func(format string, a ...any) { errs = append(errs, fmt.Errorf("ctisim: "+format, a...)) }
	if c.Name == "" {
		add("cluster name is empty; set name (e.g. \"lab\")")
	}
	if c.CertRetryCount < 0 {
		add("certRetryCount %d is negative; use 0 for the default (3) or a positive count", c.CertRetryCount)
	}
	cms := map[string]bool{}
	for i, cm := range c.CallManagers {
		if cm == "" {
			add("callManagers[%d] is empty; name every CallManager node", i)
		} else if cms[cm] {
			add("callManagers[%d] %q is listed twice; names must be unique", i, cm)
		}
		cms[cm] = true
	}
	if len(c.CallManagers) == 0 {
		add("callManagers is empty; list at least one CallManager node")
	}
	if len(c.CTIManagers) == 0 {
		add("ctiManagers is empty; list at least one CTIManager node")
	}
	nodes := map[string]bool{}
	ports := map[string]string{}
	least := 0
	for i, n := range c.CTIManagers {
		f := fmt.Sprintf("ctiManagers[%d]", i)
		switch {
		case n.Name == "":
			add("%s.name is empty; name every CTIManager", f)
		case nodes[n.Name]:
			add("%s.name %q is used twice; names must be unique", f, n.Name)
		case strings.ContainsAny(n.Name, " /.?&="):
			add("%s.name %q contains one of \" /.?&=\"; use letters, digits, '-' or '_'", f, n.Name)
		}
		nodes[n.Name] = true
		if n.LeastPriority {
			least++
		}
		for _, p := range []struct {
			field string
			v     int
		}{{"port", n.Port}, {"tlsPort", n.TLSPort}} {
			if p.v < 0 || p.v > 65535 {
				add("%s.%s %d out of range; use 1-65535, or 0 for a free port", f, p.field, p.v)
				continue
			}
			if p.v == 0 {
				continue
			}
			key := fmt.Sprintf("%s:%d", n.host(), p.v)
			if other, dup := ports[key]; dup {
				add("%s.%s %d is already used by %s; every port must be distinct", f, p.field, p.v, other)
			}
			ports[key] = f + "." + p.field
		}
		hb := n.Heartbeat
		if hb.Min < 0 || hb.Max < 0 || hb.Default < 0 || hb.Client < 0 {
			add("%s.heartbeat has a negative interval; use positive durations or 0 for defaults", f)
		}
		if hb.withDefaults().Min > hb.withDefaults().Max {
			add("%s.heartbeat.min %v is above max %v; make min <= max", f, hb.withDefaults().Min, hb.withDefaults().Max)
		}
		if (hb.Min > 0 && hb.Min < time.Millisecond) || (hb.Client > 0 && hb.Client < time.Millisecond) {
			add("%s.heartbeat intervals below 1ms are not supported; the wire carries milliseconds", f)
		}
	}
	if least > 1 {
		add("%d CTIManagers are marked leastPriority; at most one may be", least)
	}
	if len(c.PhoneBlocks) > 0 {
		add("phoneBlocks are not expanded; call Expand before Validate (ParseCluster does)")
	}
	devices := map[string]bool{}
	dns := map[string]string{}                // dialled number → its first device
	spelled := map[string]string{}            // dialled number → the line as configured
	phones := map[string]ctilink.DeviceType{} // device name → type, for shared lines
	for i, d := range c.Devices {
		f := fmt.Sprintf("devices[%d]", i)
		// The link protocol's device rule first, the one a client applies
		// to every device it receives (names, lines, type, limits).
		if err := d.info().Validate(); err != nil {
			hint := ""
			if !d.Type.Valid() {
				hint = " (device types: phone, ctiport, routepoint)"
			}
			add("%s %s breaks the link protocol's device rules (docs/protocol.md §4.2, §4.3): %s%s",
				f, ctilink.QuoteName(d.Name), strings.ReplaceAll(err.Error(), "\n", "; "), hint)
		}
		if d.Name != "" && devices[d.Name] {
			add("%s.name %q is used twice; device names must be unique", f, d.Name)
		}
		devices[d.Name] = true
		if !cms[d.CallManager] {
			add("%s (%s).callManager %q is not in callManagers %v", f, d.Name, d.CallManager, c.CallManagers)
		}
		if len(d.Lines) == 0 {
			add("%s (%s) has no lines; give it at least one directory number", f, d.Name)
		}
		onDevice := map[string]bool{}
		for j, dn := range d.Lines {
			if err := dialplan.CheckDN(dn); err != nil {
				add("%s (%s).lines[%d]: %v", f, d.Name, j, err)
				continue
			}
			// Unique by the number that reaches them (\+4930 and +4930
			// are both dialled +4930), except a shared line: the same
			// number, spelled the same, on several phones.
			key := dialplan.Dialled(dn)
			other, dup := dns[key]
			switch {
			case !dup:
			case spelled[key] != dn:
				add("%s (%s).lines[%d] %s is already the line %s of %s (both are reached by dialling %s); directory numbers must be unique",
					f, d.Name, j, dn, spelled[key], other, key)
			case onDevice[key]:
				add("%s (%s).lines[%d] %s is listed twice on %s; a device has each line once", f, d.Name, j, dn, d.Name)
			case d.Type != ctilink.DevicePhone || phones[other] != ctilink.DevicePhone:
				add("%s (%s).lines[%d] %s is already the line of %s; directory numbers are unique except a shared line (one number on several phones)", f, d.Name, j, dn, other)
			}
			onDevice[key] = true
			if !dup {
				dns[key], spelled[key] = d.Name, dn
			}
			phones[d.Name] = d.Type
		}
	}
	if len(c.Devices) == 0 {
		add("devices is empty; configure at least one device")
	}
	for i, u := range c.Users {
		f := fmt.Sprintf("users[%d]", i)
		if u.Login == "" {
			add("%s.login is empty; give every user a login", f)
		}
		for j, name := range u.ControlList {
			if !devices[name] {
				add("%s (%s).controlList[%d] %q is not a configured device", f, u.Login, j, name)
			}
		}
	}
	if len(c.Users) == 0 {
		add("users is empty; configure at least one application user")
	}
	c.validateTrunks(add, cms, devices, dns)
	c.validateForwards(add)
	c.validatePickupGroups(add, dns)
	c.validateParkNumbers(add, dns)
	c.validateHuntPilots(add, dns)
	for i, p := range c.Patterns {
		f := fmt.Sprintf("patterns[%d]", i)
		if p.Prefix == "" || strings.Trim(p.Prefix, "0123456789*#") != "" {
			add("%s.prefix %q must be dial digits (0-9 * #)", f, p.Prefix)
		}
		if p.CallingMask == "" || strings.Trim(p.CallingMask, "0123456789X") != "" {
			add("%s.callingMask %q must be digits and X (X keeps the caller's digit)", f, p.CallingMask)
		}
	}
	return errors.Join(errs...)
}

// validateTrunks checks the trunks against the devices and directory
// numbers (keyed by the number dialled) already checked.
func (c ClusterConfig) validateTrunks(add func(string, ...any), cms, devices map[string]bool, dns map[string]string) {
	names := map[string]bool{}
	var routes []dialplan.Trunk
	for _, t := range c.Trunks {
		routes = append(routes, dialplan.Trunk{Name: t.Name, Prefixes: t.Prefixes})
	}
	internal := func(n string) bool { _, ok := dns[n]; return ok }
	for i, t := range c.Trunks {
		f := fmt.Sprintf("trunks[%d]", i)
		switch {
		case t.Name == "":
			add("%s.name is empty; name every trunk", f)
		case names[t.Name] || devices[t.Name]:
			add("%s.name %q is already a trunk or device name; names must be unique", f, t.Name)
		}
		names[t.Name] = true
		if err := ctilink.ValidateName("name", t.Name); err != nil && t.Name != "" {
			// It travels as the device of external parties.
			add("%s %s breaks the link protocol's name rule (docs/protocol.md §4.2): %v", f, ctilink.QuoteName(t.Name), err)
		}
		if !cms[t.CallManager] {
			add("%s (%s).callManager %q is not in callManagers %v", f, t.Name, t.CallManager, c.CallManagers)
		}
		if len(t.Prefixes) == 0 {
			add("%s (%s) has no prefixes; list the dialled-number prefixes it carries, e.g. [\"0\", \"+\"]", f, t.Name)
		}
		for j, p := range t.Prefixes {
			if err := dialplan.CheckPrefix(p); err != nil {
				add("%s (%s).prefixes[%d]: %v", f, t.Name, j, err)
			}
		}
		for j, n := range t.Numbers {
			if err := dialplan.CheckDN(n); err != nil || strings.HasPrefix(n, `\`) {
				add("%s (%s).numbers[%d] %q is not a dialled number: use 0-9 * # with an optional leading +", f, t.Name, j, n)
				continue
			}
			if other, in := dns[n]; in {
				add("%s (%s).numbers[%d] %s is a line of %s, inside the cluster", f, t.Name, j, n, other)
				continue
			}
			if r, ok := dialplan.Route(routes, n, internal); !ok || r.Name != t.Name {
				add("%s (%s).numbers[%d] %s is not routed through this trunk (route: %q); match it with one of its prefixes", f, t.Name, j, n, r.Name)
			}
		}
	}
}

// validateForwards checks that forwards join phone lines, and that a
// destination does not itself forward always (no forwarding chains).
func (c ClusterConfig) validateForwards(add func(string, ...any)) {
	phones := map[string]bool{}
	for _, d := range c.Devices {
		if d.Type == ctilink.DevicePhone {
			for _, l := range d.Lines {
				phones[l] = true
			}
		}
	}
	all := map[string]bool{}
	seen := map[string]bool{}
	for i, fw := range c.Forwards {
		f := fmt.Sprintf("forwards[%d]", i)
		if !phones[fw.Line] {
			add("%s.line %q is not a phone line of the cluster", f, fw.Line)
		}
		if seen[fw.Line] {
			add("%s.line %q is forwarded twice; give each line one forwards entry", f, fw.Line)
		}
		seen[fw.Line] = true
		if fw.All == "" && fw.Busy == "" && fw.NoAnswer == "" {
			add("%s (%s) sets no destination; set all, busy or noAnswer", f, fw.Line)
		}
		if fw.All != "" {
			all[fw.Line] = true
		}
		for _, d := range []struct{ field, dn string }{{"all", fw.All}, {"busy", fw.Busy}, {"noAnswer", fw.NoAnswer}} {
			if d.dn != "" && (!phones[d.dn] || d.dn == fw.Line) {
				add("%s (%s).%s %q is not another phone line of the cluster", f, fw.Line, d.field, d.dn)
			}
		}
	}
	for i, fw := range c.Forwards {
		for _, d := range []string{fw.All, fw.Busy, fw.NoAnswer} {
			if all[d] {
				add("forwards[%d] (%s) forwards to %s, which forwards all its calls; chains are not modelled", i, fw.Line, d)
			}
		}
	}
}

// validatePickupGroups checks the pickup groups: named, a pickup number
// that is no line's, at least two phone lines, each line in one group.
func (c ClusterConfig) validatePickupGroups(add func(string, ...any), dns map[string]string) {
	phones := map[string]bool{}
	for _, d := range c.Devices {
		if d.Type == ctilink.DevicePhone {
			for _, l := range d.Lines {
				phones[l] = true
			}
		}
	}
	member := map[string]string{}
	names := map[string]bool{}
	for i, g := range c.PickupGroups {
		f := fmt.Sprintf("pickupGroups[%d]", i)
		if g.Name == "" || names[g.Name] {
			add("%s.name %q is empty or used twice; name every pickup group", f, g.Name)
		}
		names[g.Name] = true
		if err := dialplan.CheckDN(g.Number); err != nil {
			add("%s (%s).number: %v", f, g.Name, err)
		} else if other, dup := dns[dialplan.Dialled(g.Number)]; dup {
			add("%s (%s).number %s is already a line of %s", f, g.Name, g.Number, other)
		}
		if len(g.Lines) < 2 {
			add("%s (%s) has %d lines; a pickup group needs at least two", f, g.Name, len(g.Lines))
		}
		for j, l := range g.Lines {
			switch {
			case !phones[l]:
				add("%s (%s).lines[%d] %q is not a phone line of the cluster", f, g.Name, j, l)
			case member[l] != "":
				add("%s (%s).lines[%d] %s is already in pickup group %s", f, g.Name, j, l, member[l])
			}
			member[l] = g.Name
		}
	}
}

// validateParkNumbers checks the park numbers: directory-number syntax,
// none a line's or a pickup group's number, each listed once.
func (c ClusterConfig) validateParkNumbers(add func(string, ...any), dns map[string]string) {
	used := map[string]string{}
	for _, g := range c.PickupGroups {
		used[dialplan.Dialled(g.Number)] = "pickup group " + g.Name
	}
	for i, p := range c.ParkNumbers {
		f := fmt.Sprintf("parkNumbers[%d]", i)
		if err := dialplan.CheckDN(p); err != nil {
			add("%s: %v", f, err)
			continue
		}
		key := dialplan.Dialled(p)
		if other, dup := dns[key]; dup {
			add("%s %s is already a line of %s", f, p, other)
		} else if other, dup := used[key]; dup {
			add("%s %s is already the number of %s", f, p, other)
		}
		used[key] = f
	}
}

// validateHuntPilots checks the hunt pilots: a number that is no line's,
// park number or pickup number, and phone lines as members.
func (c ClusterConfig) validateHuntPilots(add func(string, ...any), dns map[string]string) {
	phones := map[string]bool{}
	for _, d := range c.Devices {
		if d.Type == ctilink.DevicePhone {
			for _, l := range d.Lines {
				phones[l] = true
			}
		}
	}
	used := map[string]bool{}
	for _, p := range c.ParkNumbers {
		used[dialplan.Dialled(p)] = true
	}
	for _, g := range c.PickupGroups {
		used[dialplan.Dialled(g.Number)] = true
	}
	for i, h := range c.HuntPilots {
		f := fmt.Sprintf("huntPilots[%d]", i)
		if err := dialplan.CheckDN(h.Number); err != nil {
			add("%s.number: %v", f, err)
		} else if other, dup := dns[dialplan.Dialled(h.Number)]; dup {
			add("%s.number %s is already a line of %s", f, h.Number, other)
		} else if used[dialplan.Dialled(h.Number)] {
			add("%s.number %s is already a park, pickup or hunt pilot number", f, h.Number)
		}
		used[dialplan.Dialled(h.Number)] = true
		if len(h.Members) == 0 {
			add("%s (%s) has no members; list its line group's phone lines in hunting order", f, h.Number)
		}
		for j, m := range h.Members {
			if !phones[m] {
				add("%s (%s).members[%d] %q is not a phone line of the cluster", f, h.Number, j, m)
			}
		}
	}
}

func (n NodeConfig) host() string {
	if n.Host == "" {
		return "127.0.0.1"
	}
	return n.Host
}

func (hb HeartbeatConfig) withDefaults() HeartbeatConfig {
	if hb.Min == 0 {
		hb.Min = time.Second
	}
	if hb.Max == 0 {
		hb.Max = 60 * time.Second
		if hb.Max < hb.Min {
			hb.Max = hb.Min
		}
	}
	if hb.Default == 0 {
		hb.Default = 30 * time.Second
	}
	return hb
}

// negotiate returns the server and client heartbeat intervals for a client
// that desires the given server interval (0: no preference).
func (hb HeartbeatConfig) negotiate(desiredMs int64) (server, client time.Duration) {
	hb = hb.withDefaults()
	server = hb.Default
	if desiredMs > 0 {
		server = time.Duration(desiredMs) * time.Millisecond
	}
	server = min(max(server, hb.Min), hb.Max)
	server = server.Truncate(time.Millisecond)
	if server <= 0 {
		server = time.Millisecond
	}
	client = server
	if hb.Client > 0 {
		client = hb.Client.Truncate(time.Millisecond)
	}
	return server, client
}
