package gatewaye2e

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"

	natsjs "github.com/nats-io/nats.go/jetstream"

	"github.com/ctibridge/ctibridge/pkg/jetstream"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// ReadEvents returns every event of the bridge's stream, in stream order.
func ReadEvents(ctx context.Context, js natsjs.JetStream) ([]schema.Event, error) {
	var out []schema.Event
	err := jetstream.ReadAll(ctx, js, jetstream.DefaultStream, "", func(m natsjs.Msg) error {
		_, ev, err := schema.Decode(m.Headers(), m.Data())
		if err != nil {
			return fmt.Errorf("gatewaye2e: undecodable event on %s: %w", m.Subject(), err)
		}
		out = append(out, ev)
		return nil
	})
	return out, err
}

// Ignored lists what may legitimately differ between a bridge behind the
// simulator and a bridge behind the gateway, with why; Normalize removes
// exactly these (docs/gateway.md §"How it is tested").
var Ignored = []struct{ Field, Why string }{
	{"times (data.times, gap openedAt/detectedAt/closedAt/durationMs, provider.lastHeardAt)", "when things happened: two runs, two clocks (whether the gap has a detectedAt is compared: both a reset link and a ProviderClosed open the gap at the frame before and set it)"},
	{"session ids, event ids, frame provenance", "derived from the bridge's instance name and the CTIManager's providerId, unique per run"},
	{"provider.providerId", "each CTI server names its sessions"},
	{"bridge.instance, bridge.version, gap ids", "the bridge's run identity"},
	{"global call ids and route session ids (renumbered by first appearance, a route session within its provider session)", "each CTI server numbers its calls, and its route sessions per provider session (the simulator cluster-wide, the gateway per JTAPI provider)"},
	{"terminal.callManager", "JTAPI does not tell which CallManager node a device is registered to; the simulator does"},
	{"provider.reason/reasonCode/detail and gap reason of a lost CTIManager", "a killed simulator node resets the TCP connection; a gateway whose JTAPI provider went out of service closes the link with ProviderClosed{UNEXPECTEDSHUTDOWN} saying why"},
	{"provider.detail of CTIManagerConnecting and CTIManagerConnected", "the CTI server's address and its software (serverInfo)"},
}

// lossEvents are the events whose reason describes how the CTIManager was
// lost (see Ignored).
var lossEvents = map[string]bool{"CTIManagerLost": true, "ProvOutOfServiceEv": true, "GapOpened": true, "GapClosed": true}

// Normalize turns stored events into comparable lines, grouped by entity
// (family/entity, calls renumbered by first appearance): the JTAPI event
// name, per-entity sequence, session (numbered by first appearance), the
// CTIManager and the event data, with the fields of Ignored removed.
func Normalize(events []schema.Event) map[string][]string {
	n := &normalizer{calls: map[string]string{}, routes: map[string]string{}, sessions: map[string]string{},
		gaps: map[string]string{}}
	out := map[string][]string{}
	for _, ev := range events {
		key := string(ev.Family) + "/" + ev.Entity
		if ev.Family == schema.FamilyCall {
			key = string(ev.Family) + "/" + n.call(ev.Entity)
		}
		var data map[string]any
		b, _ := json.Marshal(ev.Data)
		_ = json.Unmarshal(b, &data)
		n.clean(ev.Name, ev.Session, data)
		d, _ := json.Marshal(data) // map keys sorted
		line := fmt.Sprintf("%s seq=%d session=%s ctimanager=%s %s", ev.Name, ev.Sequence, n.session(ev.Session), ev.CTIManager, d)
		out[key] = append(out[key], line)
	}
	return out
}

type normalizer struct {
	calls, routes, sessions, gaps map[string]string
}

func renumber(m map[string]string, prefix, id string) string {
	if id == "" {
		return ""
	}
	if v, ok := m[id]; ok {
		return v
	}
	v := prefix + strconv.Itoa(len(m)+1)
	m[id] = v
	return v
}

func (n *normalizer) call(id string) string    { return renumber(n.calls, "call", id) }
func (n *normalizer) session(id string) string { return renumber(n.sessions, "p", id) }

// eventSession is an event id's session, renumbered.
func (n *normalizer) eventSession(id string) string {
	if session, _, ok := schema.ParseEventID(id); ok {
		return "event of " + n.session(session)
	}
	return id
}

func (n *normalizer) clean(name, session string, d map[string]any) {
	delete(d, "times")
	if p, ok := d["provider"].(map[string]any); ok {
		delete(p, "providerId")
		if name == "CTIManagerConnecting" || name == "CTIManagerConnected" {
			delete(p, "detail")
		}
		delete(p, "lastHeardAt")
		if lossEvents[name] {
			delete(p, "reason")
			delete(p, "reasonCode")
			delete(p, "detail")
		}
	}
	if t, ok := d["terminal"].(map[string]any); ok {
		delete(t, "callManager")
	}
	if b, ok := d["bridge"].(map[string]any); ok {
		delete(b, "instance")
		delete(b, "version")
		if lossEvents[name] {
			delete(b, "reason")
			delete(b, "detail")
		}
		if g, ok := b["gap"].(map[string]any); ok {
			g["id"] = renumber(n.gaps, "gap", fmt.Sprint(g["id"]))
			delete(g, "openedAt")
			if _, ok := g["detectedAt"]; ok {
				g["detectedAt"] = "set"
			}
			delete(g, "closedAt")
			delete(g, "durationMs")
			// The failover's waves: the same kinds and counts, their
			// times and places in the emission order are the run's (the
			// two paths interleave entities differently).
			if from, ok := g["wavesFrom"].(string); ok {
				g["wavesFrom"] = n.eventSession(from)
			}
			if ws, ok := g["waves"].([]any); ok {
				for _, w := range ws {
					if w, ok := w.(map[string]any); ok {
						delete(w, "first")
						delete(w, "last")
						if id, ok := w["firstId"].(string); ok {
							w["firstId"] = n.eventSession(id)
						}
					}
				}
			}
			if lossEvents[name] {
				delete(g, "reason")
			}
		}
	}
	if c, ok := d["call"].(map[string]any); ok {
		for _, k := range []string{"callId", "originalCallId"} {
			if v, ok := c[k].(string); ok {
				c[k] = n.call(v)
			}
		}
		if g, ok := c["gapId"].(string); ok {
			c["gapId"] = renumber(n.gaps, "gap", g)
		}
		if f, ok := c["feature"].(map[string]any); ok {
			for _, k := range []string{"primaryCallId", "consultCallId", "resultCallId"} {
				if v, ok := f[k].(string); ok {
					f[k] = n.call(v)
				}
			}
		}
	}
	if r, ok := d["route"].(map[string]any); ok {
		if v, ok := r["callId"].(string); ok {
			r["callId"] = n.call(v)
		}
		if v, ok := r["sessionId"].(string); ok {
			r["sessionId"] = renumber(n.routes, "route", session+"/"+v)
		}
	}
}

// Diff compares two normalized streams entity by entity and describes
// every difference: entities only one side has, and per entity the first
// position where the sequences differ with a few lines of context.
func Diff(want, got map[string][]string) []string {
	keys := map[string]bool{}
	for k := range want {
		keys[k] = true
	}
	for k := range got {
		keys[k] = true
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	var out []string
	for _, k := range sorted {
		w, g := want[k], got[k]
		i := 0
		for i < len(w) && i < len(g) && w[i] == g[i] {
			i++
		}
		if i == len(w) && i == len(g) {
			continue
		}
		var b strings.Builder
		fmt.Fprintf(&b, "%s: %d events via the simulator, %d via the gateway; first difference at #%d", k, len(w), len(g), i+1)
		for j := i; j < i+4; j++ {
			if j < len(w) {
				fmt.Fprintf(&b, "\n  simulator #%d: %s", j+1, w[j])
			}
			if j < len(g) {
				fmt.Fprintf(&b, "\n  gateway   #%d: %s", j+1, g[j])
			}
		}
		out = append(out, b.String())
	}
	return out
}
