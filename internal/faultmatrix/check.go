package faultmatrix

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// EventBearing reports whether a frame of type t reports a change that must
// reach the stream as at least one event: call state, features, call
// changes, parties, routes, media, device and line service, device
// registration. Every other frame (responses, heartbeats, the device list,
// provider open and close) drives the session and may produce nothing.
func EventBearing(t ctilink.MsgType) bool {
	switch t {
	case ctilink.TypeCallState, ctilink.TypeFeature, ctilink.TypeCallChanged, ctilink.TypeCallParty,
		ctilink.TypeRoute, ctilink.TypeMedia, ctilink.TypeDeviceService, ctilink.TypeLineService,
		ctilink.TypeDeviceRegistration:
		return true
	}
	return false
}

// RestartGapPrefix starts the reason of the provider gap a bridge records
// when its previous run ended without an orderly stop; the reason then
// names the previous run's instance. TakeoverGapPrefix starts the reason
// of the gap a cold standby records when it takes over from an active
// bridge that did not release its lease (bridge.TakeoverGapPrefix); it
// names that bridge's engine instance the same way.
const (
	RestartGapPrefix  = "bridge restart:"
	TakeoverGapPrefix = "bridge takeover:"
)

// gtFrame is one event-bearing frame the simulator sent to a session.
type gtFrame struct {
	seq uint32
	typ ctilink.MsgType
	// Call-state frames: the leg (call handle), the JTAPI class its state
	// maps to (legClass), whether it answers a snapshot and whether the
	// line is a route point's. Call-change frames: the moved leg's handle.
	handle     uint32
	gcid       uint32 // the call (CallState), or the first call referenced
	gcid2      uint32 // a second call referenced (CallChanged, Feature)
	class      uint8
	snapshot   bool
	routePoint bool
	line       string // the leg's directory number (call-state frames)
	at         int64  // when it was written (Unix ns)
	desc       string // a short description (Checker.Details)
	// content identifies what the frame said (type and body): the copies
	// one CTI change makes in several providers' sessions share it
	// (Checker.HA).
	content uint64
}

type simSession struct {
	id     string
	frames []gtFrame // sent event-bearing frames, in sending order
	other  uint32    // highest sequence of any sent frame
	// lastSnap is the sequence of the last SnapshotCompleted sent: up to
	// there a session after a failover is reconciling its calls (see
	// reconcilingUntil).
	lastSnap uint32
	// From the stream: ProvInServiceEv came from one of this session's
	// frames (the provider came into service on its link), and GapClosed
	// did (its snapshots completed and the gap closed on it).
	inService, gapClosed bool
	// From the stream: frames named by at least one event, the highest
	// sequence named, and where the last event naming this session's
	// frames sits.
	covered   bitset
	maxFramed uint32
	lastSess  *session
	lastSeq   uint64
	firstSess *session
	firstSeq  uint64
	sessions  map[*session]bool
	// evKeys (Checker.HA) lists, per frame sequence, what each event
	// naming the frame said (name, entity, object): two sessions' copies
	// of a change are a duplicate only if they stored the same event.
	evKeys map[uint32][]string
}

type entKey struct {
	fam    schema.Family
	entity string
}

type entState struct {
	seq     uint64 // last sequence extension seen
	sessSeq uint64 // its session sequence
}

// marker is an event of an engine session that the gap accounting needs.
type marker struct {
	seq    uint64
	kind   uint8
	gapID  string
	reason string
}

const (
	mGapOpened uint8 = iota + 1
	mGapClosed
	mConnecting
)

// session is one provider (or bridge, or publisher) session of the stream.
type session struct {
	name     string
	instance string
	n        int // engine sessions: N of "<instance>-p<N>"; 0 otherwise
	seen     bitset
	// frames[sessSeq-1] packs the event's frame: (sim index+1)<<32 | seq.
	frames  []uint64
	markers []marker
	ents    map[entKey]entState
	events  int
}

type pubGap struct {
	id                  string
	firstSess, lastSess string
	firstSeq, lastSeq   uint64
	dropped             int
}

// seqJump is a per-entity sequence that did not go up by exactly one.
type seqJump struct {
	sess             *session
	key              entKey
	prev, got        uint64
	prevSess, atSess uint64
	streamSeq        uint64
}

// Checker compares what the simulator sent (its ground truth) with what
// the stream holds, by the rules of docs/reliability.md:
//
//	(a) every CloudEvent id is stored once;
//	(b) every event-bearing frame the simulator sent has at least one event
//	    naming it (ctiframe), or lies inside an explicit gap: the frames a
//	    session sent after the last one the bridge acted on, when that
//	    session ended into a provider gap (GapOpened, or a gap already open,
//	    or a restart gap naming the run), or frames whose events a
//	    PublishGap record reports dropped;
//	(c) within each session, each entity's sequence extension goes up by
//	    exactly one in stream order, from 1 (unless a PublishGap covers the
//	    missing events);
//	(d) within each engine session, events follow the order of the
//	    event-bearing frames they came from.
//
// Feed it with AddRecord (any order relative to the events, records of
// one simulator session in sending order) and AddEvent (stream order),
// then call Report. Memory is a few bytes per frame and per event, so a
// long soak fits. A Checker is not safe for concurrent use.
type Checker struct {
	// Details keeps a short description of every frame for the report
	// (tests); off, lost frames are named by session, sequence and type.
	Details bool
	// RoutePoints names the route point devices: CTIManager sends no
	// snapshot for them, so after a failover the engine cannot know their
	// legs of calls that were up across it.
	RoutePoints map[string]bool
	// HA checks a high-availability group, whose members each had their
	// own provider sessions (docs/ha.md): one CTI change then reaches
	// several sessions as frames with the same content. A frame without
	// an event is accounted for when a copy of it in another session has
	// one (the active bridge stored it, or a hot standby recovered it); a
	// change stored from two sessions is a duplicate; a hot standby's own
	// snapshot answers, read while another bridge was active, are its own
	// business.
	HA bool
	// CallsUpAtStart says the traffic was running before the first
	// provider session opened (the bridge started after its calls, e.g.
	// members that waited for NATS): a call that ends before that
	// session's snapshots describe it was never known to the bridge,
	// as after a failover, and its frames up to the session's last
	// SnapshotCompleted are counted under "leg never known".
	CallsUpAtStart bool

	sims       map[string]*simSession
	simIndex   map[string]int
	simList    []*simSession
	sessions   map[string]*session
	pubGaps    []pubGap
	restarts   []string // reasons of restart gaps
	dups       []string
	undecoded  []string
	jumps      []seqJump
	badFrames  []string
	events     int
	streamLast uint64
	provGaps   int
	closedGaps map[string]bool
	// gapSpans: every provider gap's interval by id (ns since the epoch;
	// closed 0 while open), for HA's rule on changes only a hot standby
	// received.
	gapSpans map[string]*gapSpan
	// logBegins is when the stream's first provider came into service
	// (its first ProvInServiceEv; ns since the epoch, 0: none yet), for
	// HA's rule on changes only a hot standby received before that.
	logBegins int64
	// callEnded: (simulator session index, global call id) → the first
	// frame whose events ended the call (CallInvalidEv).
	callEnded map[uint64]uint32
	names     map[string]int
	// callLog (Details only): every call event of the stream, by call id,
	// one line each, to show around an unexplained frame.
	callLog map[string][]string
}

// Count reports how many stored events are named name.
func (c *Checker) Count(name string) int { return c.names[name] }

// NewChecker returns an empty Checker.
func NewChecker() *Checker {
	return &Checker{
		sims: map[string]*simSession{}, simIndex: map[string]int{},
		sessions: map[string]*session{}, closedGaps: map[string]bool{}, gapSpans: map[string]*gapSpan{}, callEnded: map[uint64]uint32{},
		names: map[string]int{},
	}
}

func (c *Checker) sim(id string) (*simSession, int) {
	if s, ok := c.sims[id]; ok {
		return s, c.simIndex[id]
	}
	s := &simSession{id: id, sessions: map[*session]bool{}}
	c.sims[id] = s
	c.simIndex[id] = len(c.simList)
	c.simList = append(c.simList, s)
	return s, len(c.simList) - 1
}

// Frame is one frame the simulator sent to a session.
type Frame struct {
	Session string // the simulator's session (provider) id
	Seq     uint32 // its header sequence
	Type    ctilink.MsgType
	Time    time.Time
	// CallState is the message of a call-state frame (nil otherwise).
	CallState *ctilink.CallStateEvent
	// Calls are the global call ids another call frame refers to
	// (CallChanged, Feature, CallParty, Media, Route).
	Calls [2]uint32
	// Handle is the call handle of the leg a CallChanged frame moves.
	Handle uint32
	// Desc, if set, describes the frame for the report.
	Desc func() string
	// Content identifies the frame's type and body (Checker.HA).
	Content uint64
}

// contentOf hashes a record's type and body: equal for the copies of one
// CTI change sent to several sessions (the body carries CTIManager's
// timeNs of the change).
func contentOf(t ctilink.MsgType, r ctisim.Record) uint64 {
	body := []byte(r.Body)
	if len(body) == 0 && r.Msg != nil {
		body, _ = json.Marshal(r.Msg)
	}
	h := fnv.New64a()
	h.Write([]byte{byte(t)})
	h.Write(body)
	return h.Sum64()
}

// AddRecord takes one ground-truth record. Only frames sent count: a
// frame withheld (stall) or lost with its session never reached the wire.
func (c *Checker) AddRecord(r ctisim.Record) {
	if !r.Sent {
		return
	}
	f := Frame{Session: r.Session, Seq: r.Seq, Type: msgType(r), Time: r.Time, Desc: func() string { return describe(r) }}
	if c.HA {
		f.Content = contentOf(f.Type, r)
	}
	if f.Type == ctilink.TypeCallState {
		switch m := r.Msg.(type) {
		case ctilink.CallStateEvent:
			f.CallState = &m
		case nil:
			var cs ctilink.CallStateEvent
			if json.Unmarshal(r.Body, &cs) == nil {
				f.CallState = &cs
			}
		}
	}
	if f.Type != ctilink.TypeCallState && EventBearing(f.Type) {
		f.Calls, f.Handle = callRefs(r.Body)
	}
	c.AddFrame(f)
}

// callRefs reads the call ids a call frame's body refers to and, for a
// call change, the handle of the leg it moves.
func callRefs(body []byte) ([2]uint32, uint32) {
	var v struct {
		GlobalCallID   uint32 `json:"globalCallId"`
		OriginalCallID uint32 `json:"originalCallId"`
		SurvivingCall  uint32 `json:"survivingCallId"`
		PrimaryCallID  uint32 `json:"primaryCallId"`
		ConsultCallID  uint32 `json:"consultCallId"`
		CallHandle     uint32 `json:"callHandle"`
	}
	if json.Unmarshal(body, &v) != nil {
		return [2]uint32{}, 0
	}
	switch {
	case v.OriginalCallID != 0 || v.SurvivingCall != 0:
		return [2]uint32{v.OriginalCallID, v.SurvivingCall}, v.CallHandle
	case v.PrimaryCallID != 0 || v.ConsultCallID != 0:
		return [2]uint32{v.PrimaryCallID, v.ConsultCallID}, 0
	}
	return [2]uint32{v.GlobalCallID}, 0
}

// AddFrame takes one frame the simulator sent; the frames of one session
// must come in sending order.
func (c *Checker) AddFrame(fr Frame) {
	s, _ := c.sim(fr.Session)
	s.other = max(s.other, fr.Seq)
	if fr.Type == ctilink.TypeSnapshotCompleted {
		s.lastSnap = max(s.lastSnap, fr.Seq)
	}
	if !EventBearing(fr.Type) {
		return
	}
	f := gtFrame{seq: fr.Seq, typ: fr.Type, at: fr.Time.UnixNano(), content: fr.Content}
	if cs := fr.CallState; cs != nil {
		f.handle, f.gcid, f.class, f.snapshot = cs.CallHandle, cs.GlobalCallID, legClass(cs.State), cs.Snapshot
		f.routePoint = c.RoutePoints[cs.Device]
		f.line = cs.Line
	} else {
		f.gcid, f.gcid2 = fr.Calls[0], fr.Calls[1]
		if fr.Type == ctilink.TypeCallChanged {
			f.handle = fr.Handle
		}
	}
	if c.Details && fr.Desc != nil {
		f.desc = fr.Desc()
	}
	s.frames = append(s.frames, f)
}

// Leg classes: the pair (connection call-control state, terminal
// connection call-control state) a wire state maps to for the line's own
// connection, by the normative table of pkg/ctiengine/callmodel (far
// parties observed, as in the rig). legNone: no class (always reported).
const (
	legNone uint8 = iota
	legInitiated
	legDialing
	legEstablishedTalking
	legOffered
	legQueued
	legAlertingRinging
	legEstablishedHeld
	legEstablishedInUse
	legUnknown
	legBusy
)

func legClass(st ctilink.CallState) uint8 {
	switch st {
	case ctilink.CallStateDialTone:
		return legInitiated
	case ctilink.CallStateDialing:
		return legDialing
	case ctilink.CallStateProceeding, ctilink.CallStateProgressing, ctilink.CallStateRingback,
		ctilink.CallStateConnected, ctilink.CallStateWhisper:
		return legEstablishedTalking
	case ctilink.CallStateOffering:
		return legOffered
	case ctilink.CallStateQueued, ctilink.CallStateWaiting:
		return legQueued
	case ctilink.CallStateAccepted:
		return legAlertingRinging
	case ctilink.CallStateOnHold, ctilink.CallStateOnHoldPending, ctilink.CallStateTransferOnHold,
		ctilink.CallStateTransferOnHoldPending:
		return legEstablishedHeld
	case ctilink.CallStateRemoteInUse:
		return legEstablishedInUse
	case ctilink.CallStateUnknown:
		return legUnknown
	case ctilink.CallStateBusy:
		// Busy treatment; a snapshot of a busy leg repeats it.
		return legBusy
	}
	return legNone // DISCONNECTED, IDLE: always reported
}

func msgType(r ctisim.Record) ctilink.MsgType {
	if r.Msg != nil {
		return r.Msg.Type()
	}
	return typeByName[r.Type]
}

var typeByName = func() map[string]ctilink.MsgType {
	m := map[string]ctilink.MsgType{}
	for t := 0; t < 256; t++ {
		mt := ctilink.MsgType(t)
		if name := mt.String(); name != "" && !strings.HasPrefix(name, "MsgType(") && !strings.HasPrefix(name, "0x") {
			m[name] = mt
		}
	}
	return m
}()

func describe(r ctisim.Record) string {
	switch m := r.Msg.(type) {
	case ctilink.CallStateEvent:
		snap := ""
		if m.Snapshot {
			snap = " snapshot"
		}
		return fmt.Sprintf("CallState{%s/%s call %d leg %d %s%s}", m.Device, m.Line, m.GlobalCallID, m.CallHandle, m.State, snap)
	case ctilink.DeviceServiceEvent:
		return fmt.Sprintf("DeviceService{%s in=%v}", m.Device, m.InService)
	case ctilink.LineServiceEvent:
		return fmt.Sprintf("LineService{%s/%s in=%v}", m.Device, m.Line, m.InService)
	case ctilink.DeviceRegistrationEvent:
		return fmt.Sprintf("DeviceRegistration{%s registered=%v}", m.Device, m.Registered)
	}
	if len(r.Body) > 0 && len(r.Body) < 200 {
		return r.Type + string(r.Body)
	}
	return r.Type
}

// sessionOf parses a session id: "<instance>-p<N>" (engine), "<instance>-b"
// (bridge records), "<instance>-pub" (publisher gap records).
func (c *Checker) sessionOf(name string) *session {
	if s, ok := c.sessions[name]; ok {
		return s
	}
	s := &session{name: name, ents: map[entKey]entState{}}
	if i := strings.LastIndex(name, "-p"); i > 0 {
		if n, err := strconv.Atoi(name[i+2:]); err == nil && n > 0 {
			s.instance, s.n = name[:i], n
		}
	}
	if s.n == 0 {
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			s.instance = name[:i]
		}
	}
	c.sessions[name] = s
	return s
}

// AddEvent takes one decoded event, in stream order; streamSeq is its
// stream sequence (for the report) and id its CloudEvent id.
func (c *Checker) AddEvent(streamSeq uint64, id string, ev *schema.Event) {
	c.events++
	c.streamLast = streamSeq
	c.names[ev.Name]++
	sessName, sessSeq, ok := schema.ParseEventID(id)
	if !ok || sessName != ev.Session {
		c.undecoded = append(c.undecoded, fmt.Sprintf("stream seq %d: id %q does not name session %q", streamSeq, id, ev.Session))
		return
	}
	s := c.sessionOf(sessName)
	s.events++
	// (a) once.
	if s.seen.get(sessSeq) {
		c.dups = append(c.dups, fmt.Sprintf("stream seq %d: %s (%s %s) stored again", streamSeq, id, ev.Name, ev.Entity))
		return
	}
	s.seen.set(sessSeq)
	// (c) per-entity sequence.
	k := entKey{ev.Family, ev.Entity}
	st, known := s.ents[k]
	if (known && ev.Sequence != st.seq+1) || (!known && ev.Sequence != 1) {
		c.jumps = append(c.jumps, seqJump{sess: s, key: k, prev: st.seq, got: ev.Sequence,
			prevSess: st.sessSeq, atSess: sessSeq, streamSeq: streamSeq})
	}
	if !known || ev.Sequence > st.seq {
		s.ents[k] = entState{seq: ev.Sequence, sessSeq: sessSeq}
	}
	if ev.Family == schema.FamilyCall && (ev.Name == schema.EvCallObservationEnded || ev.Name == schema.EvCallEndedInGap) {
		// The engine forgets a call's counter after its last event of the
		// session; so does the checker (memory follows live calls).
		delete(s.ents, k)
		s.ents[k] = entState{seq: ev.Sequence, sessSeq: sessSeq}
	}
	if c.Details && ev.Family == schema.FamilyCall {
		c.logCallEvent(sessSeq, ev)
	}
	// Provenance.
	if ev.Frame != "" {
		c.addFramed(s, sessSeq, streamSeq, id, ev.Frame, ev.Name, ev.Entity)
		if c.HA {
			c.addEventKey(ev)
		}
	}
	if ev.Name == schema.EvProvInService && c.logBegins == 0 {
		c.logBegins = ev.Time.UnixNano()
	}
	// Gaps and link markers.
	switch ev.Name {
	case schema.EvGapOpened, schema.EvGapClosed:
		// Provider gaps are the engine's; restart gaps the bridge's own
		// record of a killed previous run found once NATS answered after
		// the provider had opened.
		if b := ev.Data.Bridge; b != nil && b.Gap != nil && (b.Gap.Kind == "provider" || b.Gap.Kind == "restart") {
			if b.Gap.Kind == "provider" {
				c.addGapSpan(ev.Name, b.Gap, ev.Time)
			}
			kind := mGapOpened
			if ev.Name == schema.EvGapClosed {
				kind = mGapClosed
				c.closedGaps[b.Gap.ID] = true
			} else {
				c.provGaps++
				if strings.HasPrefix(b.Gap.Reason, RestartGapPrefix) || strings.HasPrefix(b.Gap.Reason, TakeoverGapPrefix) {
					c.restarts = append(c.restarts, b.Gap.Reason)
				}
			}
			s.markers = append(s.markers, marker{seq: sessSeq, kind: kind, gapID: b.Gap.ID, reason: b.Gap.Reason})
		}
	case schema.EvCTIManagerConnecting:
		s.markers = append(s.markers, marker{seq: sessSeq, kind: mConnecting})
	case schema.EvPublishGap:
		if b := ev.Data.Bridge; b != nil && b.Gap != nil {
			g := pubGap{id: b.Gap.ID, dropped: b.Gap.Dropped}
			g.firstSess, g.firstSeq, _ = schema.ParseEventID(b.Gap.FirstDropped)
			g.lastSess, g.lastSeq, _ = schema.ParseEventID(b.Gap.LastDropped)
			c.pubGaps = append(c.pubGaps, g)
		}
	}
}

func (c *Checker) addFramed(s *session, sessSeq, streamSeq uint64, id, frame, name, entity string) {
	i := strings.LastIndexByte(frame, ':')
	fseq, err := strconv.ParseUint(frame[i+1:], 10, 32)
	if i <= 0 || err != nil || fseq == 0 {
		c.badFrames = append(c.badFrames, fmt.Sprintf("stream seq %d: %s: ctiframe %q is not <providerId>:<sequence>", streamSeq, id, frame))
		return
	}
	sim, idx := c.sim(frame[:i])
	sim.covered.set(fseq)
	sim.maxFramed = max(sim.maxFramed, uint32(fseq))
	sim.sessions[s] = true
	if sim.firstSess == nil || after(sim.firstSess, sim.firstSeq, s, sessSeq) {
		sim.firstSess, sim.firstSeq = s, sessSeq
	}
	if sim.lastSess == nil || after(s, sessSeq, sim.lastSess, sim.lastSeq) {
		sim.lastSess, sim.lastSeq = s, sessSeq
	}
	for uint64(len(s.frames)) < sessSeq {
		s.frames = append(s.frames, 0)
	}
	s.frames[sessSeq-1] = uint64(idx+1)<<32 | fseq
	switch name {
	case schema.EvProvInService:
		sim.inService = true
	case schema.EvGapClosed:
		sim.gapClosed = true
	}
	if name == schema.EvCallInvalid {
		if gcid, err := strconv.ParseUint(entity, 10, 32); err == nil {
			k := uint64(idx)<<32 | gcid
			if prev, ok := c.callEnded[k]; !ok || uint32(fseq) < prev {
				c.callEnded[k] = uint32(fseq)
			}
		}
	}
}

// addEventKey records what an event said about its frame (Checker.HA).
func (c *Checker) addEventKey(ev *schema.Event) {
	i := strings.LastIndexByte(ev.Frame, ':')
	fseq, err := strconv.ParseUint(ev.Frame[i+1:], 10, 32)
	if i <= 0 || err != nil {
		return
	}
	sim, _ := c.sim(ev.Frame[:i])
	if sim.evKeys == nil {
		sim.evKeys = map[uint32][]string{}
	}
	k := ev.Name + "|" + ev.Entity
	if cd := ev.Data.Call; cd != nil {
		if cn := cd.Connection; cn != nil {
			k += "|" + cn.Address
		}
		if tc := cd.TerminalConnection; tc != nil {
			k += "|" + tc.Terminal
		}
	}
	sim.evKeys[uint32(fseq)] = append(sim.evKeys[uint32(fseq)], k)
}

// after reports whether position (a, aSeq) comes after (b, bSeq) in the
// engine's emission order (sessions of one instance in N order).
func after(a *session, aSeq uint64, b *session, bSeq uint64) bool {
	if a == b {
		return aSeq > bSeq
	}
	return a.instance == b.instance && a.n > b.n
}

// logCallEvent keeps a one-line description of a call event (Details).
func (c *Checker) logCallEvent(sessSeq uint64, ev *schema.Event) {
	if c.callLog == nil {
		c.callLog = map[string][]string{}
	}
	line := fmt.Sprintf("%s#%d %s", ev.Session, sessSeq, ev.Name)
	if cd := ev.Data.Call; cd != nil {
		if cn := cd.Connection; cn != nil {
			line += fmt.Sprintf(" conn %s %s/%s", cn.Address, cn.State, cn.CallControlState)
		}
		if tc := cd.TerminalConnection; tc != nil {
			line += fmt.Sprintf(" tc %s %s/%s", tc.Terminal, tc.State, tc.CallControlState)
		}
	}
	if ev.Data.Snapshot {
		line += " snapshot"
	}
	if ev.Frame != "" {
		line += " frame " + ev.Frame
	}
	c.callLog[ev.Entity] = append(c.callLog[ev.Entity], line)
}

// callContext describes, for the report (Details), the frames every
// simulator session sent about call gcid and the call's events in the
// stream, so that an unexplained frame can be judged.
func (c *Checker) callContext(gcid uint32) string {
	if !c.Details || gcid == 0 {
		return ""
	}
	const maxLines = 80
	var b strings.Builder
	n := 0
	for _, s := range c.simList {
		for _, f := range s.frames {
			if f.gcid != gcid && f.gcid2 != gcid {
				continue
			}
			if n++; n > maxLines {
				continue
			}
			mark := "  "
			if s.covered.get(uint64(f.seq)) {
				mark = "E "
			}
			fmt.Fprintf(&b, "\n      %s%s:%d %s", mark, s.id, f.seq, f.desc)
		}
	}
	if n > maxLines {
		fmt.Fprintf(&b, "\n      ... %d more frames", n-maxLines)
	}
	evs := c.callLog[strconv.FormatUint(uint64(gcid), 10)]
	for i, l := range evs {
		if i == maxLines {
			fmt.Fprintf(&b, "\n      ... %d more events", len(evs)-maxLines)
			break
		}
		b.WriteString("\n      > " + l)
	}
	return b.String()
}

// gapSpan is a provider gap's interval, in ns since the epoch (closed 0:
// still open at the end of the stream).
type gapSpan struct{ opened, closed int64 }

func (c *Checker) addGapSpan(name string, g *schema.Gap, at time.Time) {
	sp := c.gapSpans[g.ID]
	if sp == nil {
		sp = &gapSpan{opened: g.OpenedAt.UnixNano()}
		c.gapSpans[g.ID] = sp
	}
	if name == schema.EvGapClosed {
		sp.closed = at.UnixNano()
		if g.ClosedAt != nil {
			sp.closed = g.ClosedAt.UnixNano()
		}
	}
}

// inProviderGap reports whether a provider gap recorded in the stream was
// open at ns.
func (c *Checker) inProviderGap(ns int64) bool {
	for _, sp := range c.gapSpans {
		if ns >= sp.opened && (sp.closed == 0 || ns <= sp.closed) {
			return true
		}
	}
	return false
}

// gapSpansDesc lists the provider gaps' intervals, for a report.
func (c *Checker) gapSpansDesc() string {
	ids := slices.Sorted(maps.Keys(c.gapSpans))
	var b strings.Builder
	for _, id := range ids {
		sp := c.gapSpans[id]
		end := "open"
		if sp.closed != 0 {
			end = time.Unix(0, sp.closed).Format("15:04:05.000")
		}
		fmt.Fprintf(&b, "[%s %s–%s]", id, time.Unix(0, sp.opened).Format("15:04:05.000"), end)
	}
	return b.String()
}
