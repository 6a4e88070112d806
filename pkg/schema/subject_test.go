package schema

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
)

// validNATSToken is what the NATS server accepts as one literal token of a
// published subject (ADR-6): non-empty printable ASCII, no '.', '*', '>'
// or whitespace. We also refuse a leading '$' (system subjects).
func validNATSToken(tok string) bool {
	if tok == "" || tok[0] == '$' {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if c <= ' ' || c >= 0x7F || c == '.' || c == '*' || c == '>' {
			return false
		}
	}
	return true
}

func TestEscapeTokenExamples(t *testing.T) {
	cases := []struct{ in, want string }{
		{"SEP001122334455", "SEP001122334455"},
		{"+4930123", "+4930123"},
		{"CTIP_IVR-1", "CTIP_IVR-1"},
		{"", "~"},
		{"a.b", "a~2Eb"},
		{"*", "~2A"},
		{">", "~3E"},
		{"a b\tc", "a~20b~09c"},
		{"~", "~7E"},
		{"~7E", "~7E7E"},
		{"$SYS", "~24SYS"},
		{"Zoë", "Zo~C3~AB"},
		{"電話", "~E9~9B~BB~E8~A9~B1"},
		{"\xff", "~FF"}, // not UTF-8: still one escape per byte
	}
	for _, c := range cases {
		got := EscapeToken(c.in)
		if got != c.want {
			t.Errorf("EscapeToken(%q) = %q, want %q", c.in, got, c.want)
		}
		if !validNATSToken(got) {
			t.Errorf("EscapeToken(%q) = %q is not a valid NATS token", c.in, got)
		}
		back, err := UnescapeToken(got)
		if err != nil || back != c.in {
			t.Errorf("UnescapeToken(%q) = %q, %v; want %q", got, back, err, c.in)
		}
	}
}

func TestUnescapeTokenRejects(t *testing.T) {
	for _, tok := range []string{
		"",        // empty token
		"a.b",     // raw dot
		"a b",     // raw space
		"a*", ">", // wildcards
		"~2e",    // lower-case hex is never produced
		"~2",     // truncated
		"a~",     // truncated
		"~~",     // lone tilde inside
		"~41",    // escape of 'A', which is kept as is
		"~2B",    // escape of '+'
		"~5F",    // escape of '_'
		"~G0",    // not hex
		"~",      // ok: the empty string (not rejected; checked below)
		"é",      // raw non-ASCII
		"a\x00b", // control
	} {
		got, err := UnescapeToken(tok)
		if tok == "~" {
			if err != nil || got != "" {
				t.Errorf("UnescapeToken(%q) = %q, %v; want empty string", tok, got, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("UnescapeToken(%q) = %q, want an error", tok, got)
		} else if !errors.Is(err, ErrToken) {
			t.Errorf("UnescapeToken(%q) error %v does not wrap ErrToken", tok, err)
		}
	}
}

// randomIdent makes identifiers biased towards the awkward bytes.
func randomIdent(r *rand.Rand) string {
	const awkward = ".*>~$% \t\n\"\\+-_/:@#"
	var sb strings.Builder
	n := r.IntN(12)
	for range n {
		switch r.IntN(5) {
		case 0:
			sb.WriteByte(awkward[r.IntN(len(awkward))])
		case 1:
			sb.WriteRune(rune(0x80 + r.IntN(0x10000)))
		case 2:
			sb.WriteByte(byte(r.IntN(256)))
		default:
			sb.WriteByte("abcXYZ0129"[r.IntN(10)])
		}
	}
	return sb.String()
}

func TestEscapeTokenProperty(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		s := randomIdent(r)
		tok := EscapeToken(s)
		if !validNATSToken(tok) {
			t.Fatalf("EscapeToken(%q) = %q is not a valid NATS token", s, tok)
		}
		back, err := UnescapeToken(tok)
		if err != nil || back != s {
			t.Fatalf("round trip of %q via %q = %q, %v", s, tok, back, err)
		}
	}
}

func TestSubjectsAndParse(t *testing.T) {
	for _, ev := range sampleEvents() {
		for _, cluster := range []string{"lab", "CUCM Cluster.1", "ü>*"} {
			s := Subject(cluster, &ev)
			toks := strings.Split(s, ".")
			want := 4
			switch {
			case ev.Family == FamilyCall:
				want = 6
			case ev.Family.HasEntity():
				want = 5
			}
			if len(toks) != want || toks[0] != "cti" || toks[2] != string(ev.Family) || toks[want-1] != ev.Name {
				t.Fatalf("Subject(%q, %s/%q) = %q", cluster, ev.Family, ev.Entity, s)
			}
			for _, tok := range toks {
				if !validNATSToken(tok) {
					t.Fatalf("Subject %q has invalid token %q", s, tok)
				}
			}
			p, err := ParseSubject(s)
			if err != nil || p.Cluster != cluster || p.Family != ev.Family || p.Entity != ev.Entity || p.Name != ev.Name || p.Line != CallLine(&ev) || p.Stored {
				t.Fatalf("ParseSubject(%q) = %+v, %v", s, p, err)
			}
			keyToks := want - 1
			if ev.Family == FamilyCall {
				keyToks = 4
			}
			if k := EntityKey(s); k != strings.Join(toks[:keyToks], ".") {
				t.Fatalf("EntityKey(%q) = %q", s, k)
			}
			stored := StoredSubject(cluster, &ev)
			if ev.Family != FamilyCall {
				if stored != s {
					t.Fatalf("StoredSubject(%q) = %q, want the published %q", ev.Name, stored, s)
				}
				continue
			}
			if stored != EntityKey(s) || stored != CallSubject(cluster, ev.Entity) {
				t.Fatalf("StoredSubject(%q) = %q, want %q", ev.Name, stored, CallSubject(cluster, ev.Entity))
			}
			p, err = ParseSubject(stored)
			if err != nil || !p.Stored || p.Cluster != cluster || p.Entity != ev.Entity || p.Name != "" {
				t.Fatalf("ParseSubject(%q) = %+v, %v", stored, p, err)
			}
		}
	}
	// The examples of PRODUCT.md §4.2 and docs/events.md.
	ev := Event{Family: FamilyCall, Entity: "16777217", Name: EvCallActive, Data: Data{Call: &CallData{CallID: "16777217"}}}
	if s := Subject("lab", &ev); s != "cti.lab.call.16777217.~.CallActiveEv" {
		t.Errorf("call-wide subject %q", s)
	}
	ev = Event{Family: FamilyCall, Entity: "16777217", Name: EvConnAlerting, Data: Data{Call: &CallData{CallID: "16777217", Connection: &ConnectionData{Address: "+4930123"}}}}
	if s := Subject("lab", &ev); s != "cti.lab.call.16777217.+4930123.ConnAlertingEv" {
		t.Errorf("line call subject %q", s)
	}
	if s := StoredSubject("lab", &ev); s != "cti.lab.call.16777217" {
		t.Errorf("stored call subject %q", s)
	}
	ev = Event{Family: FamilyAddress, Entity: "+49 30 1234", Name: EvCiscoAddrInService}
	if s := Subject("lab", &ev); s != "cti.lab.address.+49~2030~201234.CiscoAddrInServiceEv" {
		t.Errorf("address subject %q", s)
	}
	ev = Event{Family: FamilyProvider, Entity: "ignored", Name: EvProvOutOfService}
	if s := Subject("lab", &ev); s != "cti.lab.provider.ProvOutOfServiceEv" {
		t.Errorf("provider subject %q", s)
	}
}

func TestParseSubjectRejects(t *testing.T) {
	for _, s := range []string{
		"", "cti", "cti.lab", "cti.lab.call", "nats.lab.provider.X",
		"cti.lab.phone.x.Y",              // unknown family
		"cti.lab.call.1.CallActiveEv",    // a published call subject has a line token
		"cti.lab.provider.x.ProvInSvc",   // provider has none
		"cti.lab.call.a.b.c.d",           // too many tokens
		"cti.l.b.call.1.~.X",             // cluster with a raw dot splits
		"cti..call.1.~.X",                // empty token
		"cti.lab.call.~2e.~.X",           // non-canonical escape
		"cti.lab.call.1.1001.",           // empty name
		"cti.lab.call.1.~2e.ConnAlertEv", // non-canonical line
		"cti.lab.terminal.SEP1",          // terminal subjects are never stored without the event
	} {
		if _, err := ParseSubject(s); err == nil {
			t.Errorf("ParseSubject(%q) accepted", s)
		} else if !errors.Is(err, ErrSubject) {
			t.Errorf("ParseSubject(%q) error %v does not wrap ErrSubject", s, err)
		}
	}
}

// The filters match what they promise and nothing else, on published and
// stored subjects alike (NATS wildcard rules, subjectMatches).
func TestFilters(t *testing.T) {
	alert := Event{Family: FamilyCall, Entity: "42", Name: EvConnAlerting, Data: Data{Call: &CallData{CallID: "42", Connection: &ConnectionData{Address: "1001"}}}}
	other := Event{Family: FamilyCall, Entity: "42", Name: EvConnAlerting, Data: Data{Call: &CallData{CallID: "42", Connection: &ConnectionData{Address: "1002"}}}}
	wide := Event{Family: FamilyCall, Entity: "42", Name: EvCallActive, Data: Data{Call: &CallData{CallID: "42"}}}
	call7 := Event{Family: FamilyCall, Entity: "7", Name: EvConnAlerting, Data: Data{Call: &CallData{CallID: "7", Connection: &ConnectionData{Address: "1001"}}}}
	addr := Event{Family: FamilyAddress, Entity: "1001", Name: EvCiscoAddrOutOfService}
	prov := Event{Family: FamilyProvider, Name: EvProvOutOfService}
	pub := func(ev *Event) string { return Subject("lab", ev) }
	sto := func(ev *Event) string { return StoredSubject("lab", ev) }
	cases := []struct {
		filter      string
		match, miss []string
	}{
		{CallSubject("lab", "42"), []string{sto(&alert), sto(&wide)}, []string{pub(&alert), sto(&call7)}},
		{CurrentLayout.CallHistoryFilter("lab", "42"), []string{sto(&alert)}, []string{sto(&call7)}},
		{LayoutV1.CallHistoryFilter("lab", "42"), []string{"cti.lab.call.42.CallActiveEv"}, []string{"cti.lab.call.7.CallActiveEv"}},
		{CallLiveFilter("lab", "42"), []string{pub(&alert), pub(&other), pub(&wide)}, []string{pub(&call7), sto(&alert)}},
		{LineFilter("lab", "1001"), []string{pub(&alert), pub(&call7)}, []string{pub(&other), pub(&wide), pub(&addr), sto(&alert)}},
		{LineFilter("", "1001"), []string{pub(&alert), "cti.b.call.1.1001.ConnCreatedEv"}, []string{pub(&other)}},
		{FamilyFilter("lab", FamilyCall), []string{pub(&alert), sto(&alert)}, []string{pub(&addr)}},
		{FamilyFilter("lab", FamilyProvider), []string{pub(&prov)}, []string{pub(&alert)}},
		{EventFilter("lab", EvConnAlerting), []string{pub(&alert), pub(&other), pub(&call7)}, []string{pub(&wide), sto(&alert)}},
		{EventFilter("lab", EvCiscoAddrOutOfService), []string{pub(&addr)}, []string{pub(&alert)}},
		{EventFilter("lab", EvProvOutOfService), []string{pub(&prov)}, []string{pub(&addr)}},
		{ClusterFilter("lab"), []string{pub(&alert), sto(&alert), pub(&prov)}, []string{"cti.other.provider.ProvInServiceEv"}},
	}
	for _, c := range cases {
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
	if EventFilter("lab", "NoSuchEv") != "" {
		t.Error("EventFilter of an unknown event is not empty")
	}
}

// The stream's transform maps every published call subject to its stored
// subject: applying the mapping as NATS does (wildcard n = the n-th '*'
// token of the source) gives StoredSubject.
func TestCallTransform(t *testing.T) {
	for _, cluster := range []string{"lab", ""} {
		src, dst := CallTransform(cluster)
		for _, ev := range sampleEvents() {
			if ev.Family != FamilyCall {
				continue
			}
			for _, c := range []string{"lab", "x y"} {
				if cluster != "" && c != cluster {
					continue
				}
				s := Subject(c, &ev)
				if !subjectMatches(src, s) {
					t.Fatalf("transform source %s does not match %s", src, s)
				}
				if got := applyMapping(src, dst, s); got != StoredSubject(c, &ev) {
					t.Fatalf("transform of %s = %s, want %s", s, got, StoredSubject(c, &ev))
				}
				if subjectMatches(src, StoredSubject(c, &ev)) {
					t.Fatalf("transform source %s matches the stored subject: it would be mapped twice", src)
				}
			}
		}
	}
}

// applyMapping is NATS's subject mapping for the {{wildcard(n)}} function.
func applyMapping(src, dst, subject string) string {
	var wild []string
	st, ss := strings.Split(src, "."), strings.Split(subject, ".")
	for i, tok := range st {
		if tok == "*" {
			wild = append(wild, ss[i])
		}
	}
	out := strings.Split(dst, ".")
	for i, tok := range out {
		var n int
		if _, err := fmt.Sscanf(tok, "{{wildcard(%d)}}", &n); err == nil {
			out[i] = wild[n-1]
		}
	}
	return strings.Join(out, ".")
}

func TestKeyToken(t *testing.T) {
	for s, want := range map[string]string{"1001": "1001", "+4930123": "=2B4930123", "SEP.Lobby": "SEP=2ELobby", "": "=", "a=b~": "a=3Db=7E", "Zoë": "Zo=C3=AB"} {
		if got := KeyToken(s); got != want {
			t.Errorf("KeyToken(%q) = %q, want %q", s, got, want)
		}
	}
	keyRe := regexp.MustCompile(`^[-/_=.a-zA-Z0-9]+$`) // nats.go's KV key rule
	r := rand.New(rand.NewPCG(3, 4))
	for range 20000 {
		s := randomIdent(r)
		k := KeyToken(s)
		if !keyRe.MatchString(k) || strings.Contains(k, ".") {
			t.Fatalf("KeyToken(%q) = %q is not one valid KV key token", s, k)
		}
		back, err := UnescapeKeyToken(k)
		if err != nil || back != s {
			t.Fatalf("round trip of %q via %q = %q, %v", s, k, back, err)
		}
	}
	for _, bad := range []string{"", "a+b", "=2b", "=41", "=G1", "a=", "~20"} {
		if _, err := UnescapeKeyToken(bad); err == nil || !errors.Is(err, ErrToken) {
			t.Errorf("UnescapeKeyToken(%q) = %v", bad, err)
		}
	}
	if LineKey("+4930123") != "line.=2B4930123" || DeviceKey("SEP001122334455") != "device.SEP001122334455" {
		t.Errorf("keys %s %s", LineKey("+4930123"), DeviceKey("SEP001122334455"))
	}
}

func FuzzUnescapeToken(f *testing.F) {
	for _, s := range []string{"", "~", "~7E", "a~2Eb", "SEP00", "~C3~AB", "~2e", "~41", "~G", "a.b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := UnescapeToken(tok)
		if err != nil {
			if !errors.Is(err, ErrToken) {
				t.Fatalf("error %v does not wrap ErrToken", err)
			}
		} else if EscapeToken(s) != tok {
			// Bijection: whatever is accepted is exactly EscapeToken's output.
			t.Fatalf("UnescapeToken(%q) = %q but EscapeToken gives %q", tok, s, EscapeToken(s))
		}
		// And the other direction, with the fuzz string as an identifier.
		esc := EscapeToken(tok)
		if !validNATSToken(esc) {
			t.Fatalf("EscapeToken(%q) = %q is not a valid token", tok, esc)
		}
		back, err := UnescapeToken(esc)
		if err != nil || back != tok {
			t.Fatalf("round trip %q -> %q -> %q, %v", tok, esc, back, err)
		}
	})
}

// KV keys come back from the bucket (a watch, a key listing): whatever
// UnescapeKeyToken accepts is exactly KeyToken's output, and it never
// panics.
var keyTokenSeeds = []string{"", "=", "=2B4930123", "1001", "SEP=2ELobby", "=2b", "=41", "=G1", "a+b", "~20", "=C3=AB"}

func FuzzUnescapeKeyToken(f *testing.F) {
	for _, s := range keyTokenSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, tok string) {
		s, err := UnescapeKeyToken(tok)
		if err != nil {
			if !errors.Is(err, ErrToken) {
				t.Fatalf("error %v does not wrap ErrToken", err)
			}
		} else if KeyToken(s) != tok {
			t.Fatalf("UnescapeKeyToken(%q) = %q but KeyToken gives %q", tok, s, KeyToken(s))
		}
		back, err := UnescapeKeyToken(KeyToken(tok))
		if err != nil || back != tok {
			t.Fatalf("round trip %q -> %q -> %q, %v", tok, KeyToken(tok), back, err)
		}
	})
}

// Subjects come from the stream and from live subscriptions: ParseSubject
// never panics, and what it accepts is what Subject or StoredSubject
// produce.
var subjectSeeds = []string{"cti.lab.call.42", "cti.lab.call.42.1001.ConnAlertingEv", "cti.lab.call.42.~.CallActiveEv",
	"cti.lab.provider.ProvInServiceEv", "cti.lab.terminal.SEP1.CiscoTermInServiceEv", "cti.lab.call.42.CallActiveEv",
	"cti..call.1.~.X", "cti.lab.call.~2e.~.X", "", "cti"}

func FuzzParseSubject(f *testing.F) {
	for _, s := range subjectSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, subject string) {
		p, err := ParseSubject(subject)
		if err != nil {
			if !errors.Is(err, ErrSubject) {
				t.Fatalf("error %v does not wrap ErrSubject", err)
			}
			return
		}
		ev := Event{Family: p.Family, Entity: p.Entity, Name: p.Name}
		if p.Family == FamilyCall {
			ev.Data.Call = &CallData{Connection: &ConnectionData{Address: p.Line}}
			if p.Line == "" {
				ev.Data.Call.Connection = nil
			}
		}
		want := Subject(p.Cluster, &ev)
		if p.Stored {
			want = StoredSubject(p.Cluster, &ev)
		}
		if want != subject {
			t.Fatalf("ParseSubject(%q) = %+v, which makes %q", subject, p, want)
		}
	})
}
