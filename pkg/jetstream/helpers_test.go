package jetstream

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/testwait"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

const testCluster = "lab"

// testLogger routes logs at warn level and above to the test output.
func testLogger(t testing.TB) zerolog.Logger {
	return zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel)
}

// startServer starts an embedded server on a free loopback port with its
// store in a temporary directory, stopped at the end of the test.
func startServer(t testing.TB) *Embedded {
	t.Helper()
	e, err := NewEmbedded(EmbeddedConfig{DataDir: t.TempDir(), Listen: "127.0.0.1:0", Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Shutdown(context.Background()) })
	return e
}

// restart stops the server and starts it again on the same store and port.
func restart(t testing.TB, e *Embedded) {
	t.Helper()
	if err := e.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if err := e.Start(); err != nil {
		t.Fatal(err)
	}
}

// dialTCP connects over TCP (so a restart is a real disconnect) with fast
// reconnects.
func dialTCP(t testing.TB, url string) *nats.Conn {
	t.Helper()
	cfg := ConnectConfig{URLs: []string{url}, Name: t.Name(), ReconnectWait: 20 * time.Millisecond, Logger: testLogger(t)}
	nc, err := Connect(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	waitFor(t, 10*time.Second, "connection", nc.IsConnected)
	return nc
}

func newJS(t testing.TB, nc *nats.Conn) natsjs.JetStream {
	t.Helper()
	js, err := natsjs.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// provision creates the default stream (file storage, as in production).
func provision(t testing.TB, js natsjs.JetStream) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := Provision(ctx, js, ProvisionConfig{}); err != nil {
		t.Fatal(err)
	}
}

func newEncoder(t testing.TB) *schema.Encoder {
	t.Helper()
	enc, err := schema.NewEncoder(schema.EncoderConfig{Cluster: testCluster})
	if err != nil {
		t.Fatal(err)
	}
	return enc
}

// waitFor polls cond until it holds or the deadline passes (real network
// I/O is involved, so there is no event to wait on).
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	testwait.Eventually(t, d, what, cond)
}

// Test messages: n-th message overall, for entity n%entities, carrying
// its global index and its per-entity sequence in headers.
const (
	hdrN    = "x-n"
	hdrESeq = "x-eseq"
)

type msgGen struct {
	session  string
	entities int
	eseq     []int
	n        int
	payload  []byte
}

func newMsgGen(session string, entities, payload int) *msgGen {
	return &msgGen{session: session, entities: entities, eseq: make([]int, entities), payload: make([]byte, payload)}
}

func (g *msgGen) next() Message {
	k := g.n % g.entities
	g.eseq[k]++
	m := Message{
		Subject: fmt.Sprintf("cti.%s.call.%d.CallCtlConnEstablishedEv", testCluster, k),
		ID:      schema.EventID(g.session, uint64(g.n+1)),
		Header: nats.Header{
			hdrN:    []string{strconv.Itoa(g.n)},
			hdrESeq: []string{strconv.Itoa(g.eseq[k])},
		},
		Data: g.payload,
	}
	g.n++
	return m
}

// stored is one message read back from the stream.
type stored struct {
	subject string
	id      string
	n       int // -1 for messages not made by msgGen (gap records)
	eseq    int
	header  nats.Header
	data    []byte
}

func readStream(t testing.TB, js natsjs.JetStream) []stored {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var out []stored
	err := ReadAll(ctx, js, DefaultStream, "", func(m natsjs.Msg) error {
		h := m.Headers()
		s := stored{subject: m.Subject(), id: h.Get(natsjs.MsgIDHeader), n: -1, header: h, data: m.Data()}
		if v := h.Get(hdrN); v != "" {
			s.n, _ = strconv.Atoi(v)
			s.eseq, _ = strconv.Atoi(h.Get(hdrESeq))
		}
		out = append(out, s)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// checkOnceInOrder asserts: every stored id is distinct; messages of each
// entity appear in increasing per-entity sequence; and returns the set of
// generated indexes present and the gap records found.
func checkOnceInOrder(t testing.TB, msgs []stored) (present map[int]bool, gaps []schema.Gap) {
	t.Helper()
	present = make(map[int]bool)
	ids := make(map[string]bool, len(msgs))
	last := make(map[string]int)
	for _, m := range msgs {
		if ids[m.id] {
			t.Fatalf("duplicate Nats-Msg-Id %s in the stream", m.id)
		}
		ids[m.id] = true
		if m.n < 0 {
			_, ev, err := schema.Decode(m.header, m.data)
			if err != nil {
				t.Fatalf("decode %s: %v", m.subject, err)
			}
			if ev.Name != schema.EvPublishGap || ev.Data.Bridge == nil || ev.Data.Bridge.Gap == nil {
				t.Fatalf("unexpected non-test message %s (%s)", m.subject, ev.Name)
			}
			gaps = append(gaps, *ev.Data.Bridge.Gap)
			continue
		}
		key := schema.EntityKey(m.subject)
		if m.eseq <= last[key] {
			t.Fatalf("entity %s: sequence %d after %d (message %d): order broken", key, m.eseq, last[key], m.n)
		}
		last[key] = m.eseq
		present[m.n] = true
	}
	return present, gaps
}

// gateProxy forwards TCP between a client and the server; while held it
// stops forwarding server→client bytes (acks), without losing them.
type gateProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	cond   *sync.Cond
	held   bool
	closed bool
	conns  []net.Conn
}

func newGateProxy(t testing.TB, target string) *gateProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &gateProxy{ln: ln, target: target}
	p.cond = sync.NewCond(&p.mu)
	go p.accept()
	t.Cleanup(p.close)
	return p
}

func (p *gateProxy) url() string { return "nats://" + p.ln.Addr().String() }

func (p *gateProxy) hold(h bool) {
	p.mu.Lock()
	p.held = h
	p.mu.Unlock()
	p.cond.Broadcast()
}

func (p *gateProxy) close() {
	p.mu.Lock()
	p.closed = true
	for _, c := range p.conns {
		_ = c.Close()
	}
	p.mu.Unlock()
	p.cond.Broadcast()
	_ = p.ln.Close()
}

func (p *gateProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		s, err := net.Dial("tcp", p.target)
		if err != nil {
			_ = c.Close()
			continue
		}
		p.mu.Lock()
		p.conns = append(p.conns, c, s)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(s, c); _ = s.Close() }()
		go func() {
			buf := make([]byte, 32<<10)
			for {
				n, err := s.Read(buf)
				if n > 0 {
					p.mu.Lock()
					for p.held && !p.closed {
						p.cond.Wait()
					}
					p.mu.Unlock()
					if _, werr := c.Write(buf[:n]); werr != nil {
						break
					}
				}
				if err != nil {
					break
				}
			}
			_ = c.Close()
		}()
	}
}
