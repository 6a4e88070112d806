// Package timeline builds the failover story of a CUCM cluster from the
// bridge's provider and bridge events. The out-of-service and in-service
// waves come from the counts the bridge records in each failover's
// GapClosed (schema.Gap.Waves) or, for a failover without them (a log
// written before the bridge recorded them, or Options.WavesFromLog), from
// the device and call events inside the failover's window of the log. It
// is pure: the caller reads the log.
package timeline

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Item is one provider or bridge event with its stream sequence.
type Item struct {
	Seq   uint64
	Event schema.Event
}

// WaveItem is what the builder needs of a terminal, address or call event
// inside a failover window: no decoding of the data beyond the flags.
type WaveItem struct {
	Seq uint64
	// Session and SessionSeq place the event in the engine's emission
	// order (the stream keeps only the order within an entity).
	Session    string
	SessionSeq uint64
	// Time is the event's CTI time, or for a snapshot event the time the
	// bridge received it (a snapshot's CTI time is the call state's).
	Time     time.Time
	Family   schema.Family
	Entity   string
	Name     string
	Snapshot bool
	Inferred bool
}

// WindowFunc delivers, in stream order, the terminal, address and call
// events with stream sequences in [from, to] (to 0: up to the end of the
// log), until fn returns false. A reader may bound the window; it then
// reports truncated. Build
// asks for a little more than the failover's span (WindowBefore,
// WindowAfter) because the bridge may store events of different entities out of
// emission order, and keeps the events that the engine emitted between
// the loss and the gap's close.
type WindowFunc func(from, to uint64, fn func(WaveItem) bool) (truncated bool, err error)

// WindowBefore and WindowAfter are how many stream sequences before the
// loss and after the gap's close Build reads for the waves: the bridge's
// publisher keeps order per entity only, with up to 1,024 messages in
// flight, so an event can be stored that many places away from where the
// engine emitted it (more after the close, where snapshot events of one
// call queue behind each other).
// The read after the close stops early once WindowQuiet events in a row
// were emitted after the close.
const (
	WindowBefore = 1024
	WindowAfter  = 8192
	WindowQuiet  = 1024
)

// Entry is one line of the timeline.
type Entry struct {
	Time time.Time `json:"time"`
	// Event is the JTAPI or bridge event name; derived entries use
	// "LastHeartbeat" (the last message heard from the CTIManager) and the
	// name of the events a wave counts.
	Event string `json:"event"`
	Seq   uint64 `json:"seq,omitempty"`
	// Until is the time of the last event of a wave.
	Until      *time.Time `json:"until,omitempty"`
	Count      int        `json:"count,omitempty"`
	CTIManager string     `json:"ctiManager,omitempty"`
	Reason     string     `json:"reason,omitempty"`
	Detail     string     `json:"detail"`
	// Derived marks entries made from several events or from event data
	// rather than from one event.
	Derived bool `json:"derived,omitempty"`
	// Failover numbers the failover an entry belongs to (from 1).
	Failover int `json:"failover,omitempty"`
	// SincePrevMs is the time since the previous entry; SinceLossMs, in a
	// failover, the time since the loss was detected (negative before).
	SincePrevMs int64       `json:"sincePrevMs"`
	SinceLossMs *int64      `json:"sinceLossMs,omitempty"`
	Gap         *schema.Gap `json:"gap,omitempty"`
}

// Failover summarises one CTIManager loss and recovery.
type Failover struct {
	N           int       `json:"n"`
	From        string    `json:"from"`
	To          string    `json:"to,omitempty"`
	Reason      string    `json:"reason"`
	LastHeard   time.Time `json:"lastHeard,omitzero"`
	Detected    time.Time `json:"detected"`
	DetectionMs int64     `json:"detectionMs,omitempty"`
	HeartbeatMs int64     `json:"serverHeartbeatMs,omitempty"`
	OutOfSvcAt  time.Time `json:"outOfServiceAt,omitzero"`
	InServiceAt time.Time `json:"inServiceAt,omitzero"`
	GapClosedAt time.Time `json:"gapClosedAt,omitzero"`
	// OutageMs is from detection to provider in service; GapMs the gap's
	// recorded duration.
	OutageMs        int64 `json:"outageMs,omitempty"`
	GapMs           int64 `json:"gapMs,omitempty"`
	AddressesOOS    int   `json:"addressesOutOfService"`
	TerminalsOOS    int   `json:"terminalsOutOfService"`
	CallsUnobserved int   `json:"callsObservationEnded"`
	AddressesBack   int   `json:"addressesInService"`
	TerminalsBack   int   `json:"terminalsInService"`
	CallsSnapshot   int   `json:"callsInSnapshot"`
	CallsEnded      int   `json:"callsEndedDuringGap"`
	CallsDiscovered int   `json:"callsDiscovered"`
	// WindowTruncated is set when the wave counts stop short of the
	// window's end (the window was larger than the reader's bound).
	WindowTruncated bool `json:"windowTruncated,omitempty"`
	// WavesCounted is false when no device events were read and the
	// bridge recorded no counts (the device counts are then unknown, not
	// zero).
	WavesCounted bool `json:"wavesCounted"`
	// WavesRecorded says the wave counts are the ones the bridge recorded
	// in GapClosed as the engine emitted the events, not counted from the
	// stored events (which differ only if events were dropped: see the
	// failover's publish gaps).
	WavesRecorded bool `json:"wavesRecorded,omitempty"`
}

// Interval is a span of a lane in the report.
type Interval struct {
	From  time.Time `json:"from"`
	To    time.Time `json:"to"`
	State string    `json:"state"`
	Label string    `json:"label,omitempty"`
}

// Timeline is the built story.
type Timeline struct {
	Entries   []Entry    `json:"entries"`
	Failovers []Failover `json:"failovers"`
	// Managers maps each CTIManager to the intervals its link was up (and
	// connecting); Provider holds the provider's service intervals; Gaps
	// the observation gaps.
	Managers map[string][]Interval `json:"managers"`
	Provider []Interval            `json:"provider"`
	Gaps     []Interval            `json:"gaps"`
	Start    time.Time             `json:"start"`
	End      time.Time             `json:"end"`
}

// Options tune Build.
type Options struct {
	// Heartbeats keeps BridgeHeartbeat records (collapsed into one entry
	// per run); by default they are left out of the story.
	Heartbeats bool
	// WavesFromLog counts every failover's waves from the stored events
	// (through the WindowFunc), even when the bridge recorded them.
	WavesFromLog bool
}

// Build builds the timeline from the provider and bridge events of one
// cluster, in stream order. window, if not nil, is asked for the device and
// call events of each failover window to count the waves.
func Build(items []Item, window WindowFunc, opt Options) (*Timeline, error) {
	b := &builder{tl: &Timeline{Managers: map[string][]Interval{}}, opt: opt, window: window}
	items, b.ranks = order(items)
	for i := range items {
		if err := b.add(&items[i]); err != nil {
			return nil, err
		}
	}
	if err := b.finish(); err != nil {
		return nil, err
	}
	return b.tl, nil
}

type builder struct {
	tl     *Timeline
	opt    Options
	window WindowFunc
	// keys parallels tl.Entries: each entry's place in the engine's
	// emission order (aux for the bridge's own records, placed by time).
	keys  []orderKey
	ranks map[string]int // engine session → rank

	hbCount         int
	hbFirst, hbLast time.Time
	hbSeq           uint64

	hbMs     int64 // server heartbeat of the current link
	mgrUp    map[string]time.Time
	provSt   string
	provAt   time.Time
	provMgr  string
	gapOpen  map[string]time.Time
	episode  *episode
	episodes []*episode
}

type episode struct {
	f Failover
	// gapBefore and gapClosed are the bridge's own counts, used when no
	// window was read.
	gapBefore int
	gapClosed *schema.Gap
	lostSeq   uint64
	lostID    string // the CTIManagerLost event's id
	closeSeq  uint64
	lostKey   orderKey
	closeKey  orderKey
	done      bool
}

// orderKey is a place in the engine's emission order: session rank, then
// the session sequence.
type orderKey struct {
	aux  bool
	rank int
	seq  uint64
}

func (k orderKey) less(o orderKey) bool {
	if k.rank != o.rank {
		return k.rank < o.rank
	}
	return k.seq < o.seq
}

func (b *builder) keyOf(ev *schema.Event) orderKey {
	r, ok := b.ranks[ev.Session]
	if !ok || ev.SessionSeq == 0 {
		return orderKey{aux: true}
	}
	return orderKey{rank: r, seq: ev.SessionSeq}
}

func (b *builder) entry(e Entry, k orderKey) {
	b.tl.Entries = append(b.tl.Entries, e)
	b.keys = append(b.keys, k)
}

// order puts the items in the engine's emission order: the sessions that
// hold provider events (the engine's) by first appearance, each by session
// sequence; the other records (the bridge's own) merged in by time.
func order(items []Item) ([]Item, map[string]int) {
	ranks := map[string]int{}
	engine := map[string]bool{}
	for _, it := range items {
		if it.Event.Family == schema.FamilyProvider && it.Event.Session != "" && it.Event.SessionSeq > 0 {
			engine[it.Event.Session] = true
		}
	}
	var eng, aux []Item
	for _, it := range items {
		if engine[it.Event.Session] && it.Event.SessionSeq > 0 {
			if _, ok := ranks[it.Event.Session]; !ok {
				ranks[it.Event.Session] = len(ranks)
			}
			eng = append(eng, it)
		} else {
			aux = append(aux, it)
		}
	}
	slices.SortStableFunc(eng, func(x, y Item) int {
		if rx, ry := ranks[x.Event.Session], ranks[y.Event.Session]; rx != ry {
			return rx - ry
		}
		switch {
		case x.Event.SessionSeq < y.Event.SessionSeq:
			return -1
		case x.Event.SessionSeq > y.Event.SessionSeq:
			return 1
		}
		return 0
	})
	slices.SortStableFunc(aux, func(x, y Item) int { return x.Event.Time.Compare(y.Event.Time) })
	out := make([]Item, 0, len(items))
	i, j := 0, 0
	for i < len(eng) || j < len(aux) {
		if j < len(aux) && (i == len(eng) || aux[j].Event.Time.Before(eng[i].Event.Time)) {
			out = append(out, aux[j])
			j++
		} else {
			out = append(out, eng[i])
			i++
		}
	}
	return out, ranks
}

func (b *builder) flushHeartbeats() {
	if b.hbCount == 0 {
		return
	}
	if b.opt.Heartbeats {
		last := b.hbLast
		b.entry(Entry{Time: b.hbFirst, Until: &last, Event: schema.EvBridgeHeartbeat, Seq: b.hbSeq, Count: b.hbCount, Derived: b.hbCount > 1,
			Detail: fmt.Sprintf("%d bridge heartbeat record(s), last at %s", b.hbCount, clock(b.hbLast))}, orderKey{aux: true})
	}
	b.hbCount = 0
}

func (b *builder) add(it *Item) error {
	ev := &it.Event
	if b.tl.Start.IsZero() || ev.Time.Before(b.tl.Start) {
		b.tl.Start = ev.Time
	}
	if ev.Time.After(b.tl.End) {
		b.tl.End = ev.Time
	}
	if ev.Name == schema.EvBridgeHeartbeat {
		if b.hbCount == 0 {
			b.hbFirst, b.hbSeq = ev.Time, it.Seq
		}
		b.hbCount++
		b.hbLast = ev.Time
		return nil
	}
	b.flushHeartbeats()
	if b.mgrUp == nil {
		b.mgrUp = map[string]time.Time{}
		b.gapOpen = map[string]time.Time{}
	}
	p := ev.Data.Provider
	if p == nil {
		p = &schema.ProviderData{}
	}
	bd := ev.Data.Bridge
	if bd == nil {
		bd = &schema.BridgeData{}
	}
	mgr := firstNonEmpty(p.CTIManager, ev.CTIManager)
	e := Entry{Time: ev.Time, Event: ev.Name, Seq: it.Seq, CTIManager: mgr}
	ep := b.episode
	switch ev.Name {
	case schema.EvBridgeStarted:
		e.Detail = "bridge started" + optional(" instance ", bd.Instance) + optional(" version ", bd.Version)
	case schema.EvBridgeStopping:
		e.Reason = bd.Reason
		e.Detail = "bridge stopping" + optional(": ", firstNonEmpty(bd.Detail, bd.Reason))
	case schema.EvLeaderAcquired, schema.EvLeaderLost:
		e.Reason = bd.Reason
		e.Detail = leaderDetail(ev.Name, bd)
	case schema.EvNATSLeaderChanged:
		e.Detail = "NATS stream leader changed"
		if n := bd.NATS; n != nil {
			e.Detail = fmt.Sprintf("NATS leader of stream %s changed%s%s (unacknowledged events resent with their ids)",
				n.Stream, optional(" from ", n.PreviousLeader), optional(" to ", n.Leader))
		}
	case schema.EvStreamRecreated:
		e.Gap = bd.Gap
		e.Detail = "event stream deleted and recreated" + optional(": ", bd.Detail)
		if g := bd.Gap; g != nil {
			b.tl.Gaps = append(b.tl.Gaps, Interval{From: g.OpenedAt, To: ev.Time, State: "stream-gap", Label: g.ID})
		}
	case schema.EvCTIManagerConnecting:
		e.Detail = "connecting to " + mgr + optional(" at ", p.Detail)
		if p.Attempt > 1 {
			e.Detail += fmt.Sprintf(" (round %d)", p.Attempt)
		}
		if p.LeastPriority {
			e.Detail += " (least-priority CTIManager)"
		}
	case schema.EvCTIManagerConnected:
		if p.ServerHeartbeatMs > 0 {
			b.hbMs = p.ServerHeartbeatMs
		}
		e.Detail = "link up to " + mgr
		if p.ServerHeartbeatMs > 0 {
			e.Detail += fmt.Sprintf(", heartbeats server %s / client %s", ms(p.ServerHeartbeatMs), ms(p.ClientHeartbeatMs))
		}
		if _, up := b.mgrUp[mgr]; !up {
			b.mgrUp[mgr] = ev.Time
		}
		if ep != nil && ep.f.To == "" {
			ep.f.To = mgr
			e.Detail += " (switched from " + ep.f.From + ")"
		}
	case schema.EvCTIManagerFailed:
		e.Reason = p.Reason
		e.Detail = "could not connect to " + mgr + optional(": ", firstNonEmpty(p.Detail, p.Reason))
		b.closeManager(mgr, ev.Time)
	case schema.EvCTIManagerLost:
		e.Reason = p.Reason
		b.closeManager(mgr, ev.Time)
		if p.Reason == "APPLICATIONREQUEST" {
			e.Detail = "link to " + mgr + " closed on request" + optional(": ", p.Detail)
			break
		}
		hb := firstPositive(p.ServerHeartbeatMs, b.hbMs)
		ep = &episode{lostSeq: it.Seq, lostID: eventID(ev), lostKey: b.keyOf(ev), f: Failover{N: len(b.episodes) + 1, From: mgr, Reason: p.Reason, Detected: ev.Time, HeartbeatMs: hb}}
		b.episode = ep
		b.episodes = append(b.episodes, ep)
		e.Failover = ep.f.N
		e.Detail = "lost " + mgr + ": " + firstNonEmpty(p.Reason, "unknown reason")
		if p.LastHeardAt != nil {
			ep.f.LastHeard = *p.LastHeardAt
			ep.f.DetectionMs = ev.Time.Sub(*p.LastHeardAt).Milliseconds()
			e.Detail += fmt.Sprintf(", detected %s after the last message heard", ms(ep.f.DetectionMs))
			if hb > 0 && p.Reason == "HEARTBEAT_MISSED" {
				e.Detail += fmt.Sprintf(" (limit: 2 × the %s server heartbeat)", ms(hb))
			}
			b.entry(Entry{Time: *p.LastHeardAt, Event: "LastHeartbeat", Seq: it.Seq, CTIManager: mgr, Derived: true, Failover: ep.f.N,
				Detail: "last heartbeat or message received from " + mgr}, b.keyOf(ev))
		}
		// The engine's own account of a missed heartbeat ("nothing
		// received for 2.000392942s (2 × server heartbeat 1s)") says again
		// what the detection figure above already says.
		if p.Detail != "" && p.Detail != p.Reason && !(p.LastHeardAt != nil && p.Reason == "HEARTBEAT_MISSED" && strings.HasPrefix(p.Detail, "nothing received for")) {
			e.Detail += " — " + p.Detail
		}
	case schema.EvProvOutOfService:
		e.Reason = p.Reason
		e.Detail = "provider OUT_OF_SERVICE" + optional(": ", firstNonEmpty(p.Reason, p.Detail))
		b.provider("OUT_OF_SERVICE", ev.Time, mgr)
		if ep != nil && ep.f.OutOfSvcAt.IsZero() {
			ep.f.OutOfSvcAt = ev.Time
		}
	case schema.EvProvInService:
		e.Detail = "provider IN_SERVICE on " + mgr
		if p.Devices > 0 {
			e.Detail += ", " + Count(p.Devices, "device", "devices")
		}
		b.provider("IN_SERVICE", ev.Time, mgr)
		if ep != nil && ep.f.InServiceAt.IsZero() {
			ep.f.InServiceAt = ev.Time
			ep.f.OutageMs = ev.Time.Sub(ep.f.Detected).Milliseconds()
			if ep.f.To == "" {
				ep.f.To = mgr
			}
			e.Detail += fmt.Sprintf(" (%s after the loss)", ms(ep.f.OutageMs))
		}
	case schema.EvProvShutdown:
		e.Reason = p.Reason
		e.Detail = "provider SHUTDOWN" + optional(": ", firstNonEmpty(p.Detail, p.Reason))
		b.provider("SHUTDOWN", ev.Time, mgr)
	case schema.EvCiscoProvConnToLeastPriorCtiServer:
		e.Detail = "on the least-priority CTIManager " + mgr
	case schema.EvCiscoProvPrimNwReachable:
		e.Detail = "a normal CTIManager is reachable again" + optional(": ", strings.Join(p.Reachable, ", "))
	case schema.EvCiscoProvFallbackToPrimNwCompltd:
		e.Detail = "fallback to a normal CTIManager completed (" + mgr + ")"
	case schema.EvDeviceRejected:
		e.Detail = "control-list device skipped" + optional(": ", firstNonEmpty(p.Detail, p.Device))
	case schema.EvCertificateProblem:
		e.Reason = p.Reason
		e.Detail = "certificate problem" + optional(": ", firstNonEmpty(p.Detail, p.Reason, bd.Detail, bd.Reason))
	case schema.EvGapOpened:
		g := bd.Gap
		e.Gap = g
		e.Reason = bd.Reason
		e.Detail = "observation gap opened"
		if g != nil {
			e.Detail += " " + g.ID
			if g.CallsBefore > 0 {
				e.Detail += ", " + Count(g.CallsBefore, "call", "calls") + " known before"
			}
			if g.DetectedAt != nil && g.OpenedAt.Before(*g.DetectedAt) {
				e.Detail += fmt.Sprintf("; it began with the silence, %s before", ms(g.DetectedAt.Sub(g.OpenedAt).Milliseconds()))
			}
			b.gapOpen[g.ID] = firstTime(g.OpenedAt, ev.Time)
			if ep != nil && !ep.done {
				ep.gapBefore = g.CallsBefore
			}
		}
	case schema.EvGapClosed:
		g := bd.Gap
		e.Gap = g
		e.Reason = bd.Reason
		e.Detail = "observation gap closed"
		if g != nil {
			e.Detail += fmt.Sprintf(" %s after %s: %s before, %d after (%d continued, %d ended during the gap, %d discovered by the snapshot)",
				g.ID, ms(g.DurationMs), Count(g.CallsBefore, "call", "calls"), g.CallsAfter, g.CallsContinued, g.CallsEnded, g.CallsDiscovered)
			from, ok := b.gapOpen[g.ID]
			if !ok {
				from = g.OpenedAt
			}
			delete(b.gapOpen, g.ID)
			b.tl.Gaps = append(b.tl.Gaps, Interval{From: from, To: ev.Time, State: "gap", Label: g.ID})
		}
		if ep != nil && !ep.done {
			ep.closeSeq = it.Seq
			ep.closeKey = b.keyOf(ev)
			ep.f.GapClosedAt = ev.Time
			if g != nil {
				ep.f.GapMs = g.DurationMs
				ep.gapClosed = g
			}
			ep.done = true
			b.episode = nil
		}
	case schema.EvPublishGap:
		e.Gap = bd.Gap
		e.Detail = "events dropped while NATS was unavailable"
		if g := bd.Gap; g != nil {
			e.Detail = fmt.Sprintf("%d events dropped while NATS was unavailable (%s … %s)", g.Dropped, g.FirstDropped, g.LastDropped)
			b.tl.Gaps = append(b.tl.Gaps, Interval{From: g.OpenedAt, To: ev.Time, State: "publish-gap", Label: g.ID})
		}
	default:
		e.Detail = ev.Name
	}
	if ep != nil && e.Failover == 0 {
		e.Failover = ep.f.N
	}
	b.entry(e, b.keyOf(ev))
	return nil
}

func (b *builder) closeManager(mgr string, at time.Time) {
	if from, ok := b.mgrUp[mgr]; ok {
		b.tl.Managers[mgr] = append(b.tl.Managers[mgr], Interval{From: from, To: at, State: "up"})
		delete(b.mgrUp, mgr)
	} else if _, seen := b.tl.Managers[mgr]; !seen {
		b.tl.Managers[mgr] = nil
	}
}

func (b *builder) provider(state string, at time.Time, mgr string) {
	if b.provSt != "" && b.provSt != state {
		b.tl.Provider = append(b.tl.Provider, Interval{From: b.provAt, To: at, State: b.provSt, Label: b.provMgr})
	}
	if b.provSt != state {
		b.provSt, b.provAt = state, at
	}
	b.provMgr = mgr
}

// finish closes open intervals, counts the waves and inserts them, and
// computes the durations.
func (b *builder) finish() error {
	b.flushHeartbeats()
	end := b.tl.End
	for mgr, from := range b.mgrUp {
		b.tl.Managers[mgr] = append(b.tl.Managers[mgr], Interval{From: from, To: end, State: "up"})
	}
	if b.provSt != "" {
		b.tl.Provider = append(b.tl.Provider, Interval{From: b.provAt, To: end, State: b.provSt, Label: b.provMgr})
	}
	for id, from := range b.gapOpen {
		b.tl.Gaps = append(b.tl.Gaps, Interval{From: from, To: end, State: "gap", Label: id + " (open)"})
	}
	slices.SortFunc(b.tl.Gaps, func(x, y Interval) int { return x.From.Compare(y.From) })
	for mgr := range b.tl.Managers {
		slices.SortFunc(b.tl.Managers[mgr], func(x, y Interval) int { return x.From.Compare(y.From) })
	}
	// The waves the bridge recorded need no reading; the windows of the
	// other failovers are independent: read them concurrently (a few at a
	// time), then insert every failover's entries in order.
	results := make([][]pendingEntry, len(b.episodes))
	errs := make([]error, len(b.episodes))
	sem := make(chan struct{}, 4)
	var wg sync.WaitGroup
	for i, ep := range b.episodes {
		if g := ep.gapClosed; g != nil && !b.opt.WavesFromLog && g.WavesFrom != "" && g.WavesFrom == ep.lostID {
			results[i] = b.recordedWaves(ep, g.Waves)
			continue
		}
		if b.window != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sem <- struct{}{}
				defer func() { <-sem }()
				results[i], errs[i] = b.waves(ep)
			}()
		}
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, r := range results {
		for _, p := range r {
			b.insertByKey(p.e, p.k, p.ep)
		}
	}
	for _, ep := range b.episodes {
		if !ep.f.WavesCounted {
			// No device events read: the counts the bridge recorded.
			ep.f.CallsUnobserved = ep.gapBefore
			if g := ep.gapClosed; g != nil {
				ep.f.CallsEnded, ep.f.CallsDiscovered = g.CallsEnded, g.CallsDiscovered
				ep.f.CallsSnapshot = g.CallsContinued + g.CallsDiscovered
			}
		}
		b.tl.Failovers = append(b.tl.Failovers, ep.f)
	}
	var prev time.Time
	var lost time.Time
	for i := range b.tl.Entries {
		e := &b.tl.Entries[i]
		if !prev.IsZero() {
			e.SincePrevMs = e.Time.Sub(prev).Milliseconds()
		}
		prev = e.Time
		if e.Failover > 0 {
			lost = b.tl.Failovers[e.Failover-1].Detected
			d := e.Time.Sub(lost).Milliseconds()
			e.SinceLossMs = &d
		}
	}
	return nil
}

// waves counts the device and call events the engine emitted between a
// loss and the gap's close and inserts the wave entries at the place of
// each wave's first event in the engine's order.
// pendingEntry is a wave entry waiting to be inserted at its key.
type pendingEntry struct {
	e  Entry
	k  orderKey
	ep *episode
}

// waves reads an episode's window and returns its wave entries. It only
// reads the builder's ranks and writes the episode's counts, so episodes
// are read concurrently.
func (b *builder) waves(ep *episode) ([]pendingEntry, error) {
	from := uint64(1)
	if ep.lostSeq > WindowBefore {
		from = ep.lostSeq - WindowBefore
	}
	to := uint64(0)
	if ep.closeSeq > 0 {
		to = ep.closeSeq + WindowAfter
	}
	type wave struct {
		first, last time.Time
		key         orderKey
		seq         uint64
		count       int
		entities    map[string]struct{}
	}
	ws := map[string]*wave{}
	var names []string
	quiet := 0
	truncated, err := b.window(from, to, func(w WaveItem) bool {
		k, known := orderKey{}, false
		if r, ok := b.ranks[w.Session]; ok && w.SessionSeq > 0 {
			k, known = orderKey{rank: r, seq: w.SessionSeq}, true
		}
		if ep.closeSeq > 0 && w.Seq > ep.closeSeq {
			if (known && !ep.closeKey.aux && !k.less(ep.closeKey)) || !known {
				if quiet++; quiet >= WindowQuiet {
					return false // everything emitted before the close is stored by now
				}
			} else {
				quiet = 0
			}
		}
		// Keep what the engine emitted after the loss and before the
		// gap closed (by stream position when the session is unknown).
		if known && !ep.lostKey.aux {
			if !ep.lostKey.less(k) || (ep.closeSeq > 0 && !ep.closeKey.aux && !k.less(ep.closeKey)) {
				return true
			}
		} else if w.Seq < ep.lostSeq || (ep.closeSeq > 0 && w.Seq > ep.closeSeq) {
			return true
		}
		name, counted := schema.WaveOf(w.Family, w.Name, w.Snapshot)
		if !counted {
			return true
		}
		wv, ok := ws[name]
		if !ok {
			wv = &wave{first: w.Time, key: k, seq: w.Seq, entities: map[string]struct{}{}}
			if !known {
				wv.key = orderKey{aux: true}
			}
			ws[name] = wv
			names = append(names, name)
		} else if known && k.less(wv.key) {
			wv.key, wv.first, wv.seq = k, w.Time, w.Seq
		}
		wv.count++
		if w.Time.After(wv.last) {
			wv.last = w.Time
		}
		if w.Time.Before(wv.first) && name != schema.WaveSnapshot {
			wv.first = w.Time
		}
		if w.Family == schema.FamilyCall || w.Family == schema.FamilyAddress {
			wv.entities[w.Entity] = struct{}{}
		}
		return true
	})
	if err != nil {
		return nil, err
	}
	ep.f.WindowTruncated = truncated
	sums := make([]waveSum, 0, len(names))
	for _, name := range names {
		wv := ws[name]
		sums = append(sums, waveSum{name: name, first: wv.first, last: wv.last, key: wv.key, seq: wv.seq,
			count: wv.count, entities: len(wv.entities)})
	}
	return waveEntries(ep, sums), nil
}

// recordedWaves makes an episode's wave entries from the counts the bridge
// recorded in its GapClosed.
func (b *builder) recordedWaves(ep *episode, waves []schema.GapWave) []pendingEntry {
	ep.f.WavesRecorded = true
	sums := make([]waveSum, 0, len(waves))
	for _, w := range waves {
		k := orderKey{aux: true}
		if session, seq, ok := schema.ParseEventID(w.FirstID); ok {
			if r, known := b.ranks[session]; known && seq > 0 {
				k = orderKey{rank: r, seq: seq}
			}
		}
		sums = append(sums, waveSum{name: w.Event, first: w.First, last: w.Last, key: k, count: w.Count, entities: w.Entities})
	}
	return waveEntries(ep, sums)
}

// waveSum is one wave of a failover, read from the log or recorded by the
// bridge: entities counts distinct addresses (address waves) or calls
// (the snapshot wave); seq is the stream sequence of its first event (0
// when recorded: the bridge does not know it).
type waveSum struct {
	name        string
	first, last time.Time
	key         orderKey
	seq         uint64
	count       int
	entities    int
}

// waveEntries makes the entries of an episode's waves and fills in its
// counts.
func waveEntries(ep *episode, sums []waveSum) []pendingEntry {
	ep.f.WavesCounted = true
	var out []pendingEntry
	for _, wv := range sums {
		name := wv.name
		last := wv.last
		e := Entry{Time: wv.first, Until: &last, Event: name, Seq: wv.seq, Count: wv.count, Derived: true, Failover: ep.f.N}
		switch name {
		case schema.EvCallObservationEnded:
			ep.f.CallsUnobserved = wv.count
			e.Detail = Count(wv.count, "call", "calls") + ": observation ended (calls stay up)"
		case schema.EvCiscoAddrOutOfService:
			// A shared line (one address on several terminals) gets one
			// event per terminal; the wave counts addresses.
			ep.f.AddressesOOS = wv.entities
			e.Count = wv.entities
			e.Detail = addressWave(wv.entities, wv.count, "out of service")
		case schema.EvCiscoTermOutOfService:
			ep.f.TerminalsOOS = wv.count
			e.Detail = Count(wv.count, "terminal", "terminals") + " out of service"
		case schema.EvCiscoAddrInService:
			ep.f.AddressesBack = wv.entities
			e.Count = wv.entities
			e.Detail = addressWave(wv.entities, wv.count, "back in service")
		case schema.EvCiscoTermInService:
			ep.f.TerminalsBack = wv.count
			e.Detail = Count(wv.count, "terminal", "terminals") + " back in service"
		case schema.WaveSnapshot:
			ep.f.CallsSnapshot = wv.entities
			e.Count = wv.entities
			e.Detail = fmt.Sprintf("snapshot: %s described again (%s)", Count(wv.entities, "call", "calls"), Count(wv.count, "snapshot event", "snapshot events"))
		case schema.EvCiscoTermSnapshotCompleted:
			e.Detail = fmt.Sprintf("%d terminal snapshots completed", wv.count)
		case schema.EvCallEndedInGap:
			ep.f.CallsEnded = wv.count
			e.Detail = "inferred: " + Count(wv.count, "call", "calls") + " ended during the gap"
		case schema.EvCallDiscovered:
			ep.f.CallsDiscovered = wv.count
			e.Detail = "inferred: " + Count(wv.count, "call", "calls") + " discovered by the snapshot"
		}
		if wv.count > 1 && wv.last.Sub(wv.first) >= time.Millisecond {
			e.Detail += fmt.Sprintf(" over %s", ms(wv.last.Sub(wv.first).Milliseconds()))
		}
		out = append(out, pendingEntry{e, wv.key, ep})
	}
	return out
}

// eventID is an event's id (ce-id), "" for an event without a session.
func eventID(ev *schema.Event) string {
	if ev.Session == "" {
		return ""
	}
	return schema.EventID(ev.Session, ev.SessionSeq)
}

// insertByKey inserts a wave entry before the first entry that the engine
// emitted after the wave's first event (a wave with no known place goes
// after the episode's loss).
func (b *builder) insertByKey(e Entry, k orderKey, ep *episode) {
	if k.aux {
		k = ep.lostKey
		k.seq++
	}
	at := len(b.tl.Entries)
	for i, ek := range b.keys {
		if !ek.aux && k.less(ek) {
			at = i
			break
		}
	}
	b.tl.Entries = slices.Insert(b.tl.Entries, at, e)
	b.keys = slices.Insert(b.keys, at, k)
}

func firstNonEmpty(v ...string) string {
	for _, s := range v {
		if s != "" {
			return s
		}
	}
	return ""
}

func firstPositive(v ...int64) int64 {
	for _, n := range v {
		if n > 0 {
			return n
		}
	}
	return 0
}

func firstTime(v ...time.Time) time.Time {
	for _, t := range v {
		if !t.IsZero() {
			return t
		}
	}
	return time.Time{}
}

func optional(prefix, v string) string {
	if v == "" {
		return ""
	}
	return prefix + v
}

// ms formats milliseconds for people: 850ms, 2.003s, 1m04.2s.
func ms(v int64) string {
	d := time.Duration(v) * time.Millisecond
	switch {
	case d < time.Second && d > -time.Second:
		return fmt.Sprintf("%dms", v)
	case d < time.Minute && d > -time.Minute:
		return fmt.Sprintf("%.3fs", d.Seconds())
	}
	return d.Round(100 * time.Millisecond).String()
}

// clock formats a time of day in UTC with milliseconds.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }

// FormatMs is the duration format of the table.
func FormatMs(v int64) string { return ms(v) }

// leaderDetail tells a leader change of a high-availability pair.
func leaderDetail(name string, bd *schema.BridgeData) string {
	l := bd.Leader
	if l == nil {
		l = &schema.Leader{}
	}
	if name == schema.EvLeaderLost {
		d := fmt.Sprintf("bridge %s is no longer active (epoch %d)", bd.Instance, l.Epoch)
		return d + optional(": ", firstNonEmpty(bd.Detail, bd.Reason))
	}
	d := fmt.Sprintf("bridge %s became active (epoch %d", bd.Instance, l.Epoch)
	d += optional(", ", l.Mode+" standby") + ")"
	switch {
	case l.PreviousInstance != "":
		d += fmt.Sprintf(", taking over from %s", l.PreviousInstance)
		d += optional(" whose lease ", l.PreviousEnd)
	case l.PreviousEnd == "none":
		d += ", first tenure"
	}
	if l.WaitMs > 0 {
		d += fmt.Sprintf("; waits %s before opening its provider (one provider per certificate)", ms(l.WaitMs))
	}
	if l.Mode == "hot" && l.PreviousInstance != "" {
		d += "; publishes what the previous active never stored, flagged recovered"
	}
	return d
}

// addressWave describes a wave of address events: addresses, and the
// line appearances (address on a terminal) when shared lines make more.
func addressWave(addresses, appearances int, what string) string {
	if appearances == addresses {
		return Count(addresses, "address", "addresses") + " " + what
	}
	return fmt.Sprintf("%s %s (%s: shared lines)", Count(addresses, "address", "addresses"), what, Count(appearances, "line appearance", "line appearances"))
}

// Count is n and its noun, singular for one ("1 call", "2 calls").
func Count(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return strconv.Itoa(n) + " " + many
}
