package schema

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Header values of the CloudEvents NATS binding: the canonical string of
// the attribute, percent-encoded. Space, '"', '%' and every byte outside
// printable ASCII (U+0021–U+007E, so controls and every byte of a
// non-ASCII character too) become %XY, upper-case hex, one per UTF-8 byte.

// pctEscape marks the bytes that must be percent-encoded.
var pctEscape = func() (t [256]bool) {
	for i := range t {
		c := byte(i)
		t[i] = c <= 0x20 || c >= 0x7F || c == '"' || c == '%'
	}
	return t
}()

// appendPct appends the percent-encoded form of s.
func appendPct(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !pctEscape[c] {
			continue
		}
		b = append(b, s[start:i]...)
		b = append(b, '%', hexUpper[c>>4], hexUpper[c&0xF])
		start = i + 1
	}
	return append(b, s[start:]...)
}

// pctClean reports whether s needs no percent-encoding.
func pctClean(s string) bool {
	for i := 0; i < len(s); i++ {
		if pctEscape[s[i]] {
			return false
		}
	}
	return true
}

// PercentEncode returns the header-value form of an attribute value.
func PercentEncode(s string) string {
	if pctClean(s) {
		return s
	}
	return string(appendPct(make([]byte, 0, len(s)+8), s))
}

// PercentDecode reads a header value: an RFC 7230 quoted-string is
// unquoted first, then %XY escapes (either hex case) are decoded exactly
// once; a '%' not followed by two hex digits and a result that is not
// valid UTF-8 (overlong forms such as %C0%A0, surrogates, truncated
// sequences) are errors. Raw bytes a sender did not need to leave as is
// are accepted when the result is valid UTF-8.
func PercentDecode(v string) (string, error) {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		u, err := unquote(v[1 : len(v)-1])
		if err != nil {
			return "", err
		}
		v = u
	}
	out := v
	if strings.IndexByte(v, '%') >= 0 {
		b := make([]byte, 0, len(v))
		for i := 0; i < len(v); i++ {
			c := v[i]
			if c != '%' {
				b = append(b, c)
				continue
			}
			if i+2 >= len(v) {
				return "", fmt.Errorf("truncated percent-encoding at offset %d", i)
			}
			hi, ok1 := anyHex(v[i+1])
			lo, ok2 := anyHex(v[i+2])
			if !ok1 || !ok2 {
				return "", fmt.Errorf("invalid percent-encoding %q at offset %d", v[i:i+3], i)
			}
			b = append(b, hi<<4|lo)
			i += 2
		}
		out = string(b)
	}
	if !utf8.ValidString(out) {
		return "", fmt.Errorf("value is not valid UTF-8")
	}
	return out, nil
}

// unquote undoes RFC 7230 quoted-string escaping (the surrounding quotes
// already removed): a backslash quotes the next byte; a bare '"' cannot
// appear inside.
func unquote(s string) (string, error) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '\\':
			if i+1 >= len(s) {
				return "", fmt.Errorf("quoted-string ends with a lone backslash")
			}
			i++
			b = append(b, s[i])
		case '"':
			return "", fmt.Errorf("unescaped '\"' inside a quoted-string at offset %d", i+1)
		default:
			b = append(b, c)
		}
	}
	return string(b), nil
}

func anyHex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	}
	return 0, false
}

// checkString enforces the CloudEvents String type: valid UTF-8 without
// the control characters U+0000–U+001F and U+007F–U+009F.
func checkString(attr, s string) error {
	// Printable ASCII, the usual case, needs one comparison pair a byte.
	i := 0
	for i < len(s) && s[i] >= 0x20 && s[i] < 0x7F {
		i++
	}
	for i < len(s) {
		c := s[i]
		if c < utf8.RuneSelf {
			if c < 0x20 || c == 0x7F {
				return fmt.Errorf("attribute %s: control character %#02x at offset %d is not allowed in a CloudEvents String", attr, c, i)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			return fmt.Errorf("attribute %s: invalid UTF-8 at offset %d", attr, i)
		}
		if r >= 0x80 && r <= 0x9F {
			return fmt.Errorf("attribute %s: control character U+%04X at offset %d is not allowed in a CloudEvents String", attr, r, i)
		}
		i += size
	}
	return nil
}
