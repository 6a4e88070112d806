package ctisim

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// session is one client connection to a node. Its reader goroutine handles
// requests and owns the session's life; its writer goroutine drains the
// outbound queue, sends heartbeats when idle and applies the node's stall
// and slow-link faults.
type session struct {
	srv  *Server
	node *node
	id   string
	log  zerolog.Logger
	raw  net.Conn // the TCP connection (for RST on reset)
	conn *ctilink.Conn
	tls  bool
	// certFP and certCN identify the client certificate (TLS only); set
	// under Server.mu once the handshake is done.
	certFP, certCN string

	q        *queue
	done     chan struct{} // closed when the session is over
	doneOnce sync.Once
	writerWG sync.WaitGroup
	// dead stops new frames from being queued (closing or aborted).
	dead atomic.Bool

	serverHB atomic.Int64 // negotiated server heartbeat interval (ns), 0 before open
	clientHB atomic.Int64 // negotiated client heartbeat interval (ns)

	// Guarded by Server.mu.
	opened  bool // ProviderOpenCompleted OK sent
	opening bool // ProviderOpenRequest seen
	user    *user
	devices map[string]bool
	lines   map[lineKey]bool
	ports   map[string]bool // CTI ports this session registered
	rps     map[string]bool // route points this session registered
}

func (s *Server) startSession(n *node, nc net.Conn, tlsCfg *tls.Config) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		_ = nc.Close()
		return
	}
	s.nextID++
	id := fmt.Sprintf("%s-%s-%d", n.cfg.Name, s.runID, s.nextID)
	sess := &session{
		srv: s, node: n, id: id, raw: nc, tls: tlsCfg != nil,
		log:     n.log.With().Str("session", id).Str("remote", nc.RemoteAddr().String()).Logger(),
		q:       newQueue(s.cfg.SessionQueue),
		done:    make(chan struct{}),
		devices: map[string]bool{}, lines: map[lineKey]bool{},
		ports: map[string]bool{}, rps: map[string]bool{},
	}
	s.sessions[sess] = struct{}{}
	s.wg.Add(1)
	s.mu.Unlock()
	go sess.run(tlsCfg)
}

func (sess *session) run(tlsCfg *tls.Config) {
	defer sess.srv.wg.Done()
	defer sess.cleanup()
	nc := sess.raw
	if tlsCfg != nil {
		tc := tls.Server(nc, tlsCfg)
		ctx, cancel := context.WithTimeout(context.Background(), sess.srv.cfg.OpenTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			sess.log.Info().Err(err).Msg("TLS handshake failed")
			_ = nc.Close()
			return
		}
		cert := tc.ConnectionState().PeerCertificates[0]
		sum := sha256.Sum256(cert.Raw)
		sess.srv.mu.Lock()
		sess.certFP, sess.certCN = hex.EncodeToString(sum[:]), cert.Subject.CommonName
		sess.srv.mu.Unlock()
		sess.log.Debug().Str("instance_id", cert.Subject.CommonName).Msg("TLS client authenticated")
		if sess.srv.instanceCut(cert.Subject.CommonName) {
			sess.log.Info().Str("instance_id", cert.Subject.CommonName).Msg("fault: instance cut off: connection reset")
			if tcp, ok := sess.raw.(*net.TCPConn); ok {
				_ = tcp.SetLinger(0)
			}
			_ = nc.Close()
			return
		}
		nc = tc
	}
	sess.conn = ctilink.NewConn(nc, 0)
	sess.conn.SetWriteTimeout(sess.srv.cfg.WriteTimeout)
	sess.log.Debug().Bool("tls", sess.tls).Msg("session connected")
	sess.writerWG.Add(1)
	go sess.writeLoop()
	sess.readLoop()
}

// readLoop handles inbound frames until the connection fails or closes.
func (sess *session) readLoop() {
	for {
		timeout := sess.srv.cfg.OpenTimeout
		if c := time.Duration(sess.clientHB.Load()); c > 0 {
			timeout = 2 * c
		}
		_ = sess.conn.NetConn().SetReadDeadline(time.Now().Add(timeout))
		h, msg, err := sess.conn.Read()
		if err != nil {
			var ne net.Error
			switch {
			case errors.As(err, &ne) && ne.Timeout():
				sess.log.Info().Dur("silent_for", timeout).Msg("client silent for 2x its heartbeat interval: dropping it")
				sess.closeGracefully(ctilink.ProviderClosed{Reason: ctilink.CloseHeartbeatMissed,
					Description: fmt.Sprintf("no frame from the client for %v", timeout)})
				return
			case !ctilink.IsFatal(err):
				sess.log.Debug().Err(err).Stringer("type", h.Type).Msg("unusable frame")
				sess.send(ctilink.ErrorFor(h, err))
				continue
			case errors.Is(err, ctilink.ErrBadMagic), errors.Is(err, ctilink.ErrVersion),
				errors.Is(err, ctilink.ErrFlags), errors.Is(err, ctilink.ErrFrameTooLarge):
				sess.log.Info().Err(err).Msg("fatal frame error: closing")
				sess.sendThenClose(ctilink.ErrorFor(h, err))
				return
			default:
				if !sess.dead.Load() {
					sess.log.Debug().Err(err).Msg("connection ended")
				}
				return
			}
		}
		if !sess.handle(h, msg) {
			return
		}
	}
}

// waitWriter gives a graceful close a bounded time to reach the client.
func (sess *session) waitWriter() {
	t := time.NewTimer(2 * time.Second)
	defer t.Stop()
	select {
	case <-sess.done:
	case <-t.C:
	}
}

// closeGracefully queues ProviderClosed, lets the writer send it and close
// the connection, and waits (bounded) for that. Reader goroutine only.
func (sess *session) closeGracefully(pc ctilink.ProviderClosed) {
	sess.sendThenClose(pc)
}

// sendThenClose is closeWith followed by a bounded wait. Reader goroutine
// only, never under Server.mu.
func (sess *session) sendThenClose(msg ctilink.Message) {
	sess.closeWith(msg)
	sess.waitWriter()
}

// closeWith queues msg as the session's last frame: nothing is queued
// after it, and the writer closes the connection once it is written. It
// does not block and may be called with Server.mu held.
func (sess *session) closeWith(msg ctilink.Message) {
	if !sess.dead.Swap(true) {
		if !sess.q.push(outFrame{msg: msg, at: time.Now(), closeAfter: true}) {
			sess.abort("queue full while closing")
		}
	}
}

// send queues msg; it reports false (and closes the session) when the
// queue overflows. Safe with or without Server.mu held.
func (sess *session) send(msg ctilink.Message) bool {
	if sess.dead.Load() {
		return false
	}
	if !sess.q.push(outFrame{msg: msg, at: time.Now()}) {
		sess.log.Error().Int("queue_limit", sess.srv.cfg.SessionQueue).
			Msg("session outbound queue overflowed (client not reading fast enough): closing the session")
		sess.abort("queue overflow")
		return false
	}
	return true
}

// abort ends the session at once: the connection is closed without
// ProviderClosed and queued frames are recorded as not sent.
func (sess *session) abort(why string) {
	sess.dead.Store(true)
	sess.doneOnce.Do(func() {
		sess.log.Debug().Str("why", why).Msg("session aborted")
		close(sess.done)
	})
	_ = sess.raw.Close()
}

// reset ends the session with a TCP RST.
func (sess *session) reset() {
	if tc, ok := sess.raw.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	sess.abort("connection reset")
}

func (sess *session) cleanup() {
	sess.abort("reader ended")
	sess.writerWG.Wait()
	sess.srv.removeSession(sess)
	sess.log.Debug().Msg("session ended")
}

// writeLoop drains the queue. It sends a Heartbeat whenever nothing else
// was sent for the server heartbeat interval; while the node is stalled it
// sends nothing (queued frames are recorded as dropped); with a slow link
// each frame waits until it is delay old.
func (sess *session) writeLoop() {
	defer sess.writerWG.Done()
	hb := time.NewTimer(time.Hour)
	hb.Stop()
	armed := false
	arm := func() {
		if d := time.Duration(sess.serverHB.Load()); d > 0 {
			hb.Reset(d)
			armed = true
		}
	}
	var batch []outFrame
	popped := 0
	for {
		sess.q.release(popped)
		batch = sess.q.popBatch(batch[:0], 256)
		popped = len(batch)
		if len(batch) == 0 {
			if !armed {
				arm()
			}
			select {
			case <-sess.q.notify:
				continue
			case <-hb.C:
				armed = false
				batch = append(batch, outFrame{msg: ctilink.Heartbeat{}, at: time.Now()})
			case <-sess.done:
				sess.dropRest(DroppedKilled)
				return
			}
		}
		for i := 0; i < len(batch); {
			f := batch[i]
			if d := time.Duration(sess.node.delay.Load()); d > 0 {
				if wait := time.Until(f.at.Add(d)); wait > 0 {
					t := time.NewTimer(wait)
					select {
					case <-t.C:
					case <-sess.done:
						t.Stop()
						sess.recordDropped(batch[i:], DroppedKilled)
						sess.dropRest(DroppedKilled)
						return
					}
				}
			}
			if sess.node.stalled.Load() {
				if _, isHB := f.msg.(ctilink.Heartbeat); !isHB {
					sess.recordDropped(batch[i:i+1], DroppedStall)
				}
				if f.closeAfter {
					sess.abort("closed while stalled")
					sess.recordDropped(batch[i+1:], DroppedKilled)
					sess.dropRest(DroppedKilled)
					return
				}
				i++
				arm()
				continue
			}
			// Write every frame that is due now in one flush.
			j := i + 1
			for j < len(batch) && !batch[j-1].closeAfter && sess.node.delay.Load() == 0 {
				j++
			}
			select {
			case <-sess.done:
				sess.recordDropped(batch[i:], DroppedKilled)
				sess.dropRest(DroppedKilled)
				return
			default:
			}
			msgs := make([]ctilink.Message, 0, j-i)
			for _, f := range batch[i:j] {
				msgs = append(msgs, f.msg)
			}
			last, err := sess.conn.WriteBatch(msgs...)
			if err != nil {
				if !sess.dead.Load() {
					sess.log.Info().Err(err).Msg("write failed: closing the session")
				}
				sess.abort("write failed")
				sess.recordDropped(batch[i:], DroppedKilled)
				sess.dropRest(DroppedKilled)
				return
			}
			now := time.Now()
			first := last - uint32(j-i) + 1
			for k, f := range batch[i:j] {
				sess.srv.gt.record(Record{Session: sess.id, Node: sess.node.cfg.Name, Seq: first + uint32(k),
					Type: f.msg.Type().String(), Time: now, Sent: true, Msg: f.msg})
			}
			arm()
			if batch[j-1].closeAfter {
				sess.abort("closed gracefully")
				sess.dropRest(DroppedClosed)
				return
			}
			i = j
		}
	}
}

func (sess *session) recordDropped(frames []outFrame, why string) {
	now := time.Now()
	for _, f := range frames {
		if _, isHB := f.msg.(ctilink.Heartbeat); isHB {
			continue
		}
		sess.srv.gt.record(Record{Session: sess.id, Node: sess.node.cfg.Name, Type: f.msg.Type().String(),
			Time: now, Sent: false, Dropped: why, Msg: f.msg})
	}
}

func (sess *session) dropRest(why string) {
	var rest []outFrame
	for {
		rest = sess.q.popBatch(rest[:0], 1024)
		if len(rest) == 0 {
			return
		}
		sess.q.release(len(rest))
		sess.recordDropped(rest, why)
	}
}

func (sess *session) infoLocked() SessionInfo {
	info := SessionInfo{
		ID: sess.id, Node: sess.node.cfg.Name, Remote: sess.raw.RemoteAddr().String(), TLS: sess.tls,
		InstanceID: sess.certCN, Open: sess.opened, Devices: len(sess.devices), Lines: len(sess.lines),
		Queued:     sess.q.len(),
		ServerHBMs: time.Duration(sess.serverHB.Load()).Milliseconds(),
		ClientHBMs: time.Duration(sess.clientHB.Load()).Milliseconds(),
	}
	if sess.user != nil {
		info.Login = sess.user.cfg.Login
	}
	return info
}
