package tlse2e

import (
	"bytes"
	"crypto/tls"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// servedLeaf dials a simulator TLS port with a valid client certificate and
// returns the serial number of the server certificate it presents.
func servedLeaf(t *testing.T, sim *Sim, node string) string {
	t.Helper()
	cert, err := sim.PKI.IssueClient("probe")
	if err != nil {
		t.Fatal(err)
	}
	c, err := tls.Dial("tcp", sim.TLSAddr(node), sim.PKI.ClientTLSConfig(cert))
	if err != nil {
		t.Fatalf("probe %s: %v", node, err)
	}
	defer c.Close()
	st := c.ConnectionState()
	if st.Version != tls.VersionTLS13 {
		t.Fatalf("%s negotiated TLS %x, want 1.3", node, st.Version)
	}
	return st.PeerCertificates[0].SerialNumber.String()
}

// waitNoSessions polls (bounded) until the simulator holds no session: a
// bridge that stopped has let go of its certificate.
func waitNoSessions(t *testing.T, sim *Sim) {
	t.Helper()
	Eventually(t, "the simulator to release every session", func() bool { return len(sim.Sessions()) == 0 })
}

// TestTrustPinnedOnFirstUseRotationAcceptedOtherCARefused: a bridge with an
// empty trust store connects over mutual TLS 1.3 with its instance's client
// certificate and pins the CA the CTIManager presents; a later bridge on
// the same store accepts rotated server certificates signed by that CA; a
// cluster of another CA is refused with CertificateProblem{SERVER_TRUST}
// events in the stream and a log line naming the trust store, the bridge
// keeps retrying and /readyz stays 503.
func TestTrustPinnedOnFirstUseRotationAcceptedOtherCARefused(t *testing.T) {
	n := StartNATS(t)
	sim := StartSim(t, []string{"inst-1"}, nil)
	pin := filepath.Join(t.TempDir(), "trust", "ctl.pem")
	cfg := EngineConfig(sim, "ctim-a", "ctim-b")
	WithTLS(&cfg, "inst-1", sim.PKIDir, pin)

	// First use: nothing pinned yet.
	a := StartBridge(t, n, BridgeOptions{Instance: "pin-a", Engine: cfg})
	a.WaitReady(t)
	if s := sim.Sessions(); len(s) != 1 || !s[0].TLS || !s[0].Open || s[0].InstanceID != "inst-1" {
		t.Fatalf("simulator sessions %+v, want one open TLS provider of instanceId inst-1", s)
	}
	pinned, err := os.ReadFile(pin)
	if err != nil {
		t.Fatalf("trust store not written on first use: %v", err)
	}
	blk, _ := pem.Decode(pinned)
	caBlk, _ := pem.Decode(sim.PKI.CAPEM)
	if blk == nil || !bytes.Equal(blk.Bytes, caBlk.Bytes) {
		t.Fatalf("trust store %s does not hold the cluster CA:\n%s", pin, pinned)
	}
	if l := a.Logs.Find("warn", "first use", pin); len(l) != 1 {
		t.Fatalf("want one warning that the CA was trusted on first use and pinned in %s, got %v", pin, l)
	}
	evs := n.WaitEvents(t, "pin-a in service", func(evs []Stored) bool { return len(Filter(evs, schema.EvProvInService, "pin-a-")) == 1 })
	if c := Filter(evs, schema.EvCTIManagerConnected, "pin-a-"); len(c) != 1 || c[0].Event.CTIManager != "ctim-a" {
		t.Fatalf("pin-a connected %v, want once to ctim-a", Names(c))
	}
	if err := a.Stop(t); err != nil {
		t.Fatalf("orderly stop returned %v", err)
	}
	waitNoSessions(t, sim)

	// Rotation: both CTIManagers now serve new certificates of the same CA.
	before := servedLeaf(t, sim, "ctim-a")
	for _, node := range []string{"ctim-a", "ctim-b"} {
		rot, err := sim.RotateServerCertificate(node)
		if err != nil {
			t.Fatal(err)
		}
		if got := servedLeaf(t, sim, node); got != rot.Leaf.SerialNumber.String() || got == before {
			t.Fatalf("%s serves serial %s after rotation to %s (before %s)", node, got, rot.Leaf.SerialNumber, before)
		}
	}
	b := StartBridge(t, n, BridgeOptions{Instance: "pin-b", Engine: cfg})
	b.WaitReady(t)
	if after, _ := os.ReadFile(pin); !bytes.Equal(after, pinned) {
		t.Fatal("the trust store was rewritten after the rotation: the pin must only be written on first use")
	}
	if l := b.Logs.Find("", "first use"); len(l) != 0 {
		t.Fatalf("second run trusted on first use again: %v", l)
	}
	if err := b.Stop(t); err != nil {
		t.Fatalf("orderly stop returned %v", err)
	}
	waitNoSessions(t, sim)

	// A cluster whose CA differs from the pinned one.
	other := StartSim(t, []string{"inst-1"}, nil)
	ocfg := EngineConfig(other, "ctim-a", "ctim-b")
	WithTLS(&ocfg, "inst-1", other.PKIDir, pin)
	c := StartBridge(t, n, BridgeOptions{Instance: "pin-c", Engine: ocfg})
	evs = n.WaitEvents(t, "trust refusals of both CTIManagers and a retry round", func(evs []Stored) bool {
		return len(Filter(evs, schema.EvCertificateProblem, "pin-c-")) >= 3
	})
	for _, p := range Filter(evs, schema.EvCertificateProblem, "pin-c-") {
		d := p.Event.Data.Provider
		if d.Reason != "SERVER_TRUST" || !strings.Contains(d.Detail, pin) || !strings.Contains(d.Detail, "does not chain") {
			t.Fatalf("CertificateProblem %+v: want reason SERVER_TRUST and a detail naming %s", d, pin)
		}
	}
	if n := len(Filter(evs, schema.EvCTIManagerConnecting, "pin-c-")); n < 3 {
		t.Fatalf("pin-c made %d connection attempts, want retries over the list", n)
	}
	if len(Filter(evs, schema.EvProvInService, "pin-c-")) != 0 {
		t.Fatal("a CTIManager of another CA was accepted")
	}
	if l := c.Logs.Find("warn", "CTIManager link ended", pin); len(l) < 2 {
		t.Fatalf("want a warning per refused CTIManager naming the trust store %s; log:\n%s", pin, c.Logs.String())
	}
	for _, s := range other.Sessions() {
		if s.Open {
			t.Fatalf("a provider was opened on the cluster of another CA: %+v", s)
		}
	}
	code, body := c.Get(t, "/readyz")
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "OUT_OF_SERVICE") {
		t.Fatalf("/readyz = %d %s, want 503 (provider out of service)", code, body)
	}
	if v := c.Metric(t, `ctibridge_certificate_problems_total{reason="SERVER_TRUST"}`); v == "" || v == "0" {
		t.Fatalf("ctibridge_certificate_problems_total{reason=\"SERVER_TRUST\"} = %q", v)
	}
	if after, _ := os.ReadFile(pin); !bytes.Equal(after, pinned) {
		t.Fatal("a refused CTIManager changed the trust store")
	}
}

// rotateAll serves certificates of ca on both CTIManagers.
func rotateAll(t *testing.T, sim *Sim, ca *ctisim.PKI) {
	t.Helper()
	for _, node := range []string{"ctim-a", "ctim-b"} {
		if _, err := sim.RotateServerCertificateFrom(node, ca); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTrustUpdateOnlyWhenSignedByThePinnedCA: the CTL analogue updates as
// Cisco's CTL does (JTAPI guide 15 p.262: subsequent CTL downloads are
// verified with the SAST of the old CTL). The cluster moves to a new CA
// that the pinned CA did not sign: the bridge refuses it with
// CertificateProblem{SERVER_TRUST} saying "unsigned replacement", never
// opens a provider and leaves the trust store alone. Then the cluster moves
// to a new CA endorsed by the pinned one: the bridge accepts it, pins it
// (the trust store holds the new CA and the one that signed it), logs the
// update, and a later bridge connects to CTIManagers that serve the new CA
// without the endorsement.
func TestTrustUpdateOnlyWhenSignedByThePinnedCA(t *testing.T) {
	n := StartNATS(t)
	sim := StartSim(t, []string{"inst-1"}, nil)
	pin := filepath.Join(t.TempDir(), "trust", "ctl.pem")
	cfg := EngineConfig(sim, "ctim-a", "ctim-b")
	WithTLS(&cfg, "inst-1", sim.PKIDir, pin)

	a := StartBridge(t, n, BridgeOptions{Instance: "ctl-a", Engine: cfg})
	a.WaitReady(t)
	if err := a.Stop(t); err != nil {
		t.Fatalf("orderly stop returned %v", err)
	}
	waitNoSessions(t, sim)
	pinned, err := os.ReadFile(pin)
	if err != nil {
		t.Fatal(err)
	}

	// An unsigned replacement.
	unsigned, err := sim.PKI.Successor("rogue cluster CA", false)
	if err != nil {
		t.Fatal(err)
	}
	rotateAll(t, sim, unsigned)
	b := StartBridge(t, n, BridgeOptions{Instance: "ctl-b", Engine: cfg})
	evs := n.WaitEvents(t, "refusals of the unsigned CA on both CTIManagers", func(evs []Stored) bool {
		return len(Filter(evs, schema.EvCertificateProblem, "ctl-b-")) >= 2
	})
	for _, p := range Filter(evs, schema.EvCertificateProblem, "ctl-b-") {
		d := p.Event.Data.Provider
		if d.Reason != "SERVER_TRUST" || !strings.Contains(d.Detail, "rogue cluster CA") ||
			!strings.Contains(d.Detail, "an unsigned replacement is refused") || !strings.Contains(d.Detail, pin) {
			t.Fatalf("CertificateProblem %+v: want SERVER_TRUST naming the unsigned CA and %s", d, pin)
		}
	}
	if len(Filter(evs, schema.EvProvInService, "ctl-b-")) != 0 {
		t.Fatal("a CTIManager with an unsigned new CA was accepted")
	}
	if err := b.Stop(t); err != nil {
		t.Fatalf("stopping the refused bridge: %v", err)
	}
	if after, _ := os.ReadFile(pin); !bytes.Equal(after, pinned) {
		t.Fatal("an unsigned replacement changed the trust store")
	}

	// A replacement signed by the pinned CA.
	next, err := sim.PKI.Successor("cluster CA 2", true)
	if err != nil {
		t.Fatal(err)
	}
	rotateAll(t, sim, next)
	c := StartBridge(t, n, BridgeOptions{Instance: "ctl-c", Engine: cfg})
	c.WaitReady(t)
	if l := c.Logs.Find("warn", "server trust updated", pin); len(l) != 1 {
		t.Fatalf("want one warning that the trust store %s was updated, got %v", pin, l)
	}
	if err := c.Stop(t); err != nil {
		t.Fatalf("orderly stop returned %v", err)
	}
	waitNoSessions(t, sim)
	var blocks [][]byte
	for rest, _ := os.ReadFile(pin); ; {
		var blk *pem.Block
		if blk, rest = pem.Decode(rest); blk == nil {
			break
		}
		blocks = append(blocks, blk.Bytes)
	}
	if len(blocks) != 2 || !bytes.Equal(blocks[0], next.CA.Raw) || !bytes.Equal(blocks[1], sim.PKI.CA.Raw) {
		t.Fatalf("trust store holds %d certificates, want the new CA then the CA that signed it", len(blocks))
	}

	// The cluster finished moving: no endorsement served any more.
	bare := *next
	bare.Endorsement = nil
	rotateAll(t, sim, &bare)
	d := StartBridge(t, n, BridgeOptions{Instance: "ctl-d", Engine: cfg})
	d.WaitReady(t)
	if err := d.Stop(t); err != nil {
		t.Fatalf("orderly stop returned %v", err)
	}
}
