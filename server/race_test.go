//go:build race

package server_test

// raceEnabled is set under the race detector, whose shadow memory makes
// RSS figures meaningless.
const raceEnabled = true
