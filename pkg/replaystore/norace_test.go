//go:build !race

package replaystore_test

const raceEnabled = false
