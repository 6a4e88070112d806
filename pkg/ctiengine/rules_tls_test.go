package ctiengine

import (
	"bytes"
	"encoding/pem"
	"errors"
	"github.com/ctibridge/ctibridge/internal/testwait"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// tlsSim starts the lab cluster with a PKI; it returns the simulator and
// the directory holding the client certificate of instanceId "inst-1".
func tlsSim(t *testing.T, mutate func(*ctisim.Config)) (*ctisim.Server, *ctisim.PKI, string) {
	t.Helper()
	dir := t.TempDir()
	pki, err := ctisim.WriteDevPKI(dir, nil, []string{"inst-1"})
	if err != nil {
		t.Fatal(err)
	}
	srv := newSim(t, func(c *ctisim.Config) {
		c.PKI = pki
		if mutate != nil {
			mutate(c)
		}
	})
	return srv, pki, dir
}

func tlsConfig(srv *ctisim.Server, pkiDir, trustStore string) Config {
	cfg := simConfig(srv, "ctim-a", "ctim-b")
	cert, key := ctisim.ClientCertFiles("inst-1")
	cfg.InstanceID = "inst-1"
	cfg.TLS = TLSConfig{ClientCert: filepath.Join(pkiDir, cert), ClientKey: filepath.Join(pkiDir, key),
		TrustStore: trustStore, RequireTLS: true}
	return cfg
}

// Rule 7 (trust): the client certificate of the instanceId is presented
// over TLS 1.3; the server trust is pinned on first use and verified on
// every later connection; a server of another CA is refused with an error
// naming the pin file.
func TestRule7_TLSServerTrustPinnedOnFirstUse(t *testing.T) {
	srv, pki, pkiDir := tlsSim(t, nil)
	pin := filepath.Join(t.TempDir(), "trust", "ctl.pem")

	e := startEngine(t, srv, tlsConfig(srv, pkiDir, pin), false)
	e.waitStatus("provider up over TLS", upOn("ctim-a"))
	if s := srv.Sessions(); len(s) != 1 || !s[0].TLS || s[0].InstanceID != "inst-1" {
		t.Fatalf("simulator sessions %+v, want one TLS session of inst-1", s)
	}
	pinned, err := os.ReadFile(pin)
	if err != nil {
		t.Fatalf("trust not pinned on first use: %v", err)
	}
	blk, _ := pem.Decode(pinned)
	if blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatalf("pin file holds %q", pinned)
	}
	if caBlk, _ := pem.Decode(pki.CAPEM); !bytes.Equal(blk.Bytes, caBlk.Bytes) {
		t.Fatal("first use pinned the server certificate, not the CA the server presented")
	}
	if err := e.eng.Close(); err != nil {
		t.Fatal(err)
	}
	// The simulator must have let go of the first provider: a second one
	// with the same certificate would be a duplicate (DUPLICATECERTUSED).
	waitNoSessions(t, srv)

	// A later run verifies against the pin.
	e2 := startEngine(t, srv, tlsConfig(srv, pkiDir, pin), false)
	e2.waitStatus("provider up again with the pinned trust", upOn("ctim-a"))
	if err := e2.eng.Close(); err != nil {
		t.Fatal(err)
	}
	waitNoSessions(t, srv)

	// CTIManagers of another CA are refused, naming the pin file.
	other, _, otherDir := tlsSim(t, nil)
	e3 := startEngine(t, other, tlsConfig(other, otherDir, pin), false)
	evs := e3.sink.waitFor(t, "trust failures for both CTIManagers", hasN(schema.EvCertificateProblem, 2))
	prob := evs[index(evs, schema.EvCertificateProblem, 0)].Data.Provider
	if prob.Reason != "SERVER_TRUST" || !strings.Contains(prob.Detail, pin) {
		t.Fatalf("CertificateProblem %+v does not name the pin file %s", prob, pin)
	}
	failed := evs[index(evs, schema.EvCTIManagerFailed, 0)].Data.Provider
	if !strings.Contains(failed.Detail, pin) {
		t.Fatalf("CTIManagerConnectFailed detail %q", failed.Detail)
	}
	// One snapshot of the sessions: the refused TLS handshakes come and go
	// while we look.
	if count(evs, schema.EvProvInService) != 0 {
		t.Fatal("provider in service on a CTIManager of another CA")
	}
	for _, s := range other.Sessions() {
		if s.Open {
			t.Fatalf("a provider opened on a CTIManager of another CA: %+v", s)
		}
	}

	// A pre-seeded CA (the CTL downloaded in a secure environment) also
	// accepts rotated server certificates of that CA.
	caPin := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caPin, pki.CAPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := srv.RotateServerCertificate("ctim-a"); err != nil {
		t.Fatal(err)
	}
	e4 := startEngine(t, srv, tlsConfig(srv, pkiDir, caPin), false)
	e4.waitStatus("provider up with a rotated server certificate", upOn("ctim-a"))
	if after, _ := os.ReadFile(caPin); !bytes.Equal(after, pki.CAPEM) {
		t.Fatal("pre-seeded trust store was rewritten")
	}
	if err := e4.eng.Close(); err != nil {
		t.Fatal(err)
	}
	waitNoSessions(t, srv)

	// The CA pinned on first use accepts the rotated certificate too.
	e5 := startEngine(t, srv, tlsConfig(srv, pkiDir, pin), false)
	e5.waitStatus("provider up with a rotated certificate and the trust pinned on first use", upOn("ctim-a"))
}

// Rule 7 (one provider per certificate): two providers with one client
// certificate are both disconnected (DUPLICATECERTUSED) and retry; when
// the clashes go on, CTIManager marks the certificate compromised: each
// provider shuts down (ProvShutdownEv), a CertificateProblem event says
// why, readiness goes false and the log tells the operator what to do.
func TestRule7_DuplicateCertificateThenCompromised(t *testing.T) {
	srv, _, pkiDir := tlsSim(t, func(c *ctisim.Config) { c.Cluster.CertRetryCount = 2 })
	pin := filepath.Join(t.TempDir(), "ctl.pem")
	cfg := tlsConfig(srv, pkiDir, pin)
	cfg.AllowShortTimers = true
	cfg.ProviderRetryInterval = 100 * time.Millisecond
	a := startEngine(t, srv, cfg, false)
	a.waitStatus("first provider up", upOn("ctim-a"))

	cfg.BridgeInstance = "second"
	b := startEngine(t, srv, cfg, false)
	for _, e := range []*env{a, b} {
		err := e.runResult()
		if !errors.Is(err, ErrCertCompromised) {
			t.Fatalf("Run returned %v, want ErrCertCompromised", err)
		}
		evs := e.sink.events()
		var reasons []string
		for _, ev := range evs {
			if ev.Name == schema.EvCertificateProblem {
				reasons = append(reasons, ev.Data.Provider.Reason)
			}
		}
		if len(reasons) < 2 || reasons[0] != "DUPLICATECERTUSED" || reasons[len(reasons)-1] != "CERTCOMPROMISED" {
			t.Fatalf("certificate problems %v, want DUPLICATECERTUSED first and CERTCOMPROMISED last", reasons)
		}
		last := evs[len(evs)-1]
		if last.Name != schema.EvProvShutdown || last.Data.Provider.Reason != "CERTCOMPROMISED" {
			last = evs[len(evs)-2]
			if last.Name != schema.EvProvShutdown || last.Data.Provider.Reason != "CERTCOMPROMISED" {
				t.Fatalf("events end with %v", names(evs[max(0, len(evs)-4):]))
			}
		}
		if s := e.eng.Status(); s.Ready || e.eng.Ready() || s.Provider != "SHUTDOWN" {
			t.Fatalf("status after compromise %+v", s)
		}
		logs := e.logs.String()
		if !strings.Contains(logs, `"level":"error"`) || !strings.Contains(logs, "configure a new instanceId") {
			t.Fatalf("no error log telling the operator to configure a new instanceId:\n%s", logs)
		}
	}
	// The first provider was in service: its clash was a loss it retried.
	evs := a.sink.events()
	lost := index(evs, schema.EvCTIManagerLost, 0)
	if lost < 0 || evs[lost].Data.Provider.Reason != "DUPLICATECERTUSED" || index(evs, schema.EvCTIManagerConnecting, lost) < 0 {
		t.Fatalf("first provider did not retry after DUPLICATECERTUSED: %v", names(evs))
	}
}

// waitNoSessions polls (bounded) until the simulator holds no session.
func waitNoSessions(t *testing.T, srv *ctisim.Server) {
	t.Helper()
	if !testwait.Poll(10*time.Second, func() bool { return len(srv.Sessions()) == 0 }) {
		t.Fatalf("simulator still holds sessions %+v", srv.Sessions())
	}
}
