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
	d, err := unmarshalInterval(n, time.Second, "seconds")
	if err == nil {
		*s = Seconds(d)
	}
	return err
}

// UnmarshalText reads whole seconds or a duration with its unit (the
// environment).
func (s *Seconds) UnmarshalText(b []byte) error {
	d, err := parseInterval(string(b), time.Second, "seconds")
	if err == nil {
		*s = Seconds(d)
	}
	return err
}

// UnmarshalYAML reads whole milliseconds or a duration with its unit.
func (m *Milliseconds) UnmarshalYAML(n *yaml.Node) error {
	d, err := unmarshalInterval(n, time.Millisecond, "milliseconds")
	if err == nil {
		*m = Milliseconds(d)
	}
	return err
}

// UnmarshalText reads whole milliseconds or a duration with its unit.
func (m *Milliseconds) UnmarshalText(b []byte) error {
	d, err := parseInterval(string(b), time.Millisecond, "milliseconds")
	if err == nil {
		*m = Milliseconds(d)
	}
	return err
}

// unmarshalInterval reports a bad value as yaml.v3 reports its own type
// errors (a *yaml.TypeError with the line), so that decoding goes on and
// the problem is named by its key like every other.
func unmarshalInterval(n *yaml.Node, unit time.Duration, unitName string) (time.Duration, error) {
	if n.Kind != yaml.ScalarNode {
		return 0, &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s into %s: give whole %s or a duration with its unit (e.g. 30s)", n.Line, n.ShortTag(), unitName, unitName)}}
	}
	d, err := parseInterval(n.Value, unit, unitName)
	if err != nil {
		return 0, &yaml.TypeError{Errors: []string{fmt.Sprintf("line %d: cannot unmarshal %s `%s` into %s: %v", n.Line, n.ShortTag(), n.Value, unitName, err)}}
	}
	return d, nil
}

func parseInterval(s string, unit time.Duration, unitName string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if d := time.Duration(n) * unit; d/unit == time.Duration(n) {
			return d, nil
		}
		return 0, fmt.Errorf("%s %s is out of range", s, unitName)
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("give whole %s (jtapi.ini's unit) or a duration with its unit, e.g. 30s or 2m", unitName)
	}
	return d, nil
}
