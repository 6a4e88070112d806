package bridge_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/testwait"
)

// With every CTIManager down, /readyz tells the engineer on call what the
// bridge tried: each CTIManager with its last error, and when the next
// round starts; once one is back, the bridge is ready again and /metrics
// names the CTIManager it is on.
func TestReadyzNamesTheCTIManagersTriedWhileNoneAnswers(t *testing.T) {
	rig, b := startBridgeWithOps(t)
	get := func(path string) (int, string) { t.Helper(); return opsGet(t, b, path) }
	nodes := rig.Sim.Nodes()
	for _, n := range nodes {
		if err := rig.Sim.KillNode(n.Name); err != nil {
			t.Fatal(err)
		}
	}
	var reasons []string
	testwait.Eventually(t, 30*time.Second, "/readyz naming every CTIManager's failure and the next round", func() bool {
		code, body := get("/readyz")
		var r bridge.Readiness
		if code != http.StatusServiceUnavailable || json.Unmarshal([]byte(body), &r) != nil {
			return false
		}
		reasons = r.Reasons
		all := strings.Join(r.Reasons, "\n")
		for _, n := range nodes {
			if !strings.Contains(all, "CTIManager "+n.Name+" ("+n.Addr+"): last attempt ") {
				return false
			}
		}
		return strings.Contains(all, "next round over the CTIManager list at ")
	})
	if reasons[0] != "provider OUT_OF_SERVICE" {
		t.Errorf("first reason %q", reasons[0])
	}
	for _, r := range reasons[1 : len(reasons)-1] {
		if !strings.Contains(r, " failed at ") || !strings.Contains(r, "connect") {
			t.Errorf("reason without the error: %q", r)
		}
	}
	t.Logf("/readyz reasons:\n%s", strings.Join(reasons, "\n"))

	if err := rig.Sim.RestoreNode(nodes[1].Name); err != nil {
		t.Fatal(err)
	}
	testwait.Eventually(t, 30*time.Second, "ready again on "+nodes[1].Name, func() bool {
		code, _ := get("/readyz")
		return code == http.StatusOK
	})
	_, metrics := get("/metrics")
	want := `ctibridge_ctimanager_connected{address="` + nodes[1].Addr + `",ctimanager="` + nodes[1].Name + `",least_priority="false"} 1`
	if !strings.Contains(metrics, want+"\n") {
		t.Errorf("/metrics lacks %s", want)
	}
}

// startBridgeWithOps starts a single bridge on a fresh rig, its ops
// endpoints on a free port, and waits until its provider is in service.
func startBridgeWithOps(t *testing.T) (*faultmatrix.Rig, *bridge.Bridge) {
	t.Helper()
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: t.TempDir(), Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rig.Close)
	b, err := rig.StartBridge(func(c *bridge.Config) { c.HTTPListen = "127.0.0.1:0" })
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.WaitInService(30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	return rig, b
}

// opsGet fetches one of b's ops endpoints: its status code and body.
func opsGet(t *testing.T, b *bridge.Bridge, path string) (int, string) {
	t.Helper()
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + b.OpsAddr() + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body)
}
