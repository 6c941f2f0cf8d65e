package query

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// separators are the bytes that split TEXT values into terms: RediSearch's
// default separator set (space, tab and ASCII punctuation except '_').
// A separator escaped with a backslash is part of the term.
var separators = func() (m [256]bool) {
	for _, c := range []byte(" \t,./(){}[]:;~!@#$%^&*-=+|'`\"<>?") {
		m[c] = true
	}
	return m
}()

// DefaultStopWords is RediSearch's default stop-word list: terms that are
// neither indexed nor searched (unless FT.CREATE STOPWORDS replaces it).
var DefaultStopWords = []string{
	"a", "is", "the", "an", "and", "are", "as", "at", "be", "but", "by", "for",
	"if", "in", "into", "it", "no", "not", "of", "on", "or", "such", "that", "their",
	"then", "there", "these", "they", "this", "to", "was", "will", "with",
}

var defaultStop = func() map[string]bool {
	m := make(map[string]bool, len(DefaultStopWords))
	for _, w := range DefaultStopWords {
		m[w] = true
	}
	return m
}()

// IsDefaultStopWord tells whether w (lower case) is a default stop word.
func IsDefaultStopWord(w string) bool { return defaultStop[w] }

// Tokens splits a TEXT value into terms as RediSearch's default tokenizer
// does: split at separators (an escaped separator does not split), drop
// blanks, control characters and escaping backslashes inside a term, lower
// case (Unicode), and skip empty terms and stop words (stop reports them;
// nil keeps every term).
func Tokens(s string, stop func(string) bool) []string {
	var out []string
	start := 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && !(separators[s[i]] && (i == start || s[i-1] != '\\')) {
			continue
		}
		if t := normalize(s[start:i]); t != "" && (stop == nil || !stop(t)) {
			out = append(out, t)
		}
		start = i + 1
	}
	return out
}

// Tokenize is Tokens with the default stop words.
func Tokenize(s string) []string { return Tokens(s, IsDefaultStopWord) }

// normalize removes unescaped blanks, control characters and escaping
// backslashes from a raw term and lower-cases it.
func normalize(raw string) string {
	var b strings.Builder
	escaped := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case (c == ' ' || c == '\t') && !escaped, c < 0x20 || c == 0x7f:
		case c == '\\' && !escaped:
			escaped = true
			continue
		default:
			b.WriteByte(c)
		}
		escaped = false
	}
	t := b.String()
	for i := 0; i < len(t); i++ {
		if c := t[i]; c >= utf8.RuneSelf || ('A' <= c && c <= 'Z') {
			return strings.Map(unicode.ToLower, t)
		}
	}
	return t
}
