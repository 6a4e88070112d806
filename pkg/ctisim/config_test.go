package ctisim

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

func TestDefaultCluster(t *testing.T) {
	c := DefaultCluster()
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	count := map[ctilink.DeviceType]int{}
	perCM := map[string]int{}
	lines := 0
	for _, d := range c.Devices {
		count[d.Type]++
		perCM[d.CallManager]++
		lines += len(d.Lines)
	}
	if count[ctilink.DevicePhone] != 304 || count[ctilink.DeviceCTIPort] != 16 || count[ctilink.DeviceRoutePoint] != 2 {
		t.Fatalf("device counts %v", count)
	}
	if perCM["cm1"] != 161 || perCM["cm2"] != 161 || lines != 382 {
		t.Fatalf("per CallManager %v, %d lines", perCM, lines)
	}
	if c.CTIManagers[0].Port != 2748 || c.CTIManagers[2].TLSPort != 2769 || !c.CTIManagers[2].LeastPriority {
		t.Fatalf("nodes %+v", c.CTIManagers)
	}
}

const exampleYAML = `
name: branch
callManagers: [cmA, cmB]
ctiManagers:
  - name: primary
    port: 0
    tlsPort: 0
    heartbeat: {min: 500ms, max: 10s, default: 5s}
  - name: spare
    port: 0
    tlsPort: 0
    leastPriority: true
devices:
  - {name: SEPAAAABBBBCCCC, type: phone, callManager: cmA, lines: ["2001", "2002"]}
  - {name: CTIP9000, type: ctiport, callManager: cmB, lines: ["9000"]}
phoneBlocks:
  - {prefix: SEPBLK, count: 3, firstDN: 3000}
users:
  - {login: app, password: pw, controlAll: true}
patterns:
  - {prefix: "0", callingMask: "4930XXXX"}
certRetryCount: 5
`

func TestParseClusterYAML(t *testing.T) {
	c, err := ParseCluster([]byte(exampleYAML))
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Devices) != 5 || c.Devices[2].Name != "SEPBLK000000001" || c.Devices[4].Lines[0] != "3002" ||
		c.Devices[3].CallManager != "cmB" {
		t.Fatalf("devices %+v", c.Devices)
	}
	if hb := c.CTIManagers[0].Heartbeat; hb.Min != 500*time.Millisecond || hb.Default != 5*time.Second {
		t.Fatalf("heartbeat %+v", hb)
	}
	if c.certRetryCount() != 5 {
		t.Fatalf("certRetryCount %d", c.certRetryCount())
	}
	path := filepath.Join(t.TempDir(), "c.yaml")
	if err := os.WriteFile(path, []byte(exampleYAML), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadCluster(path); err != nil {
		t.Fatal(err)
	}
	if _, err := ParseCluster([]byte("name: x\nbogus: 1\n")); err == nil || !strings.Contains(err.Error(), "bogus") {
		t.Fatalf("unknown field: %v", err)
	}
}

func TestClusterValidateReportsEveryProblem(t *testing.T) {
	c := ClusterConfig{
		CallManagers: []string{"cm1", "cm1"},
		CTIManagers: []NodeConfig{
			{Name: "a", Port: 2748, Heartbeat: HeartbeatConfig{Min: 10 * time.Second, Max: time.Second}},
			{Name: "a", Port: 2748, LeastPriority: true},
			{Name: "b/c", Port: 70000, LeastPriority: true},
		},
		Devices: []DeviceConfig{
			{Name: "P1", Type: "fax", CallManager: "cm9", Lines: []string{"12a"}},
			{Name: "P1", Type: ctilink.DevicePhone, CallManager: "cm1"},
			{Name: "P2", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []string{"1000"}},
			{Name: "P3", Type: ctilink.DeviceCTIPort, CallManager: "cm1", Lines: []string{"1000"}},
		},
		Users:    []UserConfig{{Login: "", ControlList: []string{"P9"}}},
		Patterns: []PatternConfig{{Prefix: "x", CallingMask: "12Y"}},
	}
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid config accepted")
	}
	for _, want := range []string{
		"cluster name is empty", `callManagers[1] "cm1" is listed twice`, "heartbeat.min 10s is above max 1s",
		`ctiManagers[1].name "a" is used twice`, "ctiManagers[1].port 2748 is already used",
		`ctiManagers[2].name "b/c"`, "ctiManagers[2].port 70000 out of range",
		"2 CTIManagers are marked leastPriority", `type "fax" unknown`, `callManager "cm9" is not in callManagers`,
		`lines[0]: dialplan: not a directory number: "12a" holds 'a'`, `devices[1].name "P1" is used twice`, "(P1) has no lines",
		"1000 is already the line of P2; directory numbers are unique except a shared line", "users[0].login is empty", `controlList[0] "P9" is not a configured device`,
		`patterns[0].prefix "x"`, `patterns[0].callingMask "12Y"`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func TestConfigValidate(t *testing.T) {
	cfg := Config{Cluster: testCluster(), SessionQueue: -1, DeviceListPage: 501, Tick: -time.Second}
	err := cfg.Validate()
	for _, want := range []string{"SessionQueue -1", "DeviceListPage 501", "Tick"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in %v", want, err)
		}
	}
	if _, err := New(Config{Cluster: testCluster(), Traffic: fixedTraffic()}); err != nil {
		t.Fatal(err)
	}
}

func TestControlAPI(t *testing.T) {
	s := startServer(t, Config{ControlAddr: "127.0.0.1:0", ManualTime: true, Traffic: fixedTraffic()})
	base := "http://" + s.ControlAddr()
	call := func(method, path string, wantCode int, out any) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != wantCode {
			t.Fatalf("%s %s: %d, want %d", method, path, resp.StatusCode, wantCode)
		}
		if out != nil {
			if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
				t.Fatal(err)
			}
		}
	}
	var nodes []NodeInfo
	call("GET", "/nodes", 200, &nodes)
	if len(nodes) != 3 || !nodes[0].Up || nodes[0].Addr != s.Addr("ctim-a") {
		t.Fatalf("nodes %+v", nodes)
	}
	call("POST", "/faults/kill?node=ctim-a", 200, nil)
	call("GET", "/nodes", 200, &nodes)
	if nodes[0].Up {
		t.Fatal("ctim-a still up after /faults/kill")
	}
	call("POST", "/faults/restore?node=ctim-a", 200, nil)
	call("POST", "/faults/stall?node=ctim-b", 200, nil)
	call("POST", "/faults/slow?node=ctim-c&delay=250ms", 200, nil)
	call("GET", "/nodes", 200, &nodes)
	if !nodes[0].Up || !nodes[1].Stalled || nodes[2].SlowLinkMs != 250 {
		t.Fatalf("nodes %+v", nodes)
	}
	call("POST", "/faults/resume?node=ctim-b", 200, nil)
	call("POST", "/faults/slow?node=ctim-c&delay=0", 200, nil)
	call("POST", "/faults/reset?node=ctim-b", 200, nil)
	call("POST", "/faults/reset?instance=nobody", 400, nil) // no TLS session of that certificate
	call("POST", "/faults/cmfail?cm=cm2", 200, nil)
	var cms map[string]bool
	call("GET", "/callmanagers", 200, &cms)
	if cms["cm2"] || !cms["cm1"] {
		t.Fatalf("callmanagers %v", cms)
	}
	call("POST", "/faults/cmrestore?cm=cm2", 200, nil)
	call("POST", "/faults/kill?node=nope", 400, nil)
	call("POST", "/faults/kill", 400, nil)
	call("POST", "/faults/slow?node=ctim-a&delay=soon", 400, nil)
	call("GET", "/faults/kill?node=ctim-a", 405, nil)

	c := dialClient(t, s.Addr("ctim-a"))
	resp, _ := c.open(0)
	c.openLines("SEP001122330001", "1001")
	var placed map[string]any
	call("POST", "/calls?scenario=basic&from=1001&to=1002", 200, &placed)
	if placed["globalCallId"].(float64) == 0 {
		t.Fatalf("placed %v", placed)
	}
	call("POST", "/calls?scenario=nonsense&from=1001", 400, nil)
	call("POST", "/rate?rate=2", 200, nil)
	if s.Rate() != 2 {
		t.Fatalf("rate %v", s.Rate())
	}
	var sessions []SessionInfo
	call("GET", "/sessions", 200, &sessions)
	if len(sessions) != 1 || sessions[0].ID != resp.ProviderID || sessions[0].Lines != 1 {
		t.Fatalf("sessions %+v", sessions)
	}
	eventually(t, 2*time.Second, "the open frames in the ground truth", func() bool {
		return len(s.GroundTruth(resp.ProviderID)) >= 4
	})
	hr, err := http.Get(base + "/groundtruth?session=" + resp.ProviderID)
	if err != nil {
		t.Fatal(err)
	}
	defer hr.Body.Close()
	dec := json.NewDecoder(hr.Body)
	var first Record
	if err := dec.Decode(&first); err != nil {
		t.Fatal(err)
	}
	if first.Session != resp.ProviderID || first.Seq != 1 || first.Type != "ProviderOpenResponse" {
		t.Fatalf("first ground-truth record %+v", first)
	}
	var status map[string]any
	call("GET", "/status", 200, &status)
	if status["cluster"] != "lab" {
		t.Fatalf("status %v", status)
	}

	// What docs/simulator.md says of the responses: JSON, the ground
	// truth as JSON lines, a refused request as {"ok": false, "error"}
	// with 400, and Go's plain-text 404 and 405 (with Allow) for an
	// unknown path or a wrong method.
	for _, tc := range []struct {
		method, path string
		code         int
		contentType  string
		body         string
	}{
		{"GET", "/nodes", 200, "application/json", `"name": "ctim-a"`},
		{"GET", "/groundtruth", 200, "application/x-ndjson", `"session":`},
		{"POST", "/faults/kill?node=nope", 400, "application/json", `"ok": false`},
		{"GET", "/nope", 404, "text/plain; charset=utf-8", "404 page not found"},
		{"GET", "/faults/kill?node=ctim-a", 405, "text/plain; charset=utf-8", "Method Not Allowed"},
	} {
		req, _ := http.NewRequest(tc.method, base+tc.path, nil)
		r, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(r.Body)
		r.Body.Close()
		if r.StatusCode != tc.code || r.Header.Get("Content-Type") != tc.contentType || !strings.Contains(string(body), tc.body) {
			t.Errorf("%s %s: %d %q %.80q; want %d %q and %q", tc.method, tc.path, r.StatusCode, r.Header.Get("Content-Type"), body, tc.code, tc.contentType, tc.body)
		}
		if tc.code == 405 && r.Header.Get("Allow") != "POST" {
			t.Errorf("%s %s: Allow %q, want POST", tc.method, tc.path, r.Header.Get("Allow"))
		}
	}
}

// The simulator refuses a device the link protocol forbids, with the very
// rule a client applies to every device it receives
// (ctilink.DeviceInfo.Validate): what the simulator accepts, a client
// never has to skip.
func TestClusterValidateUsesTheProtocolDeviceRule(t *testing.T) {
	for _, tc := range []struct {
		name string
		dev  DeviceConfig
		want string
	}{
		{"control character in the name", DeviceConfig{Name: "SEP\x07BELL", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []string{"1001"}},
			`devices[0] "SEP\aBELL" breaks the link protocol's device rules (docs/protocol.md §4.2, §4.3): name contains control character U+0007`},
		{"DEL in the name", DeviceConfig{Name: "SEP\x7f", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []string{"1001"}},
			"name contains control character U+007F"},
		{"name over 128 bytes", DeviceConfig{Name: strings.Repeat("S", 129), Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []string{"1001"}},
			"name is 129 bytes long, limit 128"},
		{"empty name", DeviceConfig{Type: ctilink.DevicePhone, CallManager: "cm1", Lines: []string{"1001"}}, "name is required"},
		{"65 lines", DeviceConfig{Name: "SEP1", Type: ctilink.DevicePhone, CallManager: "cm1", Lines: manyLines(65)}, "65 lines, limit 64"},
		{"unknown type", DeviceConfig{Name: "SEP1", Type: "fax", CallManager: "cm1", Lines: []string{"1001"}},
			`type "fax" unknown (device types: phone, ctiport, routepoint)`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := testCluster()
			c.Devices = []DeviceConfig{tc.dev}
			c.Users = []UserConfig{{Login: "u", ControlAll: true}}
			err := c.Validate()
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("Validate = %v, want it to contain %q", err, tc.want)
			}
			// The same device on the wire is the one a client drops.
			info := tc.dev.info()
			if info.Validate() == nil {
				t.Fatal("the simulator refuses a device the protocol allows")
			}
		})
	}
}

// A shared line is one number, spelled alike, on several phones: allowed.
// Two spellings dialled alike, a number shared with a CTI port, or a line
// listed twice on one phone are refused, each with its reason.
func TestClusterValidateSharedLines(t *testing.T) {
	c := testCluster()
	c.Users = []UserConfig{{Login: "u", ControlAll: true}}
	c.Trunks, c.Forwards, c.PickupGroups, c.ParkNumbers, c.HuntPilots = nil, nil, nil, nil, nil
	phone := func(name string, lines ...string) DeviceConfig {
		return DeviceConfig{Name: name, Type: ctilink.DevicePhone, CallManager: "cm1", Lines: lines}
	}
	c.Devices = []DeviceConfig{phone("SEPA", "1001", "2000"), phone("SEPB", "1002", "2000"), phone("SEPC", "2000")}
	if err := c.Validate(); err != nil {
		t.Fatalf("a line shared by three phones refused: %v", err)
	}
	c.Devices = []DeviceConfig{
		phone("SEPA", `\+4930`), phone("SEPB", "+4930"), phone("SEPC", "1003", "1003"),
		phone("SEPD", "7001"), {Name: "CTIP1", Type: ctilink.DeviceCTIPort, CallManager: "cm1", Lines: []string{"7001"}},
	}
	err := c.Validate()
	for _, want := range []string{
		`devices[1] (SEPB).lines[0] +4930 is already the line \+4930 of SEPA (both are reached by dialling +4930)`,
		`devices[2] (SEPC).lines[1] 1003 is listed twice on SEPC`,
		`devices[4] (CTIP1).lines[0] 7001 is already the line of SEPD; directory numbers are unique except a shared line`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}

func manyLines(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("%d", 3000+i)
	}
	return out
}

// Trunks, forwards and pickup groups are checked against the dial plan and
// the devices, each problem named with its fix.
func TestClusterValidateDialPlanFeatures(t *testing.T) {
	c := DefaultCluster()
	c.Trunks = append(c.Trunks,
		TrunkConfig{Name: "SEP001122330001", CallManager: "cm9", Prefixes: []string{`\+`, "0X"}, Numbers: []string{"1001", "4711", `\+49`}},
		TrunkConfig{Name: "T\x01", CallManager: "cm1"})
	c.Forwards = append(c.Forwards,
		ForwardConfig{Line: "7001", All: "1001"}, ForwardConfig{Line: "1002"},
		ForwardConfig{Line: "1003", Busy: "1281"}, ForwardConfig{Line: "1004", NoAnswer: "1004"})
	c.ParkNumbers = append(c.ParkNumbers, "1001", "8101", "8500", "85X0")
	c.HuntPilots = append(c.HuntPilots, HuntPilotConfig{Number: "1002", Members: []string{"7001"}}, HuntPilotConfig{Number: "8501"})
	c.PickupGroups = append(c.PickupGroups,
		PickupGroupConfig{Name: "PG-FRONTDESK", Number: "1001", Lines: []string{"1261", "7001"}},
		PickupGroupConfig{Name: "PG-X", Number: "X1", Lines: []string{"1005"}})
	err := c.Validate()
	if err == nil {
		t.Fatal("invalid features accepted")
	}
	for _, want := range []string{
		`trunks[1].name "SEP001122330001" is already a trunk or device name`,
		`trunks[1] (SEP001122330001).callManager "cm9" is not in callManagers`,
		`trunks[1] (SEP001122330001).prefixes[0]: dialplan: trunk prefix "\\+"`,
		`trunks[1] (SEP001122330001).prefixes[1]: dialplan: not a directory number: "0X" holds a pattern wildcard`,
		`trunks[1] (SEP001122330001).numbers[0] 1001 is a line of SEP001122330001, inside the cluster`,
		`trunks[1] (SEP001122330001).numbers[1] 4711 is not routed through this trunk`,
		`trunks[1] (SEP001122330001).numbers[2] "\\+49" is not a dialled number`,
		`trunks[2] "T\x01" breaks the link protocol's name rule`,
		`trunks[2] (T` + "\x01" + `) has no prefixes`,
		`forwards[10].line "7001" is not a phone line`,
		`forwards[11] (1002) sets no destination`,
		`forwards[12] (1003) forwards to 1281, which forwards all its calls`,
		`forwards[13] (1004).noAnswer "1004" is not another phone line`,
		`pickupGroups[2].name "PG-FRONTDESK" is empty or used twice`,
		`pickupGroups[2] (PG-FRONTDESK).number 1001 is already a line of SEP001122330001`,
		`pickupGroups[2] (PG-FRONTDESK).lines[0] 1261 is already in pickup group PG-FRONTDESK`,
		`pickupGroups[2] (PG-FRONTDESK).lines[1] "7001" is not a phone line`,
		`pickupGroups[3] (PG-X).number: dialplan: not a directory number: "X1" holds a pattern wildcard`,
		`pickupGroups[3] (PG-X) has 1 lines; a pickup group needs at least two`,
		`parkNumbers[10] 1001 is already a line of SEP001122330001`,
		`parkNumbers[11] 8101 is already the number of pickup group PG-FRONTDESK`,
		`parkNumbers[12] 8500 is already the number of parkNumbers[0]`,
		`parkNumbers[13]: dialplan: not a directory number: "85X0" holds a pattern wildcard`,
		`huntPilots[2].number 1002 is already a line of SEP001122330002`,
		`huntPilots[2] (1002).members[0] "7001" is not a phone line`,
		`huntPilots[3].number 8501 is already a park, pickup or hunt pilot number`,
		`huntPilots[3] (8501) has no members`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("missing %q in:\n%v", want, err)
		}
	}
}
