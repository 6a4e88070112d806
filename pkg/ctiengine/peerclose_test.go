package ctiengine

import (
	"net"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// cuedConn is a CTIManager connection (below TLS) whose reads can be held
// — a read that returns data waits before handing it over — and whose
// writes can be made to fail as on a connection the peer has closed.
type cuedConn struct {
	net.Conn
	mu         sync.Mutex
	hold       bool
	release    chan struct{}
	failWrites bool
	failed     atomic.Int32
}

func (c *cuedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.mu.Lock()
	hold, release := c.hold, c.release
	c.mu.Unlock()
	if hold {
		<-release
	}
	return n, err
}

func (c *cuedConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	fail := c.failWrites
	c.mu.Unlock()
	if fail {
		c.failed.Add(1)
		return 0, &net.OpError{Op: "write", Net: "tcp", Err: os.NewSyscallError("write", syscall.EPIPE)}
	}
	return c.Conn.Write(p)
}

func (c *cuedConn) cue(hold, failWrites bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.hold && !hold {
		close(c.release)
	}
	c.hold, c.failWrites = hold, failWrites
}

// CTIManager closes a provider with a reason (here DUPLICATECERTUSED, a
// second provider on the same certificate) and then the connection. If
// the bridge happens to write before it has read that ProviderClosed, the
// write fails (EPIPE); the reason must not be lost with it: the engine
// reads what CTIManager sent before the close, so the loss is reported as
// DUPLICATECERTUSED — which counts toward the certificate being
// compromised (seed p.262) — not as a broken link.
func TestProviderClosedReadAfterAFailedWrite(t *testing.T) {
	srv, _, pkiDir := tlsSim(t, func(c *ctisim.Config) { c.Cluster.CertRetryCount = 100 })
	cfg := tlsConfig(srv, pkiDir, filepath.Join(t.TempDir(), "ctl.pem"))
	var mu sync.Mutex
	var conns []*cuedConn
	cfg.wrapConn = func(nc net.Conn) net.Conn {
		c := &cuedConn{Conn: nc, release: make(chan struct{})}
		mu.Lock()
		conns = append(conns, c)
		mu.Unlock()
		return c
	}
	a := startEngine(t, srv, cfg, true)
	a.waitStatus("provider up", upOn("ctim-a"))
	sessions := srv.Sessions()
	if len(sessions) != 1 || sessions[0].ClientHBMs <= 0 || sessions[0].ClientHBMs >= 2*sessions[0].ServerHBMs {
		t.Fatalf("sessions %+v: want one, with a client heartbeat shorter than twice the server's", sessions)
	}
	clientHB := time.Duration(sessions[0].ClientHBMs) * time.Millisecond
	mu.Lock()
	link := conns[len(conns)-1]
	mu.Unlock()
	link.cue(true, false)

	// A second provider on the same certificate: CTIManager closes both.
	second := tlsConfig(srv, pkiDir, filepath.Join(t.TempDir(), "ctl.pem"))
	second.BridgeInstance = "second"
	b := startEngine(t, srv, second, false)
	b.sink.waitFor(t, "the second provider's clash", hasN(schema.EvCertificateProblem, 1))

	// The first bridge writes (its heartbeat) before it has read the
	// close: the write fails as on a closed connection.
	link.cue(true, true)
	a.advance(clientHB)
	testwait.Eventually(t, 0, "the first bridge's write to fail", func() bool { return link.failed.Load() > 0 })
	link.cue(false, true)

	evs := a.sink.waitFor(t, "the first provider's clash", hasN(schema.EvCertificateProblem, 1))
	lost := index(evs, schema.EvCTIManagerLost, 0)
	if lost < 0 {
		t.Fatal("no CTIManagerLost")
	}
	if p := evs[lost].Data.Provider; p.Reason != "DUPLICATECERTUSED" {
		t.Fatalf("the link's loss is reported as %s (%s), want DUPLICATECERTUSED", p.Reason, p.Detail)
	}
	if p := evs[index(evs, schema.EvCertificateProblem, 0)].Data.Provider; p.Reason != "DUPLICATECERTUSED" {
		t.Fatalf("CertificateProblem %+v", p)
	}
}
