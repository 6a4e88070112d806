package jetstream

import (
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Emit encodes ev with the configured encoder (published time = now) and
// publishes it. With this method a *Publisher is an event sink for the
// engine (Emit(schema.Event)) without this package knowing the engine.
// An event that cannot be encoded, or arrives after Close, is not lost
// silently: it is counted as rejected and reported by a PublishGap record.
// The encoded message never leaves the publisher, so once it is acked its
// memory goes back to the encoder for later events (PublishEncoded).
func (p *Publisher) Emit(ev schema.Event) {
	m, err := p.cfg.Encoder.Encode(&ev, p.cfg.Now())
	if err == nil {
		if err = p.PublishEncodedAt(m, ev.Received); err == nil {
			return
		}
	}
	e := &entry{msg: Message{ID: schema.EventID(ev.Session, ev.SessionSeq), Subject: m.Subject}, enq: p.cfg.Now()}
	p.mu.Lock()
	p.buf.seq++
	e.seq = p.buf.seq
	p.rejects.add(e)
	p.rejects.reason = GapReasonRejected + ": " + err.Error()
	p.st.Rejected++
	p.st.LastError, p.st.LastErrorAt = err, e.enq
	p.mu.Unlock()
	p.log.Error().Err(err).Str("id", e.msg.ID).Msg("event not published; it will be reported in a PublishGap record")
	p.signal()
}
