package glob

import (
	"math/rand/v2"
	"sort"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
)

func TestMatchTable(t *testing.T) {
	tests := []struct {
		pattern, s string
		nocase     bool
		want       bool
	}{
		{"*", "", false, false}, // as stringmatchlen; SCAN callers skip the pattern "*"
		{"*", "anything", false, true},
		{"", "", false, true},
		{"", "a", false, false},
		{"a", "", false, false},
		{"h?llo", "hello", false, true},
		{"h?llo", "hllo", false, false},
		{"h*llo", "hllo", false, true},
		{"h*llo", "heeeello", false, true},
		{"h[ae]llo", "hallo", false, true},
		{"h[ae]llo", "hillo", false, false},
		{"h[^e]llo", "hallo", false, true},
		{"h[^e]llo", "hello", false, false},
		{"h[a-b]llo", "hbllo", false, true},
		{"h[a-b]llo", "hcllo", false, false},
		{"h[b-a]llo", "hallo", false, true}, // reversed range is swapped
		{`h\*llo`, "h*llo", false, true},
		{`h\*llo`, "hello", false, false},
		{`[\]]`, "]", false, true},
		{`[\-]`, "-", false, true},
		{`[a\-z]`, "b", false, false},
		{`[a-]`, "a", false, true}, // "a-]" is the range ']'..'a', swallowing the ']'
		{`[a-]`, "^", false, true},
		{"[abc", "a", false, true}, // an unterminated class ends with the pattern
		{"[abc", "c", false, true},
		{"a[", "a", false, false},
		{"[^", "x", false, true},
		{"[", "x", false, false},
		{`\`, `\`, false, true},
		{`a\`, `a\`, false, true},
		{"*a", "bbba", false, true},
		{"*a*b*c", "xaybzc", false, true},
		{"*a*b*c", "xaybz", false, false},
		{"a*", "a", false, true},
		{"a**", "a", false, true},
		{"a*?", "a", false, false},
		{"HELLO", "hello", true, true},
		{"HELLO", "hello", false, false},
		{"[A-C]x", "bx", true, true},
		{"[A-C]x", "bx", false, false},
		{"[b]x", "Bx", true, true},
		{"\xff", "\xff", false, true},
		{"[a-\xff]", "b", false, false}, // signed char: range is \xff(-1)..'a'
		{"[a-\xff]", "\x10", false, true},
		{"[\x80-\xff]", "\x90", false, true},
		{"a\x00b", "a\x00b", false, true},
		{"*\x00", "x\x00", false, true},
	}
	for _, tt := range tests {
		if got := MatchString(tt.pattern, tt.s, tt.nocase); got != tt.want {
			t.Errorf("Match(%q, %q, %v) = %v, want %v", tt.pattern, tt.s, tt.nocase, got, tt.want)
		}
	}
}

// TestMatchPathological checks that the skip-longer-matches rule keeps
// patterns with many stars fast (Redis CVE-2022-36021).
func TestMatchPathological(t *testing.T) {
	p := strings.Repeat("*a", 40) + "b"
	s := strings.Repeat("a", 2000)
	if MatchString(p, s, false) {
		t.Fatal("unexpected match")
	}
}

// TestMatchAgainstRedis compares Match with KEYS on a real redis-server
// over many hand-picked and random patterns.
func TestMatchAgainstRedis(t *testing.T) {
	addr := commandtest.StartRedis(t)
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	keys := []string{
		"a", "b", "ab", "ba", "abc", "aXc", "a*c", "a?c", "a[c", "a]c", "a\\c", "a-c",
		"hello", "hallo", "hillo", "hllo", "heeello", "Hello", "HELLO", "^", "]", "[", "-", "\\", "*", "?",
		"foo:bar", "foo:baz", "foo::", "x\xff", "\x80", "\xff", "a\x00b", "\x00", "zz", "z-a", "user:1000",
		"user:1001", "user:2000", "AbC", "aBc", "[abc]", "a^c", "aa", "aaa", "aaaa", "abab",
	}
	for _, k := range keys {
		if v, err := c.Do("SET", k, "1"); err != nil || v.IsError() {
			t.Fatalf("SET %q: %v %v", k, v, err)
		}
	}
	patterns := []string{
		"*", "a*", "*c", "a?c", "a[bX]c", "a[^bX]c", "a[a-z]c", "a[z-a]c", "a\\*c", "a[\\]]c", "a[\\-]c",
		"[", "[^", "[a", "a[", "[a-]", "[]]", "[]", "[^]", "\\", "a\\", "a\\\\c", "h*llo", "h?llo", "h[ae]llo",
		"h[^e]llo", "[A-Z]*", "*[0-9]", "user:1*", "user:?00?", "foo:*", "foo:[a-z]a?", "*\xff", "[\x80-\xff]",
		"[a-\xff]", "[\xff-a]", "a\x00*", "\x00", "*\x00*", "**", "*a*", "*a*a*", "a*a", "*b*", "[*]", "[?]",
		"[[]", "[\\", "[a-c-e]", "[a-]c", "[-a]", "[^-]", "[^^]", "[a-a]", "a[b-]", "z[-]a", "[[]abc]",
	}
	rng := rand.New(rand.NewPCG(7, 7))
	alphabet := []byte("abcXzhHelo*?[]^-\\\xff\x00")
	for i := 0; i < 1500; i++ {
		n := 1 + rng.IntN(7)
		p := make([]byte, n)
		for j := range p {
			p[j] = alphabet[rng.IntN(len(alphabet))]
		}
		patterns = append(patterns, string(p))
	}
	for _, p := range patterns {
		v, err := c.Do("KEYS", p)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, e := range v.Elems {
			want = append(want, string(e.Str))
		}
		sort.Strings(want)
		var got []string
		for _, k := range keys {
			if MatchString(p, k, false) {
				got = append(got, k)
			}
		}
		sort.Strings(got)
		if strings.Join(got, "\x01") != strings.Join(want, "\x01") {
			t.Errorf("pattern %q: got %q, redis %q", p, got, want)
		}
	}
}

func FuzzMatch(f *testing.F) {
	f.Add([]byte("a*[b-c]?\\"), []byte("abc"), false)
	f.Add([]byte("[^"), []byte("x"), true)
	f.Fuzz(func(t *testing.T, p, s []byte, nocase bool) {
		Match(p, s, nocase)
		// A pattern without special bytes matches exactly itself.
		for _, c := range p {
			if c == '*' || c == '?' || c == '[' || c == '\\' {
				return
			}
		}
		if !nocase && Match(p, s, false) != (string(p) == string(s)) {
			t.Fatalf("literal pattern %q vs %q", p, s)
		}
	})
}
