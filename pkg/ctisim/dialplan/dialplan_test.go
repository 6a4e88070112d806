package dialplan

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckDN(t *testing.T) {
	for _, dn := range []string{"1001", "+4930123", `\+4930`, "*55", "#1", "*", "#", "0", "+1*2#3"} {
		if err := CheckDN(dn); err != nil {
			t.Errorf("CheckDN(%q) = %v, want ok", dn, err)
		}
	}
	for dn, want := range map[string]string{
		"":             "empty",
		"+":            "no digits",
		`\+`:           "no digits",
		`\1001`:        "backslash may only escape a leading +",
		"10XX":         "pattern wildcard",
		"1!":           "pattern wildcard",
		"[12]":         "pattern wildcard",
		"12+3":         "+ may only lead",
		"++1":          "+ may only lead",
		"10 01":        `holds ' '`,
		"1001a":        `holds 'a'`,
		"\u0661\u0662": `holds`,
	} {
		err := CheckDN(dn)
		if !errors.Is(err, ErrDN) || !strings.Contains(err.Error(), want) {
			t.Errorf("CheckDN(%q) = %v, want ErrDN mentioning %q", dn, err, want)
		}
	}
}

func TestDialled(t *testing.T) {
	for dn, want := range map[string]string{`\+4930`: "+4930", "+4930123": "+4930123", "*55": "*55", "#1": "#1", "1001": "1001"} {
		if got := Dialled(dn); got != want {
			t.Errorf("Dialled(%q) = %q, want %q", dn, got, want)
		}
	}
}

func TestRoute(t *testing.T) {
	trunks := []Trunk{{Name: "PSTN", Prefixes: []string{"0", "+"}}, {Name: "INTL", Prefixes: []string{"00"}}}
	internal := func(n string) bool { return n == "+4930123" }
	for number, want := range map[string]string{
		"030123456":  "PSTN",
		"0044207123": "INTL", // longest prefix
		"+4989123":   "PSTN",
		"+4930123":   "", // a cluster number stays inside
		"1001":       "",
		"":           "",
	} {
		got, ok := Route(trunks, number, internal)
		if ok != (want != "") || got.Name != want {
			t.Errorf("Route(%q) = %q %v, want %q", number, got.Name, ok, want)
		}
	}
}

func TestCheckPrefix(t *testing.T) {
	for _, p := range []string{"0", "+", "+49", "9"} {
		if err := CheckPrefix(p); err != nil {
			t.Errorf("CheckPrefix(%q) = %v", p, err)
		}
	}
	for _, p := range []string{"", `\+`, "0X"} {
		if CheckPrefix(p) == nil {
			t.Errorf("CheckPrefix(%q) accepted", p)
		}
	}
}
