package ctiengine

import (
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/rs/zerolog"
)

func tlsMachineConfig() Config {
	cfg := testConfig()
	for i := range cfg.CTIManagers {
		cfg.CTIManagers[i].TLSAddr = cfg.CTIManagers[i].Addr
	}
	cfg.InstanceID = "inst-1"
	cfg.TLS = TLSConfig{ClientCert: "/etc/ctibridge/inst-1.pem", ClientKey: "/etc/ctibridge/inst-1-key.pem",
		TrustStore: "/etc/ctibridge/ctl.pem", RequireTLS: true}
	return cfg
}

// remoteAlert is what crypto/tls returns when the peer sends an alert.
func remoteAlert(text string) error { return &net.OpError{Op: "remote error", Err: errors.New(text)} }

// A TLS 1.3 server checks the client certificate after the client's
// handshake has ended: its refusal is an alert on the first read. The
// machine reports it as CertificateProblem{CLIENT_CERT_REFUSED} and an
// error note naming the file, the instanceId and the alert, then moves on
// to the next CTIManager as for any failed connection.
func TestMachine_ClientCertificateRefusedByAlert(t *testing.T) {
	h := newHarness(t, tlsMachineConfig())
	h.start()
	if d := h.lastDial(); !d.TLS {
		t.Fatalf("dial %+v, want TLS", d)
	}
	h.up()
	h.take()
	h.down(remoteAlert("tls: expired certificate"))
	evs := h.take()
	eqStrings(t, "events", names(evs), []string{"CertificateProblem", "CTIManagerConnectFailed", "CTIManagerConnecting"})
	p := evs[0].Data.Provider
	if p.Reason != "CLIENT_CERT_REFUSED" {
		t.Fatalf("reason %q, want CLIENT_CERT_REFUSED", p.Reason)
	}
	for _, want := range []string{"primary", "/etc/ctibridge/inst-1.pem", "inst-1", "tls: expired certificate"} {
		if !strings.Contains(p.Detail, want) {
			t.Errorf("detail %q lacks %q", p.Detail, want)
		}
	}
	var errNotes int
	for _, n := range h.notes {
		if n.Level == zerolog.ErrorLevel && strings.Contains(n.Msg, "refused the TLS client certificate") {
			errNotes++
		}
	}
	if errNotes != 1 {
		t.Fatalf("want one error note, notes: %+v", h.notes)
	}
	if h.lastDial().CTIManager != "backup" || h.done {
		t.Fatalf("did not move on to the backup: %+v done=%v", h.lastDial(), h.done)
	}

	// The same alert during a TLS 1.2-style handshake (LinkFailed).
	h.fail(remoteAlert("tls: unknown certificate authority"))
	if evs := h.take(); len(evs) == 0 || evs[0].Name != schema.EvCertificateProblem || evs[0].Data.Provider.Reason != "CLIENT_CERT_REFUSED" {
		t.Fatalf("handshake refusal: %v", names(evs))
	}
}

// Other link failures are not certificate refusals.
func TestMachine_NotAClientCertificateRefusal(t *testing.T) {
	for _, tt := range []struct {
		name string
		cfg  Config
		err  error
	}{
		{"EOF", tlsMachineConfig(), io.EOF},
		{"alert about something else", tlsMachineConfig(), remoteAlert("tls: protocol version not supported")},
		{"plain link", testConfig(), remoteAlert("tls: bad certificate")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, tt.cfg)
			h.start()
			h.up()
			h.down(tt.err)
			if n := count(h.take(), schema.EvCertificateProblem); n != 0 {
				t.Fatalf("%d CertificateProblem events", n)
			}
		})
	}
	// After the provider open was answered the link carries the provider:
	// an alert then is a lost link, not a refused certificate.
	h := newHarness(t, tlsMachineConfig())
	h.start()
	h.up()
	h.openResponse(10*time.Second, 10*time.Second)
	h.down(remoteAlert("tls: bad certificate"))
	if n := count(h.take(), schema.EvCertificateProblem); n != 0 {
		t.Fatalf("%d CertificateProblem events after the open response", n)
	}
}
