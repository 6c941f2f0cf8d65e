package geo

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"
)

const refPrec = 300

func refSin(x float64, cos bool) float64 {
	bx := new(big.Float).SetPrec(refPrec).SetFloat64(x)
	sum := new(big.Float).SetPrec(refPrec)
	term := new(big.Float).SetPrec(refPrec).Set(bx)
	start := 1
	if cos {
		term.SetInt64(1)
		start = 0
	}
	x2 := new(big.Float).SetPrec(refPrec).Mul(bx, bx)
	for n := start; n < 300; n += 2 {
		sum.Add(sum, term)
		term.Mul(term, x2)
		term.Quo(term, new(big.Float).SetPrec(refPrec).SetInt64(int64((n+1)*(n+2))))
		term.Neg(term)
	}
	f, _ := sum.Float64()
	return f
}

func TestCorrectlyRounded(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	bad := 0
	for i := 0; i < 3000; i++ {
		x := (rng.Float64()*2 - 1) * 3.3
		if i%3 == 0 {
			x = (rng.Float64()*2 - 1) * 1e-3
		}
		if got, want := crSin(x), refSin(x, false); got != want {
			bad++
			t.Errorf("sin(%v) = %v, want %v", x, got, want)
		}
		if got, want := crCos(x), refSin(x, true); got != want {
			bad++
			t.Errorf("cos(%v) = %v, want %v", x, got, want)
		}
		y := rng.Float64()
		if i%4 == 0 {
			y = 1 - rng.Float64()*1e-6
		}
		a := crAsin(y)
		// asin(y) is correctly rounded iff sin of the neighbors brackets y.
		lo, hi := math.Nextafter(a, 0), math.Nextafter(a, 2)
		ba := new(big.Float).SetPrec(refPrec)
		_ = ba
		mid := func(p, q float64) float64 { return refSinMid(p, q) }
		if !(mid(lo, a) <= y && y <= mid(a, hi)) {
			bad++
			t.Errorf("asin(%v) = %v not correctly rounded", y, a)
		}
		if bad > 10 {
			t.FailNow()
		}
	}
}

// refSinMid is sin of the midpoint of p and q, rounded to a double (good
// enough to bracket y unless y is within a rounding of the midpoint).
func refSinMid(p, q float64) float64 {
	m := new(big.Float).SetPrec(refPrec).SetFloat64(p)
	m.Add(m, new(big.Float).SetPrec(refPrec).SetFloat64(q))
	m.Quo(m, big.NewFloat(2))
	sum := new(big.Float).SetPrec(refPrec)
	term := new(big.Float).SetPrec(refPrec).Set(m)
	x2 := new(big.Float).SetPrec(refPrec).Mul(m, m)
	for n := 1; n < 300; n += 2 {
		sum.Add(sum, term)
		term.Mul(term, x2)
		term.Quo(term, new(big.Float).SetPrec(refPrec).SetInt64(int64((n+1)*(n+2))))
		term.Neg(term)
	}
	f, _ := sum.Float64()
	return f
}

func BenchmarkCrDistance(b *testing.B) {
	for i := 0; i < b.N; i++ {
		distance(13.361389, 38.115556, 15.087269+float64(i%100)*1e-3, 37.502669)
	}
}
