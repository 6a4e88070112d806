package tlse2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// writeCert writes a certificate and its ECDSA key as PEM files into dir.
func writeCert(t *testing.T, dir, name string, der []byte, key *ecdsa.PrivateKey) (certFile, keyFile string) {
	t.Helper()
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// expiredClientCert issues, with the simulator's own CA (read back from the
// files WriteDevPKI wrote), a client certificate for instanceID that
// expired a day ago.
func expiredClientCert(t *testing.T, sim *Sim, instanceID string) (certFile, keyFile string) {
	t.Helper()
	ca, err := tls.LoadX509KeyPair(filepath.Join(sim.PKIDir, ctisim.CAFile), filepath.Join(sim.PKIDir, ctisim.CAKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	caCert, err := x509.ParseCertificate(ca.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: instanceID, Organization: []string{"ctisim client"}},
		NotBefore:    now.Add(-30 * 24 * time.Hour),
		NotAfter:     now.Add(-24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, caCert, &key.PublicKey, ca.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	return writeCert(t, t.TempDir(), "expired-"+instanceID, der, key)
}

// foreignClientCert issues a client certificate for instanceID from a CA
// the cluster does not know.
func foreignClientCert(t *testing.T, instanceID string) (certFile, keyFile string) {
	t.Helper()
	other, err := ctisim.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	c, err := other.IssueClient(instanceID)
	if err != nil {
		t.Fatal(err)
	}
	return writeCert(t, t.TempDir(), "foreign-"+instanceID, c.Certificate[0], c.PrivateKey.(*ecdsa.PrivateKey))
}

// TestClientCertificateRefused: CTIManager refuses the TLS handshake of a
// client certificate from another CA and of an expired one. The bridge
// reports each refusal as CertificateProblem{CLIENT_CERT_REFUSED} in the
// stream, logs an error naming the certificate file, the instanceId and
// the TLS alert, keeps retrying, and /readyz stays 503. No provider opens.
func TestClientCertificateRefused(t *testing.T) {
	n := StartNATS(t)
	sim := StartSim(t, []string{"inst-1"}, nil)
	tests := []struct {
		name  string
		files func() (string, string)
		alert string
	}{
		{"other CA", func() (string, string) { return foreignClientCert(t, "inst-1") }, "unknown certificate authority"},
		{"expired", func() (string, string) { return expiredClientCert(t, sim, "inst-1") }, "expired certificate"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certFile, keyFile := tt.files()
			cfg := EngineConfig(sim, "ctim-a", "ctim-b")
			WithTLS(&cfg, "inst-1", sim.PKIDir, filepath.Join(t.TempDir(), "ctl.pem"))
			cfg.TLS.ClientCert, cfg.TLS.ClientKey = certFile, keyFile
			inst := []string{"refused-ca", "refused-exp"}[i]
			br := StartBridge(t, n, BridgeOptions{Instance: inst, Engine: cfg})
			evs := n.WaitEvents(t, "refusals by both CTIManagers and a retry", func(evs []Stored) bool {
				return len(Filter(evs, schema.EvCertificateProblem, inst+"-")) >= 3
			})
			for _, p := range Filter(evs, schema.EvCertificateProblem, inst+"-") {
				d := p.Event.Data.Provider
				if d.Reason != "CLIENT_CERT_REFUSED" || !strings.Contains(d.Detail, certFile) ||
					!strings.Contains(d.Detail, "inst-1") || !strings.Contains(d.Detail, tt.alert) {
					t.Fatalf("CertificateProblem %+v: want CLIENT_CERT_REFUSED naming %s, inst-1 and %q", d, certFile, tt.alert)
				}
			}
			if n := len(Filter(evs, schema.EvCTIManagerConnecting, inst+"-")); n < 3 {
				t.Fatalf("%d connection attempts, want retries over the list", n)
			}
			if len(Filter(evs, schema.EvProvInService, inst+"-")) != 0 {
				t.Fatal("provider in service with a refused certificate")
			}
			if l := br.Logs.Find("error", "refused the TLS client certificate", certFile, tt.alert); len(l) < 2 {
				t.Fatalf("want an error line per refusal naming %s and %q; log:\n%s", certFile, tt.alert, br.Logs.String())
			}
			for _, s := range sim.Sessions() {
				if s.Open {
					t.Fatalf("the simulator opened a provider for a refused certificate: %+v", s)
				}
			}
			if tt.name == "expired" && len(br.Logs.Find("error", "TLS.ClientCert has expired", certFile)) != 1 {
				t.Fatalf("no startup error saying %s has expired; log:\n%s", certFile, br.Logs.String())
			}
			code, body := br.Get(t, "/readyz")
			if code != http.StatusServiceUnavailable || !strings.Contains(body, "OUT_OF_SERVICE") {
				t.Fatalf("/readyz = %d %s, want 503", code, body)
			}
			if v := br.Metric(t, `ctibridge_certificate_problems_total{reason="CLIENT_CERT_REFUSED"}`); v == "" || v == "0" {
				t.Fatalf(`ctibridge_certificate_problems_total{reason="CLIENT_CERT_REFUSED"} = %q`, v)
			}
			if err := br.Stop(t); err != nil {
				t.Fatalf("stop: %v", err)
			}
		})
	}
}
