package hashes

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

func TestParseFormatLongDouble(t *testing.T) {
	tests := []struct{ in, want string }{ // want "" = invalid, "inf"/"-inf"
		{"0", "0"}, {"-0", "0"}, {"1", "1"}, {"+1", "1"}, {"1.5", "1.5"}, {".5", "0.5"}, {"5.", "5"},
		{"1e3", "1000"}, {"1E+3", "1000"}, {"2.5e-3", "0.0025"}, {"0x10", "16"}, {"0X1P-1", "0.5"},
		{"0x.8", "0.5"}, {"0x1.8p1", "3"}, {"0x1.8e5", "1.555908203125"}, {"00001.5", "1.5"},
		{"0.1", "0.10000000000000000"}, // %.17Lf of the long double nearest 0.1, before stripping
		{"3.0000000000000000001", "3"}, {"0.000000000000000015", "0.00000000000000002"},
		{"0.000000000000000025", "0.00000000000000002"}, {"1e-18", "0"}, {"-1e-18", "0"},
		{"123456789012345678", "123456789012345678"}, {"1e-4950", "0"}, {"0e99999999999", "0"},
		{"inf", "inf"}, {"-INF", "-inf"}, {"Infinity", "inf"}, {"+infinity", "inf"},
		{"", ""}, {" 1", ""}, {"1 ", ""}, {".", ""}, {"e5", ""}, {"1e", ""}, {"1e+", ""}, {"0x", ""},
		{"0x1p", ""}, {"0xg", ""}, {"nan", ""}, {"-nan", ""}, {"nan(1)", ""}, {"infinit", ""}, {"1_0", ""},
		{"0b1", ""}, {"1,5", ""}, {"\x00", ""}, {"1\x00", ""}, {"--1", ""}, {"+-1", ""}, {"1e5000", ""},
		{"1.2e4932", ""}, {"1e-5000", ""}, {"1e-4951", ""}, {"0x1p-16446", ""}, {"0x1p16384", ""},
		{"1e-99999999999999999999", ""}, {"1e99999999999999999999", ""},
		{strings.Repeat("1", 5120), ""},
	}
	for _, tt := range tests {
		f, ok := parseLongDouble([]byte(tt.in))
		got := ""
		switch {
		case !ok:
		case f.IsInf() && f.Sign() > 0:
			got = "inf"
		case f.IsInf():
			got = "-inf"
		default:
			got = string(formatLongDouble(f))
		}
		if tt.in == "0.1" && ok {
			got = f.Text('f', 17) // show the rounding itself
		}
		if got != tt.want {
			t.Errorf("parse/format %q = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The largest long double prints in full; a 5119-digit integer parses.
	if f, ok := parseLongDouble([]byte("0x1.fffffffffffffffep+16383")); !ok || !strings.HasPrefix(string(formatLongDouble(f)), "11897314953572317650") || len(formatLongDouble(f)) != 4933 {
		t.Errorf("LDBL_MAX: %v", ok)
	}
	if _, ok := parseLongDouble([]byte(strings.Repeat("1", 5000))); ok {
		t.Error("a 5000-digit integer overflows")
	}
	if _, ok := parseLongDouble([]byte("0." + strings.Repeat("1", 5000))); !ok {
		t.Error("5002-character float")
	}
}

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
