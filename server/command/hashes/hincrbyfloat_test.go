package hashes

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// TestDiffFloat compares HINCRBYFLOAT with Redis over random increments:
// decimal and hex, small and huge, so rounding to the 64-bit significand
// and %.17Lf printing are exercised.
func TestDiffFloat(t *testing.T) {
	d := newDiff(t)
	rng := rand.New(rand.NewPCG(99, 1))
	digits := func(n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte('0' + rng.IntN(10))
		}
		return string(b)
	}
	errs := 0
	for i := 0; i < 2000; i++ {
		var incr string
		switch rng.IntN(6) {
		case 0:
			incr = digits(1+rng.IntN(20)) + "." + digits(rng.IntN(25))
		case 1:
			incr = digits(1+rng.IntN(20)) + "e" + strconv.Itoa(rng.IntN(60)-40)
		case 2:
			incr = "0." + digits(1+rng.IntN(30)) + "e-" + strconv.Itoa(rng.IntN(10))
		case 3:
			incr = digits(1+rng.IntN(3)) + "e" + strconv.Itoa(rng.IntN(9800)-4900)
		case 4:
			incr = "0x" + strconv.FormatUint(rng.Uint64(), 16) + "p" + strconv.Itoa(rng.IntN(200)-100)
		default:
			incr = strconv.FormatFloat(rng.NormFloat64()*1e6, 'g', -1, 64)
		}
		if rng.IntN(2) == 0 {
			incr = "-" + incr
		}
		field := "f" + strconv.Itoa(rng.IntN(8))
		if rng.IntN(10) == 0 {
			d.Compare("HDEL", "fl", field)
		}
		if _, want := d.Compare("HINCRBYFLOAT", "fl", field, incr); want.IsError() {
			errs++
		}
	}
	t.Logf("%d of 2000 increments were errors", errs)
	if errs > 400 {
		t.Errorf("%d errors: the test mostly exercises error paths", errs)
	}
}
