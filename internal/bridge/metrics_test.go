package bridge

import (
	"bytes"
	"math"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
)

func noEngine() ctiengine.Status { return ctiengine.Status{} }

// scrape gathers the registry as /metrics serves it, by family name.
func scrape(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, mf := range mfs {
		out[mf.GetName()] = mf
	}
	return out
}

// documentedMetrics reads the metrics table of docs/operations.md: the
// metric names and the labels each is documented with.
func documentedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	row := regexp.MustCompile("(?m)^\\| ((?:`[a-z_]+(?:\\{[a-z_,]+\\})?`(?:, )?)+) \\|")
	name := regexp.MustCompile("`([a-z_]+)(?:\\{([a-z_,]+)\\})?`")
	for _, r := range row.FindAllStringSubmatch(string(b), -1) {
		for _, n := range name.FindAllStringSubmatch(r[1], -1) {
			if strings.HasPrefix(n[1], "ctibridge_") || strings.HasPrefix(n[1], "go_") {
				var labels []string
				if n[2] != "" {
					labels = strings.Split(n[2], ",")
				}
				out[n[1]] = labels
			}
		}
	}
	if len(out) < 20 {
		t.Fatalf("found only %d metrics in the table of docs/operations.md", len(out))
	}
	return out
}

// TestEveryDocumentedMetricIsPresentFromStart: a bridge (a member of a
// high-availability group) that has seen no event yet exposes every metric docs/operations.md lists, with its
// labels (a counter that appears only at its first increment makes
// rate() and alerts miss that increment), and every ctibridge_ metric it
// exposes is documented.
func TestEveryDocumentedMetricIsPresentFromStart(t *testing.T) {
	status := ctiengine.Status{CTIManagers: []ctiengine.CTIManagerStatus{{Name: "ctim-a", Addr: "ctim-a:2748"}, {Name: "ctim-b", Addr: "ctim-b:2758"}}}
	m := NewMetrics(func() PublisherStats { return PublisherStats{} }, func() ctiengine.Status { return status })
	m.EnableHA() // a member of a high-availability group: the ctibridge_ha_ metrics too
	got := scrape(t, m)
	docs := documentedMetrics(t)
	for name, labels := range docs {
		mf, ok := got[name]
		if !ok {
			t.Errorf("%s is documented and absent from a fresh /metrics", name)
			continue
		}
		for _, l := range labels {
			for _, metric := range mf.GetMetric() {
				if !slices.ContainsFunc(metric.GetLabel(), func(lp *dto.LabelPair) bool { return lp.GetName() == l }) {
					t.Errorf("%s: a series without the documented label %s", name, l)
				}
			}
		}
	}
	for name := range got {
		if _, ok := docs[name]; strings.HasPrefix(name, "ctibridge_") && !ok {
			t.Errorf("%s is exposed and not documented in docs/operations.md", name)
		}
	}
	for _, want := range []struct {
		name, label string
		values      []string
	}{
		{"ctibridge_gaps_total", "kind", []string{"provider", "publish"}},
		{"ctibridge_certificate_problems_total", "reason", []string{"SERVER_TRUST", "CLIENT_CERT_REFUSED", "DUPLICATECERTUSED", "CERTCOMPROMISED"}},
		{"ctibridge_events_in_total", "family", []string{"provider", "terminal", "address", "call", "route", "bridge"}},
		{"ctibridge_devices_out_of_service", "cause", ctiengine.OutOfServiceCauses},
		{"ctibridge_ctimanager_connected", "ctimanager", []string{"ctim-a", "ctim-b"}},
	} {
		var have []string
		for _, metric := range got[want.name].GetMetric() {
			for _, lp := range metric.GetLabel() {
				if lp.GetName() == want.label {
					have = append(have, lp.GetValue())
				}
			}
		}
		for _, v := range want.values {
			if !slices.Contains(have, v) {
				t.Errorf("%s{%s=%q} absent from a fresh /metrics (have %v)", want.name, want.label, v, have)
			}
		}
	}
	if v := got["ctibridge_cti_last_frame_age_seconds"].GetMetric()[0].GetGauge().GetValue(); !math.IsInf(v, 1) {
		t.Errorf("last frame age before any frame = %v, want +Inf", v)
	}
}

// TestEngineGaugesFollowTheStatus: the CTI-side gauges are the engine's
// status at scrape time.
func TestEngineGaugesFollowTheStatus(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	st := ctiengine.Status{
		Calls: 12, Devices: 50, Lines: 52,
		DevicesOutOfService: map[string]int{"CALLMANAGER_FAILURE": 3, "DEVICE_UNREGISTERED": 1},
		LinesOutOfService:   map[string]int{"CALLMANAGER_FAILURE": 4},
		LastHeardAt:         now.Add(-1500 * time.Millisecond),
		ServerHeartbeatMs:   10000,
		CTIManagers: []ctiengine.CTIManagerStatus{
			{Name: "ctim-a", Addr: "ctim-a:2748"},
			{Name: "ctim-b", Addr: "ctim-b:2758", Current: true, Connected: true},
			{Name: "ctim-c", Addr: "ctim-c:2768", LeastPriority: true},
		},
	}
	m := NewMetrics(func() PublisherStats { return PublisherStats{} }, func() ctiengine.Status { return st })
	m.Registry.Unregister(newEngineCollector(nil, nil)) // same descriptors: replaces the one with the wall clock
	m.Registry.MustRegister(newEngineCollector(func() ctiengine.Status { return st }, func() time.Time { return now }))
	m.ObserveMeasurement(ctiengine.Measurement{Kind: ctiengine.MeasureProviderOpen, Duration: 300 * time.Millisecond})
	m.ObserveMeasurement(ctiengine.Measurement{Kind: ctiengine.MeasureRouteSelect, Duration: 4 * time.Millisecond})
	var buf bytes.Buffer
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&buf, mf); err != nil {
			t.Fatal(err)
		}
	}
	text := buf.String()
	for _, want := range []string{
		"ctibridge_calls_active 12", "ctibridge_devices 50", "ctibridge_lines 52",
		`ctibridge_devices_out_of_service{cause="CALLMANAGER_FAILURE"} 3`,
		`ctibridge_devices_out_of_service{cause="DEVICE_UNREGISTERED"} 1`,
		`ctibridge_devices_out_of_service{cause="CTIMANAGER_FAILURE"} 0`,
		`ctibridge_lines_out_of_service{cause="CALLMANAGER_FAILURE"} 4`,
		`ctibridge_ctimanager_connected{address="ctim-a:2748",ctimanager="ctim-a",least_priority="false"} 0`,
		`ctibridge_ctimanager_connected{address="ctim-b:2758",ctimanager="ctim-b",least_priority="false"} 1`,
		`ctibridge_ctimanager_connected{address="ctim-c:2768",ctimanager="ctim-c",least_priority="true"} 0`,
		"ctibridge_cti_last_frame_age_seconds 1.5", "ctibridge_cti_server_heartbeat_seconds 10",
		"ctibridge_provider_open_duration_seconds_count 1", "ctibridge_provider_open_duration_seconds_sum 0.3",
		`ctibridge_route_select_latency_seconds_bucket{le="0.005"} 1`,
	} {
		if !strings.Contains(text, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
