// Package calllog groups a cluster's call events into calls as an
// engineer counts them: one entry per call from its first event to its
// end, with its parties, devices, duration, end cause and the provider
// sessions that reported it. It is pure: the caller reads the log and
// feeds the events in stream order.
//
// A global call id names one call at a time only: CUCM reuses ids (a
// CallManager restart, a simulator restart, two bridge runs on one
// store), so the same id can name several calls in a log. A call ends when
// the fold (pkg/callstate) says it has no connection left (CallInvalidEv,
// the last connection disconnected, CallEndedDuringGap, its legs moved
// into another call); the provider shutting down ends the observation of
// every call still up; and a live CallActiveEv for an id whose call is
// still up starts a new call (the old one's end was not seen).
package calllog

import (
	"slices"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/callstate"
	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// How a call's entry ended.
const (
	// StatusEnded: the call ended in the log.
	StatusEnded = "ended"
	// StatusEndedInGap: the call ended while the provider was out of
	// service (inferred when the observation resumed).
	StatusEndedInGap = "ended during a gap"
	// StatusMerged: its legs moved into another call (transfer,
	// conference).
	StatusMerged = "merged"
	// StatusUp: still up at the end of the log.
	StatusUp = "up at the end of the log"
	// StatusShutdown: the provider shut down while it was up.
	StatusShutdown = "up when the provider shut down"
	// StatusReused: a new call with the same id began before its end was
	// seen.
	StatusReused = "end not seen (id reused)"
)

// GlobalCallID is CUCM's global call id, as CDRs carry it
// (globalCallID_callManagerId, globalCallID_callId): the CallManager node
// that handles the call, as CTI reports it, and the call id.
type GlobalCallID struct {
	CallManager string `json:"callManagerId,omitempty"`
	CallID      string `json:"callId"`
}

func (g GlobalCallID) String() string {
	if g.CallManager == "" {
		return g.CallID
	}
	return g.CallManager + "/" + g.CallID
}

// Cause is a JTAPI cause: the CallControl cause when the event has one
// (BUSY 203 …), else the core Ev cause (NORMAL 100 …), with the Q.850
// call-state causes of the CTIManager the bridge maps to it
// (schema.Q850For), the values a CDR's cause fields carry.
type Cause struct {
	Code int    `json:"code"`
	Name string `json:"name"`
	Q850 []int  `json:"q850,omitempty"`
}

// Call is one call of the log.
type Call struct {
	ID           string       `json:"callId"`
	GlobalCallID GlobalCallID `json:"globalCallId"`
	Start        time.Time    `json:"start"`
	// End is when the call ended (or its observation did); for a call up
	// at the end of the log, its last event.
	End        time.Time `json:"end"`
	DurationMs int64     `json:"durationMs"`
	Status     string    `json:"status"`
	Calling    string    `json:"calling,omitempty"`
	Called     string    `json:"called,omitempty"`
	// Parties are every address that had a (non-transient) connection;
	// Devices every terminal that had a terminal connection.
	Parties []string `json:"parties"`
	Devices []string `json:"devices"`
	// EndCause is the cause of the final teardown: the first cause other
	// than NORMAL among the failure, drop and disconnection events after
	// the call's last other event, else NORMAL.
	EndCause *Cause `json:"endCause,omitempty"`
	// Features lists transfer and conference when the call took part.
	Features   []string `json:"features,omitempty"`
	MergedFrom []string `json:"mergedFrom,omitempty"`
	MergedInto string   `json:"mergedInto,omitempty"`
	// Failover: a CTIManager failover interrupted its observation and it
	// was seen again after it (or inferred to have ended during it).
	// Discovered: first seen in the snapshot after a failover.
	Failover   bool `json:"failover,omitempty"`
	Discovered bool `json:"discovered,omitempty"`
	// Sessions are the provider sessions that reported it, in order.
	Sessions []string `json:"sessions"`
	FirstSeq uint64   `json:"firstSeq"`
	LastSeq  uint64   `json:"lastSeq"`
	Events   int      `json:"events"`

	unobserved bool // CallObservationEndedEv seen, nothing since
}

// UpAt reports whether the call was up at t.
func (c *Call) UpAt(t time.Time) bool {
	if t.Before(c.Start) {
		return false
	}
	return c.Status == StatusUp || !t.After(c.End)
}

// Overlaps reports whether the call was up at some instant of [from, to]
// (a zero bound is open).
func (c *Call) Overlaps(from, to time.Time) bool {
	if !to.IsZero() && c.Start.After(to) {
		return false
	}
	return from.IsZero() || c.Status == StatusUp || !c.End.Before(from)
}

// HasSession reports whether s names one of the call's sessions, or the
// bridge run they belong to (a prefix of the session id).
func (c *Call) HasSession(s string) bool {
	for _, x := range c.Sessions {
		if x == s || strings.HasPrefix(x, s+"-") {
			return true
		}
	}
	return false
}

// Builder groups events into calls.
type Builder struct {
	fold *callstate.State
	open map[string]*Call
	done []*Call
}

// New returns an empty Builder.
func New() *Builder {
	return &Builder{fold: callstate.New(), open: map[string]*Call{}}
}

// Add takes the next event of the cluster in stream order. Call events
// build the calls; ProvShutdownEv ends the observation of every call up;
// other events are ignored.
func (b *Builder) Add(seq uint64, ev *schema.Event) {
	at := replaystore.EventTime(ev)
	switch {
	case ev.Family == schema.FamilyProvider && ev.Name == schema.EvProvShutdown:
		for _, id := range b.openIDs() {
			b.close(id, StatusShutdown, at)
		}
		b.fold = callstate.New()
		return
	case ev.Family != schema.FamilyCall:
		return
	}
	id := ev.Entity
	if id == "" && ev.Data.Call != nil {
		id = ev.Data.Call.CallID
	}
	if id == "" {
		return
	}
	if c := b.open[id]; c != nil && ev.Name == schema.EvCallActive && !ev.Data.Snapshot {
		// A fresh call under an id whose call is still up.
		b.close(id, StatusReused, c.End)
		b.fold.Apply(schema.Event{Family: schema.FamilyCall, Entity: id, Name: schema.EvCallInvalid, Time: at})
	}
	// The original call of a merge may end without an event of its own.
	orig := ""
	if ev.Name == schema.EvCiscoCallChanged && ev.Data.Call != nil {
		orig = ev.Data.Call.OriginalCallID
	}
	b.fold.Apply(*ev)
	if _, alive := b.fold.Call(id); !alive && b.open[id] == nil {
		return // a late event of a call already ended
	}
	c := b.open[id]
	if c == nil {
		c = &Call{ID: id, GlobalCallID: GlobalCallID{CallID: id}, Start: at, FirstSeq: seq}
		b.open[id] = c
	}
	c.note(seq, ev, at)
	if orig != "" && orig != id {
		if !slices.Contains(c.MergedFrom, orig) {
			c.MergedFrom = append(c.MergedFrom, orig)
		}
		if oc := b.open[orig]; oc != nil {
			if _, alive := b.fold.Call(orig); !alive {
				oc.MergedInto = id
				b.close(orig, StatusMerged, at)
			}
		}
	}
	if _, alive := b.fold.Call(id); !alive {
		status := StatusEnded
		if ev.Name == schema.EvCallEndedInGap {
			status = StatusEndedInGap
		}
		b.close(id, status, at)
	}
}

func (b *Builder) openIDs() []string {
	ids := make([]string, 0, len(b.open))
	for id := range b.open {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (b *Builder) close(id, status string, at time.Time) {
	c := b.open[id]
	if c == nil {
		return
	}
	delete(b.open, id)
	c.Status = status
	if at.After(c.End) {
		c.End = at
	}
	if status != StatusEnded && status != StatusMerged {
		c.EndCause = nil // its end was not seen
	}
	c.finish()
	b.done = append(b.done, c)
}

// Calls returns every call, by start time (then first sequence); the ones
// still up are StatusUp.
func (b *Builder) Calls() []Call {
	out := make([]Call, 0, len(b.done)+len(b.open))
	for _, c := range b.done {
		out = append(out, *c)
	}
	for _, id := range b.openIDs() {
		c := *b.open[id]
		c.Status = StatusUp
		c.EndCause = nil
		c.finish()
		out = append(out, c)
	}
	slices.SortStableFunc(out, func(x, y Call) int {
		if d := x.Start.Compare(y.Start); d != 0 {
			return d
		}
		return int(x.FirstSeq) - int(y.FirstSeq)
	})
	return out
}

// note records what ev tells about the call.
func (c *Call) note(seq uint64, ev *schema.Event, at time.Time) {
	c.Events++
	c.LastSeq = seq
	if at.After(c.End) {
		c.End = at
	}
	if ev.Session != "" && !slices.Contains(c.Sessions, ev.Session) {
		c.Sessions = append(c.Sessions, ev.Session)
	}
	switch {
	case ev.Name == schema.EvCallObservationEnded:
		c.unobserved = true
	case ev.Name == schema.EvCallDiscovered:
		c.Discovered = true
	case c.unobserved:
		c.Failover = true // observed again after the loss
		c.unobserved = false
	}
	if cd := ev.Data.Call; cd != nil {
		c.noteData(cd)
	}
	c.noteCause(ev)
}

func (c *Call) noteData(cd *schema.CallData) {
	if c.GlobalCallID.CallManager == "" && cd.CallManager != "" {
		c.GlobalCallID.CallManager = cd.CallManager
	}
	if c.Calling == "" && cd.Calling != nil {
		c.Calling = cd.Calling.Address
	}
	if c.Called == "" && cd.Called != nil {
		c.Called = cd.Called.Address
	}
	if cn := cd.Connection; cn != nil && cn.Address != "" && !cn.Transient && !slices.Contains(c.Parties, cn.Address) {
		c.Parties = append(c.Parties, cn.Address)
	}
	if tc := cd.TerminalConnection; tc != nil && tc.Terminal != "" && !slices.Contains(c.Devices, tc.Terminal) {
		c.Devices = append(c.Devices, tc.Terminal)
	}
	if f := cd.Feature; f != nil && f.Feature != "" && !slices.Contains(c.Features, f.Feature) {
		c.Features = append(c.Features, f.Feature)
	}
}

func (c *Call) noteCause(ev *schema.Event) {
	if !teardown[ev.Name] {
		if !ev.Data.Inferred && ev.Name != schema.EvCallObservationEnded {
			c.EndCause = nil // the call went on: an earlier leg's cause is not the end's
		}
		return
	}
	code := ev.Data.CallControlCause
	if code == 0 {
		code = ev.Data.Cause
	}
	if code != 0 && (c.EndCause == nil || c.EndCause.Code == schema.CauseNormal) {
		c.EndCause = &Cause{Code: code, Name: schema.CauseNames[code], Q850: schema.Q850For(code)}
	}
}

func (c *Call) finish() {
	c.DurationMs = c.End.Sub(c.Start).Milliseconds()
	slices.Sort(c.Parties)
	slices.Sort(c.Devices)
	if c.Parties == nil {
		c.Parties = []string{}
	}
	if c.Devices == nil {
		c.Devices = []string{}
	}
}

// teardown names the events whose cause says why a call (or a leg) ended.
var teardown = map[string]bool{
	schema.EvTermConnDropped:         true,
	schema.EvCallCtlTermConnDropped:  true,
	schema.EvConnFailed:              true,
	schema.EvCallCtlConnFailed:       true,
	schema.EvConnDisconnected:        true,
	schema.EvCallCtlConnDisconnected: true,
	schema.EvCallInvalid:             true,
}
