package ctisim

import (
	"encoding/json"
	"io"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// DefaultGroundTruthLimit is how many records the simulator keeps in memory
// when Config.GroundTruthLimit is zero. Older records are discarded (the
// io.Writer, if any, still receives everything).
const DefaultGroundTruthLimit = 200_000

// Record is one ground-truth entry: a frame the simulator sent (Sent true,
// Seq its header sequence) or withheld (Sent false, Dropped says why, Seq
// 0) for a session. Records of one session are in sending order.
type Record struct {
	Session string          `json:"session"`
	Node    string          `json:"node"`
	Seq     uint32          `json:"seq"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Sent    bool            `json:"sent"`
	Dropped string          `json:"dropped,omitempty"`
	Body    json.RawMessage `json:"body"`

	// Msg is the message itself (not serialised).
	Msg ctilink.Message `json:"-"`
}

// Reasons a frame is recorded as not sent.
const (
	DroppedStall  = "stall"  // the node was stalled (StallHeartbeats)
	DroppedKilled = "killed" // the session was closed abruptly (KillNode, reset, overflow)
	DroppedClosed = "closed" // the session ended before the frame was written
)

type groundTruth struct {
	mu    sync.Mutex // guards the following fields
	w     io.Writer
	enc   *json.Encoder
	werr  error
	limit int
	buf   []Record // ring of the last limit records
	head  int      // index of the oldest record when len(buf) == limit
	total uint64
}

func newGroundTruth(w io.Writer, limit int) *groundTruth {
	if limit == 0 {
		limit = DefaultGroundTruthLimit
	}
	g := &groundTruth{w: w, limit: limit}
	if w != nil {
		g.enc = json.NewEncoder(w)
	}
	return g
}

func (g *groundTruth) record(r Record) {
	if g.limit < 0 && g.enc == nil {
		return
	}
	// The body is only serialised here when a writer wants it; records
	// kept in memory get theirs when read (snapshot), off the hot path.
	if g.enc != nil {
		r.Body = marshalBody(r.Msg)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.total++
	if g.enc != nil && g.werr == nil {
		g.werr = g.enc.Encode(r)
	}
	if g.limit < 0 {
		return
	}
	if len(g.buf) < g.limit {
		g.buf = append(g.buf, r)
		return
	}
	g.buf[g.head] = r
	g.head = (g.head + 1) % g.limit
}

// snapshot returns the kept records in order, optionally for one session.
func (g *groundTruth) snapshot(session string) []Record {
	g.mu.Lock()
	defer g.mu.Unlock()
	out := make([]Record, 0, len(g.buf))
	for i := range g.buf {
		r := &g.buf[(g.head+i)%len(g.buf)]
		if session == "" || r.Session == session {
			if r.Body == nil {
				r.Body = marshalBody(r.Msg)
			}
			out = append(out, *r)
		}
	}
	return out
}

func (g *groundTruth) stats() (total uint64, kept int, werr error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.total, len(g.buf), g.werr
}

func marshalBody(m ctilink.Message) json.RawMessage {
	body, err := json.Marshal(m)
	if err != nil {
		return json.RawMessage("null")
	}
	return body
}
