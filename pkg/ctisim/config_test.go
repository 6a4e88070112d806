package ctisim

import (
	"encoding/json"
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
	if count[ctilink.DevicePhone] != 50 || count[ctilink.DeviceCTIPort] != 4 || count[ctilink.DeviceRoutePoint] != 2 {
		t.Fatalf("device counts %v", count)
	}
	if perCM["cm1"] != 28 || perCM["cm2"] != 28 || lines != 66 {
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
		`lines[0] "12a" is not a directory number`, `devices[1].name "P1" is used twice`, "(P1) has no lines",
		"1000 is already the line of P2", "users[0].login is empty", `controlList[0] "P9" is not a configured device`,
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
}
