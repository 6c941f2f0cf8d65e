package query

import (
	"math"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	params := map[string][]byte{"vec": []byte("abcd"), "lo": []byte("5"), "r": []byte("0.5")}
	for _, tc := range []struct {
		q, explain string
	}{
		{"*", "<WILDCARD>\n"},
		{"hello", "hello\n"},
		{"hel*", "hel*\n"},
		{"@title:Hello", "@title:hello\n"},
		{"@t:{a | b c|d*}", "TAG:@t {\n  a\n  b c\n  d*\n}\n"},
		{"@n:[$lo (10]", "NUMERIC {5 <= @n < 10}\n"},
		{"@n:[-inf +inf]", "NUMERIC {-inf <= @n <= inf}\n"},
		{"a b | c", "UNION {\n  INTERSECT {\n    a\n    b\n  }\n  c\n}\n"},
		{"-(a | @t:{x})", "NOT {\n  UNION {\n    a\n    TAG:@t {\n      x\n    }\n  }\n}\n"},
		{"@title:(foo bar)", "INTERSECT {\n  @title:foo\n  @title:bar\n}\n"},
		{"@v:[VECTOR_RANGE $r $vec]=>{$YIELD_DISTANCE_AS: d}", "VECTOR {Vectors that are within 0.5 distance radius from `$BLOB` in @v}\n"},
	} {
		q, err := Parse(tc.q, params)
		if err != nil {
			t.Fatalf("%q: %v", tc.q, err)
		}
		if got := q.Explain(); got != tc.explain {
			t.Errorf("%q:\n got %q\nwant %q", tc.q, got, tc.explain)
		}
	}
	q, err := Parse("(@t:{a})=>[KNN 7 @v $vec EF_RUNTIME 50 AS dist]", params)
	if err != nil || q.KNN == nil || q.KNN.K != 7 || q.KNN.Field != "v" || string(q.KNN.Vector) != "abcd" || q.KNN.EFRuntime != 50 || q.KNN.As != "dist" || q.Root.Kind != Tag {
		t.Fatalf("KNN: %+v %v", q, err)
	}
	q, _ = Parse("@v:[VECTOR_RANGE 2 $vec]=>{$YIELD_DISTANCE_AS: d}", params)
	if q.Root.Kind != VectorRange || q.Root.YieldDistanceAs != "d" || q.Root.Radius != 2 {
		t.Fatalf("range: %+v", q.Root)
	}
	q, _ = Parse("@n:[(1 inf]", nil)
	if !q.Root.LoExcl || q.Root.HiExcl || !math.IsInf(q.Root.Hi, 1) {
		t.Fatalf("numeric: %+v", q.Root)
	}
}

func TestParseErrors(t *testing.T) {
	for q, want := range map[string]string{
		"":                         "Syntax error at offset 0 near ",
		"@n:[1 2":                  "Syntax error at offset 3 near [1",
		"@n:[a b]":                 "Syntax error at offset 3 near [a",
		"(a b":                     "Syntax error at offset 4 near ",
		"@t:{a":                    "Syntax error at offset 3 near {a",
		"a | | b":                  "Syntax error at offset 4 near |",
		"*=>[KNN 3 @v $missing]":   "No such parameter `missing`",
		"*=>[KNN x @v $vec]":       "Syntax error at offset 4 near KNN",
		"*=>[KNN 3 v $vec]":        "Syntax error at offset 4 near KNN",
		"*=>[KNN 3 @v $vec FOO 1]": "Invalid attribute FOO",
		"*=>[KNN -1 @v $vec]":      "Invalid value was given",
	} {
		_, err := Parse(q, map[string][]byte{"vec": []byte("x")})
		if err == nil || err.Error() != want {
			t.Errorf("%q: %v, want %q", q, err, want)
		}
	}
}

func TestTokenize(t *testing.T) {
	for in, want := range map[string]string{
		"Hello, World-wide_web 42!":        "hello|world|wide_web|42",
		"The cat and THE hat":              "cat|hat",
		`a\-b c\,d`:                        "a-b|c,d",
		"über ÉCOLE\nline":                 "über|écoleline",
		"tab\tsep new\nline":               "tab|sep|newline",
		"x.y/z(w)[v]{u}:t;s~r!q@p#o$n%m^l": "x|y|z|w|v|u|t|s|r|q|p|o|n|m|l",
		"is a to":                          "",
	} {
		if got := strings.Join(Tokenize(in), "|"); got != want {
			t.Errorf("%q: %q, want %q", in, got, want)
		}
	}
	if got := strings.Join(Tokens("the cat", nil), "|"); got != "the|cat" {
		t.Fatal(got)
	}
}

// FuzzParse: no input panics.
func FuzzParse(f *testing.F) {
	for _, s := range []string{"*", "@t:{a|b}", "@n:[1 (2]", "a -b | (c d*)", "*=>[KNN 3 @v $p AS x]", "@v:[VECTOR_RANGE 1 $p]=>{$YIELD_DISTANCE_AS: d}"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		q, err := Parse(s, map[string][]byte{"p": []byte("1234")})
		if err == nil {
			_ = q.Explain()
		}
	})
}
