package callmodel

import (
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
)

// TestInconsistentInput: input the simulator never sends in that order is
// tolerated: what is needed is created, the rest ignored and counted.
func TestInconsistentInput(t *testing.T) {
	_, a, b := setup(1, lnA, lnB)
	unknownCall := ctilink.CallChangedEvent{Device: lnC.dev, Line: lnC.dn, OriginalCallID: 77, SurvivingCall: 1, TimeNs: 1}
	tests := []struct {
		name    string
		msgs    func(w *wire) []ctilink.Message
		want    []string // events of the last message
		ignored int
	}{
		{
			// B is controlled, yet its events never came before A's
			// CONNECTED: B is synthesized from A's parties.
			name: "state for an unknown handle creates the connection in that state",
			msgs: func(w *wire) []ctilink.Message {
				return []ctilink.Message{w.st(a, ctilink.CallStateConnected, 0)}
			},
			want: []string{
				"CallActiveEv 1 c100 m129",
				"ConnCreatedEv 1 1001 IDLE/IDLE c100 m129",
				"ConnConnectedEv 1 1001 CONNECTED/ESTABLISHED c100 m129",
				"CallCtlConnEstablishedEv 1 1001 CONNECTED/ESTABLISHED c100 m129",
				"TermConnCreatedEv 1 1001@SEPA IDLE/IDLE c100 m129",
				"TermConnActiveEv 1 1001@SEPA ACTIVE/TALKING c100 m129",
				"CallCtlTermConnTalkingEv 1 1001@SEPA ACTIVE/TALKING c100 m129",
				"ConnCreatedEv 1 1002 IDLE/IDLE c100 m129",
				"ConnConnectedEv 1 1002 CONNECTED/ESTABLISHED c100 m129",
				"CallCtlConnEstablishedEv 1 1002 CONNECTED/ESTABLISHED c100 m129",
			},
		},
		{
			name: "DISCONNECTED twice",
			msgs: func(w *wire) []ctilink.Message {
				return append(connect(w, 1, lnA, lnB),
					w.st(a, ctilink.CallStateDisconnected, 16),
					w.st(a, ctilink.CallStateDisconnected, 16))
			},
			ignored: 1,
		},
		{
			name: "event after DISCONNECTED of the connection",
			msgs: func(w *wire) []ctilink.Message {
				return append(connect(w, 1, lnA, lnB),
					w.st(a, ctilink.CallStateDisconnected, 16),
					w.st(a, ctilink.CallStateConnected, 0))
			},
			ignored: 1,
		},
		{
			name: "DISCONNECTED for an unknown call",
			msgs: func(w *wire) []ctilink.Message {
				return []ctilink.Message{w.st(a, ctilink.CallStateDisconnected, 16)}
			},
			ignored: 1,
		},
		{
			name: "event for a call that already ended",
			msgs: func(w *wire) []ctilink.Message {
				return append(basicCall(w), w.st(b, ctilink.CallStateConnected, 0))
			},
			ignored: 1,
		},
		{
			name: "CallChanged from an unknown call",
			msgs: func(w *wire) []ctilink.Message {
				return append(connect(w, 1, lnA, lnB), unknownCall)
			},
			ignored: 1,
		},
		{
			name: "feature for unknown calls",
			msgs: func(w *wire) []ctilink.Message {
				return []ctilink.Message{ctilink.FeatureEvent{Feature: "transfer", Started: true, Device: "x", Line: "y", PrimaryCallID: 8, ConsultCallID: 9}}
			},
			ignored: 1,
		},
		{
			name: "call party for an unknown call and removal of an absent party",
			msgs: func(w *wire) []ctilink.Message {
				return append(connect(w, 1, lnA, lnB), callParty(w, false),
					ctilink.CallPartyEvent{Device: "x", Line: "y", GlobalCallID: 42, Party: lnY.party(), Added: true})
			},
			ignored: 2,
		},
		{
			name: "unknown route and media kinds",
			msgs: func(w *wire) []ctilink.Message {
				return []ctilink.Message{ctilink.RouteEvent{Kind: "bogus", SessionID: 1}, ctilink.MediaEvent{Kind: "bogus"}}
			},
			ignored: 2,
		},
		{
			name: "snapshot of a disconnected leg",
			msgs: func(w *wire) []ctilink.Message {
				return []ctilink.Message{snap(w.st(a, ctilink.CallStateDisconnected, 16))}
			},
			ignored: 1,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := New(controlled(lnA, lnB, lnC))
			msgs := tt.msgs(&wire{})
			var last []Out
			for _, msg := range msgs {
				last = m.Apply(msg)
				checkEvents(t, last)
			}
			if tt.want != nil {
				diff(t, tt.want, formatAll(last))
			}
			if st := m.Stats(); st.Ignored != tt.ignored {
				t.Errorf("Ignored = %d, want %d", st.Ignored, tt.ignored)
			}
		})
	}
}

// TestMaxCalls: beyond MaxCalls new calls are not tracked (no events,
// counted), tracked calls go on, and a slot freed by an ended call is
// reused.
func TestMaxCalls(t *testing.T) {
	w := &wire{}
	m := New(Config{Controlled: controlled(lnA, lnB, lnC, lnD).Controlled, MaxCalls: 1})
	applyAll(m, connect(w, 1, lnA, lnB))
	cd, _, _ := setup(2, lnC, lnD)
	if outs := m.Apply(w.st(cd, ctilink.CallStateDialTone, 0)); len(outs) != 0 {
		t.Errorf("untracked call produced %v", formatAll(outs))
	}
	if st := m.Stats(); st.Tracked != 1 || st.Untracked != 1 {
		t.Errorf("Stats = %+v, want Tracked 1 Untracked 1", st)
	}
	_, a, b := setup(1, lnA, lnB)
	m.Apply(w.st(a, ctilink.CallStateDisconnected, 16))
	m.Apply(w.st(b, ctilink.CallStateDisconnected, 16))
	if outs := m.Apply(w.st(cd, ctilink.CallStateDialTone, 0)); len(outs) == 0 {
		t.Error("a call after the slot was freed is not tracked")
	}
}

// TestConnectionsPerCallBounded: a call naming ever new parties stops
// growing at the per-call bound.
func TestConnectionsPerCallBounded(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB))
	applyAll(m, connect(w, 1, lnA, lnB))
	for i := range 100 {
		m.Apply(ctilink.CallPartyEvent{Device: lnA.dev, Line: lnA.dn, GlobalCallID: 1,
			Party: ctilink.Party{DN: callIDString(uint32(7000 + i))}, Added: true, Transient: true})
	}
	if n := len(m.Calls()[0].Connections); n != maxConnsPerCall {
		t.Errorf("connections = %d, want the bound %d", n, maxConnsPerCall)
	}
}

// TestTombstonesBounded: stragglers of many ended calls are ignored while
// remembered, and the memory of ended calls stays bounded.
func TestTombstonesBounded(t *testing.T) {
	w := &wire{}
	m := New(controlled(lnA, lnB))
	for id := uint32(1); id <= 3*tombstoneCap; id++ {
		applyAll(m, append(connect(w, id, lnA, lnB),
			w.st(leg{call: id, ln: lnA, origin: true}, ctilink.CallStateDisconnected, 16),
			w.st(leg{call: id, ln: lnB}, ctilink.CallStateDisconnected, 16)))
	}
	if len(m.tomb.set) != tombstoneCap || m.Stats().Tracked != 0 {
		t.Errorf("tombstones %d (cap %d), tracked %d", len(m.tomb.set), tombstoneCap, m.Stats().Tracked)
	}
	last := uint32(3 * tombstoneCap)
	if outs := m.Apply(w.st(leg{call: last, ln: lnA}, ctilink.CallStateConnected, 0)); len(outs) != 0 {
		t.Errorf("straggler of a recently ended call produced %v", formatAll(outs))
	}
}
