package schema

import (
	"errors"
	"math/rand/v2"
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
			if ev.Family.HasEntity() {
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
			c, f, e, n, err := ParseSubject(s)
			if err != nil || c != cluster || f != ev.Family || e != ev.Entity || n != ev.Name {
				t.Fatalf("ParseSubject(%q) = %q %q %q %q %v", s, c, f, e, n, err)
			}
			if k := EntityKey(s); k != strings.Join(toks[:want-1], ".") {
				t.Fatalf("EntityKey(%q) = %q", s, k)
			}
		}
	}
	// The examples of PRODUCT.md §4.2.
	ev := Event{Family: FamilyCall, Entity: "16777217", Name: EvCallActive}
	if s := Subject("lab", &ev); s != "cti.lab.call.16777217.CallActiveEv" {
		t.Errorf("call subject %q", s)
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
		"cti.lab.phone.x.Y",            // unknown family
		"cti.lab.call.CallActiveEv",    // call needs an entity
		"cti.lab.provider.x.ProvInSvc", // provider has none
		"cti.lab.call.a.b.c",           // too many tokens
		"cti.l.b.call.1.X",             // cluster with a raw dot splits
		"cti..call.1.X",                // empty token
		"cti.lab.call.~2e.X",           // non-canonical escape
		"cti.lab.call.1.",              // empty name
	} {
		if _, _, _, _, err := ParseSubject(s); err == nil {
			t.Errorf("ParseSubject(%q) accepted", s)
		} else if !errors.Is(err, ErrSubject) {
			t.Errorf("ParseSubject(%q) error %v does not wrap ErrSubject", s, err)
		}
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
