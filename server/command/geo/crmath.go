package geo

import (
	"math"
	"math/big"
)

// Correctly rounded sin, cos and asin.
//
// Redis computes distances with glibc's libm, whose sin, cos and asin
// return the correctly rounded result (but in rare hard cases); Go's math
// package is within about one ulp. One ulp in an intermediate shows in the
// last digits of a STOREDIST score, so Cairn evaluates these functions in
// double-double arithmetic (about 106 bits) and rounds once. The code is
// pure Go with explicit roundings (no fused multiply-add), so every replica
// computes the same bits whatever its architecture.

type dd struct{ hi, lo float64 }

func twoSum(a, b float64) dd {
	s := a + b
	bb := s - a
	return dd{s, (a - (s - bb)) + (b - bb)}
}

func quickTwoSum(a, b float64) dd {
	s := a + b
	return dd{s, b - (s - a)}
}

func twoProd(a, b float64) dd {
	p := a * b
	return dd{p, math.FMA(a, b, -p)}
}

func ddAdd(a, b dd) dd {
	s := twoSum(a.hi, b.hi)
	t := twoSum(a.lo, b.lo)
	s.lo += t.hi
	s = quickTwoSum(s.hi, s.lo)
	s.lo += t.lo
	return quickTwoSum(s.hi, s.lo)
}

func ddMul(a, b dd) dd {
	p := twoProd(a.hi, b.hi)
	p.lo += float64(a.hi*b.lo) + float64(a.lo*b.hi)
	return quickTwoSum(p.hi, p.lo)
}

func ddNeg(a dd) dd { return dd{-a.hi, -a.lo} }

var (
	pio2     [3]float64 // pi/2 = pio2[0] + pio2[1] + pio2[2] to ~160 bits
	sinCoeff [15]dd     // (-1)^k / (2k+1)!
	cosCoeff [15]dd     // (-1)^k / (2k)!
)

func init() {
	const piStr = "3.14159265358979323846264338327950288419716939937510582097494459230781640628620899862803482534211706798214808651"
	pi, _, _ := big.ParseFloat(piStr, 10, 400, big.ToNearestEven)
	rest := new(big.Float).SetPrec(400).Quo(pi, big.NewFloat(2))
	for i := range pio2 {
		pio2[i], _ = rest.Float64()
		rest.Sub(rest, new(big.Float).SetPrec(400).SetFloat64(pio2[i]))
	}
	toDD := func(f *big.Float) dd {
		hi, _ := f.Float64()
		r := new(big.Float).SetPrec(400).Sub(f, new(big.Float).SetFloat64(hi))
		lo, _ := r.Float64()
		return dd{hi, lo}
	}
	fact := new(big.Float).SetPrec(400).SetInt64(1)
	for n := 0; n < 2*len(sinCoeff); n++ {
		if n > 0 {
			fact.Mul(fact, new(big.Float).SetInt64(int64(n)))
		}
		c := new(big.Float).SetPrec(400).Quo(new(big.Float).SetPrec(400).SetInt64(1), fact)
		if (n/2)%2 == 1 {
			c.Neg(c)
		}
		if n%2 == 0 {
			cosCoeff[n/2] = toDD(c)
		} else {
			sinCoeff[n/2] = toDD(c)
		}
	}
}

// reduce returns r = x - k*pi/2 with |r| <= ~pi/4, and k mod 4.
func reduce(x dd) (dd, int) {
	k := math.RoundToEven(x.hi * (2 / math.Pi))
	if k == 0 {
		return x, 0
	}
	r := ddAdd(x, twoProd(-k, pio2[0]))
	r = ddAdd(r, twoProd(-k, pio2[1]))
	r = ddAdd(r, dd{float64(-k * pio2[2]), 0})
	return r, int(int64(k) & 3)
}

// terms returns how many series terms give ~110 bits for |r|.
func terms(r float64) int {
	switch r = math.Abs(r); {
	case r <= 0.05:
		return 9
	case r <= 0.2:
		return 11
	case r <= 0.5:
		return 13
	}
	return len(sinCoeff)
}

// poly evaluates sin(r) (cos false) or cos(r) for |r| <= ~pi/4.
func poly(r dd, cos bool) dd {
	n := terms(r.hi)
	coeff := sinCoeff[:n]
	if cos {
		coeff = cosCoeff[:n]
	}
	r2 := ddMul(r, r)
	p := coeff[n-1]
	for i := n - 2; i >= 0; i-- {
		p = ddAdd(ddMul(p, r2), coeff[i])
	}
	if cos {
		return p
	}
	return ddMul(p, r)
}

// sinDD and cosDD return sin(x) and cos(x) in double-double.
func sinDD(x dd) dd {
	r, k := reduce(x)
	v := poly(r, k&1 == 1)
	if k >= 2 {
		return ddNeg(v)
	}
	return v
}

func cosDD(x dd) dd {
	r, k := reduce(x)
	v := poly(r, k&1 == 0)
	if k == 1 || k == 2 {
		return ddNeg(v)
	}
	return v
}

// crSin is sin(x) correctly rounded (for the moderate arguments geo
// uses; beyond |x| = 1e6 it falls back to math.Sin).
func crSin(x float64) float64 {
	if x == 0 || math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
		return math.Sin(x)
	}
	return sinDD(dd{x, 0}).hi
}

// crCos is cos(x) correctly rounded (same range as crSin).
func crCos(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) || math.Abs(x) > 1e6 {
		return math.Cos(x)
	}
	return cosDD(dd{x, 0}).hi
}

// crAsin is asin(y) correctly rounded: math.Asin refined by Newton steps
// on sin in double-double.
func crAsin(y float64) float64 {
	if !(y >= -1 && y <= 1) || y == 0 {
		return math.Asin(y)
	}
	z := dd{math.Asin(y), 0}
	steps := 1
	if math.Abs(y) > 0.9 {
		steps = 2 // near the singularity at 1, converge further
	}
	for i := 0; i < steps; i++ {
		s, c := sinDD(z), cosDD(z)
		num := ddAdd(dd{y, 0}, ddNeg(s))
		q := (num.hi + num.lo) / (c.hi + c.lo)
		z = ddAdd(z, dd{q, 0})
	}
	return z.hi
}
