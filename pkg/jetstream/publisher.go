package jetstream

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Publisher defaults.
const (
	DefaultBufferSize      = 500_000
	DefaultBufferBytes     = 256 << 20
	DefaultMaxInFlight     = 1024
	DefaultAckTimeout      = 5 * time.Second
	DefaultRetryBackoff    = 20 * time.Millisecond
	DefaultMaxRetryBackoff = time.Second
)

// sendBatch is how many messages the sender takes from the buffer per
// lock acquisition.
const sendBatch = 256

// permitPoll is how often a publisher held by Config.Permit looks again.
const permitPoll = 20 * time.Millisecond

// Message is one event ready to publish: a schema.Msg converts directly.
type Message struct {
	// Subject is the NATS subject (cti.<cluster>.<family>...).
	Subject string
	// ID is the CloudEvent id; it becomes the Nats-Msg-Id, so a resend is
	// recognised by the server as a duplicate.
	ID string
	// EntityKey is the ordering key: messages with the same key reach the
	// stream in Publish order. Empty means the subject without its last
	// token (schema.EntityKey).
	EntityKey string
	Header    nats.Header
	Data      []byte
}

// FromSchema converts an encoded schema message.
func FromSchema(m schema.Msg) Message {
	return Message{Subject: m.Subject, ID: m.ID, EntityKey: m.EntityKey, Header: nats.Header(m.Header), Data: m.Data}
}

func (m *Message) size() int64 {
	n := len(m.Subject) + len(m.ID) + len(m.Data)
	for k, vs := range m.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return int64(n)
}

// Config configures a Publisher. Zero values take the defaults.
type Config struct {
	// Conn is the NATS connection (Connect, or Embedded.Connect). Required.
	Conn *nats.Conn
	// Encoder encodes the PublishGap records the publisher originates.
	// Required: without it a buffer overflow could not be recorded.
	Encoder *schema.Encoder
	// GapSession is the session part of PublishGap event ids. It must be
	// unique per process run, or a gap record could be taken for a
	// duplicate of an earlier run's record inside the dedupe window.
	// Default: "publisher-" + 16 random hex digits.
	GapSession string
	// Instance is copied into the gap records' bridge data.
	Instance string

	// BufferSize bounds the buffered messages (queued, in flight and
	// awaiting a resend); default 500,000. It must be ≥ MaxInFlight.
	BufferSize int
	// BufferBytes bounds their size (subject, id, headers, data); default
	// 256 MiB.
	BufferBytes int64
	// MaxInFlight bounds the messages sent and not yet resolved (acked,
	// or failed and awaiting resend); default 1024.
	MaxInFlight int
	// SerialPerEntity keeps at most one message per entity in flight at
	// all times (entities still pipeline among themselves), instead of
	// only after a failure: per-entity order then holds whatever the
	// server answers. Set it for a replicated stream, where a new leader
	// can store a later message of an entity while the previous one was
	// refused (no responders) during the election. See docs/jetstream.md.
	SerialPerEntity bool
	// AckTimeout is how long an ack may take before the outcome is
	// treated as unknown and the message resent; default 5 s.
	AckTimeout time.Duration
	// RetryBackoff is the first pause after a failed publish, doubled on
	// each further failure up to MaxRetryBackoff and reset by an ack;
	// defaults 20 ms and 1 s.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration

	// AckLatency, if set, observes the time from Publish to the PubAck of
	// every message (buffering and resends included). It runs on the
	// nats.go ack goroutine: it must be fast and must not block.
	AckLatency func(time.Duration)
	// EventLatency, if set, observes for every event published by Emit the
	// time from its CTI frame being read (the event's Times.Received) to
	// its PubAck: the bridge's end-to-end latency, the engine and the
	// encoder included. Events without a receive time are not observed.
	// Same rules as AckLatency.
	EventLatency func(time.Duration)
	// Stream names the stream that stores the messages. If set, a message
	// refused 10158 "duplicate message id is in process" at every send for
	// StuckInProcess makes the publisher ask the stream's leader to step
	// down (at most once per StuckInProcess): a nats-server defect can
	// leave a message's id staged on a leader for the whole dedupe window
	// (stuck.go, docs/jetstream.md). Empty: never.
	Stream string
	// StuckInProcess is that time; default 3 × AckTimeout. A normal
	// "in process" refusal lasts one ack round trip.
	StuckInProcess time.Duration

	// Logger receives state changes (publishing failing/recovered, gaps);
	// default zerolog.Nop().
	Logger zerolog.Logger
	// Now is the clock for enqueue times, gap records and StuckInProcess;
	// default time.Now.
	Now func() time.Time

	// Permit, if set, is asked before every batch is sent: false holds
	// sending (messages stay buffered). A high-availability bridge passes
	// its lease check here, so that a process resumed after its lease
	// deadline (paused, starved) sends nothing before it demotes itself.
	// It must be fast and safe for concurrent use.
	Permit func() bool
	// OnFenced, if set, is called once per fence when the server refuses a
	// message because the fence's subject moved on (a newer epoch wrote its
	// marker): see SetFence. Sending stops at once. It runs on a nats.go
	// goroutine and must not block.
	OnFenced func(f Fence, err error)
}

func (c *Config) setDefaults() {
	if c.BufferSize == 0 {
		c.BufferSize = DefaultBufferSize
	}
	if c.BufferBytes == 0 {
		c.BufferBytes = DefaultBufferBytes
	}
	if c.MaxInFlight == 0 {
		c.MaxInFlight = DefaultMaxInFlight
	}
	if c.AckTimeout == 0 {
		c.AckTimeout = DefaultAckTimeout
	}
	if c.RetryBackoff == 0 {
		c.RetryBackoff = DefaultRetryBackoff
	}
	if c.MaxRetryBackoff == 0 {
		c.MaxRetryBackoff = DefaultMaxRetryBackoff
	}
	if c.StuckInProcess == 0 {
		c.StuckInProcess = 3 * c.AckTimeout
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.GapSession == "" {
		var b [8]byte
		_, _ = rand.Read(b[:])
		c.GapSession = "publisher-" + hex.EncodeToString(b[:])
	}
}

// Validate reports every problem with the settings as New applies them
// (zero values take their defaults). The wiring (Conn, Encoder) is New's
// to check, so settings translated from a file can be validated before a
// connection exists.
func (c *Config) Validate() error {
	d := *c
	d.setDefaults()
	return d.validate()
}

func (c *Config) validate() error {
	var errs []error
	if c.BufferSize < 0 {
		errs = append(errs, fmt.Errorf("jetstream: BufferSize %d is negative: use 0 for the default (%d) or a positive count", c.BufferSize, DefaultBufferSize))
	}
	if c.BufferBytes < 0 {
		errs = append(errs, fmt.Errorf("jetstream: BufferBytes %d is negative: use 0 for the default (%d) or a positive size", c.BufferBytes, DefaultBufferBytes))
	}
	if c.MaxInFlight < 0 {
		errs = append(errs, fmt.Errorf("jetstream: MaxInFlight %d is negative: use 0 for the default (%d) or a positive count", c.MaxInFlight, DefaultMaxInFlight))
	}
	if c.BufferSize > 0 && c.MaxInFlight > c.BufferSize {
		errs = append(errs, fmt.Errorf("jetstream: MaxInFlight %d exceeds BufferSize %d: raise BufferSize or lower MaxInFlight", c.MaxInFlight, c.BufferSize))
	}
	if c.AckTimeout < 0 {
		errs = append(errs, fmt.Errorf("jetstream: AckTimeout %s is negative: use 0 for the default (%s)", c.AckTimeout, DefaultAckTimeout))
	}
	if c.RetryBackoff < 0 || c.MaxRetryBackoff < 0 || (c.MaxRetryBackoff > 0 && c.RetryBackoff > c.MaxRetryBackoff) {
		errs = append(errs, fmt.Errorf("jetstream: RetryBackoff %s / MaxRetryBackoff %s: both must be ≥ 0 and RetryBackoff ≤ MaxRetryBackoff", c.RetryBackoff, c.MaxRetryBackoff))
	}
	if c.StuckInProcess < 0 {
		errs = append(errs, fmt.Errorf("jetstream: StuckInProcess %s is negative: use 0 for the default (3 × AckTimeout)", c.StuckInProcess))
	}
	if err := checkStreamName("Stream", c.Stream); err != nil {
		errs = append(errs, err)
	}
	if strings.ContainsAny(c.GapSession, " \t\r\n") {
		errs = append(errs, fmt.Errorf("jetstream: GapSession %q contains whitespace: use a plain token", c.GapSession))
	}
	return errors.Join(errs...)
}

// Stats is a snapshot of the publisher's counters.
type Stats struct {
	// Buffered messages (queued, in flight, awaiting a resend) and their
	// size in bytes.
	Buffered      int
	BufferedBytes int64
	// InFlight messages sent and not yet resolved.
	InFlight int
	// Published counts sends (first sends and resends).
	Published uint64
	// Acked counts messages acknowledged by the stream (each once).
	Acked uint64
	// Duplicates counts acks flagged Duplicate: a resend of a message the
	// stream already held.
	Duplicates uint64
	// Resends counts sends after an error or timeout; Errors counts those
	// unknown outcomes by kind.
	Resends uint64
	Errors  PublishErrors
	// Dropped counts messages discarded because the buffer was full;
	// Rejected those the server refused for good (e.g. too large). Both
	// are reported by PublishGap records.
	Dropped  uint64
	Rejected uint64
	// Reordered counts messages stored after a later message of their
	// entity: the server refused one (503/429) while storing the next,
	// already in flight. Never expected on a single server; logged.
	Reordered uint64
	// Gaps counts PublishGap records acknowledged by the stream.
	Gaps uint64
	// Connected is the connection state; Reconnects counts reconnections.
	Connected  bool
	Reconnects uint64
	// Held: sending is held (Hold), e.g. until the stream is provisioned.
	Held bool
	// LastError is the last publish error (nil if none yet), at
	// LastErrorAt.
	LastError   error
	LastErrorAt time.Time
	// Discarded counts messages dropped by Suspend (a demoted
	// high-availability bridge's unpublished events, which its successor
	// accounts for); Fenced counts refusals by the log fence.
	Discarded uint64
	Fenced    uint64
	// Suspended is true between Suspend (or a fence refusal) and SetFence.
	Suspended bool
	// StepDowns counts the stream-leader step-downs the publisher asked
	// for (a message stuck "in process": Config.Stream) and the server
	// did; StepDownsFailed those refused or unanswered.
	StepDowns       uint64
	StepDownsFailed uint64
}

// Publisher publishes messages to JetStream, pipelined, exactly once in
// the stream and in order per entity. See the package documentation.
type Publisher struct {
	cfg Config
	nc  *nats.Conn
	js  natsjs.JetStream
	log zerolog.Logger
	// pubOpts are the options of every send, built once: a variadic
	// argument list per send would be an allocation per message.
	pubOpts []natsjs.PublishOpt
	wake    chan struct{}
	running atomic.Bool
	// held stops sending as a disconnect does (publisher_hold.go).
	held atomic.Bool

	mu sync.Mutex // guards the following fields
	// buf holds every message from Publish to ack or drop.
	buf *buffer
	// inflight maps the *nats.Msg of each unresolved send to its entry.
	inflight map[*nats.Msg]*entry
	closed   bool
	// drained is closed (and reset) when the buffer empties; Flush waits on it.
	drained chan struct{}
	// overflow and rejects accumulate drops until a gap record reports them.
	overflow, rejects gapAcc
	// spare holds entries for reuse (publisher_entries.go).
	spare          []*entry
	gapSeq         uint64
	gapOutstanding bool
	// backoff is the current pause length; sending resumes at pauseUntil.
	backoff    time.Duration
	pauseUntil time.Time
	failing    bool
	encodeErr  error
	st         Stats
	// fence, when set, is stamped on every send (SetFence); suspended
	// holds sending until the next SetFence.
	fence     *fenceState
	suspended bool
	// stepDown is a step-down Run should request (stuck.go), asked at
	// lastStepDown; stepDowns tracks the requests under way.
	stepDown     *stuckMessage
	lastStepDown time.Time
	stepDowns    sync.WaitGroup
}

// New validates cfg and builds a Publisher. It starts nothing: call Run.
func New(cfg Config) (*Publisher, error) {
	cfg.setDefaults()
	var errs []error
	if cfg.Conn == nil {
		errs = append(errs, errors.New("jetstream: Conn is required: pass the *nats.Conn from Connect or Embedded.Connect"))
	}
	if cfg.Encoder == nil {
		errs = append(errs, errors.New("jetstream: Encoder is required to publish PublishGap records: pass schema.NewEncoder(...)"))
	}
	if err := errors.Join(append(errs, cfg.validate())...); err != nil {
		return nil, err
	}
	p := &Publisher{
		cfg:      cfg,
		nc:       cfg.Conn,
		log:      cfg.Logger.With().Str("component", "jetstream.publisher").Logger(),
		pubOpts:  []natsjs.PublishOpt{natsjs.WithRetryAttempts(0)},
		wake:     make(chan struct{}, 1),
		buf:      newBuffer(int64(cfg.BufferSize), cfg.BufferBytes),
		inflight: make(map[*nats.Msg]*entry),
	}
	if cfg.SerialPerEntity {
		p.buf.serializeEntities()
	}
	js, err := natsjs.New(cfg.Conn,
		natsjs.WithPublishAsyncAckHandler(p.onAck),
		natsjs.WithPublishAsyncErrHandler(p.onErr),
		// nats.go's own cap sits above ours: a stale send the library
		// still tracks must never stall the sender.
		natsjs.WithPublishAsyncMaxPending(2*cfg.MaxInFlight+64),
		natsjs.WithPublishAsyncTimeout(cfg.AckTimeout),
	)
	if err != nil {
		return nil, fmt.Errorf("jetstream: %w", err)
	}
	p.js = js
	return p, nil
}

// Publish enqueues msg and returns at once; it never blocks on NATS. The
// publisher takes ownership of msg.Header and msg.Data (it adds the
// Nats-Msg-Id header). When the buffer is full the oldest messages never
// sent yet are dropped, counted, and reported by a PublishGap record;
// Publish itself does not fail for that. It returns ErrClosed after Close
// and wraps ErrInvalidMessage for a message without subject or id.
func (p *Publisher) Publish(msg Message) error {
	return p.publish(msg, schema.Lease{}, p.cfg.Now(), time.Time{})
}

// PublishEncoded is Publish for a message made by a schema.Encoder, of
// which the publisher takes full ownership: once the message can no
// longer be sent (acknowledged, rejected for good, dropped, or not
// accepted at all) its memory goes back to the encoder for later
// messages (schema.Lease). The caller must not use m.Header or m.Data
// after the call, whatever it returns; the strings stay valid. This is
// what Emit does; it saves most of the encoder's garbage.
func (p *Publisher) PublishEncoded(m schema.Msg) error {
	return p.PublishEncodedAt(m, time.Time{})
}

// PublishEncodedAt is PublishEncoded for the encoding of an event whose
// CTI frame was read at received (the event's Received time; zero:
// unknown): [Config.EventLatency] observes it from then to its PubAck.
// Emit passes it; a caller that encodes events itself does too.
func (p *Publisher) PublishEncodedAt(m schema.Msg, received time.Time) error {
	err := p.publish(FromSchema(m), m.Lease(), p.cfg.Now(), received)
	if err != nil {
		m.Release() // not buffered
	}
	return err
}

// publish buffers msg, enqueued at enq (its event read at received, if
// known); lease, if any, is released once nothing can send the message
// again (freeLocked).
func (p *Publisher) publish(msg Message, lease schema.Lease, enq, received time.Time) error {
	if msg.Subject == "" || msg.ID == "" {
		return fmt.Errorf("%w: subject %q, id %q: both are required", ErrInvalidMessage, msg.Subject, msg.ID)
	}
	if msg.EntityKey == "" {
		msg.EntityKey = schema.EntityKey(msg.Subject)
	}
	if msg.Header == nil {
		msg.Header = make(nats.Header, 1)
	}
	size := msg.size()
	setMsgID(&msg)

	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return ErrClosed
	}
	e := p.newEntryLocked(msg, size, enq, lease)
	e.received = received
	p.addLocked(e)
	p.mu.Unlock()
	p.signal()
	return nil
}

func newNatsMsg(m *Message) *nats.Msg {
	return &nats.Msg{Subject: m.Subject, Header: m.Header, Data: m.Data}
}

// setMsgID makes the Nats-Msg-Id header carry m.ID, once, instead of
// natsjs.WithMsgID doing it at every send (a closure and a header value
// allocated per message). The message on the wire is the same: the
// encoder's messages already carry the header, so usually nothing is
// written. m.Header must not be nil.
func setMsgID(m *Message) {
	if v := m.Header[natsjs.MsgIDHeader]; len(v) == 1 && v[0] == m.ID {
		return
	}
	m.Header[natsjs.MsgIDHeader] = []string{m.ID}
}

// addLocked buffers e and accounts for what the bound evicted.
func (p *Publisher) addLocked(e *entry) {
	var scratch [4]*entry
	for _, v := range p.buf.add(e, scratch[:0]) {
		p.overflow.add(v)
		p.st.Dropped++
		p.freeLocked(v) // never sent: nothing else refers to it
	}
}

// Close stops accepting messages; buffered ones keep being published
// while Run runs (use Flush to wait for them). Idempotent.
func (p *Publisher) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
}

// Flush waits until every buffered message is acknowledged and every drop
// has been reported by an acknowledged gap record, or ctx ends. Run must
// be running for it to make progress.
func (p *Publisher) Flush(ctx context.Context) error {
	for {
		p.mu.Lock()
		if p.idleLocked() {
			p.mu.Unlock()
			return nil
		}
		if p.drained == nil {
			p.drained = make(chan struct{})
		}
		ch, n := p.drained, p.buf.msgs
		p.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("jetstream: flush: %d messages still buffered: %w", n, ctx.Err())
		}
	}
}

// ErrFlushStalled is returned by FlushProgressing when the stream
// acknowledged nothing for the stall time.
var ErrFlushStalled = errors.New("jetstream: flush stalled: nothing acknowledged")

// FlushProgressing is Flush for as long as the stream keeps taking
// messages: it returns nil once every buffered message is acknowledged
// (as Flush), an error wrapping ErrFlushStalled when no message was
// acknowledged for stall, or ctx's error. A slow stream (a busy server, a
// burst buffered behind it) is waited for; one that takes nothing is not.
// Meant for a buffer that no longer grows (the producer stopped): under a
// steady flow of new messages it may not return before ctx ends.
func (p *Publisher) FlushProgressing(ctx context.Context, stall time.Duration) error {
	for {
		acked := p.Stats().Acked
		sctx, cancel := context.WithTimeout(ctx, stall)
		err := p.Flush(sctx)
		cancel()
		switch {
		case err == nil:
			return nil
		case ctx.Err() != nil:
			return err
		case p.Stats().Acked == acked:
			p.mu.Lock()
			n := p.buf.msgs
			p.mu.Unlock()
			return fmt.Errorf("%w for %v, %d messages still buffered", ErrFlushStalled, stall, n)
		}
	}
}

func (p *Publisher) idleLocked() bool {
	return p.buf.msgs == 0 && p.overflow.count == 0 && p.rejects.count == 0
}

func (p *Publisher) checkDrainedLocked() {
	if p.drained != nil && p.idleLocked() {
		close(p.drained)
		p.drained = nil
	}
}

// Stats returns a snapshot of the counters.
func (p *Publisher) Stats() Stats {
	p.mu.Lock()
	s := p.st
	s.Buffered = int(p.buf.msgs)
	s.BufferedBytes = p.buf.bytes
	s.InFlight = p.buf.inflight
	s.Suspended = p.suspended
	p.mu.Unlock()
	s.Connected = p.nc.IsConnected()
	s.Reconnects = p.nc.Stats().Reconnects
	s.Held = p.held.Load()
	return s
}

func (p *Publisher) signal() {
	select {
	case p.wake <- struct{}{}:
	default:
	}
}

// Run publishes until ctx ends; it returns nil then, or an error if a gap
// record cannot be encoded (a configuration bug that would otherwise hide
// a loss). Messages still buffered stay buffered: call Flush before
// cancelling ctx for a graceful stop. Returns ErrRunning if already
// running.
func (p *Publisher) Run(ctx context.Context) error {
	if !p.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer p.running.Store(false)
	defer p.stepDowns.Wait()
	status := p.nc.StatusChanged(nats.CONNECTED, nats.DISCONNECTED, nats.RECONNECTING, nats.CLOSED)
	defer p.nc.RemoveStatusListener(status)

	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	batch := make([]*entry, 0, sendBatch)
	for {
		if ctx.Err() != nil {
			return nil
		}
		connected := p.nc.IsConnected() && !p.held.Load()
		var wait time.Duration
		p.mu.Lock()
		if err := p.encodeErr; err != nil {
			p.mu.Unlock()
			return err
		}
		permitted := p.cfg.Permit == nil || p.cfg.Permit()
		if !permitted && !p.suspended && p.buf.msgs > 0 {
			// The permission may come back by itself (a lease renewal
			// answered late): look again shortly.
			wait = permitPoll
		}
		if connected && !p.suspended && permitted {
			if err := p.maybeGapLocked(); err != nil {
				p.encodeErr = err
				p.mu.Unlock()
				return err
			}
			if now := time.Now(); now.Before(p.pauseUntil) {
				wait = p.pauseUntil.Sub(now)
			} else {
				batch = p.takeLocked(batch)
			}
		}
		stuck := p.stepDown
		p.stepDown = nil
		p.mu.Unlock()

		if stuck != nil {
			p.stepDowns.Add(1)
			go func() {
				defer p.stepDowns.Done()
				p.requestStepDown(ctx, *stuck)
			}()
		}

		if len(batch) > 0 {
			p.send(batch)
			clear(batch)
			batch = batch[:0]
			continue
		}
		var tc <-chan time.Time
		if wait > 0 {
			timer.Reset(wait)
			tc = timer.C
		}
		select {
		case <-ctx.Done():
			return nil
		case <-p.wake:
		case <-status:
		case <-tc:
		}
		if tc != nil {
			timer.Stop() // Go ≥ 1.23: no stale fire can be received after Stop
		}
	}
}

// takeLocked moves up to a batch of sendable entries in flight.
func (p *Publisher) takeLocked(batch []*entry) []*entry {
	limit := p.cfg.MaxInFlight
	if f := p.fence; f != nil && f.f.Replicated {
		limit = 1
	}
	for len(batch) < cap(batch) && p.buf.inflight < limit {
		e := p.buf.next()
		if e == nil {
			break
		}
		if e.attempts > 1 {
			// A fresh *nats.Msg per attempt: a late callback for an
			// earlier attempt then finds nothing and cannot be taken for
			// this one.
			e.nm = newNatsMsg(&e.msg)
			p.st.Resends++
		}
		if f := p.fence; f != nil {
			f.stamp(e.nm.Header)
		}
		p.inflight[e.nm] = e
		p.st.Published++
		batch = append(batch, e)
	}
	return batch
}

// send hands a batch to nats.go. No lock is held: the library may run
// callbacks (which take p.mu) under its own lock.
func (p *Publisher) send(batch []*entry) {
	for _, e := range batch {
		nm := e.nm
		// The Nats-Msg-Id header is already set (setMsgID).
		if _, err := p.js.PublishMsgAsync(nm, p.pubOpts...); err != nil {
			p.resolveErr(nm, err)
		}
	}
}

// onAck runs on the nats.go ack goroutine.
func (p *Publisher) onAck(_ natsjs.JetStream, m *nats.Msg, ack *natsjs.PubAck) {
	var now time.Time
	if p.cfg.AckLatency != nil || p.cfg.EventLatency != nil {
		now = p.cfg.Now()
	}
	p.mu.Lock()
	e := p.inflight[m]
	if e == nil {
		p.mu.Unlock()
		return
	}
	delete(p.inflight, m)
	enq, received := e.enq, e.received
	if p.buf.acked(e, ack.Duplicate) {
		p.st.Reordered++
		p.log.Error().Str("id", e.msg.ID).Str("entity", e.msg.EntityKey).
			Msg("an event was stored after a later event of its entity (the server refused it while storing the next one); consumers ordering by the sequence extension still see the right order")
	}
	p.st.Acked++
	if ack.Duplicate {
		p.st.Duplicates++
	}
	p.backoff = 0
	if p.failing {
		p.failing = false
		p.log.Info().Uint64("resends", p.st.Resends).Msg("publishing recovered")
	}
	if e.gap != nil {
		p.gapOutstanding = false
		p.st.Gaps++
	}
	// Acknowledged: nats.go is done with the message (it calls back once
	// per send, and a message is sent again only after the previous send's
	// outcome), so the entry and the message's memory can serve the next.
	p.freeLocked(e)
	p.checkDrainedLocked()
	p.mu.Unlock()
	p.signal()
	if p.cfg.AckLatency != nil {
		p.cfg.AckLatency(now.Sub(enq))
	}
	if p.cfg.EventLatency != nil && !received.IsZero() {
		p.cfg.EventLatency(now.Sub(received))
	}
}

// onErr runs on a nats.go goroutine, possibly under the library's lock:
// it must only take p.mu and return.
func (p *Publisher) onErr(_ natsjs.JetStream, m *nats.Msg, err error) {
	p.resolveErr(m, err)
}

func (p *Publisher) resolveErr(m *nats.Msg, err error) {
	now := time.Now()
	p.mu.Lock()
	e := p.inflight[m]
	if e == nil {
		p.mu.Unlock()
		return
	}
	delete(p.inflight, m)
	p.st.LastError, p.st.LastErrorAt = err, now
	if f := p.fence; f != nil && fenceRefused(err) {
		p.fencedLocked(e, f, err)
		return
	}
	if permanent(err) {
		p.buf.rejected(e)
		p.st.Rejected++
		p.log.Error().Err(err).Str("id", e.msg.ID).Str("subject", e.msg.Subject).Msg("message rejected by the server; it will be reported in a PublishGap record")
		if e.gap != nil {
			// Nothing left to report it with: say so loudly.
			p.gapOutstanding = false
			p.log.Error().Err(err).Int("dropped", e.gap.dropped).Msg("PublishGap record rejected by the server")
		} else {
			p.rejects.add(e)
			p.rejects.reason = GapReasonRejected + ": " + err.Error()
		}
		p.freeLocked(e) // resolved for good: never sent again
		p.checkDrainedLocked()
	} else {
		kind := classifyPublishError(err)
		p.st.Errors[kind]++
		p.noteRefusalLocked(e, kind)
		p.buf.failed(e)
		if !now.Before(p.pauseUntil) {
			p.backoff = min(max(2*p.backoff, p.cfg.RetryBackoff), p.cfg.MaxRetryBackoff)
			p.pauseUntil = now.Add(p.backoff)
		}
		if !p.failing {
			p.failing = true
			p.log.Warn().Err(err).Str("id", e.msg.ID).Msg("publishing failing; resending with the same Nats-Msg-Id")
		}
	}
	p.mu.Unlock()
	p.signal()
}
