package callmodel

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/google/go-cmp/cmp"
)

// Lines used by the scenarios: DN and device.
type line struct{ dn, dev string }

var (
	lnA = line{"1001", "SEPA"}
	lnB = line{"1002", "SEPB"}
	lnC = line{"1003", "SEPC"}
	lnD = line{"1004", "SEPD"}
	lnR = line{"2000", "RP1"}   // route point
	lnP = line{"3000", "PORT1"} // CTI port
	lnY = line{"5555", ""}      // masked calling number (no line)
)

func (l line) party() ctilink.Party { return ctilink.Party{DN: l.dn, Device: l.dev} }

// wire builds wire events with a clock that advances one millisecond per
// event, so that event times are distinct and deterministic.
type wire struct{ ns int64 }

const t0 = int64(1_700_000_000_000_000_000)

func (w *wire) tick() int64 {
	w.ns += 1_000_000
	return t0 + w.ns
}

// leg describes a line's leg of a call: the call, the line, whether it
// originated the call and its parties.
type leg struct {
	call                  uint32
	ln                    line
	origin                bool
	calling, called       line
	curCalling, curCalled line
	lastRedirecting       line
	reason                ctilink.ConnReason
}

func (w *wire) st(l leg, s ctilink.CallState, cause ctilink.Cause) ctilink.CallStateEvent {
	ev := ctilink.CallStateEvent{
		Device: l.ln.dev, Line: l.ln.dn,
		CallHandle: l.call*100 + uint32(len(l.ln.dn)+int(l.ln.dn[len(l.ln.dn)-1])), GlobalCallID: l.call,
		CallManager: "cm1", State: s, Cause: cause, Reason: l.reason, Origin: l.origin,
		Calling: l.calling.party(), Called: l.called.party(),
		CurrentCalling: l.curCalling.party(), CurrentCalled: l.curCalled.party(),
		LastRedirecting: l.lastRedirecting.party(), TimeNs: w.tick(),
	}
	if ev.CurrentCalling.DN == "" {
		ev.CurrentCalling = ev.Calling
	}
	if ev.CurrentCalled.DN == "" {
		ev.CurrentCalled = ev.Called
	}
	return ev
}

// controlled returns a Config for the given controlled lines.
func controlled(lines ...line) Config {
	return Config{
		Controlled: func(dn string) bool {
			return slices.ContainsFunc(lines, func(l line) bool { return l.dn == dn })
		},
		TerminalOf: func(dn string) string {
			for _, l := range lines {
				if l.dn == dn {
					return l.dev
				}
			}
			return ""
		},
	}
}

// format renders an event as "Name entity [subject states] causes":
// connection events show the address and core/call-control states,
// terminal-connection events address@terminal and their states, causes
// are c<Ev cause>[/<CallCtl cause>] m<meta>.
func format(o Out) string {
	var b strings.Builder
	b.WriteString(o.Name + " " + o.Entity)
	d := o.Data
	if cd := d.Call; cd != nil {
		switch {
		case cd.TerminalConnection != nil:
			tc := cd.TerminalConnection
			fmt.Fprintf(&b, " %s@%s %s/%s", tc.Address, tc.Terminal, tc.State, tc.CallControlState)
		case cd.Connection != nil:
			cn := cd.Connection
			fmt.Fprintf(&b, " %s %s/%s", cn.Address, cn.State, cn.CallControlState)
			if cn.Transient {
				b.WriteString(" transient")
			}
		}
		if cd.OriginalCallID != "" {
			b.WriteString(" from=" + cd.OriginalCallID)
		}
		if cd.GapID != "" {
			b.WriteString(" gap=" + cd.GapID)
		}
	}
	if r := d.Route; r != nil {
		fmt.Fprintf(&b, " %s call=%s", r.State, r.CallID)
		if r.Selected != "" {
			b.WriteString(" selected=" + r.Selected)
		}
		if r.Cause != 0 {
			fmt.Fprintf(&b, " %s", r.CauseName)
		}
	}
	if md := d.Media; md != nil {
		fmt.Fprintf(&b, " %s %s:%d %s", md.Kind, md.IP, md.Port, md.Codec)
	}
	if d.Cause != 0 || d.CallControlCause != 0 {
		fmt.Fprintf(&b, " c%d", d.Cause)
		if d.CallControlCause != 0 {
			fmt.Fprintf(&b, "/%d", d.CallControlCause)
		}
	}
	if d.MetaCode != 0 {
		fmt.Fprintf(&b, " m%d", d.MetaCode)
	}
	if d.Snapshot {
		b.WriteString(" snap")
	}
	if d.Inferred {
		b.WriteString(" inferred")
	}
	return b.String()
}

func formatAll(outs []Out) []string {
	s := make([]string, 0, len(outs))
	for _, o := range outs {
		s = append(s, format(o))
	}
	return s
}

// deliver keeps the messages a session controlling the given lines
// receives: call-state, call-change, feature and call-party events go only
// to sessions that opened the line concerned. Route and media events are
// kept (they concern registered route points and CTI ports).
func deliver(cfg Config, msgs []ctilink.Message) []ctilink.Message {
	var out []ctilink.Message
	for _, msg := range msgs {
		var ln string
		switch ev := msg.(type) {
		case ctilink.CallStateEvent:
			ln = ev.Line
		case ctilink.CallChangedEvent:
			ln = ev.Line
		case ctilink.FeatureEvent:
			ln = ev.Line
			for _, p := range ev.Parties {
				if cfg.Controlled(p.DN) {
					ln = p.DN
				}
			}
		case ctilink.CallPartyEvent:
			ln = ev.Line
		}
		if ln != "" && !cfg.Controlled(ln) {
			continue
		}
		out = append(out, msg)
	}
	return out
}

// checkEvents asserts what holds for every event: a catalogue name and
// id, states consistent with the normative call-control → core mapping.
//
// Within one slice of events, nothing follows a call's
// CallObservationEndedEv (the call's last event for its observer) except
// its re-opening (CallActiveEv, from a snapshot or from a live event that
// precedes the call's snapshots) or an inferred gap event.
func checkEvents(t *testing.T, outs []Out) {
	t.Helper()
	ended := map[string]bool{}
	for i, o := range outs {
		if o.Family == schema.FamilyCall {
			if ended[o.Entity] && !o.Data.Inferred && o.Name != schema.EvCallActive {
				t.Errorf("event %d %s for call %s after its CallObservationEndedEv", i, o.Name, o.Entity)
			}
			ended[o.Entity] = o.Name == schema.EvCallObservationEnded
		}
		sp, ok := schema.Spec(o.Name)
		if !ok || sp.ID != o.Data.EventID || o.Data.Event != o.Name || sp.Family != o.Family {
			t.Errorf("event %d %q: catalogue mismatch (spec %+v, data id %d, family %s)", i, o.Name, sp, o.Data.EventID, o.Family)
		}
		if cd := o.Data.Call; cd != nil {
			if cn := cd.Connection; cn != nil && schema.CoreConnState(cn.CallControlStateCode) != cn.StateCode {
				t.Errorf("event %d %s: connection states %s/%s break the mapping", i, o.Name, cn.State, cn.CallControlState)
			}
			if tc := cd.TerminalConnection; tc != nil && schema.CoreTermConnState(tc.CallControlStateCode) != tc.StateCode {
				t.Errorf("event %d %s: terminal connection states %s/%s break the mapping", i, o.Name, tc.State, tc.CallControlState)
			}
		}
	}
}

func diff(t *testing.T, want, got []string) {
	t.Helper()
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("events (-want +got):\n%s\ngot:\n\t%s", d, strings.Join(got, "\n\t"))
	}
}

// connKey identifies a Connection (and its TerminalConnection) for the
// invariant checks.
type connKey struct{ call, addr string }

// invariants checks, across successive outputs of one model, that nothing
// is reported for a Connection after its disconnection, nor for a call
// after its CallInvalidEv (but its CallObservationEndedEv), unless the
// call became active again (a snapshot rebuilt it, or it came back to
// this session's lines); and counts calls begun and ended.
type invariants struct {
	disconnected  map[connKey]bool
	invalid       map[string]bool
	active, ended int
}

func newInvariants() *invariants {
	return &invariants{disconnected: map[connKey]bool{}, invalid: map[string]bool{}}
}

func (inv *invariants) check(outs []Out) error {
	for _, o := range outs {
		cd := o.Data.Call
		if cd == nil {
			continue
		}
		switch o.Name {
		case schema.EvCallActive:
			// A snapshot rebuilds a call; a call that left this
			// session's lines and came back (rejoins.go) starts afresh.
			inv.active++
			for k := range inv.disconnected {
				if k.call == cd.CallID {
					delete(inv.disconnected, k)
				}
			}
			delete(inv.invalid, o.Entity)
		case schema.EvCallInvalid, schema.EvCallEndedInGap:
			inv.ended++
		case schema.EvCallObservationEnded:
			// Observation ends without CallInvalidEv when the call's
			// last observed line lost its CallManager node.
			if o.Data.CiscoCause == int(ctilink.CauseCallManagerFailure) {
				inv.ended++
			}
		}
		if inv.invalid[o.Entity] && o.Name != schema.EvCallObservationEnded {
			return errors.New(format(o) + ": after the call's CallInvalidEv")
		}
		if o.Name == schema.EvCallInvalid {
			inv.invalid[o.Entity] = true
		}
		switch o.Name {
		case schema.EvCiscoCallChanged, schema.EvCallActive, schema.EvCallInvalid, schema.EvCallObservationEnded:
			continue
		}
		if cd.Connection == nil {
			continue
		}
		k := connKey{cd.CallID, cd.Connection.Address}
		if inv.disconnected[k] {
			return errors.New(format(o) + ": after the connection's disconnection")
		}
		if o.Name == schema.EvCallCtlConnDisconnected {
			inv.disconnected[k] = true
		}
	}
	return nil
}

// Reconciliation counts a gap's outcome as the engine's GapClosed does.
type Reconciliation struct {
	Before, After, Ended, Discovered, Continued int
}

// reconcile runs Model.Reconcile and reports what the engine would (its
// gap accounting, pkg/ctiengine/gap.go): the settling events, the inferred
// events (ended calls, then discovered ones) and the counts.
func reconcile(m *Model, gapID string, at time.Time) ([]Out, Reconciliation) {
	outs, calls := m.Reconcile(at)
	var r Reconciliation
	inferred := func(c GapCall, name string) {
		d := data(name, evctx{at: at})
		d.Inferred = true
		d.Call = c.Call
		d.Call.GapID = gapID
		outs = append(outs, Out{Family: schema.FamilyCall, Entity: c.Call.CallID, Name: name, Time: at, Data: d})
	}
	for _, c := range calls {
		switch c.Outcome {
		case GapContinued:
			r.Before++
			r.Continued++
		case GapEnded:
			r.Before++
			r.Ended++
			inferred(c, schema.EvCallEndedInGap)
		}
	}
	for _, c := range calls {
		if c.Outcome == GapDiscovered {
			r.Discovered++
			inferred(c, schema.EvCallDiscovered)
		}
	}
	r.After = m.Stats().Tracked
	return outs, r
}
