package calllog

import (
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

var t0 = time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)

type script struct {
	b   *Builder
	seq uint64
	at  time.Time
}

func newScript() *script { return &script{b: New(), at: t0} }

// conn emits a connection event of call id on address with the given
// states and causes.
func (s *script) conn(session, id, name, addr string, core, cc, cause, ccCause int) {
	s.seq++
	s.at = s.at.Add(100 * time.Millisecond)
	ev := schema.Event{Family: schema.FamilyCall, Entity: id, Name: name, Session: session, Time: s.at, Received: s.at,
		Data: schema.Data{Cause: cause, CallControlCause: ccCause, Call: &schema.CallData{CallID: id, CallManager: "cm1",
			Calling: &schema.Party{Address: "1001"}, Called: &schema.Party{Address: "1002"},
			Connection: &schema.ConnectionData{Address: addr, State: schema.StateNames[core], StateCode: core,
				CallControlState: schema.StateNames[cc], CallControlStateCode: cc}}}}
	s.b.Add(s.seq, &ev)
}

func (s *script) event(session, id, name string, snapshot bool) {
	s.seq++
	s.at = s.at.Add(100 * time.Millisecond)
	fam := schema.FamilyCall
	var d schema.Data
	if id == "" {
		fam = schema.FamilyProvider
		d.Provider = &schema.ProviderData{State: "SHUTDOWN"}
	} else {
		d.Call = &schema.CallData{CallID: id, Calling: &schema.Party{Address: "1001"}, Called: &schema.Party{Address: "1002"}}
		d.Snapshot = snapshot
	}
	ev := schema.Event{Family: fam, Entity: id, Name: name, Session: session, Time: s.at, Received: s.at, Data: d}
	s.b.Add(s.seq, &ev)
}

// up creates call id with 1001 connected and 1002 alerting.
func (s *script) up(session, id string) {
	s.event(session, id, schema.EvCallActive, false)
	s.conn(session, id, schema.EvConnConnected, "1001", schema.ConnConnected, schema.CCConnEstablished, schema.CauseNormal, 0)
	s.conn(session, id, schema.EvConnAlerting, "1002", schema.ConnAlerting, schema.CCConnAlerting, schema.CauseNormal, 0)
}

func (s *script) hangUp(session, id, addr string, cause, ccCause int) {
	s.conn(session, id, schema.EvConnDisconnected, addr, schema.ConnDisconnected, schema.CCConnDisconnected, cause, ccCause)
}

func TestBusyCallEndsWithBusy(t *testing.T) {
	s := newScript()
	s.up("p1", "7")
	s.conn("p1", "7", schema.EvConnFailed, "1002", schema.ConnFailed, schema.CCConnFailed, schema.CauseNormal, schema.CCCauseBusy)
	s.hangUp("p1", "7", "1001", schema.CauseNormal, 0)
	s.hangUp("p1", "7", "1002", schema.CauseNormal, 0)
	calls := s.b.Calls()
	if len(calls) != 1 {
		t.Fatalf("%d calls", len(calls))
	}
	c := calls[0]
	if c.Status != StatusEnded || c.EndCause == nil || c.EndCause.Code != schema.CCCauseBusy || c.EndCause.Name != "CAUSE_BUSY" ||
		len(c.EndCause.Q850) != 1 || c.EndCause.Q850[0] != 17 {
		t.Errorf("call %+v, end cause %+v", c, c.EndCause)
	}
	if c.GlobalCallID.String() != "cm1/7" || c.Calling != "1001" || c.Called != "1002" || len(c.Parties) != 2 || c.DurationMs != 500 {
		t.Errorf("call %+v", c)
	}
}

// A leg that left earlier (a transfer) does not give the call its end
// cause: the final teardown does.
func TestEndCauseIsTheFinalTeardowns(t *testing.T) {
	s := newScript()
	s.up("p1", "8")
	s.conn("p1", "8", schema.EvConnConnected, "1003", schema.ConnConnected, schema.CCConnEstablished, schema.CauseNormal, 0)
	s.hangUp("p1", "8", "1002", schema.CauseNormal, schema.CCCauseTransfer)
	s.conn("p1", "8", schema.EvConnConnected, "1003", schema.ConnConnected, schema.CCConnEstablished, schema.CauseNormal, 0)
	s.hangUp("p1", "8", "1001", schema.CauseNormal, 0)
	s.hangUp("p1", "8", "1003", schema.CauseNormal, 0)
	c := s.b.Calls()[0]
	if c.EndCause == nil || c.EndCause.Code != schema.CauseNormal {
		t.Errorf("end cause %+v, want CAUSE_NORMAL", c.EndCause)
	}
}

// An id reused while the first call was never seen to end (the bridge
// died), and an id reused after the provider shut down: separate calls.
func TestReusedIDsAreSeparateCalls(t *testing.T) {
	s := newScript()
	s.up("a-p1", "5")
	s.up("b-p1", "5") // a fresh CallActiveEv: a new call
	s.event("b-p1", "", schema.EvProvShutdown, false)
	s.up("c-p1", "5")
	// A snapshot after a failover describes the running call again: the
	// same call.
	s.event("c-p1", "5", schema.EvCallObservationEnded, false)
	s.event("c-p2", "5", schema.EvCallActive, true)
	calls := s.b.Calls()
	if len(calls) != 3 {
		t.Fatalf("%d calls: %+v", len(calls), calls)
	}
	want := []struct {
		status   string
		sessions int
	}{{StatusReused, 1}, {StatusShutdown, 1}, {StatusUp, 2}}
	for i, w := range want {
		if calls[i].Status != w.status || len(calls[i].Sessions) != w.sessions {
			t.Errorf("call %d: status %q sessions %v, want %q with %d", i, calls[i].Status, calls[i].Sessions, w.status, w.sessions)
		}
	}
	if !calls[2].Failover || calls[2].HasSession("c") != true || calls[2].HasSession("c-p") {
		t.Errorf("third call %+v", calls[2])
	}
	if calls[0].EndCause != nil || calls[1].EndCause != nil {
		t.Error("a call whose end was not seen has an end cause")
	}
	if !calls[2].UpAt(s.at.Add(time.Hour)) || calls[0].UpAt(s.at) {
		t.Error("UpAt")
	}
}
