package web

import (
	"fmt"
	"strconv"
	"strings"
)

// info is INFO's reply: section name (lower case) -> field -> value, with
// the sections in the order the node wrote them.
type info struct {
	Sections []string
	Fields   map[string]map[string]string
	Order    map[string][]string
}

func parseInfo(s string) info {
	in := info{Fields: map[string]map[string]string{}, Order: map[string][]string{}}
	sec := ""
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimRight(line, "\r")
		if line == "" {
			continue
		}
		if strings.HasPrefix(line, "# ") {
			sec = strings.ToLower(strings.TrimPrefix(line, "# "))
			in.Sections = append(in.Sections, sec)
			in.Fields[sec] = map[string]string{}
			continue
		}
		k, v, ok := strings.Cut(line, ":")
		if !ok || sec == "" {
			continue
		}
		in.Fields[sec][k] = v
		in.Order[sec] = append(in.Order[sec], k)
	}
	return in
}

// get returns the field's value in any section ("" when absent).
func (in info) get(field string) string {
	for _, sec := range in.Sections {
		if v, ok := in.Fields[sec][field]; ok {
			return v
		}
	}
	return ""
}

func (in info) num(field string) float64 {
	f, _ := strconv.ParseFloat(in.get(field), 64)
	return f
}

// kv is one row of a generic two-column table.
type kv struct{ K, V string }

func (in info) section(sec string) []kv {
	var out []kv
	for _, k := range in.Order[sec] {
		out = append(out, kv{k, in.Fields[sec][k]})
	}
	return out
}

// str renders a reply value as text.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = str(e)
		}
		return "[" + strings.Join(parts, ", ") + "]"
	default:
		return fmt.Sprint(x)
	}
}

func toInt(v any) int64 {
	switch x := v.(type) {
	case int64:
		return x
	case string:
		n, _ := strconv.ParseInt(x, 10, 64)
		return n
	}
	return 0
}

// pairs reads a flat [k1, v1, k2, v2, ...] array (or a RESP3 map) into a
// map with string keys.
func pairs(v any) map[string]any {
	out := map[string]any{}
	switch x := v.(type) {
	case []any:
		for i := 0; i+1 < len(x); i += 2 {
			out[str(x[i])] = x[i+1]
		}
	case map[any]any:
		for k, e := range x {
			out[str(k)] = e
		}
	case map[string]any:
		return x
	}
	return out
}

func list(v any) []any {
	x, _ := v.([]any)
	return x
}

// humanBytes renders a byte count for people.
func humanBytes(n float64) string {
	units := []string{"B", "KiB", "MiB", "GiB", "TiB"}
	i := 0
	for n >= 1024 && i < len(units)-1 {
		n /= 1024
		i++
	}
	if i == 0 {
		return fmt.Sprintf("%.0f %s", n, units[i])
	}
	return fmt.Sprintf("%.1f %s", n, units[i])
}

// humanDuration renders seconds for people.
func humanDuration(sec int64) string {
	switch {
	case sec < 120:
		return fmt.Sprintf("%ds", sec)
	case sec < 7200:
		return fmt.Sprintf("%dm", sec/60)
	case sec < 2*86400:
		return fmt.Sprintf("%dh%02dm", sec/3600, sec%3600/60)
	}
	return fmt.Sprintf("%dd%02dh", sec/86400, sec%86400/3600)
}
