package jetstream

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Gap reasons written into PublishGap records (Gap.Reason and
// BridgeData.Reason).
const (
	// GapReasonOverflow: the buffer bound was exceeded while NATS was
	// unavailable or slow; the oldest never-sent messages were dropped.
	GapReasonOverflow = "buffer_overflow"
	// GapReasonRejected (prefix): the server refused the messages for good
	// (for example larger than the stream's maximum message size).
	GapReasonRejected = "rejected"
)

// gapAcc accumulates dropped messages until a gap record reports them.
type gapAcc struct {
	count           int
	firstSeq        uint64
	lastSeq         uint64
	firstID, lastID string
	opened, closed  time.Time // enqueue times of the oldest and newest dropped
	reason          string
}

func (a *gapAcc) add(e *entry) {
	if a.count == 0 || e.seq < a.firstSeq {
		a.firstSeq, a.firstID = e.seq, e.msg.ID
	}
	if a.count == 0 || e.seq > a.lastSeq {
		a.lastSeq, a.lastID = e.seq, e.msg.ID
	}
	if a.count == 0 || e.enq.Before(a.opened) {
		a.opened = e.enq
	}
	if a.count == 0 || e.enq.After(a.closed) {
		a.closed = e.enq
	}
	a.count++
}

// gapRecord marks a buffered entry as a PublishGap record.
type gapRecord struct {
	dropped int
}

// maybeGapLocked turns accumulated drops into a PublishGap record, one at
// a time: a new record is built only once the previous one is acked, so a
// long overload yields a few records, each covering everything dropped
// since the last. Called only while connected, so the record covers the
// whole outage.
func (p *Publisher) maybeGapLocked() error {
	if p.gapOutstanding {
		return nil
	}
	acc := &p.overflow
	reason := GapReasonOverflow
	if acc.count == 0 {
		acc, reason = &p.rejects, p.rejects.reason
	}
	if acc.count == 0 {
		return nil
	}
	now := p.cfg.Now()
	p.gapSeq++
	closed := acc.closed
	ev := schema.Event{
		Family:     schema.FamilyBridge,
		Name:       schema.EvPublishGap,
		Session:    p.cfg.GapSession,
		SessionSeq: p.gapSeq,
		Sequence:   p.gapSeq,
		Time:       now,
		Received:   now,
		Data: schema.Data{
			Event: schema.EvPublishGap,
			Times: schema.Timestamps{Upstream: now, Received: now},
			Bridge: &schema.BridgeData{
				Instance: p.cfg.Instance,
				Reason:   reason,
				Detail:   fmt.Sprintf("%d events were not published (first %s, last %s)", acc.count, acc.firstID, acc.lastID),
				Gap: &schema.Gap{
					ID:           fmt.Sprintf("%s-gap-%d", p.cfg.GapSession, p.gapSeq),
					Kind:         "publish",
					OpenedAt:     acc.opened,
					ClosedAt:     &closed,
					DurationMs:   closed.Sub(acc.opened).Milliseconds(),
					Reason:       reason,
					Dropped:      acc.count,
					FirstDropped: acc.firstID,
					LastDropped:  acc.lastID,
				},
			},
		},
	}
	m, err := p.cfg.Encoder.Encode(&ev, now)
	if err != nil {
		return fmt.Errorf("jetstream: encode PublishGap record: %w", err)
	}
	msg := FromSchema(m)
	if msg.Header == nil {
		msg.Header = make(map[string][]string, 1)
	}
	size := msg.size()
	setMsgID(&msg)
	e := p.newEntryLocked(msg, size, now, m.Lease())
	e.pinned, e.gap = true, &gapRecord{dropped: acc.count}
	p.log.Warn().Str("reason", reason).Int("dropped", acc.count).
		Str("first", acc.firstID).Str("last", acc.lastID).
		Time("from", acc.opened).Time("to", closed).
		Str("gap_id", ev.Data.Bridge.Gap.ID).Msg("events dropped; publishing a PublishGap record")
	*acc = gapAcc{}
	p.gapOutstanding = true
	p.addLocked(e)
	return nil
}
