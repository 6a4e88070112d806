package faultmatrix

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// bitset is a growable set of small non-negative integers.
type bitset []uint64

func (b *bitset) set(i uint64) {
	w := int(i / 64)
	for len(*b) <= w {
		*b = append(*b, 0)
	}
	(*b)[w] |= 1 << (i % 64)
}

func (b bitset) get(i uint64) bool {
	w := int(i / 64)
	return w < len(b) && b[w]&(1<<(i%64)) != 0
}

// Report is the outcome of a check. The lists hold precise diffs (the
// first maxListed of each kind; the counts are complete).
type Report struct {
	// FramesSent counts event-bearing frames the simulator sent;
	// FramesWithEvents those named by at least one event; FramesInGap
	// those inside an explicit provider gap (sent, never acted on because
	// the link or the bridge died) and FramesInPublishGap those whose
	// events a PublishGap record reports dropped.
	FramesSent, FramesWithEvents, FramesInGap, FramesInPublishGap int
	// FramesNotBackInService counts those of FramesInGap that a
	// CTIManager session sent on a link that never brought the provider
	// back into service, while a provider gap was open: the engine holds
	// call messages back until ProvInServiceEv and discards them when the
	// link ends first (a Close, a loss during the device opens). The gap
	// covers them whether a later link's snapshots close it or it is
	// still open at the end of the stream.
	FramesNotBackInService int
	// FramesNoChange counts call-state frames without an event that leave
	// their leg's JTAPI states unchanged (an originating leg's RINGBACK
	// and CONNECTED after PROCEEDING): JTAPI reports nothing for them.
	FramesNoChange int
	// FramesNoChangeMoved counts those of FramesNoChange whose leg the
	// engine last described through a call change (CiscoCallChangedEv
	// moving it, in the states it had, into the surviving call of a
	// transfer or conference), not through a frame of the leg's own:
	// after a failover, the leg's live state and its snapshot then
	// confirm what the call change described.
	FramesNoChangeMoved int
	// FramesNeverKnown counts frames, while a session reconciles after a
	// failover, about a leg that no frame the engine acted on had
	// described, in this session or an earlier one of the same engine
	// (a restarted run, or another tenure of a high-availability group,
	// starts with the calls the log held and none of their legs): it began while the
	// link was down (its earlier frames went to the lost session unread,
	// or were withheld by a stalled CTIManager) and, before its device's
	// snapshot, it ended (a live DISCONNECTED or IDLE, in a call that
	// began during the gap — the call is unknown, or known only from other
	// legs' frames of this session — or in a call up across the gap that
	// this session has re-read from another leg) or it was moved to another call (a
	// CallChanged; the leg's own frames in the surviving call then
	// describe it). The engine never reported that leg; JTAPI has no
	// Connection to end or move, so nothing is owed.
	FramesNeverKnown int
	// FramesSeenByPeer counts frames without an event whose copy in
	// another provider session of a high-availability group has one (the
	// active bridge stored the change; or a hot standby, taking over,
	// recovered what the vanished active never stored). Checker.HA only.
	FramesSeenByPeer int
	// FramesStandbySnapshot counts a hot standby's own snapshot answers
	// (its provider's start or failover while another bridge was active):
	// nothing of its session had been published yet, and the active
	// bridge's events describe the same calls. Checker.HA only.
	FramesStandbySnapshot int
	// FramesStandbyOnlyInGap counts changes that only a hot standby's
	// session received — before that session published anything, or
	// after the last it published (its bridge had stepped down or died)
	// — while a provider gap of the stream was open: the active bridge
	// was not observing the device then (after a CTIManager failover it
	// had not opened it again yet; or its own link had failed just
	// before it took over, and it published that gap with the events it
	// recovered), so its gap covers the change, as it covers every
	// change it missed. Checker.HA only.
	FramesStandbyOnlyInGap int
	// FramesStandbyBeforeLog counts changes that only a hot standby's
	// session received, before that session published anything, before
	// the stream's first provider came into service (its first
	// ProvInServiceEv): the members started together and the standby's
	// provider had opened the device first. The log begins with the
	// active's provider; its snapshot of the device, taken when it opened
	// it, describes the call as it then was (as for a bridge started
	// while calls are up). Checker.HA only.
	FramesStandbyBeforeLog int
	// DuplicatedAcrossBridges counts CTI changes of which the same event
	// was stored from two provider sessions of a high-availability group
	// (both bridges published it); they are also counted in Duplicated.
	DuplicatedAcrossBridges int
	// FramesNotReestablished counts call frames without an event, after a
	// failover, for a leg or call the engine does not hold yet: its
	// device's snapshot has not come in, so the call was rebuilt without
	// that leg. (Route points get no snapshot, but their calls are
	// recovered and reported: no excuse for them.)
	FramesNotReestablished int
	// FramesAfterCallEnded counts call-state frames without an event for
	// a call whose end (CallInvalidEv) an earlier frame of the same
	// session already reported: after a failover a call rebuilt from the
	// first device's snapshot can end before the other parties' snapshots
	// (JTAPI reports nothing for a call once it is invalid).
	FramesAfterCallEnded int
	// Events counts the events stored; ProviderGaps the provider gaps
	// opened (RestartGaps of them for a previous run that was killed);
	// PublishGaps the PublishGap records.
	Events, ProviderGaps, RestartGaps, PublishGaps int
	// LostReconciling counts call frames without an event and without a
	// rule explaining why, sent while a session was reconciling after a
	// failover (before its last SnapshotCompleted). They fail the check
	// like Lost: every frame without an event must be one JTAPI reports
	// nothing for (the rules above), or lie inside a gap.
	LostReconciling int
	ReconcilingList []string
	// Lost, Duplicated and OutOfOrder count rule violations (b), (a) and
	// (c)+(d); Malformed counts events the checker could not attribute.
	Lost, Duplicated, OutOfOrder, Malformed int
	// Diffs describes each violation (capped).
	LostList, DuplicateList, OrderList, MalformedList []string
	// Notes are facts worth knowing that are not violations.
	Notes []string
}

const maxListed = 25

// OK reports whether nothing was lost, duplicated, reordered or malformed,
// and every frame without an event is explained by a rule.
func (r *Report) OK() bool {
	return r.Lost == 0 && r.Duplicated == 0 && r.OutOfOrder == 0 && r.Malformed == 0 && r.LostReconciling == 0
}

func (r *Report) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "frames sent %d: with events %d; without, by rule: no JTAPI change %d (leg described by a call change %d), not yet re-established after a failover %d, call already ended %d, leg never known (began in the gap) %d, in provider gaps %d (on a link never back in service %d), in publish gaps %d\n",
		r.FramesSent, r.FramesWithEvents, r.FramesNoChange, r.FramesNoChangeMoved, r.FramesNotReestablished, r.FramesAfterCallEnded,
		r.FramesNeverKnown, r.FramesInGap, r.FramesNotBackInService, r.FramesInPublishGap)
	if r.FramesSeenByPeer > 0 || r.FramesStandbySnapshot > 0 || r.FramesStandbyOnlyInGap > 0 || r.FramesStandbyBeforeLog > 0 || r.DuplicatedAcrossBridges > 0 {
		fmt.Fprintf(&b, "high availability: frames whose copy in another bridge's session has events %d, hot standby's own snapshot %d, received only by a hot standby inside the active's provider gap %d or before the stream's first provider was in service %d, changes stored by two bridges %d\n",
			r.FramesSeenByPeer, r.FramesStandbySnapshot, r.FramesStandbyOnlyInGap, r.FramesStandbyBeforeLog, r.DuplicatedAcrossBridges)
	}
	fmt.Fprintf(&b, "events stored %d\n", r.Events)
	fmt.Fprintf(&b, "lost %d, duplicated %d, out of order %d, malformed %d; provider gaps %d (restart %d), publish gaps %d\n",
		r.Lost, r.Duplicated, r.OutOfOrder, r.Malformed, r.ProviderGaps, r.RestartGaps, r.PublishGaps)
	list := func(title string, n int, items []string) {
		if n == 0 {
			return
		}
		fmt.Fprintf(&b, "%s (%d):\n", title, n)
		for _, s := range items {
			fmt.Fprintf(&b, "  %s\n", s)
		}
		if n > len(items) {
			fmt.Fprintf(&b, "  ... %d more\n", n-len(items))
		}
	}
	if r.LostReconciling > 0 {
		fmt.Fprintf(&b, "unexplained while reconciling after a failover: %d\n", r.LostReconciling)
	}
	list("LOST", r.Lost, r.LostList)
	list("UNEXPLAINED WHILE RECONCILING", r.LostReconciling, r.ReconcilingList)
	list("DUPLICATED", r.Duplicated, r.DuplicateList)
	list("OUT OF ORDER", r.OutOfOrder, r.OrderList)
	list("MALFORMED", r.Malformed, r.MalformedList)
	for _, n := range r.Notes {
		fmt.Fprintf(&b, "note: %s\n", n)
	}
	return b.String()
}

func (r *Report) add(list *[]string, n *int, s string) {
	*n++
	if len(*list) < maxListed {
		*list = append(*list, s)
	}
}

// Report applies the rules to everything added so far.
func (c *Checker) Report() *Report {
	r := &Report{Events: c.events, ProviderGaps: c.provGaps, RestartGaps: len(c.restarts), PublishGaps: len(c.pubGaps)}
	for _, d := range c.dups {
		r.add(&r.DuplicateList, &r.Duplicated, d)
	}
	for _, d := range c.undecoded {
		r.add(&r.MalformedList, &r.Malformed, d)
	}
	for _, d := range c.badFrames {
		r.add(&r.MalformedList, &r.Malformed, d)
	}
	byInstance := c.instances()
	exempt := c.noChangeFrames()
	c.haNoChangeFrames(exempt)
	peers := c.peerCoverage(r, exempt)
	copies := c.contentCopies()
	for _, sim := range c.simList {
		c.checkFrames(r, sim, byInstance, exempt[sim], peers, copies)
	}
	for _, j := range c.jumps {
		if j.got > j.prev+1 && c.publishGapCovers(j.sess.name, j.prevSess, j.atSess) {
			r.Notes = append(r.Notes, fmt.Sprintf("%s %s/%s sequence %d→%d: the missing events are in a PublishGap",
				j.sess.name, j.key.fam, j.key.entity, j.prev, j.got))
			continue
		}
		what := "skipped"
		if j.got <= j.prev {
			what = "went back"
		}
		r.add(&r.OrderList, &r.OutOfOrder, fmt.Sprintf("stream seq %d: %s %s %q: sequence %s from %d to %d (session seqs %d → %d)",
			j.streamSeq, j.sess.name, j.key.fam, j.key.entity, what, j.prev, j.got, j.prevSess, j.atSess))
	}
	c.checkFrameOrder(r)
	for id := range c.openProviderGaps() {
		r.Notes = append(r.Notes, "provider gap "+id+" still open at the end of the stream")
	}
	sort.Strings(r.Notes)
	return r
}

// instances groups the engine sessions of each bridge instance in N order.
func (c *Checker) instances() map[string][]*session {
	out := map[string][]*session{}
	for _, s := range c.sessions {
		if s.n > 0 {
			out[s.instance] = append(out[s.instance], s)
		}
	}
	for _, ss := range out {
		sort.Slice(ss, func(i, j int) bool { return ss[i].n < ss[j].n })
	}
	return out
}

func (c *Checker) openProviderGaps() map[string]bool {
	open := map[string]bool{}
	for _, s := range c.sessions {
		for _, m := range s.markers {
			if m.kind == mGapOpened && !c.closedGaps[m.gapID] {
				open[m.gapID] = true
			}
		}
	}
	return open
}

// checkFrames applies rule (b) to one simulator session.
func (c *Checker) checkFrames(r *Report, sim *simSession, byInstance map[string][]*session, exempt map[uint32]uint8, peers map[uint64][]int, copies map[uint64]int) {
	if len(sim.frames) == 0 {
		return
	}
	idx := c.simIndex[sim.id]
	firstCovered, lastCovered := uint32(1<<32-1), uint32(0)
	for _, f := range sim.frames {
		if sim.covered.get(uint64(f.seq)) {
			firstCovered = min(firstCovered, f.seq)
			lastCovered = f.seq
		}
	}
	if len(sim.sessions) > 1 {
		var names []string
		for s := range sim.sessions {
			names = append(names, s.name)
		}
		sort.Strings(names)
		r.Notes = append(r.Notes, fmt.Sprintf("frames of %s produced events in sessions %v", sim.id, names))
	}
	tailOK, why := c.tailExcused(sim, byInstance)
	afterGap := exempt != nil && exempt[0] == exemptAfterGap
	notBack := !sim.inService && c.gapOpenAtStart(sim, byInstance)
	reconciling := sim.reconcilingUntil()
	for _, f := range sim.frames {
		r.FramesSent++
		switch {
		case sim.covered.get(uint64(f.seq)):
			r.FramesWithEvents++
		case c.HA && coveredElsewhere(peers[f.content], idx):
			r.FramesSeenByPeer++
		case c.HA && f.snapshot && f.seq < firstCovered:
			r.FramesStandbySnapshot++
		case c.HA && (f.seq < firstCovered || f.seq > lastCovered) && copies[f.content] == 1 && c.inProviderGap(f.at):
			r.FramesStandbyOnlyInGap++
		case c.HA && f.seq < firstCovered && copies[f.content] == 1 && c.logBegins != 0 && f.at < c.logBegins:
			r.FramesStandbyBeforeLog++
		case notBack:
			r.FramesInGap++
			r.FramesNotBackInService++
		case exempt[f.seq] == exemptNoChange:
			r.FramesNoChange++
		case exempt[f.seq] == exemptNoChangeMoved:
			r.FramesNoChange++
			r.FramesNoChangeMoved++
		case exempt[f.seq] == exemptNeverKnown:
			r.FramesNeverKnown++
		case exempt[f.seq] == exemptNotReestablished:
			r.FramesNotReestablished++
		case exempt[f.seq] == exemptCallEnded:
			r.FramesAfterCallEnded++
		case f.seq > sim.maxFramed && tailOK:
			r.FramesInGap++
		case c.frameInPublishGap(sim, f.seq):
			r.FramesInPublishGap++
		case afterGap && f.seq <= reconciling && (f.gcid != 0 || f.typ == ctilink.TypeCallState):
			desc := f.desc
			if desc == "" {
				desc = f.typ.String()
			}
			if len(r.ReconcilingList) < maxListed {
				desc += c.callContext(f.gcid)
			}
			r.add(&r.ReconcilingList, &r.LostReconciling, fmt.Sprintf("%s:%d %s: no event, while the session reconciled after a failover (%s)",
				sim.id, f.seq, desc, sim.reconcilingDesc()))
		default:
			desc := f.desc
			if desc == "" {
				desc = f.typ.String()
			}
			where := fmt.Sprintf("last frame acted on %d", sim.maxFramed)
			if f.seq > sim.maxFramed {
				where += "; not in a gap: " + why
			}
			if c.HA {
				where += fmt.Sprintf("; received by %d sessions; provider gaps %s", copies[f.content], c.gapSpansDesc())
			}
			r.add(&r.LostList, &r.Lost, fmt.Sprintf("%s:%d %s sent %s: no event names it (%s)",
				sim.id, f.seq, desc, time.Unix(0, f.at).Format("15:04:05.000"), where))
		}
	}
}

// gapOpenAtStart reports whether a provider (or restart) gap was open
// when the bridge first acted on a frame of sim: the link began while the
// provider was out of service after an earlier loss. A link that never
// brings the provider back into service cannot close that gap (GapClosed
// follows the new link's snapshots), so the gap spans the whole link.
func (c *Checker) gapOpenAtStart(sim *simSession, byInstance map[string][]*session) bool {
	first := sim.firstSess
	if first == nil || first.n == 0 {
		return false
	}
	open := map[string]bool{}
	for _, s := range byInstance[first.instance] {
		for _, m := range s.markers {
			if !after(first, sim.firstSeq, s, m.seq) {
				return len(open) > 0
			}
			switch m.kind {
			case mGapOpened:
				open[m.gapID] = true
			case mGapClosed:
				delete(open, m.gapID)
			}
		}
	}
	return len(open) > 0
}

// reconcilingUntil is the last frame of a session after a failover that
// came while it was reconciling its calls: its last SnapshotCompleted once
// its snapshots completed and the gap closed on it (GapClosed came from
// its frames); every frame when the session ended first (the bridge
// stopped, or the link was lost, mid-reconciliation: the gap stayed open).
func (s *simSession) reconcilingUntil() uint32 {
	if !s.gapClosed {
		return math.MaxUint32
	}
	return s.lastSnap
}

func (s *simSession) reconcilingDesc() string {
	if !s.gapClosed {
		return "the session ended before its snapshots completed"
	}
	return fmt.Sprintf("snapshots until %d", s.lastSnap)
}

// peerCoverage (Checker.HA) maps each frame content to the simulator
// sessions where a frame with that content is accounted for: it has
// events, or a rule there says why JTAPI reports nothing for it (no change
// of its leg's states; or the rules for a session after a failover, which
// a hot standby's session is to the checker although its engine followed
// the calls all along: it produced no event because there was no change).
// It reports a change stored from two sessions as a duplicate.
func (c *Checker) peerCoverage(r *Report, exempt map[*simSession]map[uint32]uint8) map[uint64][]int {
	if !c.HA {
		return nil
	}
	peers := map[uint64][]int{}
	stored := map[uint64][]int{}
	for i, s := range c.simList {
		for _, f := range s.frames {
			covered := s.covered.get(uint64(f.seq))
			if e := exempt[s][f.seq]; (covered || e != 0) && !slices.Contains(peers[f.content], i) {
				peers[f.content] = append(peers[f.content], i)
			}
			// A snapshot answer restates a leg's state, as each session
			// that asks is told: only live changes can be duplicated.
			if covered && !f.snapshot && !slices.Contains(stored[f.content], i) {
				stored[f.content] = append(stored[f.content], i)
			}
		}
	}
	// The events of every stored copy of a change, by content: a takeover
	// can split one frame's events between the bridges (the predecessor
	// stored the first, the successor recovered the rest), which is no
	// duplicate; the same event stored from two sessions is.
	events := map[uint64]map[string]int{}
	for i, s := range c.simList {
		for _, f := range s.frames {
			if !s.covered.get(uint64(f.seq)) || f.snapshot || len(stored[f.content]) < 2 {
				continue
			}
			m := events[f.content]
			if m == nil {
				m = map[string]int{}
				events[f.content] = m
			}
			for _, k := range s.evKeys[f.seq] {
				m[k] |= 1 << uint(min(i, 62))
			}
		}
	}
	for _, s := range c.simList {
		for _, f := range s.frames {
			sessions := stored[f.content]
			if len(sessions) < 2 || sessions[0] != c.simIndex[s.id] || !s.covered.get(uint64(f.seq)) {
				continue
			}
			twice := false
			for _, bits := range events[f.content] {
				if bits&(bits-1) != 0 {
					twice = true
				}
			}
			if !twice {
				continue
			}
			r.DuplicatedAcrossBridges++
			desc := f.desc
			if desc == "" {
				desc = f.typ.String()
			}
			var names []string
			for _, i := range sessions {
				names = append(names, c.simList[i].id)
			}
			if len(r.DuplicateList) < maxListed {
				desc += c.callContext(f.gcid)
			}
			r.add(&r.DuplicateList, &r.Duplicated, fmt.Sprintf("%s:%d %s: the same change stored from sessions %v", s.id, f.seq, desc, names))
		}
	}
	return peers
}

// contentCopies counts, per content, the simulator sessions that sent a
// frame with it: how many providers received that change (Checker.HA
// only; nil otherwise).
func (c *Checker) contentCopies() map[uint64]int {
	if !c.HA {
		return nil
	}
	copies := map[uint64]int{}
	for _, s := range c.simList {
		seen := map[uint64]bool{}
		for _, f := range s.frames {
			if !seen[f.content] {
				seen[f.content] = true
				copies[f.content]++
			}
		}
	}
	return copies
}

// coveredElsewhere: some simulator session other than idx has events
// for this content.
func coveredElsewhere(sessions []int, idx int) bool {
	for _, i := range sessions {
		if i != idx {
			return true
		}
	}
	return false
}

// tailExcused decides whether the frames a simulator session sent after
// the last one the bridge acted on lie inside an explicit gap: the link
// ended into a provider gap (GapOpened follows before the next link is
// tried, or a gap was already open), or the run's stream ends there and a
// later run recorded a restart gap naming it.
func (c *Checker) tailExcused(sim *simSession, byInstance map[string][]*session) (bool, string) {
	if sim.lastSess == nil {
		if len(c.restarts) > 0 {
			return true, "no event names this session; a restart gap covers a killed run"
		}
		return false, "no event names any frame of this session"
	}
	last := sim.lastSess
	if last.n == 0 {
		return false, "frames named by events of non-engine session " + last.name
	}
	open := map[string]bool{}
	passed := false
	for _, s := range byInstance[last.instance] {
		for _, m := range s.markers {
			if !passed && after(s, m.seq, last, sim.lastSeq) {
				passed = true
				if len(open) > 0 && m.kind == mConnecting {
					return true, "the link ended while a provider gap was open"
				}
			}
			switch m.kind {
			case mGapOpened:
				if passed {
					return true, "a provider gap opened when the link ended"
				}
				open[m.gapID] = true
			case mGapClosed:
				delete(open, m.gapID)
			case mConnecting:
				if passed {
					return false, "the next CTIManager was tried without a gap"
				}
			}
		}
	}
	if len(open) > 0 {
		return true, "the link ended while a provider gap was open"
	}
	for _, reason := range c.restarts {
		if strings.Contains(reason, " "+last.instance+" ") {
			return true, "the run was killed and its restart gap names it"
		}
	}
	return false, "the stream of " + last.instance + " ends without a gap"
}

// frameInPublishGap: the frame's events would sit between the events of
// its neighbouring frames, and a PublishGap reports drops in that window.
func (c *Checker) frameInPublishGap(sim *simSession, seq uint32) bool {
	if len(c.pubGaps) == 0 || sim.lastSess == nil {
		return false
	}
	idx := uint64(c.simIndex[sim.id] + 1)
	for s := range sim.sessions {
		lo, hi := uint64(0), uint64(1<<63)
		for i, packed := range s.frames {
			if packed>>32 != idx {
				continue
			}
			f := uint32(packed)
			ss := uint64(i + 1)
			if f < seq {
				lo = max(lo, ss)
			} else if f > seq && ss < hi {
				hi = ss
			}
		}
		if c.publishGapCovers(s.name, lo, hi) {
			return true
		}
	}
	return false
}

// publishGapCovers reports whether a PublishGap's dropped range overlaps
// the open window (lo, hi) of session sess.
func (c *Checker) publishGapCovers(sess string, lo, hi uint64) bool {
	for _, g := range c.pubGaps {
		first, last := uint64(0), uint64(1<<63)
		switch {
		case g.firstSess == sess && g.lastSess == sess:
			first, last = g.firstSeq, g.lastSeq
		case g.firstSess == sess:
			first = g.firstSeq
		case g.lastSess == sess:
			last = g.lastSeq
		default:
			continue
		}
		if first < hi && last > lo {
			return true
		}
	}
	return false
}

// checkFrameOrder applies rule (d): in each engine session, in emission
// order, the event-bearing frames of one simulator session produce their
// events in frame order.
func (c *Checker) checkFrameOrder(r *Report) {
	names := make([]string, 0, len(c.sessions))
	for n := range c.sessions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := c.sessions[n]
		last := map[uint64]uint32{}
		for i, packed := range s.frames {
			if packed == 0 {
				continue
			}
			simIdx, f := packed>>32, uint32(packed)
			sim := c.simList[simIdx-1]
			if !sim.isEventBearing(f) {
				continue
			}
			if prev := last[simIdx]; f < prev {
				r.add(&r.OrderList, &r.OutOfOrder, fmt.Sprintf("%s event %d comes from frame %s:%d, after an event from frame %d",
					s.name, i+1, sim.id, f, prev))
			}
			last[simIdx] = max(last[simIdx], f)
		}
	}
}

func (s *simSession) isEventBearing(seq uint32) bool {
	i := sort.Search(len(s.frames), func(i int) bool { return s.frames[i].seq >= seq })
	return i < len(s.frames) && s.frames[i].seq == seq
}

// addrKey is an address's Connection in a call.
type addrKey struct {
	call uint32
	dn   string
}

const (
	exemptNoChange uint8 = iota + 1
	exemptNotReestablished
	exemptCallEnded
	exemptAfterGap // key 0: the session follows a failover
	exemptNoChangeMoved
	exemptNeverKnown
)

// haNoChangeFrames (Checker.HA) adds to exempt the call-state frames of
// every simulator session, events or not, that repeat their leg's class
// of the session's previous frame of that leg when that previous frame is
// accounted for (events here, a rule here, or a copy with events in
// another bridge's session). noChangeFrames replays only sessions whose
// frames produced events; a hot standby's session can produce none (its
// link lost at the takeover, so everything it kept was stored by the
// previous active), or its first events only after its own snapshot
// answers began: its engine read every frame of its session all the same,
// and JTAPI reports no change for a state repeated.
func (c *Checker) haNoChangeFrames(exempt map[*simSession]map[uint32]uint8) {
	if !c.HA {
		return
	}
	storedAnywhere := map[uint64]bool{}
	for _, s := range c.simList {
		for _, f := range s.frames {
			if s.covered.get(uint64(f.seq)) {
				storedAnywhere[f.content] = true
			}
		}
	}
	for _, s := range c.simList {
		ex := exempt[s]
		if ex == nil {
			ex = map[uint32]uint8{}
		}
		last := map[uint32]gtFrame{}
		for _, f := range s.frames {
			if f.typ != ctilink.TypeCallState {
				continue
			}
			prev, ok := last[f.handle]
			last[f.handle] = f
			if !ok || f.class == legNone || prev.class != f.class || ex[f.seq] != 0 || s.covered.get(uint64(f.seq)) {
				continue
			}
			if s.covered.get(uint64(prev.seq)) || ex[prev.seq] != 0 || storedAnywhere[prev.content] {
				ex[f.seq] = exemptNoChange
			}
		}
		if len(ex) > 0 {
			exempt[s] = ex
		}
	}
}

// noChangeFrames finds the call frames JTAPI has nothing to report for,
// replaying every leg's and call's frames in the order the engine read
// them: simulator sessions in the order their frames first produced
// events, each up to the last frame the engine acted on. Exempt are:
//
//   - no change: a call-state frame whose leg's class equals the class of
//     the leg's previous frame the engine read (for a snapshot, in the same
//     session: the first snapshot of a leg after a failover rebuilds it);
//   - not yet re-established: after a failover, a live frame for a leg
//     or a call last read in an earlier session (no snapshot of it read in
//     this session yet), or a call frame (call changed,
//     feature, party, media, route) for a call not yet seen in this
//     session. (Since the call model merges a call's snapshots with what
//     live events taught it after the failover, the engine usually does
//     report such frames: it re-describes the leg; the rule only excuses
//     it when it cannot.) A leg read in this session stays held when
//     another device's snapshot of its call arrives;
//   - call already ended: a call-state frame for a call whose end
//     (CallInvalidEv) an earlier frame of the same session reported;
//   - never known: after a failover, while the session reconciles (up to
//     its last snapshot, or to its end if it ended before its snapshots
//     completed: reconcilingUntil), a live DISCONNECTED (IDLE) of a leg
//     no call-state frame read so far described (read by the session's
//     engine instance: a restarted run or another high-availability
//     tenure starts with no legs), in a call no earlier session read (no call-state frame
//     of it, nor a call change the engine reported moving a leg into it):
//     the call began during the gap and the leg's earlier frames were
//     never read — or in a call read before that this session has
//     re-read already (another leg's snapshot or frame): the call was up
//     across the gap and the leg joined it during the gap; or a call
//     change without events moving a leg no call-state frame read so far
//     (nor a call change the engine reported) described. For a route point's leg
//     the same holds after the snapshots too, and in a call read before
//     (its caller's frames): route points get no snapshot, so a leg that
//     reached one during the gap stays unknown to JTAPI until it ends
//     (its route session is recovered, its Connection is not).
//
// A call change the engine reported (an event names its frame) moves the
// leg into the surviving call in the states it had (CiscoCallChangedEv
// and the leg re-described there): the leg and that call count as read
// in this session, in the leg's last class, so the leg's following
// frames that repeat it are "no change" (counted apart as well).
func (c *Checker) noChangeFrames() map[*simSession]map[uint32]uint8 {
	type legState struct {
		class uint8
		sim   *simSession
		call  uint32
		moved bool // last described by a call change
	}
	order := make([]*simSession, 0, len(c.simList))
	for _, s := range c.simList {
		if s.lastSess != nil {
			order = append(order, s)
		}
	}
	sort.SliceStable(order, func(i, j int) bool {
		a, b := order[i], order[j]
		return after(b.firstSess, b.firstSeq, a.firstSess, a.firstSeq)
	})
	legs := map[uint32]legState{}
	calls := map[uint32]*simSession{} // call → session of its last call-state (or reported call-change) frame read
	// For the "never known" rule: the legs a call-state frame read so far
	// described, by the engine instance that read it, and the session a
	// call was first read in. A leg is known to the engine whose model
	// read it: across that engine's failovers, not to a restarted run's
	// or another high-availability tenure's engine, whose model holds only
	// the calls the log still held (ctiengine.PriorGap.Calls), no legs.
	type readLeg struct {
		instance string
		handle   uint32
	}
	legRead := map[readLeg]struct{}{}
	callFirst := map[uint32]*simSession{}
	// The session in which an address's connection in a call was last read
	// (shared lines: several legs, one Connection).
	addrSess := map[addrKey]*simSession{}
	// The session in which a live frame with events last confirmed an
	// address's connection (the call model re-describes a stale
	// Connection with all its terminal connections on a live event).
	addrLive := map[addrKey]*simSession{}
	out := map[*simSession]map[uint32]uint8{}
	for n, s := range order {
		ex := map[uint32]uint8{}
		instance := s.firstSess.instance
		afterGap := n > 0
		reconciling := s.reconcilingUntil()
		// neverKnownRule: the window in which a call nobody read before
		// can end unseen — reconciling after a failover, or the first
		// session's snapshots when calls were up before it opened.
		neverKnownRule := afterGap
		if n == 0 && c.CallsUpAtStart {
			neverKnownRule, reconciling = true, s.lastSnap
		}
		for i := range s.frames {
			f := &s.frames[i]
			if f.seq > s.maxFramed {
				continue
			}
			if f.typ != ctilink.TypeCallState {
				stale := func(id uint32) bool { prev, ok := calls[id]; return id != 0 && ok && prev != s }
				if afterGap && (stale(f.gcid) || stale(f.gcid2)) {
					ex[f.seq] = exemptNotReestablished
				}
				if f.typ != ctilink.TypeCallChanged || f.handle == 0 {
					continue
				}
				if s.covered.get(uint64(f.seq)) {
					// The engine knows the leg it reported moving.
					legRead[readLeg{instance, f.handle}] = struct{}{}
					if prev, ok := legs[f.handle]; ok && f.gcid2 != 0 {
						// Counted apart when the call change is what
						// re-established the leg after a failover.
						legs[f.handle] = legState{class: prev.class, sim: s, call: f.gcid2, moved: prev.sim != s}
						calls[f.gcid2] = s
						if callFirst[f.gcid2] == nil {
							callFirst[f.gcid2] = s
						}
					}
				} else if _, read := legRead[readLeg{instance, f.handle}]; neverKnownRule && f.seq <= reconciling && ex[f.seq] == 0 && !read {
					ex[f.seq] = exemptNeverKnown
				}
				continue
			}
			_, read := legRead[readLeg{instance, f.handle}]
			legRead[readLeg{instance, f.handle}] = struct{}{}
			// The call began during the gap: no earlier session read it.
			newCall := callFirst[f.gcid] == nil || callFirst[f.gcid] == s
			prev, known := legs[f.handle]
			callSess, callKnown := calls[f.gcid]
			staleCall := callKnown && callSess != s
			orphan := !f.snapshot && afterGap && (known && prev.sim != s || staleCall)
			addr := addrKey{f.gcid, f.line}
			endedAt, ended := c.callEnded[uint64(c.simIndex[s.id])<<32|uint64(f.gcid)]
			switch {
			case ended && endedAt < f.seq:
				ex[f.seq] = exemptCallEnded
			case neverKnownRule && !f.snapshot && f.class == legNone && !read && ((newCall || !staleCall) && f.seq <= reconciling || f.routePoint && afterGap):
				ex[f.seq] = exemptNeverKnown
			case orphan:
				ex[f.seq] = exemptNotReestablished
			case f.class == legNone:
			case known && prev.class == f.class && (!f.snapshot || prev.sim == s || addrLive[addr] == s):
				// (A live frame of another appearance of the same
				// shared line re-described the whole Connection, this
				// terminal's appearance included, in this session.)
				ex[f.seq] = exemptNoChange
				if prev.moved {
					ex[f.seq] = exemptNoChangeMoved
				}
			case !known && f.class == legOffered && addrSess[addr] == s:
				// A shared line's further appearance offered: the
				// address's Connection is OFFERED already, and a
				// terminal connection exists only from ALERTING.
				ex[f.seq] = exemptNoChange
			}
			if f.class == legNone {
				delete(addrSess, addr)
				delete(addrLive, addr)
			} else {
				addrSess[addr] = s
				if !f.snapshot && s.covered.get(uint64(f.seq)) {
					addrLive[addr] = s
				}
			}
			switch {
			case f.class == legNone:
				delete(legs, f.handle)
			case orphan && !s.covered.get(uint64(f.seq)):
				// Still not held by the engine (it reported nothing):
				// later frames of the leg in this session are exempt too.
			default:
				// A leg keeps its call-change origin while its frames
				// repeat the state the call change described.
				moved := ex[f.seq] == exemptNoChangeMoved && !s.covered.get(uint64(f.seq))
				legs[f.handle] = legState{class: f.class, sim: s, call: f.gcid, moved: moved}
				calls[f.gcid] = s
				if callFirst[f.gcid] == nil {
					callFirst[f.gcid] = s
				}
			}
		}
		if afterGap {
			ex[0] = exemptAfterGap
		}
		out[s] = ex
	}
	return out
}
