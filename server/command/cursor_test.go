package command

import "testing"

func TestParseCursor(t *testing.T) {
	tests := []struct {
		in   string
		want uint64
		ok   bool
	}{
		{"0", 0, true}, {"", 0, true}, {"007", 7, true}, {"+5", 5, true}, {"-1", 1<<64 - 1, true},
		{"-0", 0, true}, {"18446744073709551615", 1<<64 - 1, true}, {"5\x00x", 5, true}, {"\x00", 0, true},
		{"18446744073709551616", 0, false}, {"-18446744073709551616", 0, false}, {"-", 0, false},
		{"+", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"\v1", 0, false}, {"1.0", 0, false},
	}
	for _, tt := range tests {
		got, err := ParseCursor([]byte(tt.in))
		ok := err == nil
		if got != tt.want || ok != tt.ok {
			t.Errorf("ParseCursor(%q) = %d, %v; want %d, %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
