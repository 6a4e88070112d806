package schema

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const eventsDocFile = docsDir + "/events.md"

// The generated blocks of docs/events.md sit between
// <!-- BEGIN GENERATED name --> and <!-- END GENERATED name --> lines.
var generatedBlock = regexp.MustCompile(`(?s)(<!-- BEGIN GENERATED ([a-z-]+) -->\n).*?(<!-- END GENERATED ([a-z-]+) -->)`)

func eventsDocBlocks(t *testing.T) map[string]string {
	blocks := map[string]string{}
	var b strings.Builder

	// The catalogue, one table per family.
	for _, f := range Families {
		fmt.Fprintf(&b, "### %s\n\n%s. Subject `%s`, data schema [`%s`](schemas/%s).\n\n",
			f, familyTitles[f], subjectPattern(f, "<cluster>", "<"+entityParam[f]+">", "<"+lineParam+">", "<event>"), SchemaFile(f), SchemaFile(f))
		b.WriteString("| Event (`jtapievent`) | JTAPI id | CloudEvents `type` | Origin | Meaning |\n|---|---|---|---|---|\n")
		for _, e := range Events {
			if e.Family != f {
				continue
			}
			id, origin := "–", "JTAPI"
			if e.ID != 0 {
				id = fmt.Sprint(e.ID)
			}
			if e.Bridge {
				origin = "bridge"
			}
			fmt.Fprintf(&b, "| `%s` | %s | `%s` | %s | %s |\n", e.Name, id, EventType(f, e.Name), origin, e.Doc)
		}
		b.WriteString("\n")
	}
	blocks["catalogue"] = b.String()

	ev := sampleCallEvent()
	for _, mode := range []Mode{ModeBinary, ModeStructured} {
		enc := mustEncoder(t, EncoderConfig{Cluster: "lab", Mode: mode})
		m, err := enc.Encode(&ev, sampleTime.Add(2500*1000))
		if err != nil {
			t.Fatal(err)
		}
		b.Reset()
		fmt.Fprintf(&b, "Subject: `%s` (entity key `%s`)\n\nHeaders:\n\n```\n", m.Subject, m.EntityKey)
		keys := make([]string, 0, len(m.Header))
		for k := range m.Header {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(&b, "%s: %s\n", k, m.Header[k][0])
		}
		var pretty bytes.Buffer
		if err := json.Indent(&pretty, m.Data, "", "  "); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "```\n\nPayload (%d bytes on the wire, compact; indented here):\n\n```json\n%s\n```\n", len(m.Data), pretty.String())
		blocks["example-"+mode.String()] = b.String()
	}

	b.Reset()
	b.WriteString("| Identifier | Token |\n|---|---|\n")
	for _, s := range []string{"SEP001122334455", "+4930123", "CTIP_IVR-1", "SEP.Lobby *Zoë>", "+49 30 1234", "a~b", "$SYS", ""} {
		label := "`" + s + "`"
		if s == "" {
			label = "(empty)"
		}
		fmt.Fprintf(&b, "| %s | `%s` |\n", label, EscapeToken(s))
	}
	tev := Event{Family: FamilyTerminal, Entity: "SEP.Lobby *Zoë>", Name: EvCiscoTermInService}
	aev := Event{Family: FamilyAddress, Entity: "+49 30 1234", Name: EvCiscoAddrInService}
	fmt.Fprintf(&b, "\nSo terminal `SEP.Lobby *Zoë>` publishes on `%s` and line `+49 30 1234` on `%s`.\n",
		Subject("lab", &tev), Subject("lab", &aev))
	blocks["escaping"] = b.String()
	return blocks
}

func TestGeneratedEventsDoc(t *testing.T) {
	raw, err := os.ReadFile(eventsDocFile)
	if err != nil {
		t.Fatal(err)
	}
	blocks := eventsDocBlocks(t)
	found := map[string]bool{}
	var bad []string
	out := generatedBlock.ReplaceAllFunc(raw, func(m []byte) []byte {
		sm := generatedBlock.FindSubmatch(m)
		name := string(sm[2])
		if string(sm[4]) != name {
			bad = append(bad, name)
			return m
		}
		content, ok := blocks[name]
		if !ok {
			bad = append(bad, name)
			return m
		}
		found[name] = true
		return []byte(string(sm[1]) + content + string(sm[3]))
	})
	if len(bad) > 0 {
		t.Fatalf("%s: unknown or mismatched generated blocks %v", eventsDocFile, bad)
	}
	for name := range blocks {
		if !found[name] {
			t.Errorf("%s lacks the block <!-- BEGIN GENERATED %s -->", eventsDocFile, name)
		}
	}
	checkGenerated(t, eventsDocFile, out)
}

// The filter examples in the doc are the pkg/schema filters, and they
// match the subjects the encoder publishes and the stream stores.
func TestEventsDocFilters(t *testing.T) {
	call := sampleCallEvent() // call 16777217, line 1002
	line := Event{Family: FamilyAddress, Entity: "1001", Name: EvCiscoAddrOutOfService}
	prov := Event{Family: FamilyProvider, Name: EvProvOutOfService}
	gap := Event{Family: FamilyBridge, Name: EvGapOpened}
	alert := Event{Family: FamilyCall, Entity: "16777218", Name: EvCallCtlConnAlerting,
		Data: Data{Call: &CallData{CallID: "16777218", Connection: &ConnectionData{Address: "1001"}}}}
	pub := func(ev *Event) string { return Subject("lab", ev) }
	sto := func(ev *Event) string { return StoredSubject("lab", ev) }
	cases := []struct {
		filter, code string
		match, miss  []string
	}{
		{"cti.lab.call.16777217", CallSubject("lab", "16777217"), []string{sto(&call)}, []string{pub(&call), sto(&alert)}},
		{"cti.lab.call.16777217.>", CallLiveFilter("lab", "16777217"), []string{pub(&call)}, []string{pub(&alert), pub(&line)}},
		{"cti.lab.call.*.1001.>", LineFilter("lab", "1001"), []string{pub(&alert)}, []string{pub(&call), pub(&line), sto(&alert)}},
		{"cti.lab.call.>", FamilyFilter("lab", FamilyCall), []string{pub(&call), sto(&call)}, []string{pub(&line)}},
		{"cti.lab.call.*.*.CallCtlConnAlertingEv", EventFilter("lab", EvCallCtlConnAlerting), []string{pub(&alert)}, []string{pub(&call)}},
		{"cti.lab.terminal.*.CiscoTermOutOfServiceEv", EventFilter("lab", EvCiscoTermOutOfService), nil, []string{pub(&line)}},
		{"cti.lab.address.1001.>", "", []string{pub(&line)}, []string{pub(&call), pub(&prov), pub(&alert)}},
		{"cti.lab.provider.>", FamilyFilter("lab", FamilyProvider), []string{pub(&prov)}, []string{pub(&gap), pub(&call)}},
		{"cti.lab.bridge.>", FamilyFilter("lab", FamilyBridge), []string{pub(&gap)}, []string{pub(&prov)}},
		{"cti.lab.>", ClusterFilter("lab"), []string{pub(&call), sto(&call), pub(&line), pub(&prov), pub(&gap)}, nil},
	}
	raw, err := os.ReadFile(eventsDocFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		if !bytes.Contains(raw, []byte("`"+c.filter+"`")) && !bytes.Contains(raw, []byte("'"+c.filter+"'")) {
			t.Errorf("events.md does not show the filter %s", c.filter)
		}
		if c.code != "" && c.code != c.filter {
			t.Errorf("the doc's filter %s is %s in pkg/schema", c.filter, c.code)
		}
		for _, s := range c.match {
			if !subjectMatches(c.filter, s) {
				t.Errorf("%s does not match %s", c.filter, s)
			}
		}
		for _, s := range c.miss {
			if subjectMatches(c.filter, s) {
				t.Errorf("%s matches %s", c.filter, s)
			}
		}
	}
}

// subjectMatches applies NATS wildcard rules ('*' one token, '>' the rest).
func subjectMatches(filter, subject string) bool {
	f, s := strings.Split(filter, "."), strings.Split(subject, ".")
	for i, tok := range f {
		if tok == ">" {
			return len(s) > i
		}
		if i >= len(s) || (tok != "*" && tok != s[i]) {
			return false
		}
	}
	return len(f) == len(s)
}
