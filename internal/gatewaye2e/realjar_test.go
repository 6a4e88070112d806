package gatewaye2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// TestRealJarOpenFailureReachesBridge runs the gateway on Cisco's real jar
// against a CTIManager that refuses connections (a loopback address nobody
// listens on) and checks that the bridge sees JTAPI's failure as an open
// failure with its reason — PROVIDEROPENFAILURE, "Connection refused" — and
// keeps retrying, instead of "bad magic" or a silent hang.
func TestRealJarOpenFailureReachesBridge(t *testing.T) {
	tc := toolchain(t)
	dir := gatewayBuild(t, tc)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	host := fmt.Sprintf("127.%d.%d.%d", 1+rand.IntN(254), 1+rand.IntN(254), 1+rand.IntN(254))
	gw, err := StartGateway(ctx, tc, dir, t.TempDir(), map[string]string{"cti.manager": host, "name": "cucm-sub1",
		"jtapi.providerOpenRequestTimeout": "10", "jtapi.socketConnectTimeout": "5"})
	if err != nil {
		t.Fatal(err)
	}
	defer gw.Stop()
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	if _, err := rig.StartBridge(func(c *bridge.Config) {
		c.Engine.CTIManagers = []ctiengine.CTIManager{{Name: "cucm-sub1", Addr: gw.Addr}}
		// Longer than the gateway's JTAPI open timeout (10 s), as docs/gateway.md §4
		// advises: JTAPI's answer, not the bridge's own timer, ends each attempt.
		c.Engine.ProviderOpenRequestTimeout = 2 * time.Minute
	}); err != nil {
		t.Fatal(err)
	}
	js, err := natsjs.New(rig.Conn)
	if err != nil {
		t.Fatal(err)
	}
	var failed *schema.Event
	defer func() {
		if t.Failed() {
			rctx, rcancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer rcancel()
			evs, _ := ReadEvents(rctx, js)
			for _, ev := range evs {
				t.Logf("stored %s %+v", ev.Name, ev.Data.Provider)
			}
			t.Logf("gateway log:\n%s", tail(gw.Log(), 40))
		}
	}()
	// The engine reports a failed attempt as CTIManagerConnectFailed, or as
	// CTIManagerLost once the open response announced the link (docs/engine.md §3).
	testwait.Eventually(t, 90*time.Second, "the refused open stored as a failed attempt", func() bool {
		rctx, rcancel := context.WithTimeout(ctx, 10*time.Second)
		defer rcancel()
		evs, err := ReadEvents(rctx, js)
		if err != nil {
			return false
		}
		for i := range evs {
			if (evs[i].Name == schema.EvCTIManagerFailed || evs[i].Name == schema.EvCTIManagerLost) &&
				evs[i].Data.Provider != nil && evs[i].Data.Provider.Reason != "" {
				failed = &evs[i]
				return true
			}
		}
		return false
	})
	p := failed.Data.Provider
	if p.Reason != "PROVIDEROPENFAILURE" || p.CTIManager != "cucm-sub1" || !strings.Contains(p.Detail, "provider open failed") ||
		!strings.Contains(p.Detail, "Connection refused") || !strings.Contains(p.Detail, host) {
		t.Fatalf("%s = %+v, want reason PROVIDEROPENFAILURE and JTAPI's Connection refused for %s\ngateway log:\n%s",
			failed.Name, p, host, gw.Log())
	}
	if st := rig.Bridge().Engine().Status(); st.Ready {
		t.Errorf("engine ready with its only CTIManager refusing: %+v", st)
	}
	t.Logf("bridge stored %s: %s: %s", failed.Name, p.Reason, p.Detail)
}
