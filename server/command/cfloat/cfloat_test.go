package cfloat

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

func TestString2d(t *testing.T) {
	for in, want := range map[string]float64{
		"1": 1, "-0": math.Copysign(0, -1), "0x10": 16, "0x1p-2": 0.25, "inf": math.Inf(1), "-Infinity": math.Inf(-1),
		".5": 0.5, "5.": 5, "1e5": 1e5, "1e-310": 1e-310, "0e99999": 0,
	} {
		got, ok := String2d([]byte(in))
		if !ok || got != want || math.Signbit(got) != math.Signbit(want) {
			t.Errorf("String2d(%q) = %v, %v; want %v", in, got, ok, want)
		}
	}
	for _, in := range []string{"", " 1", "1 ", "nan", "1e400", "1e-400", "0x", "1e", "1\x00", "infinit", "x", "."} {
		if v, ok := String2d([]byte(in)); ok {
			t.Errorf("String2d(%q) = %v, want failure", in, v)
		}
	}
}

func TestFormats(t *testing.T) {
	for f, want := range map[float64]string{0.1: "0.10000000000000001", 1e20: "1e+20", 3: "3", math.Inf(-1): "-inf", 1e16: "10000000000000000"} {
		if got := G17(f); got != want {
			t.Errorf("G17(%v) = %s, want %s", f, got, want)
		}
	}
	for f, want := range map[float64]string{4e18: "4000000000000000000", 5e18: "5e+18", math.Copysign(0, -1): "0", 2.5: "2.5"} {
		if got := string(ScoreString(f)); got != want {
			t.Errorf("ScoreString(%v) = %s, want %s", f, got, want)
		}
	}
	if got := Human(13.361389338970184); got != "13.36138933897018433" {
		t.Errorf("Human: %s", got)
	}
}

// TestAppendG17Integers checks AppendG17's integer fast path against
// printf's "%.17g" (strconv's 'g' with 17 digits).
func TestAppendG17Integers(t *testing.T) {
	fs := []float64{0, math.Copysign(0, -1), 1, -1, 9, 10, 1e15, 1e16, -1e16, 1e17, -1e17,
		math.Nextafter(1e17, 0), math.Nextafter(-1e17, 0), 1 << 53, 1<<53 + 2, -(1 << 53), 1e18, 0.5, -2.5}
	r := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 10000; i++ {
		fs = append(fs, float64(r.Int64N(1<<uint(1+r.IntN(60)))-r.Int64N(1<<40)), math.Trunc(r.NormFloat64()*math.Pow(10, float64(r.IntN(19)))))
	}
	for _, f := range fs {
		want := strconv.FormatFloat(f, 'g', 17, 64)
		if got := string(AppendG17([]byte("x"), f)); got != "x"+want {
			t.Fatalf("AppendG17(%v) = %s, want %s", f, got[1:], want)
		}
	}
}
