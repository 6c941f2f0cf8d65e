package vexpr

import (
	"encoding/json"
	"errors"
	"testing"
)

func fields(t testing.TB, js string) map[string]any {
	var m map[string]any
	if err := json.Unmarshal([]byte(js), &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestMatch checks evaluation against Redis 8's documented semantics.
func TestMatch(t *testing.T) {
	obj := `{"year": 1984, "rating": 7.5, "genre": "drama", "tags": ["a", "b", 3], "ok": true, "no": false, "nil": null, "empty": "", "num": "12", "obj": {"x": 1}}`
	f := fields(t, obj)
	for _, c := range []struct {
		expr string
		want bool
	}{
		{".year > 1980", true},
		{".year >= 1984 and .rating > 7", true},
		{".year > 1990 or .rating < 7", false},
		{".year > 1990 || .genre == 'drama'", true},
		{`.genre == "drama" && .rating >= 7.5`, true},
		{`.genre != "drama"`, false},
		{`.genre in ["comedy", "drama"]`, true},
		{`.year in [1983, 1985]`, false},
		{`.year in [1984]`, true},
		{`"a" in .tags`, true},
		{`3 in .tags`, true},
		{`"c" in .tags`, false},
		{"!(.year > 1980)", false},
		{"not .no", true},
		{"!.ok", false},
		{".ok == 1", true},
		{".no", false},
		{"(.year - 1900) * 2 == 168", true},
		{".year % 100 == 84", true},
		{"2 ** 3 ** 2 == 512", true},
		{"-5 + 10 == 5", true},
		{".year / 2 == 992", true},
		{".num == 12", true},
		{".num > 11", true},
		{`.num == "12"`, true},
		{".empty", false},
		{".missing > 0", false},
		{".missing > 0 or 1", false}, // a missing field makes the expression false
		{".obj == 1", false},         // objects are not values
		{".nil", false},
		{"1", true},
		{"0", false},
		{`"x"`, true},
		{`''`, false},
		{"not 1 == 0", true}, // not binds tighter: (not 1) == 0
		{"1 + 2 * 3 == 7", true},
		{"(1 + 2) * 3 == 9", true},
		{".rating>7and.year<2000", true},
	} {
		e, err := Compile(c.expr)
		if err != nil {
			t.Errorf("%q: %v", c.expr, err)
			continue
		}
		if got := e.Match(f); got != c.want {
			t.Errorf("%q on %s: got %v, want %v (program %s)", c.expr, obj, got, c.want, e)
		}
	}
	e, _ := Compile("1")
	if e.Match(nil) {
		t.Error("an element without attributes matched")
	}
}

// TestCompileErrors checks what is refused and the "near" text Redis
// reports: the rest of the expression from a token it cannot read, the
// whole expression for a structural error.
func TestCompileErrors(t *testing.T) {
	for _, c := range []struct{ expr, near string }{
		{".a > 1 and @b", "@b"},
		{".a >", ".a >"},
		{"(.a > 1", "(.a > 1"},
		{".a > 1)", ".a > 1)"},
		{"", ""},
		{"'unterminated", "'unterminated"},
		{".a in [1, ", ".a in [1, "}, // the error is at the end: Redis then reports the whole
		{".a in [x]", "x]"},
		{"1 2", "1 2"},
		{".a == null", ".a == null"},
		{"true", "true"},
		{"1e5e5 > 1", " > 1"}, // the number's characters are consumed first
		{"and", "and"},
	} {
		_, err := Compile(c.expr)
		var ce *Error
		if !errors.As(err, &ce) {
			t.Errorf("%q: compiled (err %v)", c.expr, err)
			continue
		}
		if ce.Near != c.near {
			t.Errorf("%q: near %q, want %q", c.expr, ce.Near, c.near)
		}
	}
}

// FuzzCompile: Compile never panics, and what compiles evaluates without
// panicking on any attribute.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{".a > 1 and .b == 'x'", "!(.a in [1,2])", "2 ** -1", "((", ".a.b", "-.a", "1 -- 2", "not not .a"} {
		f.Add(s, `{"a": 1, "b": "x"}`)
	}
	f.Fuzz(func(t *testing.T, expr, js string) {
		e, err := Compile(expr)
		if err != nil {
			return
		}
		var m map[string]any
		_ = json.Unmarshal([]byte(js), &m)
		e.Match(m)
		e.Match(map[string]any{"a": []any{1.0, "x", nil}, "b": map[string]any{}})
	})
}
