// Package timeline builds the failover story of a CUCM cluster from the
// bridge's provider and bridge events (and, for the out-of-service and
// in-service waves, counts of the device and call events inside each
// failover window). It is pure: the caller reads the log.
package timeline

import (
	"fmt"
	"slices"
	"strings"
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
	Seq      uint64
	Time     time.Time
	Family   schema.Family
	Entity   string
	Name     string
	Snapshot bool
	Inferred bool
}

// WindowFunc delivers, in stream order, the terminal, address and call
// events with stream sequences in [from, to] (to 0: up to the end of the
// log). A reader may bound the window; it then reports truncated.
type WindowFunc func(from, to uint64, fn func(WaveItem)) (truncated bool, err error)

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
}

type waveKey struct {
	phase int // 0 loss, 1 recovery
	name  string
}

type wave struct {
	first, last time.Time
	seq         uint64
	count       int
	entities    map[string]struct{}
}

// Build builds the timeline from the provider and bridge events of one
// cluster, in stream order. window, if not nil, is asked for the device and
// call events of each failover window to count the waves.
func Build(items []Item, window WindowFunc, opt Options) (*Timeline, error) {
	b := &builder{tl: &Timeline{Managers: map[string][]Interval{}}, opt: opt, window: window}
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
	f         Failover
	lostSeq   uint64
	oosSeq    uint64
	inSvcSeq  uint64
	closeSeq  uint64
	insertAt  int // entries index where the loss wave goes (after the Lost entry)
	recoverAt int // entries index after ProvInServiceEv (recovery waves go there)
	closeAt   int // entries index of GapClosed (inferred waves go before it)
	done      bool
}

func (b *builder) entry(e Entry) {
	b.tl.Entries = append(b.tl.Entries, e)
}

func (b *builder) flushHeartbeats() {
	if b.hbCount == 0 {
		return
	}
	if b.opt.Heartbeats {
		last := b.hbLast
		b.entry(Entry{Time: b.hbFirst, Until: &last, Event: schema.EvBridgeHeartbeat, Seq: b.hbSeq, Count: b.hbCount, Derived: b.hbCount > 1,
			Detail: fmt.Sprintf("%d bridge heartbeat record(s), last at %s", b.hbCount, clock(b.hbLast))})
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
	case schema.EvLeaderChanged:
		e.Detail = "active bridge changed" + optional(" to ", bd.Instance)
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
		ep = &episode{lostSeq: it.Seq, f: Failover{N: len(b.episodes) + 1, From: mgr, Reason: p.Reason, Detected: ev.Time, HeartbeatMs: hb}}
		b.episode = ep
		b.episodes = append(b.episodes, ep)
		e.Failover = ep.f.N
		e.Detail = "lost " + mgr + ": " + firstNonEmpty(p.Reason, "unknown reason")
		if p.LastHeardAt != nil {
			ep.f.LastHeard = *p.LastHeardAt
			ep.f.DetectionMs = ev.Time.Sub(*p.LastHeardAt).Milliseconds()
			e.Detail += fmt.Sprintf(", detected %s after the last message heard", ms(ep.f.DetectionMs))
			if hb > 0 {
				e.Detail += fmt.Sprintf(" (server heartbeat %s, limit 2 × = %s)", ms(hb), ms(2*hb))
			}
			b.entry(Entry{Time: *p.LastHeardAt, Event: "LastHeartbeat", Seq: it.Seq, CTIManager: mgr, Derived: true, Failover: ep.f.N,
				Detail: "last heartbeat or message received from " + mgr})
		}
		if p.Detail != "" && p.Detail != p.Reason {
			e.Detail += " — " + p.Detail
		}
		ep.insertAt = len(b.tl.Entries) + 1
	case schema.EvProvOutOfService:
		e.Reason = p.Reason
		e.Detail = "provider OUT_OF_SERVICE" + optional(": ", firstNonEmpty(p.Reason, p.Detail))
		b.provider("OUT_OF_SERVICE", ev.Time, mgr)
		if ep != nil && ep.oosSeq == 0 {
			ep.oosSeq = it.Seq
			ep.f.OutOfSvcAt = ev.Time
			ep.insertAt = len(b.tl.Entries) // the loss waves come before ProvOutOfServiceEv
		}
	case schema.EvProvInService:
		e.Detail = "provider IN_SERVICE on " + mgr
		if p.Devices > 0 {
			e.Detail += fmt.Sprintf(", %d devices", p.Devices)
		}
		b.provider("IN_SERVICE", ev.Time, mgr)
		if ep != nil && ep.inSvcSeq == 0 {
			ep.inSvcSeq = it.Seq
			ep.f.InServiceAt = ev.Time
			ep.f.OutageMs = ev.Time.Sub(ep.f.Detected).Milliseconds()
			if ep.f.To == "" {
				ep.f.To = mgr
			}
			e.Detail += fmt.Sprintf(" (%s after the loss)", ms(ep.f.OutageMs))
			ep.recoverAt = len(b.tl.Entries) + 1
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
				e.Detail += fmt.Sprintf(", %d calls known before", g.CallsBefore)
			}
			b.gapOpen[g.ID] = firstTime(g.OpenedAt, ev.Time)
		}
	case schema.EvGapClosed:
		g := bd.Gap
		e.Gap = g
		e.Reason = bd.Reason
		e.Detail = "observation gap closed"
		if g != nil {
			e.Detail += fmt.Sprintf(" %s after %s: %d calls before, %d after (%d continued, %d ended during the gap, %d discovered by the snapshot)",
				g.ID, ms(g.DurationMs), g.CallsBefore, g.CallsAfter, g.CallsContinued, g.CallsEnded, g.CallsDiscovered)
			from, ok := b.gapOpen[g.ID]
			if !ok {
				from = g.OpenedAt
			}
			delete(b.gapOpen, g.ID)
			b.tl.Gaps = append(b.tl.Gaps, Interval{From: from, To: ev.Time, State: "gap", Label: g.ID})
		}
		if ep != nil && !ep.done {
			ep.closeSeq = it.Seq
			ep.f.GapClosedAt = ev.Time
			if g != nil {
				ep.f.GapMs = g.DurationMs
			}
			ep.closeAt = len(b.tl.Entries)
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
	b.entry(e)
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
	// Insert waves from the last episode backwards so earlier insertion
	// indexes stay valid.
	for i := len(b.episodes) - 1; i >= 0; i-- {
		if err := b.waves(b.episodes[i]); err != nil {
			return err
		}
	}
	for _, ep := range b.episodes {
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

// waves counts the device and call events of a failover window and
// inserts the wave entries: the loss waves before ProvOutOfServiceEv, the
// recovery waves after ProvInServiceEv, the reconciliation before GapClosed.
func (b *builder) waves(ep *episode) error {
	if b.window == nil {
		return nil
	}
	to := ep.closeSeq
	ws := map[waveKey]*wave{}
	var order []waveKey
	truncated, err := b.window(ep.lostSeq, to, func(w WaveItem) {
		phase := -1
		switch {
		case ep.oosSeq == 0 || w.Seq < ep.oosSeq:
			switch w.Name {
			case schema.EvCallObservationEnded, schema.EvCiscoAddrOutOfService, schema.EvCiscoTermOutOfService:
				phase = 0
			}
		case ep.inSvcSeq > 0 && w.Seq > ep.inSvcSeq:
			switch {
			case w.Name == schema.EvCiscoAddrInService, w.Name == schema.EvCiscoTermInService,
				w.Name == schema.EvCiscoTermSnapshotCompleted, w.Name == schema.EvCallEndedInGap, w.Name == schema.EvCallDiscovered:
				phase = 1
			case w.Snapshot && w.Family == schema.FamilyCall:
				phase = 1
				w.Name = "Snapshot"
			}
		}
		if phase < 0 {
			return
		}
		k := waveKey{phase, w.Name}
		wv, ok := ws[k]
		if !ok {
			wv = &wave{first: w.Time, seq: w.Seq, entities: map[string]struct{}{}}
			ws[k] = wv
			order = append(order, k)
		}
		wv.count++
		wv.last = w.Time
		if w.Family == schema.FamilyCall {
			wv.entities[w.Entity] = struct{}{}
		}
	})
	if err != nil {
		return err
	}
	ep.f.WindowTruncated = truncated
	var loss, recovery, reconcile []Entry
	for _, k := range order {
		wv := ws[k]
		last := wv.last
		e := Entry{Time: wv.first, Until: &last, Event: k.name, Seq: wv.seq, Count: wv.count, Derived: true, Failover: ep.f.N}
		switch k.name {
		case schema.EvCallObservationEnded:
			ep.f.CallsUnobserved = wv.count
			e.Detail = fmt.Sprintf("%d calls: observation ended (calls stay up)", wv.count)
		case schema.EvCiscoAddrOutOfService:
			ep.f.AddressesOOS = wv.count
			e.Detail = fmt.Sprintf("%d addresses out of service", wv.count)
		case schema.EvCiscoTermOutOfService:
			ep.f.TerminalsOOS = wv.count
			e.Detail = fmt.Sprintf("%d terminals out of service", wv.count)
		case schema.EvCiscoAddrInService:
			ep.f.AddressesBack = wv.count
			e.Detail = fmt.Sprintf("%d addresses back in service", wv.count)
		case schema.EvCiscoTermInService:
			ep.f.TerminalsBack = wv.count
			e.Detail = fmt.Sprintf("%d terminals back in service", wv.count)
		case "Snapshot":
			ep.f.CallsSnapshot = len(wv.entities)
			e.Count = len(wv.entities)
			e.Detail = fmt.Sprintf("snapshot: %d calls re-observed (%d snapshot events)", len(wv.entities), wv.count)
		case schema.EvCiscoTermSnapshotCompleted:
			e.Detail = fmt.Sprintf("%d terminal snapshots completed", wv.count)
		case schema.EvCallEndedInGap:
			ep.f.CallsEnded = wv.count
			e.Detail = fmt.Sprintf("inferred: %d calls ended during the gap", wv.count)
		case schema.EvCallDiscovered:
			ep.f.CallsDiscovered = wv.count
			e.Detail = fmt.Sprintf("inferred: %d calls discovered by the snapshot", wv.count)
		}
		if wv.count > 1 {
			e.Detail += fmt.Sprintf(" over %s", ms(wv.last.Sub(wv.first).Milliseconds()))
		}
		switch {
		case k.phase == 0:
			loss = append(loss, e)
		case k.name == schema.EvCallEndedInGap || k.name == schema.EvCallDiscovered:
			reconcile = append(reconcile, e)
		default:
			recovery = append(recovery, e)
		}
	}
	// Insert from the highest index down.
	if ep.closeAt > 0 {
		b.insert(ep.closeAt, reconcile)
	} else if ep.recoverAt > 0 {
		recovery = append(recovery, reconcile...)
	}
	if ep.recoverAt > 0 {
		b.insert(ep.recoverAt, recovery)
	}
	if ep.insertAt > 0 {
		b.insert(ep.insertAt, loss)
	}
	return nil
}

func (b *builder) insert(at int, es []Entry) {
	if len(es) == 0 {
		return
	}
	at = min(at, len(b.tl.Entries))
	b.tl.Entries = slices.Insert(b.tl.Entries, at, es...)
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
