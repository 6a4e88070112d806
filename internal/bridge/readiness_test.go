package bridge

import (
	"strings"
	"testing"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
)

func TestReadinessNamesEachCTIManagerItsLastErrorAndTheNextRetry(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 40, 0, time.UTC)
	at := func(s int) time.Time { return time.Date(2026, 3, 1, 9, 0, s, 0, time.UTC) }
	st := ctiengine.Status{
		Provider: "OUT_OF_SERVICE", Link: "waiting_retry", FailedRounds: 2, NextRetryAt: at(55),
		CTIManagers: []ctiengine.CTIManagerStatus{
			{Name: "ctim-a", Addr: "ctim-a:2748", LastAttemptAt: at(20), LastError: "dial tcp: connection refused", LastErrorAt: at(21)},
			{Name: "ctim-b", Addr: "ctim-b:2758", LastAttemptAt: at(21), LastError: "provider open failed: LOGIN_FAILED", LastErrorAt: at(25)},
			{Name: "ctim-c", Addr: "ctim-c:2768", LeastPriority: true},
		},
	}
	got := strings.Join(ctiManagerReasons(st, now), "\n")
	want := strings.Join([]string{
		"CTIManager ctim-a (ctim-a:2748): last attempt 2026-03-01T09:00:20Z (20s ago) failed at 2026-03-01T09:00:21Z (19s ago): dial tcp: connection refused",
		"CTIManager ctim-b (ctim-b:2758): last attempt 2026-03-01T09:00:21Z (19s ago) failed at 2026-03-01T09:00:25Z (15s ago): provider open failed: LOGIN_FAILED",
		"CTIManager ctim-c (ctim-c:2768): not tried yet",
		"next round over the CTIManager list at 2026-03-01T09:00:55Z (in 15s) (2 failed so far)",
	}, "\n")
	if got != want {
		t.Fatalf("reasons:\n%s\nwant:\n%s", got, want)
	}

	// Connecting and opening: the CTIManager in progress says so.
	st.NextRetryAt = time.Time{}
	st.CTIManagers[0].Current, st.CTIManagers[0].LastAttemptAt = true, at(38)
	if r := ctiManagerReasons(st, now); r[0] != "CTIManager ctim-a (ctim-a:2748): connecting since 2026-03-01T09:00:38Z (2s ago)" || len(r) != 3 {
		t.Fatalf("connecting: %q", r)
	}
	st.CTIManagers[0].Connected, st.Link = true, "fetching_devices"
	if r := ctiManagerReasons(st, now); r[0] != "CTIManager ctim-a (ctim-a:2748): connected since 2026-03-01T09:00:38Z (2s ago), opening the provider (link fetching_devices)" {
		t.Fatalf("opening: %q", r[0])
	}
	// Shut down for good: nothing more will be tried.
	st.Err = "ctiengine: retry attempts exceeded"
	if r := ctiManagerReasons(st, now); r != nil {
		t.Fatalf("shut down: %q", r)
	}
}
