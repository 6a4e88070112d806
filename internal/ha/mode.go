package ha

import "fmt"

// Mode is how a standby bridge waits for its turn.
type Mode string

// Modes.
const (
	// ModeCold: the instances share one client certificate (one
	// instanceId): only the active bridge may hold a provider, so a
	// standby opens none, and a new active waits out its predecessor's
	// lease before opening its own. The takeover is an explicit gap,
	// reconciled against the log's last state by the snapshot.
	ModeCold Mode = "cold"
	// ModeHot: each instance has its own instanceId and certificate (or
	// its own application user): every instance keeps its provider open
	// and observes; the standby keeps its recent events, and at takeover
	// publishes, flagged recovered, those its predecessor never stored.
	ModeHot Mode = "hot"
)

// ParseMode reads a mode name.
func ParseMode(s string) (Mode, error) {
	switch Mode(s) {
	case ModeCold, ModeHot:
		return Mode(s), nil
	}
	return "", fmt.Errorf("ha: mode %q: use cold (one shared certificate) or hot (one certificate per instance)", s)
}
