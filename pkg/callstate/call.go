package callstate

import (
	"slices"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

// Name → state tables for connection-level events. The event data
// normally carries both state layers; the name is the fallback when it
// does not.
var (
	coreConnByName = map[string]int{
		schema.EvConnCreated: schema.ConnIdle,
		// CiscoHuntConnCreatedEv is a ConnCreatedEv (the hunt pilot's).
		schema.EvCiscoHuntConnCreated: schema.ConnIdle,
		schema.EvConnInProgress:       schema.ConnInProgress,
		schema.EvConnAlerting:         schema.ConnAlerting,
		schema.EvConnConnected:        schema.ConnConnected,
		schema.EvConnDisconnected:     schema.ConnDisconnected,
		schema.EvConnFailed:           schema.ConnFailed,
		schema.EvConnUnknown:          schema.ConnUnknown,
	}
	ccConnByName = map[string]int{
		schema.EvCallCtlConnOffered:         schema.CCConnOffered,
		schema.EvCallCtlConnQueued:          schema.CCConnQueued,
		schema.EvCallCtlConnAlerting:        schema.CCConnAlerting,
		schema.EvCallCtlConnInitiated:       schema.CCConnInitiated,
		schema.EvCallCtlConnDialing:         schema.CCConnDialing,
		schema.EvCallCtlConnNetworkReached:  schema.CCConnNetworkReached,
		schema.EvCallCtlConnNetworkAlerting: schema.CCConnNetworkAlerting,
		schema.EvCallCtlConnEstablished:     schema.CCConnEstablished,
		schema.EvCallCtlConnDisconnected:    schema.CCConnDisconnected,
		schema.EvCallCtlConnFailed:          schema.CCConnFailed,
		schema.EvCallCtlConnUnknown:         schema.CCConnUnknown,
	}
	coreTCByName = map[string]int{
		schema.EvTermConnCreated: schema.TermConnIdle,
		schema.EvTermConnRinging: schema.TermConnRinging,
		schema.EvTermConnPassive: schema.TermConnPassive,
		schema.EvTermConnActive:  schema.TermConnActive,
		schema.EvTermConnDropped: schema.TermConnDropped,
		schema.EvTermConnUnknown: schema.TermConnUnknown,
	}
	ccTCByName = map[string]int{
		schema.EvCallCtlTermConnRinging: schema.CCTermConnRinging,
		schema.EvCallCtlTermConnTalking: schema.CCTermConnTalking,
		schema.EvCallCtlTermConnHeld:    schema.CCTermConnHeld,
		schema.EvCallCtlTermConnBridged: schema.CCTermConnBridged,
		schema.EvCallCtlTermConnInUse:   schema.CCTermConnInUse,
		schema.EvCallCtlTermConnDropped: schema.CCTermConnDropped,
		schema.EvCallCtlTermConnUnknown: schema.CCTermConnUnknown,
	}
)

// finalNames are call events that end something: they never create a call
// that is not known (a late teardown event after the call ended).
var finalNames = map[string]bool{
	schema.EvConnDisconnected:        true,
	schema.EvCallCtlConnDisconnected: true,
	schema.EvConnFailed:              true,
	schema.EvCallCtlConnFailed:       true,
	schema.EvTermConnDropped:         true,
	schema.EvCallCtlTermConnDropped:  true,
	schema.EvCallInvalid:             true,
	schema.EvCallObservationEnded:    true,
	schema.EvCallEndedInGap:          true,
	schema.EvCiscoTransferEnd:        true,
	schema.EvCiscoConferenceEnd:      true,
	schema.EvCiscoTransferStart:      true,
	schema.EvCiscoConferenceStart:    true,
	schema.EvCiscoConsultCallActive:  true,
}

func (s *State) applyCall(ev *schema.Event) {
	cd := ev.Data.Call
	id := ev.Entity
	if id == "" && cd != nil {
		id = cd.CallID
	}
	if id == "" {
		s.stats.Ignored++
		return
	}
	switch ev.Name {
	case schema.EvCallInvalid:
		s.endCall(id, false)
		return
	case schema.EvCallEndedInGap:
		s.endCall(id, true)
		return
	case schema.EvCallObservationEnded:
		if c, ok := s.calls[id]; ok {
			c.Events++
			c.LastEvent = ev.Time
			if !c.Unobserved {
				c.Unobserved = true
				c.UnobservedSince = ev.Time
			}
			// The next snapshot of this call describes it afresh.
			c.SnapshotPending = true
		}
		return
	case schema.EvCiscoCallChanged:
		s.mergeCall(id, ev)
		return
	case schema.EvCiscoTransferStart, schema.EvCiscoConferenceStart,
		schema.EvCiscoTransferEnd, schema.EvCiscoConferenceEnd:
		s.applyFeature(id, ev)
		return
	case schema.EvCiscoConsultCallActive:
		if c, ok := s.calls[id]; ok {
			c.Events++
			c.LastEvent = ev.Time
			if cd != nil {
				if cd.Feature != nil && cd.Feature.PrimaryCallID != "" && cd.Feature.PrimaryCallID != id {
					c.ConsultFor = cd.Feature.PrimaryCallID
				} else if cd.OriginalCallID != "" && cd.OriginalCallID != id {
					c.ConsultFor = cd.OriginalCallID
				}
			}
		}
		return
	}
	_, core := coreConnByName[ev.Name]
	_, cc := ccConnByName[ev.Name]
	_, tcore := coreTCByName[ev.Name]
	_, tcc := ccTCByName[ev.Name]
	known := core || cc || tcore || tcc || ev.Name == schema.EvCallActive || ev.Name == schema.EvCallDiscovered
	if !known {
		s.stats.UnknownEvents++
		return
	}
	c, ok := s.calls[id]
	if !ok {
		if finalNames[ev.Name] {
			s.stats.Ignored++
			return
		}
		c = &Call{ID: id, State: schema.StateNames[schema.CallActive], Started: ev.Time}
		s.calls[id] = c
		s.stats.CallsStarted++
	}
	c.Events++
	c.LastEvent = ev.Time
	if ev.Data.Snapshot {
		c.Snapshot = true
	}
	if c.SnapshotPending && (ev.Data.Snapshot || ev.Name == schema.EvCallActive) {
		// The call re-opens after its observation ended: its first
		// snapshot event, or the CallActiveEv the engine sends first when
		// a live event precedes the call's snapshots (they come device by
		// device). What follows describes it afresh (legs that ended
		// during the gap are simply not described again); connections
		// described after the re-opening are kept by the call's later
		// snapshot events.
		c.SnapshotPending = false
		c.Connections = nil
		c.Feature = nil
	}
	if !ev.Data.Inferred || ev.Name == schema.EvCallDiscovered {
		// The CTIManager (or a snapshot) speaks about the call again.
		c.Unobserved = false
		c.UnobservedSince = time.Time{}
	}
	if ev.Name == schema.EvCallDiscovered {
		c.Discovered = true
	}
	if cd != nil {
		s.mergeCallData(c, cd)
	}
	if ev.Name == schema.EvCallActive {
		c.State = schema.StateNames[schema.CallActive]
	}
	s.applyConnection(c, ev)
}

func (s *State) mergeCallData(c *Call, cd *schema.CallData) {
	if cd.State != "" {
		c.State = cd.State
	}
	if cd.CallManager != "" {
		c.CallManager = cd.CallManager
	}
	setParty(&c.Calling, cd.Calling)
	setParty(&c.Called, cd.Called)
	setParty(&c.CurrentCalling, cd.CurrentCalling)
	setParty(&c.CurrentCalled, cd.CurrentCalled)
	setParty(&c.LastRedirecting, cd.LastRedirecting)
	if cd.GapID != "" {
		c.GapID = cd.GapID
	}
}

func setParty(dst **schema.Party, src *schema.Party) {
	if src == nil || (src.Address == "" && src.Terminal == "") {
		return
	}
	if *dst != nil && **dst == *src {
		return
	}
	p := *src
	*dst = &p
}

// applyConnection applies the connection and terminal-connection part of a
// call event. A connection that reaches DISCONNECTED leaves the call (as
// in JTAPI's Call.getConnections); a call that loses its last connection
// has ended.
func (s *State) applyConnection(c *Call, ev *schema.Event) {
	cd := ev.Data.Call
	var cdata *schema.ConnectionData
	var tdata *schema.TerminalConnectionData
	if cd != nil {
		cdata, tdata = cd.Connection, cd.TerminalConnection
	}
	addr := ""
	switch {
	case cdata != nil && cdata.Address != "":
		addr = cdata.Address
	case tdata != nil && tdata.Address != "":
		addr = tdata.Address
	}
	if addr == "" {
		return
	}
	core, hasCore := coreConnByName[ev.Name]
	cc, hasCC := ccConnByName[ev.Name]
	if cdata != nil {
		if cdata.StateCode != 0 {
			core, hasCore = cdata.StateCode, true
		}
		if cdata.CallControlStateCode != 0 {
			cc, hasCC = cdata.CallControlStateCode, true
		}
	}
	if hasCC && !hasCore {
		core, hasCore = schema.CoreConnState(cc), true
	}
	idx := connIndex(c, addr)
	if idx < 0 {
		if hasCore && core == schema.ConnDisconnected || hasCC && cc == schema.CCConnDisconnected {
			return // already gone
		}
		tcGone := false
		if tdata != nil {
			if tc, ok := tcCodes(ev.Name, tdata); ok && (tc == schema.TermConnDropped) {
				tcGone = true
			}
		}
		if tcGone && cdata == nil {
			return
		}
		c.Connections = append(c.Connections, Connection{Address: addr})
		slices.SortFunc(c.Connections, func(a, b Connection) int { return strings.Compare(a.Address, b.Address) })
		idx = connIndex(c, addr)
	}
	cn := &c.Connections[idx]
	if hasCore {
		cn.StateCode = core
		cn.State = schema.StateNames[core]
	}
	if hasCC {
		cn.CallControlStateCode = cc
		cn.CallControlState = schema.StateNames[cc]
	}
	if cdata != nil {
		if cdata.Reason != "" {
			cn.Reason = cdata.Reason
		}
		if cdata.Transient {
			cn.Transient = true
		}
		if cdata.Controlled {
			cn.Controlled = true
		}
	}
	if tdata != nil && tdata.Terminal != "" {
		applyTermConn(cn, ev.Name, tdata)
	}
	if cn.StateCode == schema.ConnDisconnected || cn.CallControlStateCode == schema.CCConnDisconnected {
		c.Connections = slices.Delete(c.Connections, idx, idx+1)
		if len(c.Connections) == 0 {
			s.endCall(c.ID, false)
		}
	}
}

func connIndex(c *Call, addr string) int {
	for i := range c.Connections {
		if c.Connections[i].Address == addr {
			return i
		}
	}
	return -1
}

// tcCodes returns the core terminal-connection state an event sets.
func tcCodes(name string, d *schema.TerminalConnectionData) (int, bool) {
	if d.StateCode != 0 {
		return d.StateCode, true
	}
	if v, ok := coreTCByName[name]; ok {
		return v, true
	}
	if v, ok := ccTCByName[name]; ok {
		return schema.CoreTermConnState(v), true
	}
	return 0, false
}

func applyTermConn(cn *Connection, name string, d *schema.TerminalConnectionData) {
	core, hasCore := coreTCByName[name]
	cc, hasCC := ccTCByName[name]
	if d.StateCode != 0 {
		core, hasCore = d.StateCode, true
	}
	if d.CallControlStateCode != 0 {
		cc, hasCC = d.CallControlStateCode, true
	}
	if hasCC && !hasCore {
		core, hasCore = schema.CoreTermConnState(cc), true
	}
	idx := -1
	for i := range cn.TerminalConnections {
		if cn.TerminalConnections[i].Terminal == d.Terminal {
			idx = i
			break
		}
	}
	dropped := hasCore && core == schema.TermConnDropped || hasCC && cc == schema.CCTermConnDropped
	if idx < 0 {
		if dropped {
			return
		}
		cn.TerminalConnections = append(cn.TerminalConnections, TerminalConnection{Terminal: d.Terminal})
		slices.SortFunc(cn.TerminalConnections, func(a, b TerminalConnection) int { return strings.Compare(a.Terminal, b.Terminal) })
		for i := range cn.TerminalConnections {
			if cn.TerminalConnections[i].Terminal == d.Terminal {
				idx = i
			}
		}
	}
	if dropped {
		cn.TerminalConnections = slices.Delete(cn.TerminalConnections, idx, idx+1)
		return
	}
	tc := &cn.TerminalConnections[idx]
	if hasCore {
		tc.StateCode = core
		tc.State = schema.StateNames[core]
	}
	if hasCC {
		tc.CallControlStateCode = cc
		tc.CallControlState = schema.StateNames[cc]
	}
}

// endCall removes a call that ended.
func (s *State) endCall(id string, inGap bool) {
	if _, ok := s.calls[id]; !ok {
		return
	}
	delete(s.calls, id)
	if inGap {
		s.stats.CallsInGap++
	}
	s.stats.CallsEnded++
}

// mergeCall applies CiscoCallChangedEv: the legs named by the event (or all
// legs) of the original call move into the surviving call.
func (s *State) mergeCall(survivor string, ev *schema.Event) {
	cd := ev.Data.Call
	if cd == nil {
		s.stats.Ignored++
		return
	}
	orig := cd.OriginalCallID
	if cd.CallID != "" && cd.CallID != orig {
		survivor = cd.CallID
	}
	if orig == "" || orig == survivor {
		s.stats.Ignored++
		return
	}
	sc, ok := s.calls[survivor]
	if !ok {
		sc = &Call{ID: survivor, State: schema.StateNames[schema.CallActive], Started: ev.Time}
		s.calls[survivor] = sc
		s.stats.CallsStarted++
	}
	sc.Events++
	sc.LastEvent = ev.Time
	if oc, ok := s.calls[orig]; ok {
		var moving []Connection
		keep := oc.Connections[:0]
		for _, cn := range oc.Connections {
			if cd.Connection == nil || cd.Connection.Address == "" || cd.Connection.Address == cn.Address {
				moving = append(moving, cn)
			} else {
				keep = append(keep, cn)
			}
		}
		oc.Connections = keep
		for _, cn := range moving {
			if i := connIndex(sc, cn.Address); i >= 0 {
				for _, tc := range cn.TerminalConnections {
					if !slices.ContainsFunc(sc.Connections[i].TerminalConnections, func(t TerminalConnection) bool { return t.Terminal == tc.Terminal }) {
						sc.Connections[i].TerminalConnections = append(sc.Connections[i].TerminalConnections, tc)
					}
				}
				continue
			}
			sc.Connections = append(sc.Connections, cn)
		}
		slices.SortFunc(sc.Connections, func(a, b Connection) int { return strings.Compare(a.Address, b.Address) })
		if len(oc.Connections) == 0 {
			delete(s.calls, orig)
			s.stats.CallsMerged++
		}
	}
	if !slices.Contains(sc.MergedFrom, orig) {
		sc.MergedFrom = append(sc.MergedFrom, orig)
		if len(sc.MergedFrom) > maxMergedFrom {
			sc.MergedFrom = slices.Delete(sc.MergedFrom, 0, len(sc.MergedFrom)-maxMergedFrom)
		}
	}
	s.mergeCallData(sc, cd)
	if cd.Connection != nil || cd.TerminalConnection != nil {
		s.applyConnection(sc, ev)
	}
}

func (s *State) applyFeature(id string, ev *schema.Event) {
	cd := ev.Data.Call
	var f *schema.FeatureData
	if cd != nil {
		f = cd.Feature
	}
	kind := "transfer"
	if ev.Name == schema.EvCiscoConferenceStart || ev.Name == schema.EvCiscoConferenceEnd {
		kind = "conference"
	}
	ids := []string{id}
	if f != nil {
		ids = append(ids, f.PrimaryCallID, f.ConsultCallID, f.ResultCallID)
	}
	start := ev.Name == schema.EvCiscoTransferStart || ev.Name == schema.EvCiscoConferenceStart
	for _, cid := range ids {
		c, ok := s.calls[cid]
		if !ok || cid == "" {
			continue
		}
		c.LastEvent = ev.Time
		if cid == id {
			c.Events++
			if cd != nil {
				s.mergeCallData(c, cd)
			}
		}
		if !start {
			c.Feature = nil
			continue
		}
		nf := &Feature{Kind: kind, Since: ev.Time}
		if f != nil {
			if f.Feature != "" {
				nf.Kind = f.Feature
			}
			nf.Controller = cloneParty(f.Controller)
			nf.PrimaryCallID = f.PrimaryCallID
			nf.ConsultCallID = f.ConsultCallID
			nf.Blind = f.Blind
			if f.ConsultCallID == cid && f.PrimaryCallID != "" && f.PrimaryCallID != cid {
				c.ConsultFor = f.PrimaryCallID
			}
		}
		c.Feature = nf
	}
}
