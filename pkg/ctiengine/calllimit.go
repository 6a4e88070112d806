package ctiengine

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine/callmodel"
	"github.com/rs/zerolog"
)

// untrackedNoteEvery bounds the MaxCalls warning to one line per interval
// while calls keep arriving beyond the bound.
const untrackedNoteEvery = time.Minute

// callsUntracked logs that the call model is full and drops the events of
// further calls (Status().CallsUntracked counts them): at the first
// dropped event, then at most once per untrackedNoteEvery.
func (m *Machine) callsUntracked(now time.Time) {
	if !m.untrackedNote.IsZero() && now.Sub(m.untrackedNote) < untrackedNoteEvery {
		return
	}
	m.untrackedNote = now
	limit := m.cfg.MaxCalls
	if limit <= 0 {
		limit = callmodel.DefaultMaxCalls
	}
	m.note(zerolog.WarnLevel, fmt.Sprintf("the call model tracks MaxCalls %d calls: events of further calls are not tracked nor published (%d so far, Status().CallsUntracked); raise MaxCalls if the cluster really carries that many calls",
		limit, m.model.Stats().Untracked), nil)
}
