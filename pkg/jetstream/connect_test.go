package jetstream

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
)

// events collects connection events for the test.
func collectEvents() (chan ConnEvent, func(ConnEvent)) {
	ch := make(chan ConnEvent, 64)
	return ch, func(ev ConnEvent) { ch <- ev }
}

func expectEvent(t *testing.T, ch <-chan ConnEvent, kind ConnEventKind) ConnEvent {
	t.Helper()
	timeout := time.NewTimer(10 * time.Second)
	defer timeout.Stop()
	for {
		select {
		case ev := <-ch:
			if ev.Kind == kind {
				return ev
			}
		case <-timeout.C:
			t.Fatalf("no %s event", kind)
		}
	}
}

func TestConnectReportsDisconnectAndReconnect(t *testing.T) {
	e := startServer(t)
	ch, on := collectEvents()
	nc, err := Connect(ConnectConfig{URLs: []string{e.ClientURL()}, Name: "t", ReconnectWait: 20 * time.Millisecond, OnEvent: on})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	expectEvent(t, ch, ConnConnected)
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ev := expectEvent(t, ch, ConnDisconnected)
	if !strings.Contains(ev.URL, "127.0.0.1") {
		t.Fatalf("disconnect event %+v", ev)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ch, ConnReconnected)
	nc.Close()
	expectEvent(t, ch, ConnClosed)
}

// The first connection is retried: Connect returns before any server is
// up and the connection comes up when one starts.
func TestConnectBeforeServerStarts(t *testing.T) {
	e := startServer(t)
	url := e.ClientURL()
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	ch, on := collectEvents()
	nc, err := Connect(ConnectConfig{URLs: []string{url}, ReconnectWait: 20 * time.Millisecond, OnEvent: on})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	if nc.IsConnected() {
		t.Fatal("connected with no server")
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	expectEvent(t, ch, ConnConnected)
}

func runAuthServer(t *testing.T, opts *server.Options) string {
	t.Helper()
	opts.Host, opts.Port, opts.NoSigs, opts.NoLog = "127.0.0.1", server.RANDOM_PORT, true, true
	s, err := server.NewServer(opts)
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("server not ready")
	}
	t.Cleanup(func() { s.Shutdown(); s.WaitForShutdown() })
	return s.Addr().String()
}

func TestConnectUserPasswordAndToken(t *testing.T) {
	addr := runAuthServer(t, &server.Options{Username: "bridge", Password: "s3cret"})
	ch, on := collectEvents()
	nc, err := Connect(ConnectConfig{URLs: []string{"nats://" + addr}, User: "bridge", Password: "s3cret", OnEvent: on})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	expectEvent(t, ch, ConnConnected)

	addr = runAuthServer(t, &server.Options{Authorization: "tok"})
	ch, on = collectEvents()
	nc2, err := Connect(ConnectConfig{URLs: []string{"nats://" + addr}, Token: "tok", OnEvent: on})
	if err != nil {
		t.Fatal(err)
	}
	defer nc2.Close()
	expectEvent(t, ch, ConnConnected)
}

// writeCert writes a PEM certificate and key signed by parent (self-signed
// when parent is nil) and returns the certificate, key and file paths.
func writeCert(t *testing.T, dir, name string, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (*x509.Certificate, *ecdsa.PrivateKey, string, string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if parent == nil {
		parent, parentKey = tmpl, key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	kder, _ := x509.MarshalECPrivateKey(key)
	cf, kf := filepath.Join(dir, name+".pem"), filepath.Join(dir, name+"-key.pem")
	if err := os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key, cf, kf
}

func TestConnectMutualTLS(t *testing.T) {
	dir := t.TempDir()
	now := time.Now()
	ca, caKey, caFile, _ := writeCert(t, dir, "ca", &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}, nil, nil)
	_, _, srvCert, srvKey := writeCert(t, dir, "server", &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "nats"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, caKey)
	_, _, cliCert, cliKey := writeCert(t, dir, "client", &x509.Certificate{
		SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "bridge"}, NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}, ca, caKey)
	tc, err := server.GenTLSConfig(&server.TLSConfigOpts{CertFile: srvCert, KeyFile: srvKey, CaFile: caFile, Verify: true})
	if err != nil {
		t.Fatal(err)
	}
	addr := runAuthServer(t, &server.Options{TLS: true, TLSVerify: true, TLSConfig: tc, TLSTimeout: 5})

	ch, on := collectEvents()
	nc, err := Connect(ConnectConfig{URLs: []string{"tls://" + addr}, CAFile: caFile, CertFile: cliCert, KeyFile: cliKey, OnEvent: on})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	expectEvent(t, ch, ConnConnected)
	if st, err := nc.TLSConnectionState(); err != nil || len(st.PeerCertificates) == 0 {
		t.Fatalf("not a TLS connection: %v", err)
	}

	// Without the client certificate the server refuses the handshake
	// (first attempt only, so the failure is returned rather than retried).
	bad := ConnectConfig{URLs: []string{"tls://" + addr}, CAFile: caFile}
	bad.setDefaults()
	opts, err := bad.Options()
	if err != nil {
		t.Fatal(err)
	}
	nc2, err := nats.Connect(bad.URLs[0], append(opts, nats.RetryOnFailedConnect(false))...)
	if err == nil {
		nc2.Close()
		t.Fatal("connected without a client certificate")
	}
	t.Logf("refused as expected: %v", err)
}

func TestConnectValidate(t *testing.T) {
	cfg := ConnectConfig{
		URLs:     []string{"127.0.0.1:4222"},
		User:     "u",
		Token:    "t",
		CertFile: "/nonexistent/cert.pem",
	}
	cfg.setDefaults()
	err := cfg.Validate()
	if err == nil {
		t.Fatal("accepted")
	}
	for _, want := range []string{"has no scheme", "several authentication methods", "CertFile and KeyFile go together", "CertFile \"/nonexistent/cert.pem\""} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q not in %v", want, err)
		}
	}
	cfg = ConnectConfig{Password: "p"}
	cfg.setDefaults()
	if err := cfg.Validate(); err == nil || strings.Contains(err.Error(), "\"p\"") || !strings.Contains(err.Error(), "Password set without User") {
		t.Fatalf("password check: %v", err)
	}
	if got := redactURLs([]string{"nats://u:pw@host:4222"}); got[0] != "nats://***@host:4222" {
		t.Fatalf("redacted %v", got)
	}
}
