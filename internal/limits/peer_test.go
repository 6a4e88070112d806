package limits

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/internal/tlse2e"
	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// peer is a scripted CTIManager written with pkg/ctilink: it opens a
// provider the way a well-behaved CTIManager does (open response, open
// completed, the device list pages it is given, a Response to every
// request) and then lets the test misbehave on the session.
type peer struct {
	t     testing.TB
	name  string
	ln    net.Listener
	pages func(reqSeq uint32) []ctilink.DeviceListResponse

	sessions   chan *session
	deviceOpen atomic.Int64 // DeviceOpenRequest frames received
	lineOpen   atomic.Int64 // LineOpenRequest frames received
	wg         sync.WaitGroup
}

// session is one accepted client connection, after the provider open.
type session struct {
	nc   net.Conn
	conn *ctilink.Conn
	wmu  sync.Mutex // serialises the test's raw writes with the answers
	done chan struct{}
	err  error // why the client side ended (set before done closes)
}

// phones returns n phone DeviceInfos with one line each (DN 10000+i).
func phones(from, n int) []ctilink.DeviceInfo {
	out := make([]ctilink.DeviceInfo, n)
	for i := range out {
		k := from + i
		out[i] = ctilink.DeviceInfo{Name: fmt.Sprintf("SEP%012d", k), Type: ctilink.DevicePhone, Model: "Cisco 8841",
			CallManager: "cm1", Lines: []ctilink.LineInfo{{DN: fmt.Sprint(10000 + k)}}, Registered: true, InService: true}
	}
	return out
}

// onePage is a device list of n phones in one page.
func onePage(n int) func(uint32) []ctilink.DeviceListResponse {
	return func(seq uint32) []ctilink.DeviceListResponse {
		return []ctilink.DeviceListResponse{{ReqSeq: seq, Devices: phones(0, n), Total: n}}
	}
}

func startPeer(t testing.TB, name string, pages func(uint32) []ctilink.DeviceListResponse) *peer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, name: name, ln: ln, pages: pages, sessions: make(chan *session, 16)}
	p.wg.Add(1)
	go p.accept()
	t.Cleanup(func() {
		_ = ln.Close()
		p.wg.Wait()
	})
	return p
}

func (p *peer) addr() string { return p.ln.Addr().String() }

func (p *peer) accept() {
	defer p.wg.Done()
	var conns []net.Conn
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for {
		nc, err := p.ln.Accept()
		if err != nil {
			return
		}
		conns = append(conns, nc)
		p.wg.Add(1)
		go p.serve(nc)
	}
}

func (p *peer) serve(nc net.Conn) {
	defer p.wg.Done()
	c := ctilink.NewConn(nc, ctilink.HardMaxFrameSize)
	s := &session{nc: nc, conn: c, done: make(chan struct{})}
	h, msg, err := c.Read()
	if _, ok := msg.(ctilink.ProviderOpenRequest); err != nil || !ok {
		_ = nc.Close()
		return
	}
	id := fmt.Sprintf("%s-%d", p.name, time.Now().UnixNano())
	s.write(ctilink.ProviderOpenResponse{ReqSeq: h.Sequence, Result: ctilink.ResultOK, ProtocolVersion: int(ctilink.ProtocolVersion),
		ServerHeartbeatMs: 30000, ClientHeartbeatMs: 30000, ProviderID: id, CTIManager: p.name})
	s.write(ctilink.ProviderOpenCompleted{ReqSeq: h.Sequence, ProviderID: id, ClusterID: "hostile", LoginUserName: "ctibridge"})
	h, msg, err = c.Read()
	if _, ok := msg.(ctilink.DeviceListRequest); err != nil || !ok {
		_ = nc.Close()
		return
	}
	for _, pg := range p.pages(h.Sequence) {
		s.write(pg)
	}
	p.sessions <- s
	defer close(s.done)
	for {
		h, msg, err := c.Read()
		if err != nil {
			if !ctilink.IsFatal(err) {
				continue
			}
			s.err = err
			return
		}
		switch m := msg.(type) {
		case ctilink.Heartbeat:
		case ctilink.DeviceOpenRequest:
			p.deviceOpen.Add(1)
			s.write(ctilink.Response{ReqSeq: h.Sequence, Result: ctilink.ResultOK})
		case ctilink.LineOpenRequest:
			p.lineOpen.Add(1)
			s.write(ctilink.Response{ReqSeq: h.Sequence, Result: ctilink.ResultOK})
		case ctilink.SnapshotRequest:
			s.write(ctilink.Response{ReqSeq: h.Sequence, Result: ctilink.ResultOK})
			s.write(ctilink.SnapshotCompleted{ReqSeq: h.Sequence, Device: m.Device})
		case ctilink.ProviderCloseRequest:
			s.write(ctilink.ProviderClosed{Reason: m.Reason})
			s.err = errors.New("provider closed by the client")
			_ = nc.Close()
			return
		default:
			s.write(ctilink.Response{ReqSeq: h.Sequence, Result: ctilink.ResultOK})
		}
	}
}

// next returns the next session whose provider was opened (bounded wait).
func (p *peer) next(t testing.TB) *session {
	t.Helper()
	select {
	case s := <-p.sessions:
		return s
	case <-time.After(tlse2e.WaitBound):
		t.Fatalf("%s: no provider opened within %v", p.name, tlse2e.WaitBound)
		return nil
	}
}

// write sends one well-formed frame (errors end the session's usefulness
// and surface in the test's assertions on the bridge).
func (s *session) write(m ctilink.Message) {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, _ = s.conn.Write(m)
}

// raw writes bytes as they are, bypassing the framing.
func (s *session) raw(b []byte) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_, err := s.nc.Write(b)
	return err
}

// waitClosed waits (bounded) until the client side of the session ended.
func (s *session) waitClosed(t testing.TB) error {
	t.Helper()
	select {
	case <-s.done:
		return s.err
	case <-time.After(tlse2e.WaitBound):
		t.Fatalf("the bridge did not close the link within %v", tlse2e.WaitBound)
		return nil
	}
}

// header builds a raw frame header.
func header(typ ctilink.MsgType, length, seq uint32) []byte {
	b := make([]byte, ctilink.HeaderSize)
	ctilink.PutHeader(b, ctilink.Header{Version: ctilink.ProtocolVersion, Type: typ, Length: length, Sequence: seq})
	return b
}
