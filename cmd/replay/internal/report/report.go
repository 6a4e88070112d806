// Package report renders the incident report of `replay report --html`:
// one self-contained HTML file (no external assets) with an inline SVG
// timeline (a lane for the provider and one per CTIManager, observation gaps
// shaded, the number of calls over time) and the timeline's event table.
// The markup is XHTML-compatible, so it also parses as XML.
package report

import (
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
)

// Sample is the number of calls in progress at a time.
type Sample struct {
	Time  time.Time
	Calls int
}

// Data is what the report shows.
type Data struct {
	Cluster   string
	Source    string
	Generated time.Time
	Timeline  *timeline.Timeline
	// Calls is the call count over time, in time order.
	Calls []Sample
	// Events is the number of events the call count was folded from.
	Events uint64
	// Location is the zone of the times shown (--tz); nil is UTC.
	Location *time.Location
}

// Geometry of the SVG.
const (
	width      = 1200.0
	left       = 150.0
	right      = 20.0
	laneH      = 34.0
	laneGap    = 10.0
	top        = 30.0
	chartH     = 140.0
	axisH      = 30.0
	plotW      = width - left - right
	maxPolyPts = 1500
)

type rect struct {
	X, Y, W, H float64
	Class      string
	Title      string
}

type lane struct {
	Name  string
	Y     float64
	TextY float64
	Rects []rect
}

type tick struct {
	X     float64
	Label string
}

type marker struct {
	X     float64
	Class string
	Title string
}

type svgData struct {
	Width, Height         float64
	Left, PlotW           float64
	Lanes                 []lane
	Gaps                  []rect
	Ticks                 []tick
	Markers               []marker
	ChartTop, ChartH      float64
	ChartBottom           float64
	AxisY                 float64
	Poly                  string
	MaxCalls              int
	YTicks                []tick
	LanesTop, LanesBottom float64
}

type page struct {
	Data
	Zone     string
	SVG      svgData
	Start    string
	End      string
	Span     string
	Rows     []row
	Failover []timeline.Failover
}

type row struct {
	Time, Prev, Loss, Event, Count, Manager, Detail, Class string
}

// Render writes the report.
func Render(w io.Writer, d Data) error {
	loc := d.Location
	if loc == nil {
		loc = time.UTC
	}
	tf := func(t time.Time) string { return fmtTime(t, loc) }
	tl := d.Timeline
	if tl == nil {
		tl = &timeline.Timeline{}
	}
	start, end := tl.Start, tl.End
	for _, s := range d.Calls {
		if start.IsZero() || s.Time.Before(start) {
			start = s.Time
		}
		if s.Time.After(end) {
			end = s.Time
		}
	}
	if end.Sub(start) <= 0 {
		end = start.Add(time.Second)
	}
	p := page{Data: d, Zone: loc.String(), Start: tf(start), End: tf(end), Span: end.Sub(start).Round(time.Millisecond).String(), Failover: tl.Failovers}
	x := func(t time.Time) float64 {
		f := float64(t.Sub(start)) / float64(end.Sub(start))
		return left + math.Max(0, math.Min(1, f))*plotW
	}
	s := &p.SVG
	s.Width, s.Left, s.PlotW = width, left, plotW

	// Lanes: the provider, then each CTIManager by name.
	names := make([]string, 0, len(tl.Managers))
	for m := range tl.Managers {
		names = append(names, m)
	}
	slices.Sort(names)
	y := top
	s.LanesTop = y - 6
	addLane := func(name string, ivs []timeline.Interval, class func(timeline.Interval) string) {
		l := lane{Name: name, Y: y, TextY: y + laneH/2 + 4}
		for _, iv := range ivs {
			x0, x1 := x(iv.From), x(iv.To)
			l.Rects = append(l.Rects, rect{X: x0, Y: y, W: math.Max(3, x1-x0), H: laneH, Class: class(iv),
				Title: fmt.Sprintf("%s %s: %s → %s (%s)", name, strings.ToLower(iv.State), tf(iv.From), tf(iv.To), iv.To.Sub(iv.From).Round(time.Millisecond))})
		}
		s.Lanes = append(s.Lanes, l)
		y += laneH + laneGap
	}
	addLane("provider", tl.Provider, func(iv timeline.Interval) string {
		switch iv.State {
		case "IN_SERVICE":
			return "in"
		case "OUT_OF_SERVICE":
			return "out"
		}
		return "shut"
	})
	for _, m := range names {
		addLane(m, tl.Managers[m], func(timeline.Interval) string { return "up" })
	}
	s.LanesBottom = y
	s.ChartTop = y + 10
	s.ChartH = chartH
	s.ChartBottom = s.ChartTop + chartH
	s.AxisY = s.ChartBottom + 18
	s.Height = s.AxisY + axisH
	for _, g := range tl.Gaps {
		x0, x1 := x(g.From), x(g.To)
		s.Gaps = append(s.Gaps, rect{X: x0, Y: s.LanesTop, W: math.Max(4, x1-x0), H: s.ChartBottom - s.LanesTop, Class: "gap",
			Title: fmt.Sprintf("gap %s: %s → %s (%s)", g.Label, tf(g.From), tf(g.To), g.To.Sub(g.From).Round(time.Millisecond))})
	}
	for _, e := range tl.Entries {
		switch e.Event {
		case "CTIManagerLost", "ProvOutOfServiceEv", "ProvInServiceEv", "LastHeartbeat", "CTIManagerConnected":
			s.Markers = append(s.Markers, marker{X: x(e.Time), Class: "m-" + strings.ToLower(strings.TrimSuffix(e.Event, "Ev")),
				Title: tf(e.Time) + " " + e.Event + ": " + e.Detail})
		}
	}
	// Time axis: about eight ticks on a round step.
	step := niceStep(end.Sub(start) / 8)
	for t := start.Truncate(step); !t.After(end); t = t.Add(step) {
		if t.Before(start) {
			continue
		}
		lbl := t.In(loc).Format("15:04:05")
		if step < time.Second {
			lbl = t.In(loc).Format("15:04:05.000")
		}
		s.Ticks = append(s.Ticks, tick{X: x(t), Label: lbl})
	}
	// Call count line (a step function).
	maxCalls := 1
	for _, c := range d.Calls {
		maxCalls = max(maxCalls, c.Calls)
	}
	s.MaxCalls = maxCalls
	yOf := func(n int) float64 { return s.ChartBottom - float64(n)/float64(maxCalls)*(chartH-10) }
	pts := downsample(d.Calls, maxPolyPts)
	var sb strings.Builder
	prevY := -1.0
	for _, c := range pts {
		xx, yy := x(c.Time), yOf(c.Calls)
		if prevY >= 0 {
			fmt.Fprintf(&sb, "%.1f,%.1f ", xx, prevY)
		}
		fmt.Fprintf(&sb, "%.1f,%.1f ", xx, yy)
		prevY = yy
	}
	if prevY >= 0 {
		fmt.Fprintf(&sb, "%.1f,%.1f", x(end), prevY)
	}
	s.Poly = strings.TrimSpace(sb.String())
	for _, n := range []int{0, maxCalls / 2, maxCalls} {
		s.YTicks = append(s.YTicks, tick{X: yOf(n), Label: fmt.Sprint(n)})
	}

	for _, e := range tl.Entries {
		r := row{Time: tf(e.Time), Event: e.Event, Manager: e.CTIManager, Detail: e.Detail}
		if e.Count > 0 {
			r.Count = fmt.Sprint(e.Count)
		}
		if e.SincePrevMs != 0 {
			r.Prev = "+" + timeline.FormatMs(e.SincePrevMs)
		}
		if e.SinceLossMs != nil {
			r.Loss = timeline.FormatMs(*e.SinceLossMs)
		}
		switch {
		case e.Event == "CTIManagerLost" || e.Event == "ProvOutOfServiceEv" || strings.Contains(e.Event, "OutOfService"):
			r.Class = "bad"
		case e.Event == "ProvInServiceEv" || e.Event == "GapClosed" || strings.Contains(e.Event, "InService"):
			r.Class = "good"
		case e.Derived:
			r.Class = "derived"
		}
		p.Rows = append(p.Rows, r)
	}
	t, err := tmpl.Clone()
	if err != nil {
		return err
	}
	return t.Funcs(template.FuncMap{"t": tf}).Execute(w, p)
}

// downsample keeps at most n samples, keeping each bucket's maximum so
// that peaks stay visible.
func downsample(in []Sample, n int) []Sample {
	if len(in) <= n {
		return in
	}
	per := (len(in) + n - 1) / n
	out := make([]Sample, 0, n+1)
	for i := 0; i < len(in); i += per {
		j := min(i+per, len(in))
		best := in[i]
		for _, s := range in[i:j] {
			if s.Calls > best.Calls {
				best.Calls = s.Calls
			}
		}
		out = append(out, best)
	}
	return out
}

func niceStep(d time.Duration) time.Duration {
	for _, s := range []time.Duration{
		10 * time.Millisecond, 50 * time.Millisecond, 100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond,
		time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 15 * time.Second, 30 * time.Second,
		time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute, 30 * time.Minute,
		time.Hour, 2 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	} {
		if d <= s {
			return s
		}
	}
	return 24 * time.Hour * time.Duration(1+d/(24*time.Hour))
}

func fmtTime(t time.Time, loc *time.Location) string {
	if t.IsZero() {
		return "-"
	}
	return t.In(loc).Format("2006-01-02 15:04:05.000")
}

func ms(v int64) string { return timeline.FormatMs(v) }

var tmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1":  func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"ms":  ms,
	"t":   func(t time.Time) string { return fmtTime(t, time.UTC) },
	"sub": func(a, b float64) float64 { return a - b },
}).Parse(pageHTML))
