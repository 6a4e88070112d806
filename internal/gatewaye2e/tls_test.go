package gatewaye2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// TestGatewayTLS connects the bridge to a gateway over the link's TLS port:
// TLS 1.3 with mutual authentication, the gateway presenting a certificate
// of the development PKI (its EC key in SEC1 PEM, as Go writes it) and
// taking the instanceId from the client certificate's CommonName.
func TestGatewayTLS(t *testing.T) {
	tc := toolchain(t)
	dir := gatewayBuild(t, tc)
	pkiDir := t.TempDir()
	if _, err := ctisim.WriteDevPKI(pkiDir, []string{"ctim-a"}, []string{"bridge-1"}); err != nil {
		t.Fatal(err)
	}
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	spec, cms, err := ClusterSpec(rig.Cluster())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	serverCert, serverKey := ctisim.ServerCertFiles("{name}")
	dbl, err := StartDouble(ctx, tc, dir, spec, []string{"ctim-a"}, map[string]string{
		"listen": "", "tls.listen": "127.0.0.1:0", "tls.cert": filepath.Join(pkiDir, serverCert),
		"tls.key": filepath.Join(pkiDir, serverKey), "tls.clientCA": filepath.Join(pkiDir, ctisim.CAFile),
		"callManagers": cms, "log.level": "info",
	})
	if err != nil {
		t.Fatal(err)
	}
	defer dbl.Close()
	if dbl.TLSGateways["ctim-a"] == "" || dbl.Gateways["ctim-a"] != "" {
		t.Fatalf("want only a TLS listener, got plain %v, TLS %v", dbl.Gateways, dbl.TLSGateways)
	}
	clientCert, clientKey := ctisim.ClientCertFiles("bridge-1")
	if _, err := rig.StartBridge(func(c *bridge.Config) {
		c.Engine.CTIManagers = []ctiengine.CTIManager{{Name: "ctim-a", Addr: "127.0.0.1:1", TLSAddr: dbl.TLSGateways["ctim-a"]}}
		c.Engine.InstanceID = "bridge-1"
		c.Engine.TLS = ctiengine.TLSConfig{ClientCert: filepath.Join(pkiDir, clientCert),
			ClientKey: filepath.Join(pkiDir, clientKey), TrustStore: filepath.Join(pkiDir, ctisim.CAFile), RequireTLS: true}
	}); err != nil {
		t.Fatal(err)
	}
	if err := rig.WaitInService(60*time.Second, nil); err != nil {
		t.Fatalf("%v\ngateway log:\n%s", err, tail(dbl.Stderr(), 30))
	}
	testwait.Eventually(t, 0, "the gateway to log the TLS session with the certificate's instanceId", func() bool {
		for _, l := range strings.Split(dbl.Stderr(), "\n") {
			if strings.Contains(l, `"message":"bridge connected"`) && strings.Contains(l, `"tls":true`) &&
				strings.Contains(l, `"instanceId":"bridge-1"`) {
				return true
			}
		}
		return false
	})
}
