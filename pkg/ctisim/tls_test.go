package ctisim

import (
	"crypto/tls"
	"crypto/x509"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

func newTestPKI(t *testing.T) *PKI {
	t.Helper()
	p, err := NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func clientCert(t *testing.T, p *PKI, id string) *tls.Config {
	t.Helper()
	cert, err := p.IssueClient(id)
	if err != nil {
		t.Fatal(err)
	}
	return p.ClientTLSConfig(cert)
}

func TestTLSOpenWithClientCertificate(t *testing.T) {
	p := newTestPKI(t)
	s := startServer(t, Config{PKI: p})
	c, err := dialTLSClient(t, s.TLSAddr("ctim-a"), clientCert(t, p, "bridge-1"))
	if err != nil {
		t.Fatal(err)
	}
	req := openRequest("ctibridge", "secret", 0)
	req.InstanceID = "bridge-1"
	if _, done := c.openWith(req); done.Reason != ctilink.CloseNone {
		t.Fatalf("TLS open: %+v", done)
	}
	state := c.conn.NetConn().(*tls.Conn).ConnectionState()
	if state.Version != tls.VersionTLS13 {
		t.Fatalf("negotiated TLS version %x", state.Version)
	}
	if infos := s.Sessions(); len(infos) != 1 || !infos[0].TLS || infos[0].InstanceID != "bridge-1" {
		t.Fatalf("sessions: %+v", infos)
	}

	// The instanceId must match the certificate.
	c2, err := dialTLSClient(t, s.TLSAddr("ctim-b"), clientCert(t, p, "bridge-2"))
	if err != nil {
		t.Fatal(err)
	}
	req.InstanceID = "someone-else"
	if _, done := c2.openWith(req); done.Reason != ctilink.CloseUserNotAuthorizedForSecurity {
		t.Fatalf("mismatched instanceId: %+v", done)
	}
}

func TestTLSRefusesBadClients(t *testing.T) {
	p := newTestPKI(t)
	s := startServer(t, Config{PKI: p})
	addr := s.TLSAddr("ctim-a")
	// A certificate from another CA.
	foreign := newTestPKI(t)
	cert, err := foreign.IssueClient("intruder")
	if err != nil {
		t.Fatal(err)
	}
	cfg := p.ClientTLSConfig(cert)
	if c, err := dialTLSClient(t, addr, cfg); err == nil {
		// TLS 1.3 reports the client certificate's rejection on first read.
		if err := c.waitEnd(2 * time.Second); err != nil {
			t.Fatal("a client certificate from another CA was accepted")
		}
		if len(c.received()) != 0 {
			t.Fatal("the server talked to a client with a foreign certificate")
		}
	}
	// No client certificate at all.
	noCert := &tls.Config{MinVersion: tls.VersionTLS13, RootCAs: p.Pool()}
	if c, err := dialTLSClient(t, addr, noCert); err == nil {
		if err := c.waitEnd(2 * time.Second); err != nil {
			t.Fatal("a client without certificate was accepted")
		}
	}
	// TLS 1.2 only.
	old := clientCert(t, p, "old")
	old.MaxVersion = tls.VersionTLS12
	old.MinVersion = tls.VersionTLS12
	if _, err := dialTLSClient(t, addr, old); err == nil {
		t.Fatal("a TLS 1.2 client was accepted")
	}
}

func TestDuplicateCertificateThroughCompromise(t *testing.T) {
	p := newTestPKI(t)
	s := startServer(t, Config{PKI: p})
	shared := clientCert(t, p, "bridge-1")
	open := func(node string) (*client, ctilink.ProviderOpenCompleted) {
		t.Helper()
		c, err := dialTLSClient(t, s.TLSAddr(node), shared)
		if err != nil {
			t.Fatal(err)
		}
		req := openRequest("ctibridge", "secret", 0)
		req.InstanceID = "bridge-1"
		_, done := c.openWith(req)
		return c, done
	}
	// Default retry count 3: clashes 1 and 2 close both with
	// DUPLICATECERTUSED, clash 3 with CERTCOMPROMISED.
	for clash, want := range []ctilink.CloseReason{ctilink.CloseDuplicateCertUsed, ctilink.CloseDuplicateCertUsed, ctilink.CloseCertCompromised} {
		first, done := open("ctim-a")
		if done.Reason != ctilink.CloseNone {
			t.Fatalf("clash %d: first open refused: %+v", clash+1, done)
		}
		second, done := open("ctim-b")
		if done.Reason != want {
			t.Fatalf("clash %d: second open got %s, want %s", clash+1, done.Reason, want)
		}
		if pc := expect[ctilink.ProviderClosed](second, time.Second); pc.Reason != want {
			t.Fatalf("clash %d: second closed with %s", clash+1, pc.Reason)
		}
		if pc := expect[ctilink.ProviderClosed](first, time.Second); pc.Reason != want {
			t.Fatalf("clash %d: first closed with %s", clash+1, pc.Reason)
		}
		for _, c := range []*client{first, second} {
			if err := c.waitEnd(2 * time.Second); err != nil {
				t.Fatalf("clash %d: %v", clash+1, err)
			}
		}
	}
	// Refused from then on.
	c, done := open("ctim-c")
	if done.Reason != ctilink.CloseCertCompromised {
		t.Fatalf("open with a compromised certificate: %+v", done)
	}
	expect[ctilink.ProviderClosed](c, time.Second)
	// Another certificate is unaffected.
	other, err := dialTLSClient(t, s.TLSAddr("ctim-a"), clientCert(t, p, "bridge-2"))
	if err != nil {
		t.Fatal(err)
	}
	if _, done := other.open(0); done.Reason != ctilink.CloseNone {
		t.Fatalf("other certificate: %+v", done)
	}
}

func TestDuplicateCertificateRetryCountConfigurable(t *testing.T) {
	p := newTestPKI(t)
	cluster := testCluster()
	cluster.CertRetryCount = 1
	s := startServer(t, Config{PKI: p, Cluster: cluster})
	shared := clientCert(t, p, "x")
	a, err := dialTLSClient(t, s.TLSAddr("ctim-a"), shared)
	if err != nil {
		t.Fatal(err)
	}
	a.open(0)
	b, err := dialTLSClient(t, s.TLSAddr("ctim-a"), shared)
	if err != nil {
		t.Fatal(err)
	}
	if _, done := b.open(0); done.Reason != ctilink.CloseCertCompromised {
		t.Fatalf("first clash with retry count 1: %s", done.Reason)
	}
}

func TestWriteDevPKIAndRotation(t *testing.T) {
	dir := t.TempDir()
	p, err := WriteDevPKI(dir, []string{"ctim-a"}, []string{"bridge-1"})
	if err != nil {
		t.Fatal(err)
	}
	sc, sk := ServerCertFiles("ctim-a")
	cc, ck := ClientCertFiles("bridge-1")
	for _, f := range []string{CAFile, CAKeyFile, sc, sk, cc, ck} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatal(err)
		}
	}
	if st, _ := os.Stat(filepath.Join(dir, ck)); st.Mode().Perm() != 0o600 {
		t.Fatalf("client key mode %v", st.Mode().Perm())
	}
	server, err := tls.LoadX509KeyPair(filepath.Join(dir, sc), filepath.Join(dir, sk))
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(server.Certificate[0])
	if err := leaf.VerifyHostname("127.0.0.1"); err != nil {
		t.Fatal(err)
	}
	if err := leaf.VerifyHostname("ctim-a"); err != nil {
		t.Fatal(err)
	}
	loaded, err := LoadPKI(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !loaded.CA.Equal(p.CA) {
		t.Fatal("loaded CA differs")
	}
	client, err := tls.LoadX509KeyPair(filepath.Join(dir, cc), filepath.Join(dir, ck))
	if err != nil {
		t.Fatal(err)
	}
	cl, _ := x509.ParseCertificate(client.Certificate[0])
	if cl.Subject.CommonName != "bridge-1" {
		t.Fatalf("client CN %q", cl.Subject.CommonName)
	}
	s := startServer(t, Config{PKI: loaded})
	serial := func() string {
		t.Helper()
		c, err := dialTLSClient(t, s.TLSAddr("ctim-a"), loaded.ClientTLSConfig(client))
		if err != nil {
			t.Fatal(err)
		}
		defer c.close()
		return c.conn.NetConn().(*tls.Conn).ConnectionState().PeerCertificates[0].SerialNumber.String()
	}
	before := serial()
	rotated, err := s.RotateServerCertificate("ctim-a")
	if err != nil {
		t.Fatal(err)
	}
	after := serial()
	if after == before || after != rotated.Leaf.SerialNumber.String() {
		t.Fatalf("serial before %s, after %s, rotated %s", before, after, rotated.Leaf.SerialNumber)
	}
}

// ResetInstance ends only the sessions of one client certificate: the
// other application's link goes on.
func TestResetInstanceResetsOneApplicationsLink(t *testing.T) {
	p := newTestPKI(t)
	s := startServer(t, Config{PKI: p})
	open := func(id string) *client { return openInstance(t, s, p, id) }
	one, two := open("bridge-1"), open("bridge-2")
	if n, err := s.ResetInstance("bridge-1"); err != nil || n != 1 {
		t.Fatalf("ResetInstance: %d sessions, %v", n, err)
	}
	if err := one.waitEnd(2 * time.Second); err != nil {
		t.Fatal("bridge-1's connection still open after ResetInstance")
	}
	testwait.Eventually(t, 5*time.Second, "bridge-1's session removed", func() bool { return len(s.Sessions()) == 1 })
	if infos := s.Sessions(); infos[0].InstanceID != "bridge-2" || !infos[0].Open {
		t.Fatalf("sessions after resetting bridge-1: %+v", infos)
	}
	select {
	case <-two.ended:
		t.Fatal("bridge-2's connection ended too")
	default:
	}
	if _, err := s.ResetInstance("nobody"); err == nil {
		t.Fatal("ResetInstance of an instance without sessions: no error")
	}
}

// CutInstance cuts one application off: its session is reset, its new
// connections are reset after the handshake (no ProviderOpenResponse),
// another application's session goes on, and RestoreInstance lets the
// first one open again.
func TestCutInstanceRefusesOneApplicationUntilRestored(t *testing.T) {
	p := newTestPKI(t)
	s := startServer(t, Config{PKI: p})
	open := func(id string) *client { return openInstance(t, s, p, id) }
	one, two := open("bridge-1"), open("bridge-2")
	if n := s.CutInstance("bridge-1"); n != 1 {
		t.Fatalf("CutInstance reset %d sessions, want 1", n)
	}
	if err := one.waitEnd(2 * time.Second); err != nil {
		t.Fatal("bridge-1's connection still open after CutInstance")
	}
	again := dialInstance(t, s, p, "bridge-1")
	req := openRequest("ctibridge", "secret", 0)
	req.InstanceID = "bridge-1"
	_, _ = again.conn.Write(req) // may fail: the reset can come first
	if err := again.waitEnd(5 * time.Second); err != nil {
		t.Fatal("a new connection of the cut instance was served")
	}
	for f := range again.frames {
		t.Fatalf("the cut instance's new connection received %s", f.h.Type)
	}
	testwait.Eventually(t, 5*time.Second, "only bridge-2's session left", func() bool { return len(s.Sessions()) == 1 })
	if infos := s.Sessions(); infos[0].InstanceID != "bridge-2" || !infos[0].Open {
		t.Fatalf("sessions while bridge-1 is cut: %+v", infos)
	}
	select {
	case <-two.ended:
		t.Fatal("bridge-2's connection ended too")
	default:
	}
	s.RestoreInstance("bridge-1")
	open("bridge-1")
	testwait.Eventually(t, 5*time.Second, "bridge-1 open again beside bridge-2", func() bool { return len(s.Sessions()) == 2 })
}

// dialInstance connects to ctim-a over TLS with instance id's certificate.
func dialInstance(t *testing.T, s *Server, p *PKI, id string) *client {
	t.Helper()
	c, err := dialTLSClient(t, s.TLSAddr("ctim-a"), clientCert(t, p, id))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// openInstance is dialInstance with the provider opened as instance id.
func openInstance(t *testing.T, s *Server, p *PKI, id string) *client {
	t.Helper()
	c := dialInstance(t, s, p, id)
	req := openRequest("ctibridge", "secret", 0)
	req.InstanceID = id
	if _, done := c.openWith(req); done.Reason != ctilink.CloseNone {
		t.Fatalf("open %s: %+v", id, done)
	}
	return c
}
