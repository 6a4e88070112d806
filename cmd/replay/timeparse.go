package main

import (
	"fmt"
	"strings"
	"time"
)

// parseAt reads a point in time for --at, --since and --until. Accepted
// forms (loc is --tz, UTC by default):
//
//	2026-11-20T14:02:17.250Z        RFC 3339 (any offset)
//	2026-11-20 14:02:17[.250]        in loc
//	14:02:17[.250]                   time of day in loc, on the log's first
//	                                 day (the next day if that is before the
//	                                 log starts and the log reaches it)
//	+6s, +1m30s                      after the first event
//	-5s                              before the last event
//
// An RFC 3339 time (with its offset) is an exact instant, as programs
// write them. A time written as people do (a time of day, or a date and
// time without an offset) stands for the whole interval its precision
// names: 14:02:17.250 is the millisecond the timeline prints as
// 14:02:17.250, so "at" or "until" it includes every event inside it
// (parseUntil); "since" it starts at its beginning (parseAt).
func parseUntil(s string, start, end time.Time, loc *time.Location) (time.Time, error) {
	t, err := parseAt(s, start, end, loc)
	if err != nil {
		return t, err
	}
	return t.Add(precision(s) - time.Nanosecond), nil
}

// precision is the length of the interval a time names: a nanosecond for
// relative and RFC 3339 times, else the unit of its last digit.
func precision(s string) time.Duration {
	s = strings.TrimSpace(s)
	if s == "" || s[0] == '+' || s[0] == '-' {
		return time.Nanosecond
	}
	if _, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return time.Nanosecond
	}
	if dot := strings.LastIndexByte(s, '.'); dot >= 0 {
		d := time.Second
		for range s[dot+1:] {
			d /= 10
		}
		return max(d, time.Nanosecond)
	}
	switch strings.Count(s, ":") {
	case 2:
		return time.Second
	case 1:
		return time.Minute
	}
	return 24 * time.Hour // a date alone
}

func parseAt(s string, start, end time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
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
		if t, err := time.ParseInLocation(layout, s, loc); err == nil {
			return t, nil
		}
	}
	for _, layout := range []string{"15:04:05.999999999", "15:04"} {
		tod, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if start.IsZero() {
			return time.Time{}, fmt.Errorf("%q: the log is empty, so a time of day has no date", s)
		}
		y, m, d := start.In(loc).Date()
		at := func(y int, m time.Month, d int) time.Time {
			return time.Date(y, m, d, tod.Hour(), tod.Minute(), tod.Second(), tod.Nanosecond(), loc)
		}
		t := at(y, m, d)
		if next := at(y, m, d+1); t.Before(start) && !next.After(end) {
			t = next
		}
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339 (2026-11-20T14:02:17Z), \"2026-11-20 14:02:17\" or a time of day (14:02:17.250), both in the --tz zone (%s), or +DURATION/-DURATION relative to the log", s, loc)
}
