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
			f, familyTitles[f], subjectPattern(f, "<cluster>", "<"+entityParam[f]+">", "<event>"), SchemaFile(f), SchemaFile(f))
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

// The filter examples in the doc are real NATS subject filters that match
// the subjects the encoder makes.
func TestEventsDocFilters(t *testing.T) {
	call := sampleCallEvent()
	line := Event{Family: FamilyAddress, Entity: "1001", Name: EvCiscoAddrOutOfService}
	prov := Event{Family: FamilyProvider, Name: EvProvOutOfService}
	gap := Event{Family: FamilyBridge, Name: EvGapOpened}
	cases := []struct {
		filter string
		match  []*Event
		miss   []*Event
	}{
		{"cti.lab.call.16777217.>", []*Event{&call}, []*Event{&line, &prov, &gap}},
		{"cti.lab.address.1001.>", []*Event{&line}, []*Event{&call, &prov}},
		{"cti.lab.provider.>", []*Event{&prov}, []*Event{&gap, &call}},
		{"cti.lab.bridge.>", []*Event{&gap}, []*Event{&prov}},
		{"cti.lab.>", []*Event{&call, &line, &prov, &gap}, nil},
		{"cti.*.call.*.CiscoTransferEndEv", nil, []*Event{&call}},
	}
	raw, err := os.ReadFile(eventsDocFile)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases[:5] {
		if !bytes.Contains(raw, []byte(c.filter)) {
			t.Errorf("events.md does not show the filter %s", c.filter)
		}
	}
	for _, c := range cases {
		for _, ev := range c.match {
			if s := Subject("lab", ev); !subjectMatches(c.filter, s) {
				t.Errorf("%s does not match %s", c.filter, s)
			}
		}
		for _, ev := range c.miss {
			if s := Subject("lab", ev); subjectMatches(c.filter, s) {
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
