package ha

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// EpochSubject is the epoch subject of a cluster: the subject of its
// LeaderAcquired events. Each tenure's LeaderAcquired is its marker there,
// and every event of the tenure is published expecting that marker to be
// the subject's last message (jetstream.Fence).
func EpochSubject(cluster string) string {
	return schema.Subject(cluster, &schema.Event{Family: schema.FamilyBridge, Name: schema.EvLeaderAcquired})
}

// leaderLostSubject is the subject of a cluster's LeaderLost events.
func leaderLostSubject(cluster string) string {
	return schema.Subject(cluster, &schema.Event{Family: schema.FamilyBridge, Name: schema.EvLeaderLost})
}

// ReasonReleased is the LeaderLost reason of an orderly hand-over.
const ReasonReleased = "released"

// ErrStaleEpoch is returned by WriteMarker when the log already holds the
// marker of a newer tenure: this one is over before it began.
var ErrStaleEpoch = errors.New("ha: a newer tenure's marker is already in the log")

// Tenure is what the log says about one tenure.
type Tenure struct {
	Instance string
	Epoch    uint64
	Mode     Mode
	// MarkerSeq is the stream sequence of its LeaderAcquired.
	MarkerSeq uint64
	// Released: it ended in order, publishing LeaderLost (released) with
	// its provider closed or, for a hot standby pair, with nothing
	// observed left unpublished.
	Released bool
	// OpenGap is the provider gap it left open when it released the lease
	// (cold: its provider closed at shutdown): the successor closes it.
	OpenGap *schema.Gap
}

// lastEvent reads and decodes the last message on subject (nil if none).
func lastEvent(ctx context.Context, s natsjs.Stream, subject string) (*schema.Event, uint64, error) {
	m, err := s.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, natsjs.ErrMsgNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	_, ev, err := schema.Decode(m.Header, m.Data)
	if err != nil {
		return nil, 0, fmt.Errorf("ha: %s seq %d: %w", subject, m.Sequence, err)
	}
	return &ev, m.Sequence, nil
}

// LastTenure reads the last tenure of cluster from the log: its marker
// and, if it ended in order, its LeaderLost. Nil when no tenure ever
// began.
func LastTenure(ctx context.Context, s natsjs.Stream, cluster string) (*Tenure, error) {
	ev, seq, err := lastEvent(ctx, s, EpochSubject(cluster))
	if err != nil || ev == nil {
		return nil, err
	}
	t := &Tenure{MarkerSeq: seq}
	if b := ev.Data.Bridge; b != nil {
		t.Instance = b.Instance
		if l := b.Leader; l != nil {
			t.Epoch, t.Mode = l.Epoch, Mode(l.Mode)
		}
	}
	lost, lostSeq, err := lastEvent(ctx, s, leaderLostSubject(cluster))
	if err != nil {
		return nil, err
	}
	if lost != nil && lostSeq > seq {
		if b := lost.Data.Bridge; b != nil && b.Leader != nil && b.Leader.Epoch == t.Epoch && b.Reason == ReasonReleased {
			t.Released = true
			t.OpenGap = b.Gap
		}
	}
	return t, nil
}

// WriteMarker stores marker (the encoded LeaderAcquired of epoch) as the
// last message of the epoch subject and returns its stream sequence and
// the tenure it follows (nil for the first). From then on the log refuses
// the previous tenure's fenced publishes. It writes only over a marker of
// an older epoch: finding a newer one it returns ErrStaleEpoch; finding
// its own (an earlier attempt whose answer was lost) it returns that.
func WriteMarker(ctx context.Context, js natsjs.JetStream, s natsjs.Stream, cluster string, marker jetstream.Message, epoch uint64) (uint64, *Tenure, error) {
	var lastErr error
	for attempt := 0; attempt < 20 && ctx.Err() == nil; attempt++ {
		prev, err := LastTenure(ctx, s, cluster)
		if err != nil {
			lastErr = err
			continue
		}
		var expect uint64
		if prev != nil {
			switch {
			case prev.Epoch > epoch:
				return 0, prev, fmt.Errorf("%w (epoch %d of %s, this one %d)", ErrStaleEpoch, prev.Epoch, prev.Instance, epoch)
			case prev.Epoch == epoch:
				return prev.MarkerSeq, nil, nil
			}
			expect = prev.MarkerSeq
		}
		h := make(nats.Header, len(marker.Header)+2)
		for k, v := range marker.Header {
			h[k] = v
		}
		h.Set(natsjs.MsgIDHeader, marker.ID)
		ack, err := js.PublishMsg(ctx, &nats.Msg{Subject: marker.Subject, Header: h, Data: marker.Data},
			natsjs.WithExpectLastSequencePerSubject(expect))
		if err == nil {
			return ack.Sequence, prev, nil
		}
		// Another marker came in between (re-read it), or the outcome is
		// unknown (the re-read finds ours if it was stored).
		lastErr = err
	}
	if lastErr == nil {
		lastErr = ctx.Err()
	}
	return 0, nil, fmt.Errorf("ha: writing the epoch marker: %w", lastErr)
}
