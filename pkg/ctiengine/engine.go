package ctiengine

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/rs/zerolog"
)

// Engine runs a Machine: it owns the single goroutine that steps it, the
// connection to the current CTIManager (and the goroutine reading it), the
// timers, the dialer and the Sink. Create it with New, run it with Run,
// stop it with Close.
type Engine struct {
	cfg   settings
	log   zerolog.Logger
	clock Clock
	sink  Sink
	// measure receives the machine's Measurements (Config.Measure).
	measure func(Measurement)
	m       *Machine
	cert    tls.Certificate
	pin     *trustPin

	inbox    chan inItem
	wake     chan struct{}
	cmds     chan command
	closeReq chan struct{}
	killReq  chan struct{}
	done     chan struct{}
	stopping chan struct{}

	closeOnce sync.Once
	killOnce  sync.Once
	running   atomic.Bool
	wg        sync.WaitGroup

	// Owned by the Run goroutine.
	links  map[LinkID]*linkConn
	timers [numTimers]Timer
	wlink  LinkID            // link of the frames in wbuf
	wbuf   []ctilink.Message // frames to write at the end of the loop iteration

	tmu sync.Mutex // guards due
	due [numTimers]bool

	ready    atomic.Bool
	provider atomic.Int32

	smu    sync.Mutex // guards cached
	cached Status
}

type linkConn struct {
	id   LinkID
	conn *ctilink.Conn
	done chan struct{}
}

type inKind uint8

const (
	inLinkUp inKind = iota + 1
	inLinkFailed
	inFrame
	inFrameErr
	inLinkDown
	inProbe
)

type inItem struct {
	kind inKind
	link LinkID
	conn *ctilink.Conn
	msg  ctilink.Message
	seq  uint32 // the frame's header sequence
	err  error
	node int
	ok   bool
}

type command struct {
	fallback bool
	status   chan Status
	// passive, if set, switches observe-only mode (SetPassive).
	passive *bool
	// cut starts a new event session (NewEventSession); cutDone is
	// closed once it has run.
	cut     func(session string)
	cutDone chan struct{}
}

// New validates cfg and returns an engine; it starts nothing.
func New(cfg Config) (*Engine, error) {
	err := cfg.Validate()
	if cfg.Sink == nil {
		err = errors.Join(err, errors.New("ctiengine: Sink is nil: give the engine somewhere to emit events"))
	}
	if err != nil {
		return nil, err
	}
	s := cfg.withDefaults()
	e := &Engine{
		cfg:      s,
		log:      cfg.Logger.With().Str("component", "ctiengine").Logger(),
		clock:    s.Clock,
		sink:     cfg.Sink,
		measure:  cfg.Measure,
		inbox:    make(chan inItem, 4096),
		wake:     make(chan struct{}, 1),
		cmds:     make(chan command, 8),
		closeReq: make(chan struct{}),
		killReq:  make(chan struct{}),
		done:     make(chan struct{}),
		stopping: make(chan struct{}),
		links:    make(map[LinkID]*linkConn),
	}
	if s.TLS.Enabled() {
		cert, err := loadClientCert(s.TLS.ClientCert, s.TLS.ClientKey, s.InstanceID)
		if err != nil {
			return nil, err
		}
		e.cert = cert
		warnCertValidity(e.log, s.TLS.ClientCert, cert.Leaf, s.Clock.Now())
		if e.pin, err = newTrustPin(s.TLS.TrustStore, e.log); err != nil {
			return nil, err
		}
	}
	e.m = NewMachine(cfg)
	e.provider.Store(int32(ProviderOutOfService))
	e.cached = e.m.Status()
	return e, nil
}

// Run connects and keeps the provider in service until Close is called,
// ctx ends, or the provider shuts down for good. It returns nil after
// Close, ctx.Err() when ctx ended (after the same orderly provider close),
// and otherwise the reason the provider shut down: an error wrapping
// ErrRetryAttemptsExceeded, ErrCertCompromised or ErrOpenRefused. Run may
// be called once.
func (e *Engine) Run(ctx context.Context) error {
	if !e.running.CompareAndSwap(false, true) {
		return errors.New("ctiengine: Run called more than once")
	}
	defer close(e.done)
	select {
	case <-e.closeReq:
		return nil
	default:
	}
	dialCtx, cancelDials := context.WithCancel(context.Background())
	defer func() {
		cancelDials()
		close(e.stopping)
		for id, lc := range e.links {
			lc.conn.Close()
			close(lc.done)
			delete(e.links, id)
		}
		for i, t := range e.timers {
			if t != nil {
				t.Stop()
				e.timers[i] = nil
			}
		}
		e.wg.Wait()
	}()
	e.log.Info().Str("bridge_instance", e.cfg.BridgeInstance).Int("ctimanagers", len(e.cfg.CTIManagers)).Msg("engine starting")
	e.apply(dialCtx, e.m.Step(e.clock.Now(), Start{}))
	ctxDone := ctx.Done()
	closeReq := e.closeReq
	var ctxErr error
	for !e.m.Done() {
		select {
		case it := <-e.inbox:
			e.handle(dialCtx, it)
		case <-e.wake:
			e.fireTimers(dialCtx)
		case c := <-e.cmds:
			// Timers that fired before the command was sent are handled
			// first, so a status request is a barrier for tests driving
			// a fake clock.
			e.fireTimers(dialCtx)
			if e.m.Done() {
				if c.status != nil {
					c.status <- e.m.Status()
				}
				break
			}
			switch {
			case c.passive != nil:
				e.apply(dialCtx, e.m.Step(e.clock.Now(), PassiveMode{On: *c.passive}))
			case c.cut != nil:
				e.apply(dialCtx, e.m.Step(e.clock.Now(), CutSession{}))
				c.cut(e.m.Session())
				close(c.cutDone)
			case c.status != nil:
				s := e.m.Status()
				e.smu.Lock()
				e.cached = s
				e.smu.Unlock()
				c.status <- s
			case c.fallback:
				e.apply(dialCtx, e.m.Step(e.clock.Now(), FallbackRequest{}))
			}
		case <-closeReq:
			closeReq = nil
			e.apply(dialCtx, e.m.Step(e.clock.Now(), ShutdownRequest{}))
		case <-ctxDone:
			ctxDone = nil
			ctxErr = ctx.Err()
			e.apply(dialCtx, e.m.Step(e.clock.Now(), ShutdownRequest{}))
		case <-e.killReq:
			// A crash, for tests and demos: the links close with
			// nothing more sent and nothing more emitted.
			return ErrKilled
		}
		// Handle what else has arrived before writing, so that replies
		// that came together are answered with one write.
	drain:
		for n := 0; n < maxDrain && !e.m.Done(); n++ {
			select {
			case it := <-e.inbox:
				e.handle(dialCtx, it)
			default:
				break drain
			}
		}
		e.flush(dialCtx)
	}
	s := e.m.Status()
	e.smu.Lock()
	e.cached = s
	e.smu.Unlock()
	if err := e.m.err; err != nil {
		return err
	}
	return ctxErr
}

// SetPriorGap makes Run start with a provider gap open for an outage that
// began before this run (see Machine.SetPriorGap). It must be called
// before Run.
func (e *Engine) SetPriorGap(g PriorGap) error {
	if e.running.Load() {
		return errors.New("ctiengine: SetPriorGap called after Run")
	}
	e.m.SetPriorGap(g)
	return nil
}

// Close closes the provider in order (ProviderCloseRequest with
// APPLICATIONREQUEST, bounded by CloseTimeout; then ProvShutdownEv) and
// waits for Run to return. It is idempotent.
func (e *Engine) Close() error {
	e.closeOnce.Do(func() { close(e.closeReq) })
	if !e.running.Load() {
		return nil
	}
	bound := time.NewTimer(2*e.cfg.CloseTimeout + 5*time.Second)
	defer bound.Stop()
	select {
	case <-e.done:
		return nil
	case <-bound.C:
		return errors.New("ctiengine: Close timed out waiting for the engine to stop")
	}
}

// SetPassive switches observe-only mode (see PassiveMode). It
// blocks until the engine takes the command or stops.
func (e *Engine) SetPassive(on bool) {
	select {
	case e.cmds <- command{passive: &on}:
	case <-e.done:
	}
}

// ErrKilled is returned by Run after Kill.
var ErrKilled = errors.New("ctiengine: killed")

// Kill stops the engine as a crash would: its CTIManager connections are
// closed at once, with no provider close request and no further event
// (CTIManager sees the client vanish). For tests and demos of a process
// dying; Close is the orderly stop. It waits for Run to return.
func (e *Engine) Kill() {
	e.killOnce.Do(func() { close(e.killReq) })
	if e.running.Load() {
		<-e.done
	}
}

// NewEventSession starts a new event session on the provider's current
// link: the events from now on carry a new session id with every
// sequence restarting at 1, as after a reconnection, though nothing
// happened on the link. A hot standby bridge cuts its session when it
// takes over and when it steps down, so that the events it publishes and
// those it only kept never share a session. onCut runs on the engine's
// goroutine with the new session id, after the last event of the old
// session and before the first of the new one. It returns once onCut
// has run, or an error if the engine is not running.
func (e *Engine) NewEventSession(ctx context.Context, onCut func(session string)) error {
	c := command{cut: onCut, cutDone: make(chan struct{})}
	select {
	case e.cmds <- c:
	case <-e.done:
		return errors.New("ctiengine: NewEventSession: the engine is not running")
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-c.cutDone:
		return nil
	case <-e.done:
		return errors.New("ctiengine: NewEventSession: the engine stopped")
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Done is closed when Run has returned.
func (e *Engine) Done() <-chan struct{} { return e.done }

// InitiateFallback asks for an early fallback off the least-priority
// CTIManager (ignored when not on it).
func (e *Engine) InitiateFallback() {
	select {
	case e.cmds <- command{fallback: true}:
	default:
	}
}

// Ready reports whether the provider is in service. It is cheap and safe
// from any goroutine.
func (e *Engine) Ready() bool { return e.ready.Load() }

// Status returns a snapshot of the engine. It is safe from any goroutine;
// while Run is active it asks the engine's goroutine (waiting at most a
// second, else it returns the last snapshot with the current provider
// state), so it should not be called from Sink.Emit. Timers that fired
// before the call are handled first.
func (e *Engine) Status() Status {
	if e.running.Load() {
		reply := make(chan Status, 1)
		t := time.NewTimer(time.Second)
		defer t.Stop()
		select {
		case e.cmds <- command{status: reply}:
			select {
			case s := <-reply:
				return s
			case <-t.C:
			case <-e.done:
			}
		case <-t.C:
		case <-e.done:
		}
	}
	e.smu.Lock()
	s := e.cached
	e.smu.Unlock()
	s.Ready = e.ready.Load()
	s.Provider = ProviderState(e.provider.Load()).String()
	return s
}

func (e *Engine) post(it inItem, linkDone <-chan struct{}) bool {
	select {
	case e.inbox <- it:
		return true
	case <-linkDone:
		return false
	case <-e.stopping:
		return false
	}
}

func (e *Engine) handle(ctx context.Context, it inItem) {
	now := e.clock.Now()
	switch it.kind {
	case inLinkUp:
		lc := &linkConn{id: it.link, conn: it.conn, done: make(chan struct{})}
		e.links[it.link] = lc
		e.apply(ctx, e.m.Step(now, LinkEstablished{Link: it.link}))
		if _, ok := e.links[it.link]; ok {
			e.wg.Add(1)
			go e.readLoop(lc)
		}
	case inLinkFailed:
		e.apply(ctx, e.m.Step(now, LinkFailed{Link: it.link, Err: it.err}))
	case inFrame:
		e.apply(ctx, e.m.Step(now, FrameIn{Link: it.link, Seq: it.seq, Msg: it.msg}))
	case inFrameErr:
		e.apply(ctx, e.m.Step(now, FrameError{Link: it.link, Err: it.err}))
	case inLinkDown:
		e.apply(ctx, e.m.Step(now, LinkDown{Link: it.link, Err: it.err}))
	case inProbe:
		e.apply(ctx, e.m.Step(now, ProbeResult{Node: it.node, OK: it.ok}))
	}
}

func (e *Engine) readLoop(lc *linkConn) {
	defer e.wg.Done()
	for {
		h, msg, err := lc.conn.Read()
		if err != nil {
			if !ctilink.IsFatal(err) {
				if !e.post(inItem{kind: inFrameErr, link: lc.id, err: err}, lc.done) {
					return
				}
				continue
			}
			e.post(inItem{kind: inLinkDown, link: lc.id, err: err}, lc.done)
			return
		}
		if !e.post(inItem{kind: inFrame, link: lc.id, msg: msg, seq: h.Sequence}, lc.done) {
			return
		}
	}
}

func (e *Engine) timerFired(id TimerID) {
	e.tmu.Lock()
	e.due[id] = true
	e.tmu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

func (e *Engine) fireTimers(ctx context.Context) {
	e.tmu.Lock()
	due := e.due
	e.due = [numTimers]bool{}
	e.tmu.Unlock()
	for id, d := range due {
		if d && !e.m.Done() {
			e.apply(ctx, e.m.Step(e.clock.Now(), TimerFired{ID: TimerID(id)}))
		}
	}
}

// maxDrain bounds the inbox items handled before pending frames are
// written.
const maxDrain = 256

// flush writes the frames collected since the last flush in one batch. A
// write error is fed back to the machine as the link going down.
func (e *Engine) flush(ctx context.Context) {
	for len(e.wbuf) > 0 {
		link := e.wlink
		var err error
		if lc := e.links[link]; lc != nil {
			_, err = lc.conn.WriteBatch(e.wbuf...)
		}
		clear(e.wbuf)
		e.wbuf = e.wbuf[:0]
		if cap(e.wbuf) > maxRetained {
			e.wbuf = nil
		}
		if err == nil || e.m.Done() {
			return
		}
		if peerClosed(err) {
			// CTIManager closed the link. What it sent before closing —
			// a ProviderClosed naming the reason, DUPLICATECERTUSED say —
			// may still wait in the receive buffer: the link's reader
			// hands it over and then reports the end of the link itself
			// (a closed peer ends every read). Declaring the link down
			// here would throw the reason away with the unread frames.
			e.log.Debug().Err(err).Msg("write to a link CTIManager closed; its reader reports the end")
			return
		}
		e.apply(ctx, e.m.Step(e.clock.Now(), LinkDown{Link: link, Err: err}))
	}
}

// peerClosed: a write failed because the peer closed or reset the
// connection (not a timeout, not our own close), so the reader will see
// the end of the link too, after whatever the peer sent before.
func peerClosed(err error) bool {
	return errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// apply carries out one Output (see Output for the order). Frames are
// collected and written by flush at the end of the loop iteration, in
// order.
func (e *Engine) apply(ctx context.Context, out *Output) {
	if len(out.Send) > 0 {
		if e.wlink != out.SendLink && len(e.wbuf) > 0 {
			// The machine has moved to another link: the old one's
			// frames go out best effort (it no longer cares about that
			// link's errors, and out must not be overwritten here).
			if lc := e.links[e.wlink]; lc != nil {
				_, _ = lc.conn.WriteBatch(e.wbuf...)
			}
			clear(e.wbuf)
			e.wbuf = e.wbuf[:0]
		}
		e.wlink = out.SendLink
		e.wbuf = append(e.wbuf, out.Send...)
	}
	if out.Hangup != 0 {
		if e.wlink == out.Hangup {
			// Frames for a link being dropped are moot.
			clear(e.wbuf)
			e.wbuf = e.wbuf[:0]
		}
		if lc := e.links[out.Hangup]; lc != nil {
			lc.conn.Close()
			close(lc.done)
			delete(e.links, out.Hangup)
		}
	}
	if out.Dial != nil {
		req := *out.Dial
		e.wg.Add(1)
		go e.dial(ctx, req)
	}
	for _, p := range out.Probes {
		e.wg.Add(1)
		go e.probe(ctx, p)
	}
	now := e.clock.Now()
	for _, op := range out.Timers {
		if t := e.timers[op.ID]; t != nil {
			t.Stop()
			e.timers[op.ID] = nil
		}
		if !op.At.IsZero() {
			id := op.ID
			d := op.At.Sub(now)
			if d <= 0 {
				e.timerFired(id)
				continue
			}
			e.timers[id] = e.clock.AfterFunc(d, func() { e.timerFired(id) })
		}
	}
	for i := range out.Events {
		e.sink.Emit(out.Events[i])
	}
	for _, t := range out.Transitions {
		e.log.Info().Str("kind", t.Kind).Str("from", t.From).Str("to", t.To).Str("reason", t.Reason).
			Str("ctimanager", t.CTIManager).Msg("state transition")
	}
	for _, n := range out.Notes {
		ev := e.log.WithLevel(n.Level)
		if n.CTIManager != "" {
			ev = ev.Str("ctimanager", n.CTIManager)
		}
		if n.Err != nil {
			ev = ev.Err(n.Err)
		}
		if n.Level == zerolog.ErrorLevel && errors.Is(n.Err, ErrCertCompromised) {
			ev = ev.Str("action", "configure a new instanceId and client certificate (the current one is refused by CTIManager)")
		}
		ev.Msg(n.Msg)
	}
	if e.measure != nil {
		for _, m := range out.Measurements {
			e.measure(m)
		}
	}
	prov := e.m.Provider()
	e.provider.Store(int32(prov))
	e.ready.Store(prov == ProviderInService)
}

func (e *Engine) dial(ctx context.Context, req DialRequest) {
	defer e.wg.Done()
	conn, err := e.connect(ctx, req)
	if err == nil {
		if err = e.permit(); err != nil {
			conn.Close()
		}
	}
	if err != nil {
		e.post(inItem{kind: inLinkFailed, link: req.Link, err: err}, nil)
		return
	}
	if !e.post(inItem{kind: inLinkUp, link: req.Link, conn: conn}, nil) {
		conn.Close()
	}
}

// permit asks Config.DialPermit, if any.
func (e *Engine) permit() error {
	if e.cfg.DialPermit == nil {
		return nil
	}
	if err := e.cfg.DialPermit(); err != nil {
		return fmt.Errorf("ctiengine: not permitted to open a provider: %w", err)
	}
	return nil
}

func (e *Engine) connect(ctx context.Context, req DialRequest) (*ctilink.Conn, error) {
	if err := e.permit(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", req.Addr)
	if err != nil {
		return nil, err
	}
	if e.cfg.wrapConn != nil {
		nc = e.cfg.wrapConn(nc)
	}
	if req.TLS {
		tc := tls.Client(nc, e.tlsConfig(req.CTIManager))
		if err := tc.HandshakeContext(ctx); err != nil {
			nc.Close()
			return nil, err
		}
		nc = tc
	}
	conn := ctilink.NewConn(nc, e.cfg.MaxFrameSize)
	conn.SetWriteTimeout(e.cfg.CtiRequestTimeout)
	return conn, nil
}

func (e *Engine) probe(ctx context.Context, p ProbeRequest) {
	defer e.wg.Done()
	ctx, cancel := context.WithTimeout(ctx, e.cfg.ConnectTimeout)
	defer cancel()
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", p.Addr)
	if err == nil {
		nc.Close()
	}
	e.post(inItem{kind: inProbe, node: p.Node, ok: err == nil}, nil)
}
