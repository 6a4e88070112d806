package jetstream

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nats-io/nats.go"
)

// A message stuck "in process" (docs/jetstream.md, "That fix is
// incomplete"): nats-server 2.15 stages a message's Nats-Msg-Id on the
// stream leader while the message is being proposed, and refuses a resend
// meanwhile with 10158 "duplicate message id is in process". A proposal
// lost in a leader election can leave the id staged on a node that leads
// again later; that node then refuses every resend of the message until
// the stream's dedupe window (10 minutes by default) forgets the id, and
// the message's entity publishes nothing behind it. Only a change of
// leader clears it, so the publisher asks for one: once a single message
// has been refused "in process" at every send for Config.StuckInProcess,
// it requests a step-down of the stream's leader (at most one per
// StuckInProcess). A normal "in process" refusal (a resend overtaking its
// own proposal) resolves within one ack round trip.

// stepDownSubject is the JetStream API request that makes a stream's
// leader give up its leadership.
const stepDownSubject = "$JS.API.STREAM.LEADER.STEPDOWN."

// StepDownStreamLeader asks the leader of stream (an event stream, or a
// KV bucket's KV_<bucket>) to give up its leadership through the
// JetStream API; another replica is elected. It is what `nats stream
// cluster step-down <stream>` does. A stream that is not replicated
// cannot step down: the server's refusal is returned.
func StepDownStreamLeader(ctx context.Context, nc *nats.Conn, stream string) error {
	m, err := nc.RequestWithContext(ctx, stepDownSubject+stream, nil)
	if err != nil {
		return fmt.Errorf("jetstream: step down the leader of %s: %w", stream, err)
	}
	var resp struct {
		Success bool `json:"success"`
		Error   *struct {
			Code        int    `json:"code"`
			ErrCode     int    `json:"err_code"`
			Description string `json:"description"`
		} `json:"error"`
	}
	if err := json.Unmarshal(m.Data, &resp); err != nil {
		return fmt.Errorf("jetstream: step down the leader of %s: unreadable reply %q: %w", stream, m.Data, err)
	}
	if resp.Error != nil {
		return fmt.Errorf("jetstream: step down the leader of %s: refused: %s (code %d, error code %d)",
			stream, resp.Error.Description, resp.Error.Code, resp.Error.ErrCode)
	}
	if !resp.Success {
		return fmt.Errorf("jetstream: step down the leader of %s: not done: %s", stream, m.Data)
	}
	return nil
}

// stuckMessage is the message a step-down is requested for.
type stuckMessage struct {
	id, subject string
	// refused is how long it has been refused "in process".
	refused time.Duration
}

// noteRefusalLocked keeps track, for a send of e that failed with kind, of
// how long e has been refused "in process" at every send, and queues a
// step-down for Run once that passes Config.StuckInProcess.
func (p *Publisher) noteRefusalLocked(e *entry, kind PublishErrorKind) {
	if kind != ErrKindInProcess {
		e.inProcessSince = time.Time{} // refused for another reason: not stuck
		return
	}
	now := p.cfg.Now()
	if e.inProcessSince.IsZero() {
		e.inProcessSince = now
		return
	}
	refused := now.Sub(e.inProcessSince)
	if p.cfg.Stream == "" || p.stepDown != nil || refused < p.cfg.StuckInProcess ||
		(!p.lastStepDown.IsZero() && now.Sub(p.lastStepDown) < p.cfg.StuckInProcess) {
		return
	}
	p.lastStepDown = now
	p.stepDown = &stuckMessage{id: e.msg.ID, subject: e.msg.Subject, refused: refused}
}

// requestStepDown runs on its own goroutine (Run starts it): a request
// can take up to an ack timeout, and sending goes on meanwhile.
func (p *Publisher) requestStepDown(ctx context.Context, m stuckMessage) {
	log := p.log.With().Str("id", m.id).Str("subject", m.subject).Str("stream", p.cfg.Stream).
		Dur("refused_for", m.refused).Logger()
	log.Error().Msg("one message has been refused as \"duplicate message id is in process\" at every send: the stream's leader keeps a stale dedupe id (a nats-server defect after a leader election) and would refuse it for the whole dedupe window; asking the leader to step down")
	ctx, cancel := context.WithTimeout(ctx, p.cfg.AckTimeout)
	defer cancel()
	err := StepDownStreamLeader(ctx, p.nc, p.cfg.Stream)
	p.mu.Lock()
	if err != nil {
		p.st.StepDownsFailed++
	} else {
		p.st.StepDowns++
	}
	p.mu.Unlock()
	if err != nil {
		log.Error().Err(err).Msgf("step-down refused or unanswered; it is asked again if the message stays refused, or run `nats stream cluster step-down %s`", p.cfg.Stream)
		return
	}
	log.Warn().Msg("the stream's leader stepped down; the message is resent to the new leader")
}
