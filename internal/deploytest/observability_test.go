package deploytest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"

	"github.com/ctibridge/ctibridge/internal/bridge"
	"github.com/ctibridge/ctibridge/internal/faultmatrix"
)

// bridgeMetrics scrapes /metrics of a real bridge (the fault-matrix rig:
// simulator, embedded NATS, the bridge in service on the primary).
func bridgeMetrics(t *testing.T) map[string]*dto.MetricFamily {
	t.Helper()
	rig, err := faultmatrix.StartRig(faultmatrix.RigConfig{DataDir: t.TempDir(), Rate: 5, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	b, err := rig.StartBridge(func(c *bridge.Config) { c.HTTPListen = "127.0.0.1:0" })
	if err != nil {
		t.Fatal(err)
	}
	if err := rig.WaitInService(30*time.Second, nil); err != nil {
		t.Fatal(err)
	}
	resp, err := (&http.Client{Timeout: 10 * time.Second}).Get("http://" + b.OpsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	mfs, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing /metrics: %v", err)
	}
	return mfs
}

var (
	metricNameRE = regexp.MustCompile(`\b((?:ctibridge|go|process)_[a-zA-Z0-9_]+)\b`)
	selectorRE   = regexp.MustCompile(`\b((?:ctibridge|go|process)_[a-zA-Z0-9_]+)\{([^}]*)\}`)
	matcherRE    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	groupingRE   = regexp.MustCompile(`\b(?:by|without|on|ignoring)\s*\(([^)]*)\)`)
)

// checkQueries checks that every metric a PromQL expression names is a
// family of the bridge's /metrics (a histogram's _bucket, _sum and
// _count included), and that every label it selects or groups by is one
// of those metrics' labels (or job and instance, which Prometheus adds).
func checkQueries(t *testing.T, source string, exprs []string, mfs map[string]*dto.MetricFamily) {
	t.Helper()
	family := func(name string) *dto.MetricFamily {
		if mf, ok := mfs[name]; ok {
			return mf
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if mf, ok := mfs[strings.TrimSuffix(name, suffix)]; ok && strings.HasSuffix(name, suffix) && mf.GetType() == dto.MetricType_HISTOGRAM {
				return mf
			}
		}
		return nil
	}
	labelsOf := func(name string, mf *dto.MetricFamily) []string {
		out := []string{"job", "instance"}
		if strings.HasSuffix(name, "_bucket") {
			out = append(out, "le")
		}
		for _, m := range mf.GetMetric() {
			for _, lp := range m.GetLabel() {
				if !slices.Contains(out, lp.GetName()) {
					out = append(out, lp.GetName())
				}
			}
		}
		return out
	}
	for _, e := range exprs {
		var labels []string
		for _, m := range metricNameRE.FindAllStringSubmatch(e, -1) {
			mf := family(m[1])
			if mf == nil {
				t.Errorf("%s queries %s, which the bridge's /metrics does not have: %s", source, m[1], e)
				continue
			}
			labels = append(labels, labelsOf(m[1], mf)...)
		}
		for _, s := range selectorRE.FindAllStringSubmatch(e, -1) {
			if mf := family(s[1]); mf != nil {
				for _, lm := range matcherRE.FindAllStringSubmatch(s[2], -1) {
					if !slices.Contains(labelsOf(s[1], mf), lm[1]) {
						t.Errorf("%s selects %s by label %s, which it does not have: %s", source, s[1], lm[1], e)
					}
				}
			}
		}
		for _, g := range groupingRE.FindAllStringSubmatch(e, -1) {
			for _, l := range strings.Split(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !slices.Contains(labels, l) {
					t.Errorf("%s groups by %s, a label of none of its metrics: %s", source, l, e)
				}
			}
		}
	}
}

// dashboardQueries collects every PromQL expression of the Grafana
// dashboard: panel targets, template variables, annotations.
func dashboardQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy/grafana/ctibridge.json"))
	if err != nil {
		t.Fatal(err)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("deploy/grafana/ctibridge.json: %v", err)
	}
	var out []string
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				if s, ok := c.(string); ok && (k == "expr" || k == "definition") {
					out = append(out, s)
				}
				walk(c)
			}
		case []any:
			for _, c := range v {
				walk(c)
			}
		}
	}
	walk(doc)
	if len(out) < 20 {
		t.Fatalf("the dashboard has only %d queries", len(out))
	}
	return out
}

func alertQueries(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "deploy/prometheus/ctibridge-alerts.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Groups []struct {
			Rules []struct {
				Expr string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, g := range doc.Groups {
		for _, r := range g.Rules {
			out = append(out, r.Expr)
		}
	}
	return out
}

// TestDashboardAndAlertsQueryMetricsTheBridgeHas: every metric and label
// the Grafana dashboard and the alerting rules query is on a running
// bridge's /metrics, and (where promtool is installed, as in CI) every
// dashboard query parses as PromQL.
func TestDashboardAndAlertsQueryMetricsTheBridgeHas(t *testing.T) {
	dash := dashboardQueries(t)
	alerts := alertQueries(t)
	mfs := bridgeMetrics(t)
	checkQueries(t, "deploy/grafana/ctibridge.json", dash, mfs)
	checkQueries(t, "deploy/prometheus/ctibridge-alerts.yml", alerts, mfs)

	promtool, err := exec.LookPath("promtool")
	if err != nil {
		t.Log("promtool not installed: the dashboard's PromQL syntax is not checked here (.ci/run installs it)")
		return
	}
	// Grafana's variables replaced by what Grafana sends.
	vars := strings.NewReplacer("$__rate_interval", "1m", "$instance", ".*")
	var rules strings.Builder
	rules.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	for i, e := range dash {
		if strings.HasPrefix(e, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		q, _ := json.Marshal(vars.Replace(e))
		fmt.Fprintf(&rules, "      - record: dashboard:query_%d\n        expr: %s\n", i, q)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(rules.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Errorf("the dashboard's queries do not all parse: %v\n%s", err, out)
	}
}
