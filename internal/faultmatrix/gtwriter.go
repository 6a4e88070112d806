package faultmatrix

import (
	"bytes"
	"encoding/json"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
)

// GroundTruthWriter feeds a Checker from the simulator's ground-truth JSON
// lines (ctisim.Config.GroundTruth), so that a long run keeps a few bytes
// per frame instead of the records themselves. It also counts the calls
// seen (distinct global call ids). Writes are serialised; the Checker must
// not be used by anything else until the simulator is closed.
type GroundTruthWriter struct {
	c *Checker

	mu      sync.Mutex // guards the following fields
	partial []byte
	calls   map[uint32]struct{}
	frames  uint64
	byType  map[string]uint64
	err     error
}

// NewGroundTruthWriter returns a writer feeding c.
func NewGroundTruthWriter(c *Checker) *GroundTruthWriter {
	return &GroundTruthWriter{c: c, calls: map[uint32]struct{}{}, byType: map[string]uint64{}}
}

type gtLine struct {
	Session string          `json:"session"`
	Seq     uint32          `json:"seq"`
	Type    string          `json:"type"`
	Time    time.Time       `json:"time"`
	Sent    bool            `json:"sent"`
	Body    json.RawMessage `json:"body"`
}

// Write takes JSON lines (whole or split across calls).
func (w *GroundTruthWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	data := p
	if len(w.partial) > 0 {
		w.partial = append(w.partial, p...)
		data = w.partial
	}
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		w.line(data[:i])
		data = data[i+1:]
	}
	w.partial = append(w.partial[:0], data...)
	return len(p), nil
}

func (w *GroundTruthWriter) line(b []byte) {
	var l gtLine
	if err := json.Unmarshal(b, &l); err != nil {
		if w.err == nil {
			w.err = err
		}
		return
	}
	if !l.Sent {
		return
	}
	w.frames++
	w.byType[l.Type]++
	f := Frame{Session: l.Session, Seq: l.Seq, Type: typeByName[l.Type], Time: l.Time}
	if f.Type == ctilink.TypeCallState {
		var cs ctilink.CallStateEvent
		if json.Unmarshal(l.Body, &cs) == nil {
			f.CallState = &cs
			w.calls[cs.GlobalCallID] = struct{}{}
		}
	}
	if f.Type != ctilink.TypeCallState && EventBearing(f.Type) {
		f.Calls, f.Handle = callRefs(l.Body)
	}
	if w.c.Details {
		f.Desc = func() string { return l.Type + string(l.Body) }
	}
	if w.c.HA {
		f.Content = contentOf(f.Type, ctisim.Record{Body: l.Body})
	}
	w.c.AddFrame(f)
}

// Stats reports the frames sent, the distinct calls seen and the first
// line that could not be parsed.
func (w *GroundTruthWriter) Stats() (frames uint64, calls int, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.frames, len(w.calls), w.err
}

// ByType counts the frames sent by type.
func (w *GroundTruthWriter) ByType() map[string]uint64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]uint64, len(w.byType))
	for k, v := range w.byType {
		out[k] = v
	}
	return out
}
