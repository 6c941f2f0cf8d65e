//go:build race

package web

// raceEnabled: TestBrowser is skipped under the race detector (make test
// runs it once without; the handler tests cover the same code with it).
const raceEnabled = true
