package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Seconds is a jtapi.ini interval. It takes a whole number of seconds,
// jtapi.ini's own unit (ProviderRetryInterval: 30, as in a jtapi.ini
// file), or a duration with its unit (30s, 2m, 1m30s).
type Seconds time.Duration

// Milliseconds is a jtapi.ini interval counted in milliseconds
// (RouteSelectTimeout): a whole number of milliseconds, or a duration with
// its unit (5s, 2500ms).
type Milliseconds time.Duration

// Duration returns the interval.
func (s Seconds) Duration() time.Duration { return time.Duration(s) }

// Duration returns the interval.
func (m Milliseconds) Duration() time.Duration { return time.Duration(m) }

// UnmarshalYAML reads whole seconds or a duration with its unit.
func (s *Seconds) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalInterval((*time.Duration)(s), n, time.Second, "seconds")
}

// UnmarshalText reads whole seconds or a duration with its unit (the
// environment).
func (s *Seconds) UnmarshalText(b []byte) error {
	return parseInterval((*time.Duration)(s), string(b), time.Second, "seconds")
}

// UnmarshalYAML reads whole milliseconds or a duration with its unit.
func (m *Milliseconds) UnmarshalYAML(n *yaml.Node) error {
	return unmarshalInterval((*time.Duration)(m), n, time.Millisecond, "milliseconds")
}

// UnmarshalText reads whole milliseconds or a duration with its unit.
func (m *Milliseconds) UnmarshalText(b []byte) error {
	return parseInterval((*time.Duration)(m), string(b), time.Millisecond, "milliseconds")
}

// unmarshalInterval reports a bad value as yaml.v3 reports its own type
// errors (a *yaml.TypeError with the line), so that decoding goes on and
// the problem is named by its key like every other.
func unmarshalInterval(d *time.Duration, n *yaml.Node, unit time.Duration, unitName string) error {
	if n.Kind != yaml.ScalarNode {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s into %s: give whole %s or a duration with its unit (e.g. 30s)", n.Line, n.ShortTag(), unitName, unitName)}}
	}
	if err := parseInterval(d, n.Value, unit, unitName); err != nil {
		return &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s `%s` into %s: %v", n.Line, n.ShortTag(), n.Value, unitName, err)}}
	}
	return nil
}

// parseInterval sets *d from whole units or a duration with its unit; a
// value that does not parse leaves *d as it was.
func parseInterval(d *time.Duration, s string, unit time.Duration, unitName string) error {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		v := time.Duration(n) * unit
		if v/unit != time.Duration(n) {
			return fmt.Errorf("%s %s is out of range", s, unitName)
		}
		*d = v
		return nil
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("give whole %s (jtapi.ini's unit) or a duration with its unit, e.g. 30s or 2m", unitName)
	}
	*d = v
	return nil
}
