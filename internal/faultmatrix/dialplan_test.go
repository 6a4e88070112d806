package faultmatrix

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/ctisim/traffic"
	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// dialPlanEvent is a stored event that concerns a dial-plan line.
type dialPlanEvent struct {
	subject, ceSubject string
	ev                 schema.Event
}

// dialPlanEvents reads the stream raw and returns, per directory number of
// dns, every event whose entity (address family) or connection (call
// family) is that number. It fails on an event whose NATS subject does not
// unescape to its entity, or whose ce-subject header does not
// percent-decode to it.
func dialPlanEvents(t *testing.T, r *Rig, dns []string) map[string][]dialPlanEvent {
	t.Helper()
	js, err := natsjs.New(r.Conn)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]dialPlanEvent{}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	err = jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		env, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return fmt.Errorf("%s: %w", m.Subject(), err)
		}
		raw := m.Headers().Get(schema.HeaderSubject)
		ceSubject, err := url.PathUnescape(raw)
		if err != nil {
			return fmt.Errorf("%s: ce-subject %q: %w", m.Subject(), raw, err)
		}
		if ceSubject != env.Subject || ceSubject != ev.Entity {
			return fmt.Errorf("%s: ce-subject %q, decoded %q, entity %q", m.Subject(), ceSubject, env.Subject, ev.Entity)
		}
		tokens := strings.Split(m.Subject(), ".")
		if len(tokens) == 5 {
			if ent, err := schema.UnescapeToken(tokens[3]); err != nil || ent != ev.Entity {
				return fmt.Errorf("subject %q: entity token unescapes to %q (%v), want %q", m.Subject(), ent, err, ev.Entity)
			}
		}
		for _, dn := range dns {
			mine := ev.Family == schema.FamilyAddress && ev.Entity == dn
			if c := ev.Data.Call; c != nil && c.Connection != nil && c.Connection.Address == dn {
				mine = true
			}
			if mine {
				out[dn] = append(out[dn], dialPlanEvent{subject: m.Subject(), ceSubject: ceSubject, ev: ev})
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Directory numbers as CUCM allows them — +E.164 written plainly and with
// CUCM's \+ escape, and feature-style numbers with * and # — through the
// real daemon (`bridge run --config`): the lines come into service, calls
// between them are published, every event of those lines is stored on a
// valid subject whose entity token unescapes to the exact number, with the
// exact number in ce-subject and in the data, and the ground-truth checker
// finds nothing lost or duplicated.
func TestDialPlanNumbersThroughBridgeRun(t *testing.T) {
	bin := BridgeBinary(t)
	r := StartTestRig(t, RigConfig{})
	d := StartTestDaemon(t, bin, WriteDaemonConfig(t, r))
	WaitNewEvent(t, r, subjInService, "", d)
	dns := ctisim.DefaultDialPlanDNs // +4930123, \+4930, *55, #1
	var calls []uint32
	for _, pair := range [][2]string{{dns[0], dns[2]}, {dns[1], dns[3]}} {
		gcid, err := r.Sim.Place(traffic.Basic, pair[0], pair[1], "")
		if err != nil {
			t.Fatalf("place %s → %s: %v", pair[0], pair[1], err)
		}
		calls = append(calls, gcid)
	}
	for _, gcid := range calls {
		WaitCallEvent(t, r, fmt.Sprint(gcid), schema.EvCallObservationEnded, d)
	}
	if code := d.StopOrFail(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit code %d after SIGTERM, want 0; output:\n%s", code, d.Out)
	}
	CloseAndCheck(t, r)

	got := dialPlanEvents(t, r, dns)
	for _, dn := range dns {
		evs := got[dn]
		var names []string
		for _, e := range evs {
			names = append(names, e.ev.Name)
			if e.ev.Family == schema.FamilyAddress {
				want := "cti.lab.address." + schema.EscapeToken(dn) + "." + e.ev.Name
				if e.subject != want || e.ceSubject != dn || e.ev.Data.Address == nil || e.ev.Data.Address.DN != dn {
					t.Fatalf("%s: address event on %q, ce-subject %q, data %+v; want subject %q and the exact number", dn, e.subject, e.ceSubject, e.ev.Data.Address, want)
				}
				continue
			}
			c := e.ev.Data.Call
			// Stored under its call alone (subject layout 2).
			if e.ceSubject != c.CallID || e.subject != schema.CallSubject("lab", c.CallID) {
				t.Fatalf("%s: call event %s on %q with ce-subject %q", dn, e.ev.Name, e.subject, e.ceSubject)
			}
			if tc := c.TerminalConnection; tc != nil && tc.Address != dn {
				t.Fatalf("%s: terminal connection address %q", dn, tc.Address)
			}
			if !slices.Contains(calls, parseCallID(t, c.CallID)) {
				continue // generated traffic may use these lines too
			}
			// The called party is unknown until the caller dialled.
			if c.Calling == nil || !slices.Contains(dns, c.Calling.Address) || (c.Called != nil && !slices.Contains(dns, c.Called.Address)) {
				t.Fatalf("%s: %s parties %+v → %+v, want the exact dial-plan numbers", dn, e.ev.Name, c.Calling, c.Called)
			}
			if e.ev.Name == schema.EvConnDisconnected && (c.Called == nil || c.Called.Address == "") {
				t.Fatalf("%s: the call ended without its called number in the data", dn)
			}
		}
		for _, want := range []string{schema.EvCiscoAddrInService, schema.EvConnCreated, schema.EvCallCtlConnEstablished,
			schema.EvTermConnActive, schema.EvConnDisconnected, schema.EvCallCtlTermConnDropped} {
			if !slices.Contains(names, want) {
				t.Fatalf("%s: no %s among its stored events %v", dn, want, names)
			}
		}
		t.Logf("%s: %d events, e.g. %s", dn, len(evs), evs[0].subject)
	}
}

func parseCallID(t *testing.T, s string) uint32 {
	t.Helper()
	var id uint32
	if _, err := fmt.Sscan(s, &id); err != nil {
		t.Fatalf("call id %q: %v", s, err)
	}
	return id
}
