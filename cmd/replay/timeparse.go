package main

import (
	"fmt"
	"strings"
	"time"
)

// parseAt reads a point in time for --at. Accepted forms:
//
//	2026-11-20T14:02:17.250Z        RFC 3339 (any offset)
//	2026-11-20 14:02:17[.250]        UTC
//	14:02:17[.250]                   UTC time of day, on the log's first day
//	                                 (the next day if that is before the log
//	                                 starts and the log reaches it)
//	+6s, +1m30s                      after the first message stored
//	-5s                              before the last message stored
func parseAt(s string, start, end time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, fmt.Errorf("empty time")
	}
	if s[0] == '+' || s[0] == '-' {
		d, err := time.ParseDuration(s[1:])
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: a relative time is +DURATION (after the first event) or -DURATION (before the last), e.g. +6s", s)
		}
		if start.IsZero() {
			return time.Time{}, fmt.Errorf("%q: the log is empty, so a relative time has nothing to count from", s)
		}
		if s[0] == '+' {
			return start.Add(d), nil
		}
		return end.Add(-d), nil
	}
	for _, layout := range []string{time.RFC3339Nano, time.RFC3339} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"2006-01-02 15:04:05.999999999", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04", "2006-01-02"} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		tod, err := time.ParseInLocation(layout, s, time.UTC)
		if err != nil {
			continue
		}
		if start.IsZero() {
			return time.Time{}, fmt.Errorf("%q: the log is empty, so a time of day has no date", s)
		}
		day := start.UTC().Truncate(24 * time.Hour)
		t := day.Add(time.Duration(tod.Hour())*time.Hour + time.Duration(tod.Minute())*time.Minute +
			time.Duration(tod.Second())*time.Second + time.Duration(tod.Nanosecond()))
		if t.Before(start) && !t.Add(24*time.Hour).After(end) {
			t = t.Add(24 * time.Hour)
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-20T14:02:17Z), \"2026-11-20 14:02:17\", a UTC time of day (14:02:17.250) or +DURATION/-DURATION relative to the log", s)
}
