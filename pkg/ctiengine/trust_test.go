package ctiengine

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// presented is the chain a CTIManager with a certificate of ca presents.
func presented(t *testing.T, ca *ctisim.PKI) []*x509.Certificate {
	t.Helper()
	cert, err := ca.IssueServer("ctim-a")
	if err != nil {
		t.Fatal(err)
	}
	var chain []*x509.Certificate
	for _, der := range cert.Certificate {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		chain = append(chain, c)
	}
	return chain
}

// pinnedFile lists the certificates of the trust store file.
func pinnedFile(t *testing.T, path string) []*x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parsePEMCerts(b)
	if err != nil {
		t.Fatal(err)
	}
	return certs
}

func sameCerts(got []*x509.Certificate, want ...*x509.Certificate) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		if !bytes.Equal(got[i].Raw, want[i].Raw) {
			return false
		}
	}
	return true
}

// The CTL analogue updates as Cisco's CTL does (JTAPI guide 15 p.262: "One
// of the two System Administrator Security Tokens (SAST) that are present
// in the CTL file signs the CTL; subsequent CTL downloads get verified with
// the SAST from the old CTL file"): a new server CA is pinned only when the
// pinned CA endorsed it; an unsigned or foreign replacement is refused with
// an error saying which, and the trust store is left as it was.
func TestTrustPin_NewServerTrustOnlyWhenSignedByThePinnedOne(t *testing.T) {
	ca1, err := ctisim.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ctl.pem")
	var logs bytes.Buffer
	pin, err := newTrustPin(path, zerolog.New(&logs))
	if err != nil {
		t.Fatal(err)
	}
	if err := pin.verify("ctim-a", presented(t, ca1)); err != nil {
		t.Fatalf("first use: %v", err)
	}
	if !sameCerts(pinnedFile(t, path), ca1.CA) {
		t.Fatal("first use did not pin the cluster CA")
	}
	pinnedBytes, _ := os.ReadFile(path)
	unchanged := func(what string) {
		t.Helper()
		if b, _ := os.ReadFile(path); !bytes.Equal(b, pinnedBytes) || !sameCerts(pin.certs, ca1.CA) {
			t.Fatalf("%s changed the trust store", what)
		}
	}

	// Unsigned replacement: a new self-signed CA, no endorsement.
	unsigned, err := ca1.Successor("replacement CA", false)
	if err != nil {
		t.Fatal(err)
	}
	err = pin.verify("ctim-a", presented(t, unsigned))
	if !errors.Is(err, ErrServerTrust) || !strings.Contains(err.Error(), `new server CA "CN=replacement CA,O=ctibridge" that is not signed by the CA pinned in `+path) ||
		!strings.Contains(err.Error(), "an unsigned replacement is refused") {
		t.Fatalf("unsigned replacement: err = %v", err)
	}
	unchanged("an unsigned replacement")

	// Foreign replacement: endorsed, but by a CA that is not pinned.
	foreignRoot, err := ctisim.NewPKI()
	if err != nil {
		t.Fatal(err)
	}
	foreign, err := foreignRoot.Successor("foreign CA", true)
	if err != nil {
		t.Fatal(err)
	}
	err = pin.verify("ctim-a", presented(t, foreign))
	if !errors.Is(err, ErrServerTrust) || !strings.Contains(err.Error(), `new server CA "CN=foreign CA,O=ctibridge" endorsed by "CN=ctisim development CA,O=ctibridge", which is not the CA pinned`) ||
		!strings.Contains(err.Error(), "a foreign replacement is refused") {
		t.Fatalf("foreign replacement: err = %v", err)
	}
	unchanged("a foreign replacement")

	// An endorsement alone, without the new CA at the top of the chain,
	// is no trust update: only a self-signed CA can become a trust anchor,
	// and the endorsement is no path through the pinned CA (path length 0).
	ca2, err := ca1.Successor("cluster CA 2", true)
	if err != nil {
		t.Fatal(err)
	}
	chain2 := presented(t, ca2)
	if err := pin.verify("ctim-a", chain2[:len(chain2)-1]); !errors.Is(err, ErrServerTrust) || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("leaf with its CA's endorsement only: err = %v, want a refusal", err)
	}
	unchanged("a chain ending in an endorsement")

	// Signed replacement: the pinned CA endorsed the new one.
	if err := pin.verify("ctim-b", chain2); err != nil {
		t.Fatalf("successor endorsed by the pinned CA refused: %v", err)
	}
	if !sameCerts(pinnedFile(t, path), ca2.CA, ca1.CA) || !sameCerts(pin.certs, ca2.CA, ca1.CA) {
		t.Fatal("the endorsed CA was not pinned next to the CA that signed it")
	}
	if !strings.Contains(logs.String(), "server trust updated") || !strings.Contains(logs.String(), "cluster CA 2") {
		t.Fatalf("no warning about the trust update:\n%s", logs.String())
	}

	// Once the whole cluster moved, CTIManagers drop the endorsement; a
	// CTIManager not yet moved still presents the old CA.
	bare := *ca2
	bare.Endorsement = nil
	if err := pin.verify("ctim-a", presented(t, &bare)); err != nil {
		t.Fatalf("new CA without its endorsement after the update: %v", err)
	}
	if err := pin.verify("ctim-c", presented(t, ca1)); err != nil {
		t.Fatalf("a CTIManager still on the previous CA: %v", err)
	}

	// The next generation drops the oldest one.
	ca3, err := ca2.Successor("cluster CA 3", true)
	if err != nil {
		t.Fatal(err)
	}
	if err := pin.verify("ctim-a", presented(t, ca3)); err != nil {
		t.Fatalf("third generation: %v", err)
	}
	if !sameCerts(pinnedFile(t, path), ca3.CA, ca2.CA) {
		t.Fatal("third generation: trust store does not hold CA 3 and CA 2")
	}
	if err := pin.verify("ctim-a", presented(t, ca1)); !errors.Is(err, ErrServerTrust) || !strings.Contains(err.Error(), "does not chain") {
		t.Fatalf("two generations back is still trusted: %v", err)
	}

	// A restarted engine reads the updated store.
	again, err := newTrustPin(path, zerolog.Nop())
	if err != nil || !sameCerts(again.certs, ca3.CA, ca2.CA) {
		t.Fatalf("reloaded trust store: %v", err)
	}
	if blk, _ := pem.Decode(mustRead(t, path)); blk == nil || blk.Type != "CERTIFICATE" {
		t.Fatal("trust store is not PEM")
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
