//go:build race

package schema

// raceEnabled: the race detector changes allocation counts (sync.Pool
// drops items at random under it), so the allocation tests skip.
const raceEnabled = true
