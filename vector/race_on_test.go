//go:build race

package vector

// raceEnabled shrinks the recall tests' datasets under -race, where they
// run ~10x slower; TestConcurrent is the test meant for the race detector.
const raceEnabled = true
