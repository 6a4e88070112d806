//go:build race

package jetstream

// raceEnabled scales load tests down under the race detector, which slows
// the in-process server by an order of magnitude.
const raceEnabled = true
