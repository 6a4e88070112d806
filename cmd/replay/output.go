package main

import (
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/ctibridge/ctibridge/pkg/replaystore"
	"github.com/schollz/progressbar/v3"
)

// tsFormat prints times with milliseconds and their offset (Z for UTC).
const tsFormat = "2006-01-02T15:04:05.000Z07:00"

// clockFmt prints the times of human output in one zone: UTC unless --tz
// names another. JSON output is always RFC 3339 in UTC.
type clockFmt struct{ loc *time.Location }

func (c clockFmt) location() *time.Location {
	if c.loc == nil {
		return time.UTC
	}
	return c.loc
}

// ts prints an instant with the date, milliseconds and offset.
func (c clockFmt) ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.location()).Format(tsFormat)
}

// exact prints an instant with all its digits (RFC 3339), for files.
func (c clockFmt) exact(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.In(c.location()).Format(time.RFC3339Nano)
}

// clock prints the time of day with milliseconds.
func (c clockFmt) clock(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(c.location()).Format("15:04:05.000")
}

// zone names the zone for headers: "UTC" or "Europe/Berlin".
func (c clockFmt) zone() string { return c.location().String() }

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// progress shows a progress bar on stderr for long scans, only when stderr
// is a terminal. It returns the callback and a function that ends the bar.
func (a *app) progress(desc string, minTotal uint64) (replaystore.Progress, func()) {
	if !a.stderrTTY {
		return nil, func() {}
	}
	var bar *progressbar.ProgressBar
	return func(read, pending uint64) {
			if bar == nil {
				total := read + pending
				if total < minTotal {
					return
				}
				bar = progressbar.NewOptions64(int64(total),
					progressbar.OptionSetWriter(a.stderr),
					progressbar.OptionSetDescription(desc),
					progressbar.OptionShowCount(),
					progressbar.OptionShowIts(),
					progressbar.OptionSetItsString("events"),
					progressbar.OptionThrottle(100*time.Millisecond),
					progressbar.OptionClearOnFinish(),
				)
			}
			if read%1024 == 0 || pending == 0 {
				_ = bar.Set64(int64(read))
			}
		}, func() {
			if bar != nil {
				_ = bar.Finish()
				fmt.Fprint(a.stderr, "")
			}
		}
}
