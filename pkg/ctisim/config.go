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

// Default ports of the first CTIManager; later nodes add 10 each.
const (
	DefaultPort    = 2748
	DefaultTLSPort = 2749
)

// DefaultCluster returns the built-in "lab" cluster: CallManagers cm1 and
// cm2; CTIManagers ctim-a (primary, 2748/2749), ctim-b (backup,
// 2758/2759) and ctim-c (least priority, 2768/2769); 50 phones
// SEP001122330001… with lines 1001–1050 (every fifth phone also has line
// 2001…, its number +1000, except phone 10 which shares phone 5's 2005: a
// shared line), alternating cm1/cm2; CTI ports CTIP0001–0004
// (lines 7001–7004) and route points RP0001/RP0002 (lines 5000/5001); the
// pattern prefix "9" with calling mask "80055XXXX"; and the application
// user ctibridge/secret controlling every device.
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
	}
	for i := 1; i <= 50; i++ {
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
	for i := 1; i <= 4; i++ {
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
		return ClusterConfig{}, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

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
	dns := map[string]string{}
	phones := map[string]ctilink.DeviceType{} // device name → type, for shared lines
	for i, d := range c.Devices {
		f := fmt.Sprintf("devices[%d]", i)
		if d.Name == "" {
			add("%s.name is empty; name every device", f)
		} else if devices[d.Name] {
			add("%s.name %q is used twice; device names must be unique", f, d.Name)
		} else if len(d.Name) > ctilink.MaxNameLen {
			add("%s.name %q is longer than %d bytes", f, d.Name, ctilink.MaxNameLen)
		}
		devices[d.Name] = true
		if !d.Type.Valid() {
			add("%s (%s).type %q unknown; use phone, ctiport or routepoint", f, d.Name, d.Type)
		}
		if !cms[d.CallManager] {
			add("%s (%s).callManager %q is not in callManagers %v", f, d.Name, d.CallManager, c.CallManagers)
		}
		if len(d.Lines) == 0 {
			add("%s (%s) has no lines; give it at least one directory number", f, d.Name)
		}
		if len(d.Lines) > 64 {
			add("%s (%s) has %d lines; at most 64", f, d.Name, len(d.Lines))
		}
		for j, dn := range d.Lines {
			if dn == "" || strings.Trim(dn, "0123456789") != "" {
				add("%s (%s).lines[%d] %q is not a directory number; use digits only", f, d.Name, j, dn)
				continue
			}
			if other, dup := dns[dn]; dup && (d.Type != ctilink.DevicePhone || phones[other] != ctilink.DevicePhone) {
				add("%s (%s).lines[%d] %s is already the line of %s; directory numbers are unique except a shared line (one number on several phones)", f, d.Name, j, dn, other)
			}
			dns[dn] = d.Name
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
