package faultmatrix

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// A screen pop subscribes with a subject filter only (schema.LineFilter,
// core NATS) and receives exactly its line's call events: every event of
// the stream about that line's connections and terminal connections, in
// stream order, and nothing else. Meanwhile the stream stores every call
// under one subject.
func TestLineSubjectFilter(t *testing.T) {
	r := StartTestRig(t, RigConfig{Rate: 8})
	lines := []string{"1001", "1002", "1003", "1004", "1005", "1006", "1007", "1008", "1009", "1010", "2005", "2010"}
	subs := map[string]*nats.Subscription{}
	for _, dn := range lines {
		sub, err := r.Conn.SubscribeSync(schema.LineFilter("lab", dn))
		if err != nil {
			t.Fatal(err)
		}
		if err := sub.SetPendingLimits(-1, -1); err != nil {
			t.Fatal(err)
		}
		subs[dn] = sub
	}
	if err := r.Conn.Flush(); err != nil {
		t.Fatal(err)
	}
	if _, err := r.StartBridge(nil); err != nil {
		t.Fatal(err)
	}
	WaitUp(t, r, nil)
	LetTrafficFlow(4 * time.Second)
	if err := r.StopBridge(); err != nil {
		t.Fatal(err)
	}
	// Every event was acknowledged, so the server has routed it to the
	// subscriptions; a round trip brings everything it sent before.
	if err := r.Conn.Flush(); err != nil {
		t.Fatal(err)
	}

	want := map[string][]string{}
	calls := map[string]bool{}
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), WaitBound)
	defer cancel()
	err = jetstream.ReadAll(ctx, js, jetstream.DefaultStream, schema.FamilyFilter("lab", schema.FamilyCall), func(m natsjs.Msg) error {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return err
		}
		if m.Subject() != schema.CallSubject("lab", ev.Entity) {
			return fmt.Errorf("call event %s stored on %s, want %s", ev.Name, m.Subject(), schema.CallSubject("lab", ev.Entity))
		}
		calls[ev.Entity] = true
		dn := schema.CallLine(&ev)
		want[dn] = append(want[dn], schema.EventID(ev.Session, ev.SessionSeq))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	s, err := js.Stream(ctx, jetstream.DefaultStream)
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(ctx, natsjs.WithSubjectFilter(schema.FamilyFilter("lab", schema.FamilyCall)))
	if err != nil {
		t.Fatal(err)
	}
	if len(info.State.Subjects) != len(calls) {
		t.Errorf("the stream holds %d call subjects for %d calls, want one each", len(info.State.Subjects), len(calls))
	}

	busy := 0
	for _, dn := range lines {
		var got []string
		for {
			m, err := subs[dn].NextMsg(0)
			if err != nil {
				break
			}
			p, err := schema.ParseSubject(m.Subject)
			if err != nil || p.Line != dn || p.Family != schema.FamilyCall {
				t.Fatalf("line %s: received %s (%+v, %v)", dn, m.Subject, p, err)
			}
			env, _, err := schema.Decode(m.Header, m.Data)
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, env.ID)
		}
		if !slices.Equal(got, want[dn]) {
			t.Errorf("line %s: the subscriber got %d events, the stream holds %d for the line:\n got %v\nwant %v", dn, len(got), len(want[dn]), got, want[dn])
		}
		if len(got) > 0 {
			busy++
		}
	}
	if busy < 3 {
		t.Fatalf("only %d of the %d lines had calls: the test proves little", busy, len(lines))
	}
	t.Logf("%d calls, %d of %d lines with events, %d call-wide events", len(calls), busy, len(lines), len(want[""]))
}
