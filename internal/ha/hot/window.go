package hot

import (
	"encoding/binary"
	"hash/fnv"
	"maps"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Defaults of Config.
const (
	DefaultMaxEvents = 200_000
	DefaultMaxAge    = 30 * time.Second
)

// Config bounds a Window.
type Config struct {
	// MaxEvents bounds the events kept (and the stored fingerprints);
	// default 200,000.
	MaxEvents int
	// MaxAge drops events received (and fingerprints stored) longer ago
	// than this before the newest one; default 30 s. It must exceed the
	// longest takeover: from the previous active's last stored event to
	// the new active's marker (lease TTL + campaign interval + margin).
	MaxAge time.Duration
}

// Fingerprint identifies a CTI event across bridges (see the package
// documentation).
type Fingerprint uint64

// FingerprintOf computes ev's fingerprint.
func FingerprintOf(ev *schema.Event) Fingerprint {
	h := fnv.New64a()
	var b [8]byte
	str := func(s string) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	num := func(v int64) {
		binary.LittleEndian.PutUint64(b[:], uint64(v))
		h.Write(b[:])
	}
	flag := func(v bool) {
		if v {
			h.Write([]byte{1})
		} else {
			h.Write([]byte{0})
		}
	}
	str(string(ev.Family))
	str(ev.Entity)
	str(ev.Name)
	num(ev.Time.UnixNano())
	d := &ev.Data
	flag(d.Snapshot)
	flag(d.Inferred)
	num(int64(d.Cause))
	num(int64(d.CallControlCause))
	num(int64(d.MetaCode))
	if c := d.Call; c != nil {
		if cn := c.Connection; cn != nil {
			str(cn.Address)
			num(int64(cn.CallControlStateCode))
		}
		if tc := c.TerminalConnection; tc != nil {
			str(tc.Terminal)
			num(int64(tc.CallControlStateCode))
		}
		if f := c.Feature; f != nil {
			str(f.Feature + "/" + f.Phase)
		}
		str(c.OriginalCallID)
	}
	if t := d.Terminal; t != nil {
		str(t.State)
	}
	if a := d.Address; a != nil {
		str(a.Terminal)
		str(a.State)
	}
	if r := d.Route; r != nil {
		str(r.State)
		str(r.Selected)
	}
	if m := d.Media; m != nil {
		str(m.Kind)
	}
	return Fingerprint(h.Sum64())
}

// matchable reports whether an event derives from something CTIManager
// sent (it has a frame): only those can be seen by two bridges.
func matchable(ev *schema.Event) bool { return ev.Frame != "" }

type kept struct {
	ev schema.Event
	fp Fingerprint
}

type storedFP struct {
	fp Fingerprint
	at time.Time
}

// Stats counts what a Window holds and dropped.
type Stats struct {
	Events, Stored int
	// Trimmed counts events dropped by the bounds before any takeover
	// looked at them.
	Trimmed uint64
}

// Window keeps a hot standby's recent events and the fingerprints of the
// recently stored ones. Add and Observe are safe to call from different
// goroutines.
type Window struct {
	cfg Config

	mu     sync.Mutex // guards the following fields
	events []kept     // oldest first; head is the first live index
	head   int
	stored []storedFP
	shead  int
	counts map[Fingerprint]int
	// trimmedAfterMatch counts events trimmed since the last event whose
	// fingerprint was stored: if a takeover finds no watermark, those
	// were possibly never stored (see Result.Incomplete).
	trimmedUnmatched uint64
	trimmed          uint64
}

// New returns an empty window.
func New(cfg Config) *Window {
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.MaxAge <= 0 {
		cfg.MaxAge = DefaultMaxAge
	}
	return &Window{cfg: cfg, counts: map[Fingerprint]int{}}
}

// MaxAge is the age bound in force.
func (w *Window) MaxAge() time.Duration { return w.cfg.MaxAge }

// MaxEvents is the size bound in force.
func (w *Window) MaxEvents() int { return w.cfg.MaxEvents }

// Add keeps one event the standby's engine produced (in emission order).
// The event's Data pointers are kept read-only.
func (w *Window) Add(ev schema.Event) {
	fp := FingerprintOf(&ev)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.events = append(w.events, kept{ev: ev, fp: fp})
	for n := len(w.events) - w.head; n > w.cfg.MaxEvents || (n > 1 && ev.Received.Sub(w.events[w.head].ev.Received) > w.cfg.MaxAge); n-- {
		old := &w.events[w.head]
		if w.counts[old.fp] == 0 && matchable(&old.ev) {
			w.trimmedUnmatched++
		} else {
			w.trimmedUnmatched = 0
		}
		w.trimmed++
		*old = kept{}
		w.head++
	}
	w.compact()
}

// Observe records an event stored in the log (by whichever bridge).
func (w *Window) Observe(ev *schema.Event, storedAt time.Time) {
	if !matchable(ev) {
		return
	}
	fp := FingerprintOf(ev)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.stored = append(w.stored, storedFP{fp: fp, at: storedAt})
	w.counts[fp]++
	for n := len(w.stored) - w.shead; n > w.cfg.MaxEvents || (n > 1 && storedAt.Sub(w.stored[w.shead].at) > w.cfg.MaxAge); n-- {
		old := w.stored[w.shead]
		if w.counts[old.fp]--; w.counts[old.fp] <= 0 {
			delete(w.counts, old.fp)
		}
		w.shead++
	}
	if w.shead > 1024 && w.shead > len(w.stored)/2 {
		w.stored = append(w.stored[:0], w.stored[w.shead:]...)
		w.shead = 0
	}
}

// compact reclaims the slots of trimmed events.
func (w *Window) compact() {
	if w.head > 1024 && w.head > len(w.events)/2 {
		n := copy(w.events, w.events[w.head:])
		clear(w.events[n:])
		w.events = w.events[:n]
		w.head = 0
	}
}

// Stats returns the counters.
func (w *Window) Stats() Stats {
	w.mu.Lock()
	defer w.mu.Unlock()
	return Stats{Events: len(w.events) - w.head, Stored: len(w.stored) - w.shead, Trimmed: w.trimmed}
}

// Result is what a takeover publishes.
type Result struct {
	// Recovered are the events to publish, in order, renumbered and
	// flagged Data.Recovered.
	Recovered []schema.Event
	// Matched counts window events the log already held (not published);
	// Skipped those before the watermark (stored, or the standby's own
	// start-up) and Kept the window's size.
	Matched, Skipped, Kept int
	// Watermark is the received time of the last window event the log
	// held (zero: none did).
	Watermark time.Time
	// Incomplete: no window event was found in the log although the
	// window dropped events nobody stored: what the previous active
	// missed may reach back further than the window.
	Incomplete bool
	// Behind is set when the previous active's last stored change is not
	// among the window's events: the standby's engine had not read it yet
	// when it cut its session (the two engines read the same changes at
	// their own pace). The changes it reads next may then be ones the log
	// holds already; Behind tells them apart (nil: none can be).
	Behind *Behind
}

// Behind recognises, among the events a new active produces after its
// takeover cut, those the previous active had stored already: it holds
// the fingerprints of the stored events no window event matched, until
// the previous active's last stored change has come by.
type Behind struct {
	mu     sync.Mutex // guards the following fields
	counts map[Fingerprint]int
	last   Fingerprint
	until  time.Time
	done   bool
	// Dropped counts the events recognised as stored.
	dropped int
}

// Stored reports whether ev is a change the previous active stored (not
// to be published again). Once the previous active's last stored change
// has come by, or an event received after the window's age bound, it
// reports false for good (Done).
func (b *Behind) Stored(ev *schema.Event) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.done {
		return false
	}
	if ev.Received.After(b.until) {
		b.done = true
		return false
	}
	if !matchable(ev) {
		return false
	}
	fp := FingerprintOf(ev)
	if b.counts[fp] == 0 {
		return false
	}
	b.counts[fp]--
	b.dropped++
	if fp == b.last {
		b.done = true
		b.counts = nil
	}
	return true
}

// Done reports whether no later event can be a stored one.
func (b *Behind) Done() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.done
}

// Dropped counts the events Stored recognised.
func (b *Behind) Dropped() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dropped
}

// Takeover applies the takeover rule to everything kept and empties the
// window (the new active publishes directly from now on). Call it once
// every event the previous active stored has been observed.
func (w *Window) Takeover() Result {
	w.mu.Lock()
	defer w.mu.Unlock()
	evs := w.events[w.head:]
	res := Result{Kept: len(evs)}
	wm := -1
	for i := len(evs) - 1; i >= 0; i-- {
		if matchable(&evs[i].ev) && w.counts[evs[i].fp] > 0 {
			wm = i
			break
		}
	}
	if wm >= 0 {
		res.Watermark = evs[wm].ev.Received
	} else if w.trimmedUnmatched > 0 {
		res.Incomplete = true
	}
	res.Skipped = wm + 1
	sess := map[string]uint64{}
	type entKey struct {
		session string
		fam     schema.Family
		entity  string
	}
	ents := map[entKey]uint64{}
	for i := wm + 1; i < len(evs); i++ {
		k := &evs[i]
		if matchable(&k.ev) && w.counts[k.fp] > 0 {
			w.counts[k.fp]--
			res.Matched++
			continue
		}
		ev := k.ev
		sess[ev.Session]++
		ev.SessionSeq = sess[ev.Session]
		ek := entKey{ev.Session, ev.Family, ev.Entity}
		ents[ek]++
		ev.Sequence = ents[ek]
		ev.Data.Recovered = true
		res.Recovered = append(res.Recovered, ev)
	}
	if n := len(w.stored); n > w.shead {
		// The previous active's last stored change, not met in the
		// window: the standby's engine is behind it.
		last := w.stored[n-1].fp
		met := false
		for i := range evs {
			if evs[i].fp == last {
				met = true
				break
			}
		}
		if !met {
			var base time.Time
			if len(evs) > 0 {
				base = evs[len(evs)-1].ev.Received
			} else {
				base = w.stored[n-1].at
			}
			res.Behind = &Behind{counts: maps.Clone(w.counts), last: last, until: base.Add(w.cfg.MaxAge)}
		}
	}
	clear(w.events)
	w.events, w.head = w.events[:0], 0
	w.stored, w.shead = w.stored[:0], 0
	clear(w.counts)
	w.trimmedUnmatched = 0
	return res
}

// Reset forgets everything (a bridge that became active without a
// takeover to apply, or stepped down).
func (w *Window) Reset() {
	w.mu.Lock()
	defer w.mu.Unlock()
	clear(w.events)
	w.events, w.head = w.events[:0], 0
	w.stored, w.shead = w.stored[:0], 0
	clear(w.counts)
	w.trimmedUnmatched = 0
}
