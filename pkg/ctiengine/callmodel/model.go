package callmodel

import (
	"slices"
	"strconv"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// DefaultMaxCalls is Config.MaxCalls when it is left zero.
const DefaultMaxCalls = 100000

// maxConnsPerCall bounds the connections one call can hold, so that a
// hostile or broken event stream naming ever new parties cannot grow a call
// without bound. Real calls have two to a handful of connections (a
// conference of 16 is CUCM's default ad hoc maximum).
const maxConnsPerCall = 16

// Out is one produced event; the engine stamps Session, SessionSeq,
// Sequence, CTIManager, Received and Data.Times.
//
// Pointers inside Data (parties in particular) may be shared between the
// events of one call: treat them as read-only.
type Out struct {
	// Family is FamilyCall for call events, FamilyTerminal for media
	// events, FamilyRoute for route events.
	Family schema.Family
	// Entity is the call id (decimal global call id), the terminal name or
	// the route point's DN.
	Entity string
	// Name is a schema.Ev... constant.
	Name string
	// Time is the upstream time (the wire TimeNs) or the `at` argument.
	Time time.Time
	// Data carries Event, EventID, causes and meta code (with names),
	// Snapshot/Inferred and the Call/Route/Media sections.
	Data schema.Data
}

// Config configures a Model.
type Config struct {
	// Controlled reports whether a DN is in the provider's control list and
	// its line events reach this session. It decides whether the model
	// waits for a far party's own line events or synthesizes a Connection
	// for it from the party information. Nil means nothing is controlled.
	Controlled func(dn string) bool
	// TerminalOf returns the device of a controlled line. It is used when a
	// wire event does not name its device. Nil means unknown.
	TerminalOf func(dn string) string
	// NoSnapshot reports whether a controlled DN is one CTIManager gives no
	// snapshot for after a failover: a route point's address (seed p.216:
	// RouteAddress calls "get recovered on the new CTIManager", only the
	// snapshot is withheld). Its legs known before a gap are kept as they
	// were, not settled as gone. Nil means every line gets snapshots.
	NoSnapshot func(dn string) bool
	// MaxCalls bounds tracked calls (default DefaultMaxCalls); beyond it new
	// calls are not tracked and counted in Stats().Untracked.
	MaxCalls int
}

// Stats counts what the model holds and what it refused.
type Stats struct {
	// Tracked is the number of calls currently tracked.
	Tracked int
	// Untracked counts wire events dropped because their call could not be
	// tracked (MaxCalls reached). One untracked call typically accounts for
	// several events.
	Untracked int
	// Ignored counts inconsistent wire events that were ignored (an event
	// for a connection that already disconnected, a disconnect for an
	// unknown call, a call change from an unknown call, ...).
	Ignored int
}

// Model is the JTAPI call model of one provider. It is not safe for
// concurrent use: the engine calls it from its single goroutine.
type Model struct {
	cfg   Config
	calls map[uint32]*call
	tomb  tombstones
	// epoch counts observation interruptions (EndObservation). A call
	// rebuilt by a snapshot records the epoch it was rebuilt in, so that
	// the first snapshot event of a call after an interruption rebuilds
	// it and the following ones (other lines of the same call) extend it.
	epoch     uint32
	untracked int
	ignored   int
	out       []Out
}

// New returns an empty model.
func New(cfg Config) *Model {
	if cfg.MaxCalls <= 0 {
		cfg.MaxCalls = DefaultMaxCalls
	}
	return &Model{cfg: cfg, calls: make(map[uint32]*call), epoch: 1}
}

func (m *Model) controlled(dn string) bool {
	return dn != "" && m.cfg.Controlled != nil && m.cfg.Controlled(dn)
}

func (m *Model) noSnapshot(dn string) bool {
	return dn != "" && m.cfg.NoSnapshot != nil && m.cfg.NoSnapshot(dn)
}

func (m *Model) terminalOf(dn string) string {
	if m.cfg.TerminalOf == nil {
		return ""
	}
	return m.cfg.TerminalOf(dn)
}

// Apply handles one wire event and returns the JTAPI events it produces, in
// order. Messages the call model has no business with (provider, device
// and line service, responses) yield nothing. Unknown or inconsistent input
// is tolerated: it creates what is needed or is ignored, never panics.
// Both message values (as ctilink.DecodeBody returns them) and pointers
// are accepted.
func (m *Model) Apply(msg ctilink.Message) []Out { return m.AppendApply(nil, msg) }

// AppendApply is Apply appending the events to dst and returning the
// extended slice, so that a caller can reuse one slice's memory for every
// wire event (the engine does: a fresh slice per wire event was about a
// tenth of the bridge's own garbage at 10,000 events/s).
func (m *Model) AppendApply(dst []Out, msg ctilink.Message) []Out {
	m.out = dst
	switch v := msg.(type) {
	case ctilink.CallStateEvent:
		m.onCallState(&v)
	case *ctilink.CallStateEvent:
		if v != nil {
			m.onCallState(v)
		}
	case ctilink.FeatureEvent:
		m.onFeature(&v)
	case *ctilink.FeatureEvent:
		if v != nil {
			m.onFeature(v)
		}
	case ctilink.CallChangedEvent:
		m.onCallChanged(&v)
	case *ctilink.CallChangedEvent:
		if v != nil {
			m.onCallChanged(v)
		}
	case ctilink.CallPartyEvent:
		m.onCallParty(&v)
	case *ctilink.CallPartyEvent:
		if v != nil {
			m.onCallParty(v)
		}
	case ctilink.MediaEvent:
		m.onMedia(&v)
	case *ctilink.MediaEvent:
		if v != nil {
			m.onMedia(v)
		}
	case ctilink.RouteEvent:
		m.onRoute(&v)
	case *ctilink.RouteEvent:
		if v != nil {
			m.onRoute(v)
		}
	}
	out := m.out
	m.out = nil
	return out
}

// Stats reports the model's counters.
func (m *Model) Stats() Stats {
	return Stats{Tracked: len(m.calls), Untracked: m.untracked, Ignored: m.ignored}
}

// CallView is a read-only view of a tracked call.
type CallView struct {
	CallID      string
	State       string
	Connections []ConnView
}

// ConnView is a read-only view of a Connection and its TerminalConnections
// (none for parties without one: far-end parties that are not controlled,
// transient parties; several for a shared line). Terminal, TermConnState
// and TermConnCCState repeat the first.
type ConnView struct {
	Address, State, CallControlState         string
	Terminal, TermConnState, TermConnCCState string
	Transient                                bool
	TerminalConnections                      []TermConnView
}

// TermConnView is a read-only view of a TerminalConnection.
type TermConnView struct {
	Terminal, State, CallControlState string
}

// Calls lists the tracked calls ordered by call id, with their
// connections in creation order (including those already disconnected
// while the call lasts).
func (m *Model) Calls() []CallView {
	ids := m.sortedIDs()
	views := make([]CallView, 0, len(ids))
	for _, id := range ids {
		c := m.calls[id]
		v := CallView{CallID: c.idStr, State: schema.StateNames[int(c.state)]}
		for _, cn := range c.conns {
			if cn.cc == 0 {
				continue
			}
			cv := ConnView{
				Address:          cn.addr,
				State:            schema.StateNames[cn.core()],
				CallControlState: schema.StateNames[int(cn.cc)],
				Transient:        cn.flags&connTransient != 0,
			}
			for i, t := range cn.tcs {
				tv := TermConnView{Terminal: t.term, State: schema.StateNames[t.core()],
					CallControlState: schema.StateNames[int(t.st)]}
				if i == 0 {
					cv.Terminal, cv.TermConnState, cv.TermConnCCState = tv.Terminal, tv.State, tv.CallControlState
				}
				cv.TerminalConnections = append(cv.TerminalConnections, tv)
			}
			v.Connections = append(v.Connections, cv)
		}
		views = append(views, v)
	}
	return views
}

func (m *Model) sortedIDs() []uint32 {
	ids := make([]uint32, 0, len(m.calls))
	for id := range m.calls {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// wireTime converts a wire timestamp; zero stays the zero time.
func wireTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns).UTC()
}

func callIDString(id uint32) string { return strconv.FormatUint(uint64(id), 10) }
