package bridge

import (
	"fmt"
	"time"

	"github.com/ctibridge/ctibridge/pkg/ctiengine"
)

// ctiManagerReasons explains, for a provider that is not in service, where
// the bridge is with each CTIManager: the one it is connecting to or
// opening the provider on, every one tried with its last error, those not
// tried yet, and when the next round over the list starts. One reason per
// line of /readyz, in the configured order.
func ctiManagerReasons(st ctiengine.Status, now time.Time) []string {
	if st.Err != "" {
		return nil // shut down for good: the provider reason says why, there is no next attempt
	}
	var out []string
	for _, m := range st.CTIManagers {
		name := "CTIManager " + m.Name + " (" + m.Addr + ")"
		switch {
		case m.Connected:
			out = append(out, fmt.Sprintf("%s: connected since %s, opening the provider (link %s)", name, stamp(m.LastAttemptAt, now), st.Link))
		case m.Current:
			out = append(out, fmt.Sprintf("%s: connecting since %s", name, stamp(m.LastAttemptAt, now)))
		case m.LastAttemptAt.IsZero():
			out = append(out, name+": not tried yet")
		case m.LastError != "":
			out = append(out, fmt.Sprintf("%s: last attempt %s failed at %s: %s", name, stamp(m.LastAttemptAt, now),
				stamp(m.LastErrorAt, now), m.LastError))
		default:
			out = append(out, fmt.Sprintf("%s: last attempt %s", name, stamp(m.LastAttemptAt, now)))
		}
	}
	if !st.NextRetryAt.IsZero() {
		out = append(out, fmt.Sprintf("next round over the CTIManager list at %s (%d failed so far)", stamp(st.NextRetryAt, now), st.FailedRounds))
	}
	return out
}

// stamp is t in UTC with how long ago or ahead it is (to the tenth of a
// second under 10 s, where a retry interval can be that short).
func stamp(t, now time.Time) string {
	d := t.Sub(now)
	if d.Abs() < 10*time.Second {
		d = d.Round(100 * time.Millisecond)
	} else {
		d = d.Round(time.Second)
	}
	rel := "in " + d.String()
	if d <= 0 {
		rel = (-d).String() + " ago"
	}
	return t.UTC().Format(time.RFC3339) + " (" + rel + ")"
}
