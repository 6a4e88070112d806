package schema

import (
	"errors"
	"fmt"
	"strings"
)

// Subject scheme (PRODUCT.md §4.2):
//
//	cti.<cluster>.provider.<event>
//	cti.<cluster>.terminal.<name>.<event>
//	cti.<cluster>.address.<dn>.<event>
//	cti.<cluster>.call.<callid>.<event>
//	cti.<cluster>.route.<address>.<event>
//	cti.<cluster>.bridge.<event>
//
// Every variable token (cluster, entity, event name) goes through
// EscapeToken, so no identifier can add a token, a wildcard or whitespace.

// SubjectRoot is the first token of every subject.
const SubjectRoot = "cti"

const hexUpper = "0123456789ABCDEF"

// tokenKeep marks the bytes EscapeToken keeps as they are: ASCII letters,
// digits, '+', '_' and '-'. Everything else (including '.', '*', '>',
// '$', '~', whitespace, controls and every byte of a non-ASCII character)
// becomes ~XX.
var tokenKeep = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['+'], t['_'], t['-'] = true, true, true
	return t
}()

// emptyToken is the escaped form of the empty string: a lone '~' never
// appears otherwise (an escape is always '~' and two hex digits).
const emptyToken = "~"

// EscapeToken maps any string to a valid NATS subject token, reversibly.
// Bytes in [A-Za-z0-9+_-] are kept; every other byte is written as '~'
// followed by two upper-case hex digits (one escape per UTF-8 byte, '~'
// itself included); the empty string becomes "~". Examples:
//
//	"SEP001122334455" -> "SEP001122334455"
//	"+4930123"        -> "+4930123"
//	"a.b"             -> "a~2Eb"
//	"Zoë 1"           -> "Zo~C3~AB~201"
//	""                -> "~"
//
// UnescapeToken is its exact inverse.
func EscapeToken(s string) string {
	if s == "" {
		return emptyToken
	}
	if tokenClean(s) {
		return s
	}
	return string(appendEscaped(make([]byte, 0, len(s)+16), s))
}

func tokenClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if !tokenKeep[s[i]] {
			return false
		}
	}
	return true
}

// appendEscaped appends EscapeToken(s).
func appendEscaped(b []byte, s string) []byte {
	if s == "" {
		return append(b, emptyToken...)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if tokenKeep[c] {
			b = append(b, c)
			continue
		}
		b = append(b, '~', hexUpper[c>>4], hexUpper[c&0xF])
	}
	return b
}

// ErrToken is wrapped by UnescapeToken's errors.
var ErrToken = errors.New("schema: invalid subject token")

// UnescapeToken inverts EscapeToken. It is strict: it accepts exactly the
// strings EscapeToken produces, and rejects an empty token, any byte
// outside [A-Za-z0-9+_-~], a '~' not followed by two upper-case hex
// digits, and an escape of a byte that EscapeToken keeps as is (so each
// string has one escaped form).
func UnescapeToken(tok string) (string, error) {
	switch {
	case tok == "":
		return "", fmt.Errorf("%w: empty token", ErrToken)
	case tok == emptyToken:
		return "", nil
	case tokenClean(tok):
		return tok, nil
	}
	b := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if tokenKeep[c] {
			b = append(b, c)
			continue
		}
		if c != '~' {
			return "", fmt.Errorf("%w: byte %#02x at offset %d must be escaped", ErrToken, c, i)
		}
		if i+2 >= len(tok) {
			return "", fmt.Errorf("%w: truncated escape at offset %d", ErrToken, i)
		}
		hi, ok1 := upperHex(tok[i+1])
		lo, ok2 := upperHex(tok[i+2])
		if !ok1 || !ok2 {
			return "", fmt.Errorf("%w: escape at offset %d is not ~ and two upper-case hex digits", ErrToken, i)
		}
		v := hi<<4 | lo
		if tokenKeep[v] {
			return "", fmt.Errorf("%w: escape ~%c%c at offset %d encodes %q, which is never escaped", ErrToken, tok[i+1], tok[i+2], i, rune(v))
		}
		b = append(b, v)
		i += 2
	}
	return string(b), nil
}

func upperHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// Subject returns the NATS subject of an event:
// cti.<cluster>.<family>[.<entity>].<name>, every variable token escaped
// with EscapeToken. Provider and bridge events have no entity token (their
// Entity is ignored).
func Subject(cluster string, ev *Event) string {
	b := make([]byte, 0, 64)
	return string(appendSubject(b, appendSubjectPrefix(nil, cluster), ev))
}

// appendSubjectPrefix appends "cti.<cluster>.".
func appendSubjectPrefix(b []byte, cluster string) []byte {
	b = append(b, SubjectRoot...)
	b = append(b, '.')
	b = appendEscaped(b, cluster)
	return append(b, '.')
}

// appendSubject appends the subject given the precomputed prefix
// "cti.<cluster>.".
func appendSubject(b, prefix []byte, ev *Event) []byte {
	b = append(b, prefix...)
	b = appendEscaped(b, string(ev.Family))
	b = append(b, '.')
	if ev.Family.HasEntity() {
		b = appendEscaped(b, ev.Entity)
		b = append(b, '.')
	}
	return appendEscaped(b, ev.Name)
}

// EntityKey returns the ordering key of a subject: the subject without its
// last (event name) token, e.g. cti.lab.call.42 for
// cti.lab.call.42.CallActiveEv. Events with the same key must be kept in
// order.
func EntityKey(subject string) string {
	if i := strings.LastIndexByte(subject, '.'); i >= 0 {
		return subject[:i]
	}
	return subject
}

// ErrSubject is wrapped by ParseSubject's errors.
var ErrSubject = errors.New("schema: invalid subject")

// ParseSubject inverts Subject: it returns the unescaped cluster, the
// family, the unescaped entity ("" for provider and bridge subjects) and
// the event name. It rejects subjects Subject cannot produce.
func ParseSubject(subject string) (cluster string, family Family, entity string, name string, err error) {
	toks := strings.Split(subject, ".")
	if len(toks) < 4 || toks[0] != SubjectRoot {
		return "", "", "", "", fmt.Errorf("%w %q: want %s.<cluster>.<family>[.<entity>].<event>", ErrSubject, subject, SubjectRoot)
	}
	family = Family(toks[2])
	if !knownFamily(family) {
		return "", "", "", "", fmt.Errorf("%w %q: unknown family %q", ErrSubject, subject, toks[2])
	}
	want := 4
	if family.HasEntity() {
		want = 5
	}
	if len(toks) != want {
		return "", "", "", "", fmt.Errorf("%w %q: family %s subjects have %d tokens, not %d", ErrSubject, subject, family, want, len(toks))
	}
	if cluster, err = UnescapeToken(toks[1]); err != nil {
		return "", "", "", "", fmt.Errorf("%w %q: cluster: %w", ErrSubject, subject, err)
	}
	if family.HasEntity() {
		if entity, err = UnescapeToken(toks[3]); err != nil {
			return "", "", "", "", fmt.Errorf("%w %q: entity: %w", ErrSubject, subject, err)
		}
	}
	if name, err = UnescapeToken(toks[want-1]); err != nil {
		return "", "", "", "", fmt.Errorf("%w %q: event name: %w", ErrSubject, subject, err)
	}
	return cluster, family, entity, name, nil
}
