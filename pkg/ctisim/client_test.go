package ctisim

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// This file holds the minimal link client the tests drive the simulator
// with, and helpers to start simulators.

// testCluster is the default cluster on ephemeral ports. Heartbeat tests
// ask for short intervals; the others open with 0 and get a 2s default, so
// that a loaded CI machine does not drop their sessions.
func testCluster() ClusterConfig {
	return DefaultCluster().WithEphemeralPorts().WithHeartbeat(HeartbeatConfig{
		Min: 100 * time.Millisecond, Max: 5 * time.Second, Default: 2 * time.Second,
	})
}

func startServer(t *testing.T, cfg Config) *Server {
	t.Helper()
	if cfg.Cluster.Name == "" {
		cfg.Cluster = testCluster()
	}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := s.Start(); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}

type frame struct {
	h   ctilink.Header
	msg ctilink.Message
	at  time.Time
}

// client is a bare link client: a reader goroutine collects every frame;
// once the provider is open a heartbeat goroutine keeps the link alive
// unless the test made the client silent.
type client struct {
	t    *testing.T
	conn *ctilink.Conn

	frames chan frame
	mu     sync.Mutex
	all    []frame // every frame received, in order
	err    error   // why the reader stopped
	ended  chan struct{}

	silent bool
	stopHB chan struct{}
	hbOnce sync.Once
}

func dialClient(t *testing.T, addr string) *client {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	return newClient(t, nc)
}

func dialTLSClient(t *testing.T, addr string, cfg *tls.Config) (*client, error) {
	t.Helper()
	d := &net.Dialer{Timeout: 5 * time.Second}
	nc, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return nil, err
	}
	return newClient(t, nc), nil
}

func newClient(t *testing.T, nc net.Conn) *client {
	c := &client{t: t, conn: ctilink.NewConn(nc, 0), frames: make(chan frame, 100000),
		ended: make(chan struct{}), stopHB: make(chan struct{})}
	go func() {
		defer close(c.ended)
		defer close(c.frames)
		for {
			h, msg, err := c.conn.Read()
			if err != nil {
				c.mu.Lock()
				c.err = err
				c.mu.Unlock()
				return
			}
			f := frame{h: h, msg: msg, at: time.Now()}
			c.mu.Lock()
			c.all = append(c.all, f)
			c.mu.Unlock()
			c.frames <- f
		}
	}()
	t.Cleanup(c.close)
	return c
}

func (c *client) close() {
	c.hbOnce.Do(func() { close(c.stopHB) })
	_ = c.conn.Close()
	<-c.ended
}

func (c *client) send(msg ctilink.Message) uint32 {
	c.t.Helper()
	seq, err := c.conn.Write(msg)
	if err != nil {
		c.t.Fatalf("sending %s: %v", msg.Type(), err)
	}
	return seq
}

// next returns the next frame other than a heartbeat, failing the test
// after timeout.
func (c *client) next(timeout time.Duration) frame {
	c.t.Helper()
	f, err := c.nextErr(timeout)
	if err != nil {
		c.t.Fatal(err)
	}
	return f
}

func (c *client) nextErr(timeout time.Duration) (frame, error) {
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		select {
		case f, ok := <-c.frames:
			if !ok {
				return frame{}, fmt.Errorf("connection ended: %w", c.readErr())
			}
			if f.h.Type == ctilink.TypeHeartbeat {
				continue
			}
			return f, nil
		case <-deadline.C:
			return frame{}, fmt.Errorf("no frame within %v", timeout)
		}
	}
}

func (c *client) readErr() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// expect reads the next non-heartbeat frame and requires it to be a T.
func expect[T ctilink.Message](c *client, timeout time.Duration) T {
	c.t.Helper()
	f := c.next(timeout)
	m, ok := f.msg.(T)
	if !ok {
		var zero T
		c.t.Fatalf("got %s %+v, want %T", f.h.Type, f.msg, zero)
	}
	return m
}

// waitEnd waits for the server to close the connection.
func (c *client) waitEnd(timeout time.Duration) error {
	select {
	case <-c.ended:
		return nil
	case <-time.After(timeout):
		return errors.New("connection still open")
	}
}

func openRequest(login, password string, desiredMs int64) ctilink.ProviderOpenRequest {
	return ctilink.ProviderOpenRequest{Login: login, Password: password, AppInfo: "ctisim-test",
		DesiredServerHeartbeatMs: desiredMs, ClientVersion: "test", ProtocolVersions: []int{1}}
}

// open runs the two-phase open and starts client heartbeats.
func (c *client) open(desiredMs int64) (ctilink.ProviderOpenResponse, ctilink.ProviderOpenCompleted) {
	c.t.Helper()
	return c.openWith(openRequest("ctibridge", "secret", desiredMs))
}

func (c *client) openWith(req ctilink.ProviderOpenRequest) (ctilink.ProviderOpenResponse, ctilink.ProviderOpenCompleted) {
	c.t.Helper()
	seq := c.send(req)
	resp := expect[ctilink.ProviderOpenResponse](c, 5*time.Second)
	if resp.ReqSeq != seq {
		c.t.Fatalf("ProviderOpenResponse.ReqSeq = %d, want %d", resp.ReqSeq, seq)
	}
	done := expect[ctilink.ProviderOpenCompleted](c, 5*time.Second)
	if done.Reason == ctilink.CloseNone && !c.silent {
		go c.heartbeats(time.Duration(resp.ClientHeartbeatMs) * time.Millisecond)
	}
	return resp, done
}

func (c *client) heartbeats(every time.Duration) {
	t := time.NewTicker(every / 4)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if _, err := c.conn.Write(ctilink.Heartbeat{}); err != nil {
				return
			}
		case <-c.stopHB:
			return
		}
	}
}

// request sends msg and returns the Response answering it.
func (c *client) request(msg ctilink.Message) ctilink.Response {
	c.t.Helper()
	seq := c.send(msg)
	r := expect[ctilink.Response](c, 5*time.Second)
	if r.ReqSeq != seq {
		c.t.Fatalf("Response.ReqSeq = %d, want %d", r.ReqSeq, seq)
	}
	return r
}

func (c *client) mustOK(msg ctilink.Message) {
	c.t.Helper()
	if r := c.request(msg); r.Result != ctilink.ResultOK {
		c.t.Fatalf("%s: %s %s", msg.Type(), r.Result, r.Error)
	}
}

// received returns a copy of every frame received so far.
func (c *client) received() []frame {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]frame(nil), c.all...)
}

// eventually polls cond until it holds or the deadline passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.Eventually(t, timeout, what, cond)
}
