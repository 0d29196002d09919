//go:build race

package rules

// raceEnabled: the race detector makes sync.Pool drop items at random, so regexp matching
// allocates now and then; allocation counts are checked only without it.
const raceEnabled = true
