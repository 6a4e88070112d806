package schema

import (
	"errors"
	"fmt"
)

// Subject tokens. Every variable token of a subject (cluster, entity,
// line, event name) goes through EscapeToken (subject.go has the layout),
// so no identifier can add a token, a wildcard or whitespace; KV keys go
// through KeyToken, which also keeps to the characters KV keys allow.

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

// KeyToken maps any string to one token of a JetStream KV key (the
// per-line and per-device state view), reversibly. KV keys allow fewer
// characters than subjects ([-/_=.A-Za-z0-9]; nats.go and nats.js reject
// '+' and '~'), so KeyToken keeps [A-Za-z0-9_-] and writes every other
// byte, '+' included, as '=' and two upper-case hex digits; the empty
// string becomes "=". Examples:
//
//	"1001"            -> "1001"
//	"+4930123"        -> "=2B4930123"
//	"SEP.Lobby"       -> "SEP=2ELobby"
//
// UnescapeKeyToken is its exact inverse.
func KeyToken(s string) string {
	if s == "" {
		return "="
	}
	clean := true
	for i := 0; i < len(s); i++ {
		if !keyKeep(s[i]) {
			clean = false
			break
		}
	}
	if clean {
		return s
	}
	b := make([]byte, 0, len(s)+16)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if keyKeep(c) {
			b = append(b, c)
			continue
		}
		b = append(b, '=', hexUpper[c>>4], hexUpper[c&0xF])
	}
	return string(b)
}

func keyKeep(c byte) bool { return c != '+' && tokenKeep[c] }

// UnescapeKeyToken inverts KeyToken, strictly: it accepts exactly the
// strings KeyToken produces.
func UnescapeKeyToken(tok string) (string, error) {
	switch tok {
	case "":
		return "", fmt.Errorf("%w: empty key token", ErrToken)
	case "=":
		return "", nil
	}
	b := make([]byte, 0, len(tok))
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if keyKeep(c) {
			b = append(b, c)
			continue
		}
		if c != '=' || i+2 >= len(tok) {
			return "", fmt.Errorf("%w: key token %q: byte %#02x at offset %d is not a kept byte or an =XX escape", ErrToken, tok, c, i)
		}
		hi, ok1 := upperHex(tok[i+1])
		lo, ok2 := upperHex(tok[i+2])
		v := hi<<4 | lo
		if !ok1 || !ok2 || keyKeep(v) {
			return "", fmt.Errorf("%w: key token %q: escape at offset %d is not '=' and two upper-case hex digits of a byte that needs one", ErrToken, tok, i)
		}
		b = append(b, v)
		i += 2
	}
	return string(b), nil
}
