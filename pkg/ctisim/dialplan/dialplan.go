package dialplan

import (
	"errors"
	"fmt"
	"strings"
)

// ErrDN is wrapped by CheckDN's errors.
var ErrDN = errors.New("dialplan: not a directory number")

// wildcards are the CUCM pattern characters a directory number of the
// simulator may not hold.
const wildcards = "Xx!?.[]-^@"

// CheckDN reports whether dn is a directory number the simulator accepts:
// an optional leading `\+` or `+`, then one or more of 0-9 * #.
func CheckDN(dn string) error {
	digits := strings.TrimPrefix(strings.TrimPrefix(dn, `\`), "+")
	switch {
	case dn == "":
		return fmt.Errorf("%w: it is empty", ErrDN)
	case strings.HasPrefix(dn, `\`) && !strings.HasPrefix(dn, `\+`):
		return fmt.Errorf("%w: %q: a backslash may only escape a leading + (\\+4930…)", ErrDN, dn)
	case digits == "":
		return fmt.Errorf("%w: %q has no digits after the +", ErrDN, dn)
	case strings.ContainsAny(digits, wildcards):
		return fmt.Errorf("%w: %q holds a pattern wildcard (one of %s): configure patterns as route patterns or hunt pilots, not as lines", ErrDN, dn, wildcards)
	case strings.Contains(digits, "+"):
		return fmt.Errorf("%w: %q: + may only lead the number (+E.164)", ErrDN, dn)
	}
	for _, r := range digits {
		if !strings.ContainsRune("0123456789*#", r) {
			return fmt.Errorf("%w: %q holds %q: use the dial digits 0-9 * # after an optional leading + or \\+", ErrDN, dn, r)
		}
	}
	return nil
}

// Dialled is the number a caller dials to reach the directory number dn:
// dn without the escape of its leading plus (`\+4930` → "+4930").
func Dialled(dn string) string { return strings.TrimPrefix(dn, `\`) }

// Trunk is a way out of the cluster: it carries the dialled numbers that
// start with one of its Prefixes.
type Trunk struct {
	Name     string
	Prefixes []string
}

// Route returns the trunk that carries the dialled number, or false: the
// number stays in the cluster when it is one of the cluster's directory
// numbers (internal(number) true) or no trunk prefix matches. The longest
// matching prefix wins; among equal ones, the first trunk.
func Route(trunks []Trunk, number string, internal func(string) bool) (Trunk, bool) {
	if number == "" || (internal != nil && internal(number)) {
		return Trunk{}, false
	}
	best, bestLen := -1, 0
	for i, t := range trunks {
		for _, p := range t.Prefixes {
			if len(p) > bestLen && strings.HasPrefix(number, p) {
				best, bestLen = i, len(p)
			}
		}
	}
	if best < 0 {
		return Trunk{}, false
	}
	return trunks[best], true
}

// CheckPrefix reports whether p is a usable trunk prefix: dial digits with
// an optional leading +, no escape (prefixes match dialled numbers).
func CheckPrefix(p string) error {
	if p == "" {
		return errors.New("dialplan: a trunk prefix is empty")
	}
	if strings.HasPrefix(p, `\`) {
		return fmt.Errorf("dialplan: trunk prefix %q: prefixes match dialled numbers, write + without the backslash", p)
	}
	if p == "+" {
		return nil
	}
	return CheckDN(p)
}
