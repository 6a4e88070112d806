//go:build race

package replaystore_test

// raceEnabled scales the long-log test down under the race detector,
// which makes decoding about ten times slower.
const raceEnabled = true
