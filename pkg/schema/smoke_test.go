package schema

import (
	"testing"
	"time"
)

func TestSmokeRoundTrip(t *testing.T) {
	enc, err := NewEncoder(EncoderConfig{Cluster: "lab"})
	if err != nil {
		t.Fatal(err)
	}
	ev := Event{Family: FamilyCall, Entity: "16777217", Name: EvCallActive, Session: "s1", SessionSeq: 7, Sequence: 1,
		Time: time.Date(2025, 1, 2, 3, 4, 5, 6, time.UTC), Data: Data{Call: &CallData{CallID: "16777217"}}}
	m, err := enc.Encode(&ev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %s", m, m.Data)
	env, got, err := Decode(m.Header, m.Data)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%+v %+v", env, got)
}
