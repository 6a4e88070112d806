package jetstream

import (
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/schema"
)

func TestEmitEncodesAndReportsUnencodable(t *testing.T) {
	e := startServer(t)
	nc := dialTCP(t, e.ClientURL())
	js := newJS(t, nc)
	provision(t, js)
	p := startPublisher(t, nc, nil)

	at := time.Date(2026, 5, 1, 14, 2, 17, 0, time.UTC)
	good := schema.Event{
		Family: schema.FamilyCall, Entity: "42.a b", Name: schema.EvCallActive,
		Session: "prov-1", SessionSeq: 1, Sequence: 1, CTIManager: "cm1", Time: at, Received: at,
		Data: schema.Data{Call: &schema.CallData{CallID: "42.a b", State: "ACTIVE"}},
	}
	p.Emit(good)
	bad := good
	bad.SessionSeq = 2
	bad.Family = schema.FamilyTerminal // wrong family for the event name
	p.Emit(bad)
	flush(t, p, 10*time.Second)

	msgs := readStream(t, js)
	if len(msgs) != 2 {
		t.Fatalf("%d messages, want the event and a gap record", len(msgs))
	}
	_, ev, err := schema.Decode(msgs[0].header, msgs[0].data)
	if err != nil || ev.Entity != "42.a b" || ev.Name != schema.EvCallActive || !ev.Time.Equal(at) || msgs[0].id != schema.EventID("prov-1", 1) {
		t.Fatalf("first message: %+v, %v", ev, err)
	}
	_, ev, err = schema.Decode(msgs[1].header, msgs[1].data)
	if err != nil || ev.Name != schema.EvPublishGap {
		t.Fatalf("second message: %+v, %v", ev, err)
	}
	gp := ev.Data.Bridge.Gap
	if gp.Dropped != 1 || gp.FirstDropped != schema.EventID("prov-1", 2) || !strings.HasPrefix(gp.Reason, GapReasonRejected) {
		t.Fatalf("gap %+v", gp)
	}
	if st := p.Stats(); st.Rejected != 1 || st.Gaps != 1 || st.Acked != 2 {
		t.Fatalf("stats %+v", st)
	}
}
