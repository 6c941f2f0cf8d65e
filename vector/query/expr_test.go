package query

import "testing"

func TestExpr(t *testing.T) {
	props := map[string]Value{"a": {Str: "3"}, "b": {Num: 4, IsNum: true}, "s": {Str: "x"}}
	get := func(n string) Value {
		if v, ok := props[n]; ok {
			return v
		}
		return Value{Null: true}
	}
	for src, want := range map[string]string{
		"@a + @b * 2":           "11",
		"(@a + @b) * 2":         "14",
		"2 ^ 3 ^ 2":             "512",
		"-@a % 2":               "-1",
		"@a < @b && @s == 'x'":  "1",
		"!(@a >= 3) || @b != 4": "0",
		"@missing + 1":          "null",
		"@s + 1":                "null",
		"10 / 4":                "2.5",
	} {
		e, err := ParseExpr(src)
		if err != nil {
			t.Fatalf("%q: %v", src, err)
		}
		v := e.Eval(get)
		got := "null"
		if !v.Null {
			f, _ := v.ToNumber()
			got = fmtNum(f)
		}
		if got != want {
			t.Errorf("%q = %s, want %s", src, got, want)
		}
	}
	for _, bad := range []string{"", "@", "1 +", "(1", "'x", "1 2", "@a ** 2"} {
		if _, err := ParseExpr(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// FuzzExpr: no expression panics when parsed or evaluated.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{"@a + 1", "(@a*2)^3 % 5", "!@a || 'x' == @b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := ParseExpr(s)
		if err == nil {
			e.Eval(func(string) Value { return Value{Str: "1"} })
		}
	})
}
