package callmodel

import (
	"reflect"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctilink"
	"github.com/ctibridge/ctibridge/pkg/schema"
	"github.com/google/go-cmp/cmp"
)

func applyAll(m *Model, msgs []ctilink.Message) []Out {
	var outs []Out
	for _, msg := range msgs {
		outs = append(outs, m.Apply(msg)...)
	}
	return outs
}

func find(outs []Out, name, addr string) []Out {
	var r []Out
	for _, o := range outs {
		if o.Name != name {
			continue
		}
		if addr != "" && (o.Data.Call == nil || o.Data.Call.Connection == nil || o.Data.Call.Connection.Address != addr) {
			continue
		}
		r = append(r, o)
	}
	return r
}

// TestRedirectData: the destination's connection carries reason REDIRECT
// and its offer the cause REDIRECTED; the route point's leg leaves with
// REDIRECTED; route events carry the route session.
func TestRedirectData(t *testing.T) {
	cfg := controlled(lnA, lnR, lnD)
	outs := applyAll(New(cfg), routeRedirect(&wire{}))
	offered := find(outs, schema.EvCallCtlConnOffered, lnD.dn)
	if len(offered) != 1 || offered[0].Data.CallControlCause != schema.CCCauseRedirected ||
		offered[0].Data.Call.Connection.Reason != "REDIRECT" || !offered[0].Data.Call.Connection.Controlled {
		t.Errorf("destination offered = %+v", offered)
	}
	if lr := offered[0].Data.Call.LastRedirecting; lr == nil || lr.Address != lnR.dn {
		t.Errorf("lastRedirecting = %+v, want the route point", lr)
	}
	disc := find(outs, schema.EvCallCtlConnDisconnected, lnR.dn)
	if len(disc) != 1 || disc[0].Data.CallControlCause != schema.CCCauseRedirected {
		t.Errorf("route point disconnected = %+v", disc)
	}
	routeEvs := find(outs, schema.EvRoute, "")
	if len(routeEvs) != 1 {
		t.Fatalf("RouteEvent count = %d", len(routeEvs))
	}
	want := &schema.RouteData{Address: lnR.dn, Terminal: lnR.dev, SessionID: "7", CallID: "1",
		Calling: &schema.Party{Address: lnA.dn, Terminal: lnA.dev}, Called: &schema.Party{Address: lnR.dn, Terminal: lnR.dev}, State: "ROUTE"}
	if d := cmp.Diff(want, routeEvs[0].Data.Route); d != "" || routeEvs[0].Family != schema.FamilyRoute || routeEvs[0].Entity != lnR.dn {
		t.Errorf("RouteEvent (-want +got):\n%s", d)
	}
	end := find(outs, schema.EvRouteEnd, "")
	if len(end) != 1 || end[0].Data.Route.Cause != 100 || end[0].Data.Route.CauseName != "NO_ERROR" {
		t.Errorf("RouteEndEvent = %+v", end)
	}
}

// TestTransformationData: the transient connection for the masked number
// is flagged, the call's current calling party reads the masked number
// from A's PROCEEDING on, and Calls() shows the transient party while it
// is in the call.
func TestTransformationData(t *testing.T) {
	m := New(controlled(lnA, lnB))
	msgs := transformation(&wire{})
	var outs []Out
	for i, msg := range msgs {
		o := m.Apply(msg)
		outs = append(outs, o...)
		if i == 4 { // after B OFFERING: Y is in the call
			calls := m.Calls()
			if len(calls) != 1 || len(calls[0].Connections) != 3 || !calls[0].Connections[1].Transient || calls[0].Connections[1].Address != lnY.dn {
				t.Errorf("Calls() with the transient party = %+v", calls)
			}
		}
		for _, e := range o {
			cur := e.Data.Call.CurrentCalling
			want := lnA.dn
			if i >= 2 {
				want = lnY.dn
			}
			if cur == nil || cur.Address != want {
				t.Errorf("message %d: %s currentCalling = %+v, want %s", i, e.Name, cur, want)
			}
		}
	}
	for _, o := range outs {
		if cn := o.Data.Call.Connection; cn != nil && (cn.Address == lnY.dn) != cn.Transient {
			t.Errorf("%s for %s: transient = %v", o.Name, cn.Address, cn.Transient)
		}
	}
	if n := len(find(outs, schema.EvConnDisconnected, lnY.dn)); n != 1 {
		t.Errorf("transient connection disconnected %d times, want 1", n)
	}
}

// TestFeatureData: the transfer's Start and End events are reported once,
// on the final call (guide Table 8), naming the feature, its phase, the
// controller and both calls, with META_UNKNOWN; the consult call is
// cleared (CallInvalidEv) before the End event; a transfer has no
// CiscoCallChangedEv.
func TestFeatureData(t *testing.T) {
	outs := applyAll(New(controlled(lnA, lnB, lnC)), consultTransfer(&wire{}))
	start := find(outs, schema.EvCiscoTransferStart, "")
	end := find(outs, schema.EvCiscoTransferEnd, "")
	if len(start) != 1 || len(end) != 1 {
		t.Fatalf("transfer start/end events = %d/%d, want 1/1", len(start), len(end))
	}
	wantStart := &schema.FeatureData{Feature: "transfer", Phase: "started", Controller: &schema.Party{Address: lnB.dn, Terminal: lnB.dev},
		PrimaryCallID: "1", ConsultCallID: "2"}
	o := start[0]
	if d := cmp.Diff(wantStart, o.Data.Call.Feature); d != "" || o.Entity != "1" || o.Data.CallControlCause != schema.CCCauseTransfer ||
		o.Data.MetaCode != schema.MetaUnknown {
		t.Errorf("start on %s, meta %d (-want +got):\n%s", o.Entity, o.Data.MetaCode, d)
	}
	if f := end[0].Data.Call.Feature; f.Phase != "ended" || f.ResultCallID != "1" || end[0].Entity != "1" {
		t.Errorf("end on %s: feature = %+v", end[0].Entity, f)
	}
	invalid, endAt := -1, -1
	for i, o := range outs {
		switch {
		case o.Name == schema.EvCallInvalid && o.Entity == "2":
			invalid = i
		case o.Name == schema.EvCiscoTransferEnd:
			endAt = i
		}
	}
	if invalid < 0 || invalid > endAt {
		t.Errorf("CallInvalidEv of the consult call at %d, CiscoTransferEndEv at %d: want the consult call cleared first", invalid, endAt)
	}
	if changed := find(outs, schema.EvCiscoCallChanged, ""); len(changed) != 0 {
		t.Errorf("CiscoCallChangedEv during a transfer: %+v", changed)
	}
}

// TestMediaData: CTI port media events are terminal events carrying the
// RTP parameters.
func TestMediaData(t *testing.T) {
	outs := applyAll(New(controlled(lnA, lnP)), ctiPort(&wire{}))
	in := find(outs, schema.EvCiscoRTPInputStarted, "")
	if len(in) != 1 {
		t.Fatalf("CiscoRTPInputStartedEv count %d", len(in))
	}
	o := in[0]
	want := &schema.MediaData{Terminal: lnP.dev, Kind: ctilink.MediaRTPInputStarted, IP: "10.0.9.9", Port: 30000, Codec: "G711U", PacketMs: 20}
	if d := cmp.Diff(want, o.Data.Media); d != "" || o.Family != schema.FamilyTerminal || o.Entity != lnP.dev || o.Data.Terminal.Name != lnP.dev {
		t.Errorf("media event %+v (-want +got):\n%s", o, d)
	}
}

// TestEventCommonFields: every call event names the call, its state and
// CallManager, carries the wire time; connection events tell controlled
// lines from synthesized parties.
func TestEventCommonFields(t *testing.T) {
	w := &wire{}
	msgs := basicCall(w)
	m := New(controlled(lnA))
	for _, msg := range deliver(controlled(lnA), msgs) {
		ev := msg.(ctilink.CallStateEvent)
		for _, o := range m.Apply(msg) {
			if !o.Time.Equal(wireTime(ev.TimeNs)) || o.Time.IsZero() {
				t.Errorf("%s time %v, want %v", o.Name, o.Time, wireTime(ev.TimeNs))
			}
			cd := o.Data.Call
			if cd.CallID != "1" || cd.CallManager != "cm1" || cd.State == "" {
				t.Errorf("%s call data %+v", o.Name, cd)
			}
			if cn := cd.Connection; cn != nil && cn.Controlled != (cn.Address == lnA.dn) {
				t.Errorf("%s %s controlled = %v", o.Name, cn.Address, cn.Controlled)
			}
		}
	}
}

// TestDeterminism: the same input gives the same output, event for event,
// field for field.
func TestDeterminism(t *testing.T) {
	for _, sc := range scenarios {
		a := applyAll(New(sc.cfg), deliver(sc.cfg, sc.msgs(&wire{})))
		b := applyAll(New(sc.cfg), deliver(sc.cfg, sc.msgs(&wire{})))
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%s: two runs differ", sc.name)
		}
	}
}

// TestPointerMessages: Apply accepts pointers to messages as well.
func TestPointerMessages(t *testing.T) {
	w := &wire{}
	var byValue, byPointer []Out
	m1, m2 := New(controlled(lnA, lnB, lnC)), New(controlled(lnA, lnB, lnC))
	for _, msg := range consultTransfer(w) {
		byValue = append(byValue, m1.Apply(msg)...)
		var p ctilink.Message
		switch v := msg.(type) {
		case ctilink.CallStateEvent:
			p = &v
		case ctilink.FeatureEvent:
			p = &v
		case ctilink.CallChangedEvent:
			p = &v
		}
		byPointer = append(byPointer, m2.Apply(p)...)
	}
	if !reflect.DeepEqual(byValue, byPointer) {
		t.Error("pointer and value messages give different events")
	}
	var nilEv *ctilink.CallStateEvent
	if outs := m2.Apply(nilEv); outs != nil {
		t.Errorf("nil pointer produced %v", outs)
	}
	if outs := m2.Apply(ctilink.Heartbeat{}); outs != nil {
		t.Errorf("heartbeat produced %v", outs)
	}
}
