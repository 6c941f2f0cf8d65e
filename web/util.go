package web

import (
	"strconv"
	"strings"
)

func hasSuffix(s, suf string) bool             { return strings.HasSuffix(s, suf) }
func splitComma(s string) []string             { return strings.Split(s, ",") }
func cut(s, sep string) (string, string, bool) { return strings.Cut(s, sep) }
func parseFloat(s string) float64 {
	f, _ := strconv.ParseFloat(strings.TrimSpace(s), 64)
	return f
}
