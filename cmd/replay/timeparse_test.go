package main

import (
	"testing"
	"time"
)

func TestParseTimes(t *testing.T) {
	start := time.Date(2026, 11, 20, 22, 30, 0, 0, time.UTC)
	end := start.Add(3 * time.Hour) // past midnight UTC
	berlin, err := loadZone("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in          string
		loc         *time.Location
		since, till string // RFC 3339 in UTC
	}{
		// Exact instants.
		{"2026-11-20T22:31:00.25Z", nil, "2026-11-20T22:31:00.25Z", "2026-11-20T22:31:00.25Z"},
		{"2026-11-20T23:31:00+01:00", berlin, "2026-11-20T22:31:00Z", "2026-11-20T22:31:00Z"},
		{"+6s", nil, "2026-11-20T22:30:06Z", "2026-11-20T22:30:06Z"},
		{"-1h", nil, "2026-11-21T00:30:00Z", "2026-11-21T00:30:00Z"},
		// People's times stand for the interval they name.
		{"22:31:00.250", nil, "2026-11-20T22:31:00.25Z", "2026-11-20T22:31:00.250999999Z"},
		{"22:31:07", nil, "2026-11-20T22:31:07Z", "2026-11-20T22:31:07.999999999Z"},
		{"22:31", nil, "2026-11-20T22:31:00Z", "2026-11-20T22:31:59.999999999Z"},
		{"2026-11-20 22:31:00.5", nil, "2026-11-20T22:31:00.5Z", "2026-11-20T22:31:00.599999999Z"},
		// A time of day before the start falls on the next day when the
		// log reaches it.
		{"00:15", nil, "2026-11-21T00:15:00Z", "2026-11-21T00:15:59.999999999Z"},
		// In --tz: 23:31 in Berlin (UTC+1 in November) is 22:31 UTC.
		{"23:31:00.250", berlin, "2026-11-20T22:31:00.25Z", "2026-11-20T22:31:00.250999999Z"},
		{"2026-11-21 01:00", berlin, "2026-11-21T00:00:00Z", "2026-11-21T00:00:59.999999999Z"},
	} {
		loc := tc.loc
		if loc == nil {
			loc = time.UTC
		}
		since, err := parseAt(tc.in, start, end, loc)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		till, _ := parseUntil(tc.in, start, end, loc)
		if got := since.UTC().Format(time.RFC3339Nano); got != tc.since {
			t.Errorf("%q in %s: since %s, want %s", tc.in, loc, got, tc.since)
		}
		if got := till.UTC().Format(time.RFC3339Nano); got != tc.till {
			t.Errorf("%q in %s: until %s, want %s", tc.in, loc, got, tc.till)
		}
	}
	for _, bad := range []string{"", "noon", "+six", "25:00"} {
		if _, err := parseAt(bad, start, end, time.UTC); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if _, err := loadZone("Mars/Olympus"); err == nil {
		t.Error("an unknown zone loaded")
	}
}

func TestClockFormatsInZone(t *testing.T) {
	berlin, _ := loadZone("Europe/Berlin")
	at := time.Date(2026, 7, 1, 12, 0, 0, 250e6, time.UTC)
	if got := (clockFmt{}).ts(at); got != "2026-07-01T12:00:00.250Z" {
		t.Errorf("UTC: %s", got)
	}
	c := clockFmt{loc: berlin}
	if got := c.ts(at); got != "2026-07-01T14:00:00.250+02:00" {
		t.Errorf("Berlin in summer: %s", got)
	}
	if got := c.clock(at); got != "14:00:00.250" || c.zone() != "Europe/Berlin" {
		t.Errorf("Berlin clock %s zone %s", got, c.zone())
	}
}
