package jetstream

import (
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"
)

// Fence is the log fence of one tenure of a high-availability bridge
// (docs/ha.md): while it is set, every message is published with the
// expectation that the last message stored on Subject is still the one at
// Seq (Nats-Expected-Last-Subject-Sequence with
// Nats-Expected-Last-Subject-Sequence-Subject, nats-server 2.11+; the
// headers jetstream.WithExpectLastSequenceForSubject sets, written here
// once per send without allocating). A newer tenure writes its own marker
// on Subject, so the server refuses every later message of this one: a
// stale active bridge cannot add to the log, whatever its clock says.
type Fence struct {
	Subject string
	Seq     uint64
	// Epoch identifies the tenure (reported back by OnFenced).
	Epoch uint64
	// Replicated says the stream has replicas (R>1). Its leader refuses
	// (10164) a publish whose subject expectation is already being
	// proposed, so pipelined fenced publishes would be refused in bursts
	// and stored out of order. While such a fence is set the publisher
	// keeps one message in flight: order holds, throughput is one message
	// per replicated commit (see docs/ha.md).
	Replicated bool
}

// fenceState holds the header values stamped on every send: shared,
// read-only slices, so stamping allocates nothing.
type fenceState struct {
	f         Fence
	seq, subj []string
	reported  bool
}

func newFenceState(f Fence) *fenceState {
	return &fenceState{f: f, seq: []string{strconv.FormatUint(f.Seq, 10)}, subj: []string{f.Subject}}
}

func (s *fenceState) stamp(h nats.Header) {
	h[natsjs.ExpectedLastSubjSeqHeader] = s.seq
	h[natsjs.ExpectedLastSubjSeqSubjHeader] = s.subj
}

// fenceRefused reports whether err is the server's "wrong last sequence"
// answer with the sequence it found (10071): the fence's subject moved on.
// On a replicated stream the server answers 10164 (no sequence) while
// another message with the same expectation is still being proposed; that
// is contention, not a refusal, and is resent like any unknown outcome.
func fenceRefused(err error) bool {
	var api *natsjs.APIError
	return errors.As(err, &api) && api.ErrorCode == natsjs.JSErrCodeStreamWrongLastSequence
}

// SetFence makes every message sent from now on carry f, and resumes
// sending after Suspend or a fence refusal. Call it with an empty buffer
// (after Suspend): messages buffered under an earlier fence would otherwise
// be published in this tenure. A zero Fence (no subject) resumes without
// one.
func (p *Publisher) SetFence(f Fence) {
	p.mu.Lock()
	p.fence = nil
	if f.Subject != "" {
		p.fence = newFenceState(f)
	}
	p.suspended = false
	p.mu.Unlock()
	p.signal()
}

// Wake makes Run look at Permit again (call it when Permit's answer may
// have turned true).
func (p *Publisher) Wake() { p.signal() }

// Suspend stops sending and drops every buffered message, without gap
// records: a demoted high-availability bridge's unpublished events are
// its successor's to account for (its takeover gap, or a hot standby's
// recovered events). Messages in flight may still be stored; their
// outcome is ignored. It returns how many messages were dropped and
// releases Flush waiters. Sending resumes with SetFence.
func (p *Publisher) Suspend() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.suspended = true
	p.fence = nil
	n := int(p.buf.msgs)
	old := p.buf
	p.buf = newBuffer(int64(p.cfg.BufferSize), p.cfg.BufferBytes)
	for _, ent := range old.entities {
		for e := ent.head; e != nil; {
			next := e.enext
			if !e.inflight {
				// Never with nats.go, or back from it: nothing refers to
				// its memory. In-flight ones are left to the collector.
				p.freeLocked(e)
			}
			e = next
		}
	}
	clear(p.inflight)
	p.overflow, p.rejects = gapAcc{}, gapAcc{}
	p.gapOutstanding = false
	p.backoff, p.pauseUntil, p.failing = 0, time.Time{}, false
	p.st.Discarded += uint64(n)
	if p.drained != nil {
		close(p.drained)
		p.drained = nil
	}
	return n
}

// fencedLocked handles a refusal by the fence: sending stops, the message
// stays buffered (Suspend drops it), and OnFenced hears of it once. It is
// called with p.mu held and unlocks it.
func (p *Publisher) fencedLocked(e *entry, f *fenceState, err error) {
	p.buf.failed(e)
	p.suspended = true
	p.st.Fenced++
	report := !f.reported
	f.reported = true
	p.mu.Unlock()
	if report {
		p.log.Warn().Err(err).Str("fence", f.f.Subject).Uint64("epoch", f.f.Epoch).
			Msg("the log fence refused a publish: a newer tenure wrote its marker; publishing stops")
		if p.cfg.OnFenced != nil {
			p.cfg.OnFenced(f.f, err)
		}
	}
}
