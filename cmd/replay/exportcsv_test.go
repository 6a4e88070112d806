package main

import (
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// export --format csv --since --until: exactly the events that happened in
// the interval, one row each, with the global call id columns CDRs use.
func TestExportCSVInterval(t *testing.T) {
	f := newFixture(t)
	from := replaystore.EventTime(&f.evs[1000])
	to := replaystore.EventTime(&f.evs[1800])
	var want []int // sequences
	for i := range f.evs {
		at := replaystore.EventTime(&f.evs[i])
		if !at.Before(from) && !at.After(to) {
			want = append(want, i+1)
		}
	}
	code, out, errs := replay(t, "--server", f.url, "--tz", "Europe/Berlin", "export", "--format", "csv",
		"--since", from.Format(time.RFC3339Nano), "--until", to.Format(time.RFC3339Nano))
	if code != 0 {
		t.Fatalf("exit %d %s", code, errs)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(rows[0], ",") != strings.Join(csvHeader, ",") {
		t.Fatalf("header %v", rows[0])
	}
	rows = rows[1:]
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want the %d events of the interval", len(rows), len(want))
	}
	col := map[string]int{}
	for i, h := range csvHeader {
		col[h] = i
	}
	for i, r := range rows {
		ev := f.evs[want[i]-1]
		if r[col["seq"]] != itoa(want[i]) || r[col["event"]] != ev.Name || r[col["entity"]] != ev.Entity {
			t.Fatalf("row %d = %v, want seq %d %s %s", i, r, want[i], ev.Name, ev.Entity)
		}
		at, err := time.Parse(time.RFC3339Nano, r[col["time"]])
		if err != nil || !at.Equal(replaystore.EventTime(&ev)) || !strings.HasSuffix(r[col["time"]], "+01:00") {
			t.Fatalf("row %d time %q, want %s in Europe/Berlin", i, r[col["time"]], replaystore.EventTime(&ev))
		}
		if ev.Family == schema.FamilyCall && ev.Data.Call != nil && r[col["globalCallID_callId"]] != ev.Data.Call.CallID {
			t.Fatalf("row %d: globalCallID_callId %q, want %q", i, r[col["globalCallID_callId"]], ev.Data.Call.CallID)
		}
		if ev.Data.Cause != 0 && r[col["cause_name"]] != schema.CauseNames[ev.Data.Cause] {
			t.Fatalf("row %d: cause %q/%q", i, r[col["cause"]], r[col["cause_name"]])
		}
	}
	// The same interval as JSON Lines.
	code, out, _ = replay(t, "--server", f.url, "export", "--since", from.Format(time.RFC3339Nano), "--until", to.Format(time.RFC3339Nano))
	if n := strings.Count(out, "\n"); code != 0 || n != len(want) {
		t.Errorf("jsonl: exit %d, %d lines, want %d", code, n, len(want))
	}
}
