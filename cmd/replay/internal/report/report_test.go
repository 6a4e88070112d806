package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/cmd/replay/internal/timeline"
)

func TestRenderIsWellFormedAndSelfContained(t *testing.T) {
	t0 := time.Date(2026, 11, 20, 14, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	tl := &timeline.Timeline{
		Start: at(0), End: at(20),
		Managers: map[string][]timeline.Interval{
			"cm-a": {{From: at(0), To: at(6), State: "up"}},
			"cm-b": {{From: at(6.2), To: at(20), State: "up"}},
		},
		Provider: []timeline.Interval{
			{From: at(0), To: at(6), State: "IN_SERVICE"}, {From: at(6), To: at(6.2), State: "OUT_OF_SERVICE"}, {From: at(6.2), To: at(20), State: "IN_SERVICE"},
		},
		Gaps: []timeline.Interval{{From: at(6), To: at(6.3), State: "gap", Label: "g1 <&>"}},
		Entries: []timeline.Entry{
			{Time: at(4), Event: "LastHeartbeat", Derived: true, Detail: "last heard"},
			{Time: at(6), Event: "CTIManagerLost", CTIManager: "cm-a", Detail: `lost "cm-a" <script>`},
			{Time: at(6.2), Event: "ProvInServiceEv", CTIManager: "cm-b", Detail: "in service"},
		},
		Failovers: []timeline.Failover{{N: 1, From: "cm-a", To: "cm-b", Reason: "HEARTBEAT_MISSED", Detected: at(6)}},
	}
	var calls []Sample
	for i := 0; i < 5000; i++ {
		calls = append(calls, Sample{Time: at(float64(i) * 0.004), Calls: i % 37})
	}
	// In a zone (--tz): the times shown are local and say so.
	var local bytes.Buffer
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	if err := Render(&local, Data{Cluster: "lab", Source: "test", Generated: t0, Timeline: tl, Calls: calls, Events: 5000, Location: berlin}); err != nil {
		t.Fatal(err)
	}
	if out := local.String(); !strings.Contains(out, "2026-11-20 15:00:06.000") || !strings.Contains(out, "Time (Europe/Berlin)") || strings.Contains(out, "2026-11-20 14:00:06.000") {
		t.Error("the report in Europe/Berlin does not show local times (15:00:06 for 14:00:06 UTC) and its zone")
	}
	var buf bytes.Buffer
	if err := Render(&buf, Data{Cluster: "lab & co", Source: "test", Generated: t0, Timeline: tl, Calls: calls, Events: 5000}); err != nil {
		t.Fatal(err)
	}
	dec := xml.NewDecoder(bytes.NewReader(buf.Bytes()))
	dec.Strict = true
	elems := map[string]int{}
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v", err)
		}
		if se, ok := tok.(xml.StartElement); ok {
			elems[se.Name.Local]++
			if se.Name.Local == "script" || se.Name.Local == "link" || se.Name.Local == "img" {
				t.Errorf("element %s in a self-contained report", se.Name.Local)
			}
		}
	}
	// Three lanes (provider + 2 CTIManagers) with their intervals, one gap,
	// the call line, markers for the loss and recovery.
	if elems["svg"] != 1 || elems["polyline"] != 1 || elems["rect"] < 3+3+2+1 || elems["line"] < 3 {
		t.Errorf("elements = %v", elems)
	}
	out := buf.String()
	if strings.Contains(out, "<script>") || !strings.Contains(out, "&lt;script&gt;") {
		t.Error("event details are not escaped")
	}
	pts := strings.Count(out[strings.Index(out, `points="`):], ",")
	if pts > 2*maxPolyPts+4 {
		t.Errorf("call line has %d points, want at most about %d", pts, 2*maxPolyPts)
	}
}

func TestDownsampleKeepsPeaks(t *testing.T) {
	var in []Sample
	for i := 0; i < 10_000; i++ {
		in = append(in, Sample{Calls: i % 100})
	}
	in[7777].Calls = 1000
	out := downsample(in, 500)
	peak := 0
	for _, s := range out {
		peak = max(peak, s.Calls)
	}
	if len(out) > 501 || peak != 1000 {
		t.Errorf("downsampled to %d samples with peak %d", len(out), peak)
	}
}
