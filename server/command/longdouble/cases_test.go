package longdouble

import (
	"strings"
	"testing"
)

// TestParseFormatCases checks parsing and printing on edge cases checked
// against Redis (strtold and %.17Lf).
func TestParseFormatCases(t *testing.T) {
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
		f, ok := Parse([]byte(tt.in))
		got := ""
		switch {
		case !ok:
		case f.IsInf() && f.Sign() > 0:
			got = "inf"
		case f.IsInf():
			got = "-inf"
		default:
			got = Format(f)
		}
		if tt.in == "0.1" && ok {
			got = f.Text('f', 17) // show the rounding itself
		}
		if got != tt.want {
			t.Errorf("parse/format %q = %q, want %q", tt.in, got, tt.want)
		}
	}
	// The largest long double prints in full; a 5119-digit integer parses.
	if f, ok := Parse([]byte("0x1.fffffffffffffffep+16383")); !ok || !strings.HasPrefix(Format(f), "11897314953572317650") || len(Format(f)) != 4933 {
		t.Errorf("LDBL_MAX: %v", ok)
	}
	if _, ok := Parse([]byte(strings.Repeat("1", 5000))); ok {
		t.Error("a 5000-digit integer overflows")
	}
	if _, ok := Parse([]byte("0." + strings.Repeat("1", 5000))); !ok {
		t.Error("5002-character float")
	}
}
