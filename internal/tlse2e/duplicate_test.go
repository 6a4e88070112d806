package tlse2e

import (
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
	"github.com/ctibridge/ctibridge/pkg/ctisim"
	"github.com/ctibridge/ctibridge/pkg/schema"
)

// certRetries is the simulator's CertRetryCount here: clashes 1 and 2 are
// DUPLICATECERTUSED, clash 3 is CERTCOMPROMISED.
const certRetries = 3

// TestDuplicateCertificateThenCompromised: two bridges run with the same
// instanceId and client certificate. CTIManager closes both providers on
// every clash (DUPLICATECERTUSED): each bridge publishes a
// CertificateProblem, counts it on /metrics, logs it and retries. At the
// third clash CTIManager marks the certificate compromised: each bridge
// publishes CertificateProblem{CERTCOMPROMISED} and ProvShutdownEv, sets
// ctibridge_certificate_compromised to 1, answers /readyz 503 with a
// reason naming the certificate, logs an error telling the operator to
// configure a new instanceId and certificate, and Run returns
// ErrCertCompromised. The certificate stays refused for a third bridge.
func TestDuplicateCertificateThenCompromised(t *testing.T) {
	n := StartNATS(t)
	sim := StartSim(t, []string{"inst-1"}, func(c *ctisim.Config) { c.Cluster.CertRetryCount = certRetries })
	start := func(inst string) *Bridge {
		cfg := EngineConfig(sim, "ctim-a", "ctim-b")
		WithTLS(&cfg, "inst-1", sim.PKIDir, filepath.Join(t.TempDir(), "ctl.pem"))
		// Linger well past the test's checks: the ops endpoints must stay
		// up after the provider shut down for good.
		return StartBridge(t, n, BridgeOptions{Instance: inst, Engine: cfg, FatalLinger: 10 * WaitBound})
	}
	a := start("dup-a")
	a.WaitReady(t)
	b := start("dup-b")

	evs := n.WaitEvents(t, "both providers shut down", func(evs []Stored) bool {
		return len(Filter(evs, schema.EvProvShutdown, "dup-a-")) == 1 && len(Filter(evs, schema.EvProvShutdown, "dup-b-")) == 1
	})
	for _, br := range []*Bridge{a, b} {
		t.Run(br.Instance, func(t *testing.T) {
			prefix := br.Instance + "-"
			var reasons []string
			firstDup := -1
			for i, s := range evs {
				if s.Event.Name == schema.EvCertificateProblem && strings.HasPrefix(s.Event.Session, prefix) {
					reasons = append(reasons, s.Event.Data.Provider.Reason)
					if firstDup < 0 {
						firstDup = i
					}
				}
			}
			want := []string{"DUPLICATECERTUSED", "DUPLICATECERTUSED", "CERTCOMPROMISED"}
			if strings.Join(reasons, ",") != strings.Join(want, ",") {
				t.Fatalf("CertificateProblem reasons %v, want %v", reasons, want)
			}
			if len(Filter(evs[firstDup:], schema.EvCTIManagerConnecting, prefix)) < 2 {
				t.Fatalf("no retry after DUPLICATECERTUSED: %v", Names(evs))
			}
			shut := Filter(evs, schema.EvProvShutdown, prefix)[0].Event.Data.Provider
			if shut.Reason != "CERTCOMPROMISED" || !strings.Contains(shut.Detail, "inst-1") {
				t.Fatalf("ProvShutdownEv %+v, want CERTCOMPROMISED naming instanceId inst-1", shut)
			}
			stop := Filter(evs, schema.EvBridgeStopping, br.Instance)
			if len(stop) != 1 || !strings.Contains(stop[0].Event.Data.Bridge.Detail, "compromised") {
				t.Fatalf("BridgeStopping records %v, want one saying the certificate is compromised", Names(stop))
			}

			code, body := br.Get(t, "/readyz")
			t.Logf("/readyz %d %s", code, body)
			if code != http.StatusServiceUnavailable || !strings.Contains(body, "SHUTDOWN") ||
				!strings.Contains(body, "certificate of instanceId inst-1 compromised") {
				t.Fatalf("/readyz = %d %s, want 503 with a reason naming the certificate", code, body)
			}
			for metric, want := range map[string]string{
				"ctibridge_certificate_compromised":                                "1",
				`ctibridge_certificate_problems_total{reason="DUPLICATECERTUSED"}`: "2",
				`ctibridge_certificate_problems_total{reason="CERTCOMPROMISED"}`:   "1",
				"ctibridge_provider_state":                                         "18",
				"ctibridge_nats_connected":                                         "1",
				"ctibridge_events_dropped_total":                                   "0",
			} {
				if got := br.Metric(t, metric); got != want {
					t.Errorf("%s = %q, want %s", metric, got, want)
				}
			}
			if l := br.Logs.Find("warn", "DUPLICATECERTUSED", "inst-1"); len(l) != 2 {
				t.Errorf("want a warning per DUPLICATECERTUSED naming the certificate, got %d", len(l))
			}
			if l := br.Logs.Find("error", "configure a new instanceId"); len(l) == 0 {
				t.Errorf("no error line telling the operator to configure a new instanceId and certificate; log:\n%s", br.Logs.String())
			}
			if err := br.Stop(t); !errors.Is(err, ctiengine.ErrCertCompromised) {
				t.Fatalf("Run returned %v, want ErrCertCompromised", err)
			}
		})
	}

	// From now on the certificate is refused at once.
	c := start("dup-c")
	evs = n.WaitEvents(t, "the third bridge shut down", func(evs []Stored) bool {
		return len(Filter(evs, schema.EvProvShutdown, "dup-c-")) == 1
	})
	if p := Filter(evs, schema.EvCertificateProblem, "dup-c-"); len(p) != 1 || p[0].Event.Data.Provider.Reason != "CERTCOMPROMISED" {
		t.Fatalf("third bridge certificate problems %v, want one CERTCOMPROMISED", Names(p))
	}
	if len(Filter(evs, schema.EvProvInService, "dup-c-")) != 0 {
		t.Fatal("a provider opened with the compromised certificate")
	}
	if err := c.Stop(t); !errors.Is(err, ctiengine.ErrCertCompromised) {
		t.Fatalf("third bridge Run returned %v, want ErrCertCompromised", err)
	}
}
