package ft

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/vector/query"
)

// aggRow is one row of the aggregation pipeline: named values in output
// order, and the document it came from (until GROUPBY).
type aggRow struct {
	names []string
	vals  map[string]query.Value
	key   string
}

func (r *aggRow) set(name string, v query.Value) {
	if _, ok := r.vals[name]; !ok {
		r.names = append(r.names, name)
	}
	r.vals[name] = v
}

type aggStep func(rows []aggRow) ([]aggRow, error)

func formatNum(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 12, 64)
}

func valString(v query.Value) string {
	if v.IsNum {
		return formatNum(v.Num)
	}
	return v.Str
}

// ftAggregate implements
//
//	FT.AGGREGATE index query [LOAD n @f ... | LOAD *] [GROUPBY n @p ...
//	  [REDUCE COUNT|SUM|AVG|MIN|MAX|COUNT_DISTINCT nargs arg ... [AS name]] ...]
//	  [APPLY expr AS name] [FILTER expr] [SORTBY n @p [ASC|DESC] ... [MAX m]]
//	  [LIMIT offset num] [PARAMS n k v ...] [TIMEOUT ms] [DIALECT d]
//
// The steps run in the order given.
func ftAggregate(c *command.Ctx, args [][]byte) (reply.Value, error) {
	ix, err := lookup(c, args[1], string(args[1])+": no such index")
	if err != nil {
		return reply.Value{}, err
	}
	params := map[string][]byte{}
	var steps []aggStep
	var loads []string
	loadAll := false
	hashVal := func(r *aggRow, name string) (query.Value, bool) {
		if r.key == "" {
			return query.Value{}, false
		}
		id := name
		if f := ix.Def.Field(name); f != nil {
			id = f.Identifier
		}
		if v, ok := hashField(c, r.key, id); ok {
			return query.Value{Str: string(v)}, true
		}
		return query.Value{}, false
	}
	get := func(r *aggRow) func(string) query.Value {
		return func(name string) query.Value {
			if v, ok := r.vals[name]; ok {
				return v
			}
			if v, ok := hashVal(r, name); ok {
				return v
			}
			return query.Value{Null: true}
		}
	}
	prop := func(b []byte) (string, error) {
		s := string(b)
		if !strings.HasPrefix(s, "@") {
			return "", command.Msg("Bad arguments: property names must start with @: " + s)
		}
		return s[1:], nil
	}
	bad := func(what string) error {
		return command.Msg("Bad arguments for " + what + ": Expected an argument, but none provided")
	}
	for i := 3; i < len(args); i++ {
		switch w := upper(args[i]); w {
		case "VERBATIM":
		case "TIMEOUT", "DIALECT":
			if i+1 >= len(args) {
				return reply.Value{}, bad(w)
			}
			i++
		case "PARAMS":
			n, err := parseParams(args, i, params)
			if err != nil {
				return reply.Value{}, err
			}
			i += n
		case "LOAD":
			if i+1 >= len(args) {
				return reply.Value{}, bad(w)
			}
			if string(args[i+1]) == "*" {
				loadAll = true
				i++
				continue
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return reply.Value{}, command.Msg("Bad arguments for LOAD: Value is outside acceptable bounds")
			}
			for j := i + 2; j < i+2+n; j++ {
				name := strings.TrimPrefix(string(args[j]), "@")
				if j+2 < i+2+n && upper(args[j+1]) == "AS" {
					j += 2 // the alias is accepted; the field keeps its name
				}
				loads = append(loads, name)
			}
			i += 1 + n
		case "APPLY", "FILTER":
			if i+1 >= len(args) {
				return reply.Value{}, bad(w)
			}
			e, err := query.ParseExpr(string(args[i+1]))
			if err != nil {
				return reply.Value{}, command.Msg(err.Error())
			}
			i++
			if w == "FILTER" {
				steps = append(steps, func(rows []aggRow) ([]aggRow, error) {
					out := rows[:0]
					for _, r := range rows {
						if v := e.Eval(get(&r)); !v.Null && (v.IsNum && v.Num != 0 || !v.IsNum && v.Str != "") {
							out = append(out, r)
						}
					}
					return out, nil
				})
				continue
			}
			if i+2 >= len(args) || upper(args[i+1]) != "AS" {
				return reply.Value{}, command.Msg("Bad arguments for APPLY: AS is required")
			}
			name := string(args[i+2])
			i += 2
			steps = append(steps, func(rows []aggRow) ([]aggRow, error) {
				for k := range rows {
					rows[k].set(name, e.Eval(get(&rows[k])))
				}
				return rows, nil
			})
		case "LIMIT":
			if i+2 >= len(args) {
				return reply.Value{}, bad(w)
			}
			off, err1 := strconv.Atoi(string(args[i+1]))
			num, err2 := strconv.Atoi(string(args[i+2]))
			if err1 != nil || err2 != nil || off < 0 || num < 0 {
				return reply.Value{}, command.Msg("Bad arguments for LIMIT: Value is outside acceptable bounds")
			}
			i += 2
			steps = append(steps, func(rows []aggRow) ([]aggRow, error) {
				if off >= len(rows) {
					return nil, nil
				}
				return rows[off:min(len(rows), off+num)], nil
			})
		case "SORTBY":
			if i+1 >= len(args) {
				return reply.Value{}, bad(w)
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return reply.Value{}, command.Msg("Bad arguments for SORTBY: Value is outside acceptable bounds")
			}
			type key struct {
				name string
				desc bool
			}
			var keys []key
			for j := i + 2; j < i+2+n; j++ {
				switch upper(args[j]) {
				case "ASC":
					continue
				case "DESC":
					if len(keys) > 0 {
						keys[len(keys)-1].desc = true
					}
					continue
				}
				p, err := prop(args[j])
				if err != nil {
					return reply.Value{}, err
				}
				keys = append(keys, key{name: p})
			}
			i += 1 + n
			maxN := 0
			if i+2 < len(args) && upper(args[i+1]) == "MAX" {
				if maxN, err = strconv.Atoi(string(args[i+2])); err != nil || maxN < 0 {
					return reply.Value{}, command.Msg("Bad arguments for MAX: Value is outside acceptable bounds")
				}
				i += 2
			}
			steps = append(steps, func(rows []aggRow) ([]aggRow, error) {
				slices.SortStableFunc(rows, func(a, b aggRow) int {
					for _, k := range keys {
						av, bv := get(&a)(k.name), get(&b)(k.name)
						var r int
						an, aok := av.ToNumber()
						bn, bok := bv.ToNumber()
						switch {
						case av.Null && bv.Null:
						case av.Null:
							return 1
						case bv.Null:
							return -1
						case aok && bok:
							r = cmp.Compare(an, bn)
						default:
							r = strings.Compare(av.Str, bv.Str)
						}
						if k.desc {
							r = -r
						}
						if r != 0 {
							return r
						}
					}
					return 0
				})
				if maxN > 0 && len(rows) > maxN {
					rows = rows[:maxN]
				}
				return rows, nil
			})
		case "GROUPBY":
			if i+1 >= len(args) {
				return reply.Value{}, bad(w)
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return reply.Value{}, command.Msg("Bad arguments for GROUPBY: Value is outside acceptable bounds")
			}
			var by []string
			for _, a := range args[i+2 : i+2+n] {
				p, err := prop(a)
				if err != nil {
					return reply.Value{}, err
				}
				by = append(by, p)
			}
			i += 1 + n
			var reds []reducer
			for i+1 < len(args) && upper(args[i+1]) == "REDUCE" {
				r, used, err := parseReducer(args[i+2:])
				if err != nil {
					return reply.Value{}, err
				}
				reds = append(reds, r)
				i += 1 + used
			}
			steps = append(steps, func(rows []aggRow) ([]aggRow, error) {
				return groupBy(rows, by, reds, get), nil
			})
		default:
			return reply.Value{}, command.Msg("Unknown argument `" + string(args[i]) + "`")
		}
	}
	q, err := query.Parse(string(args[2]), params)
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	res, err := ix.Run(c.DB, c.Now, q)
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	rows := make([]aggRow, 0, len(res.Hits))
	for _, h := range res.Hits {
		r := aggRow{vals: map[string]query.Value{}, key: h.Key}
		names := make([]string, 0, len(h.Dist))
		for n := range h.Dist {
			names = append(names, n)
		}
		slices.Sort(names)
		for _, n := range names {
			r.set(n, query.Value{Num: float64(h.Dist[n]), IsNum: true})
		}
		if loadAll {
			if hh := liveHash(c, h.Key); hh != nil {
				hh.Each(func(name string, value []byte) bool {
					r.set(name, query.Value{Str: string(value)})
					return true
				})
			}
		}
		for _, l := range loads {
			if v, ok := hashVal(&r, l); ok {
				r.set(l, v)
			}
		}
		rows = append(rows, r)
	}
	total := len(rows)
	for _, st := range steps {
		if rows, err = st(rows); err != nil {
			return reply.Value{}, err
		}
		total = len(rows)
	}
	return aggReply(rows, total), nil
}

// reducer is one REDUCE clause.
type reducer struct {
	fn, arg, as string
}

func parseReducer(args [][]byte) (reducer, int, error) {
	if len(args) < 2 {
		return reducer{}, 0, command.Msg("Bad arguments for REDUCE: Expected an argument, but none provided")
	}
	r := reducer{fn: upper(args[0])}
	n, err := strconv.Atoi(string(args[1]))
	if err != nil || n < 0 || 2+n > len(args) {
		return r, 0, command.Msg("Bad arguments for REDUCE: Value is outside acceptable bounds")
	}
	switch r.fn {
	case "COUNT":
		if n != 0 {
			return r, 0, command.Msg("Count accepts 0 values only")
		}
	case "SUM", "AVG", "MIN", "MAX", "COUNT_DISTINCT":
		if n != 1 || !strings.HasPrefix(string(args[2]), "@") {
			return r, 0, command.Msg("Bad arguments for " + r.fn + ": expected one @property")
		}
		r.arg = string(args[2])[1:]
	default:
		return r, 0, command.Msg("No such reducer `" + string(args[0]) + "`")
	}
	used := 2 + n
	r.as = "__generated_alias" + strings.ToLower(r.fn) + r.arg
	if used+1 < len(args) && upper(args[used]) == "AS" {
		r.as = string(args[used+1])
		used += 2
	}
	return r, used, nil
}

// groupBy groups rows by the values of by (in first-seen order) and
// computes the reducers of each group.
func groupBy(rows []aggRow, by []string, reds []reducer, get func(*aggRow) func(string) query.Value) []aggRow {
	type group struct {
		row  aggRow
		rows []*aggRow
	}
	var order []string
	groups := map[string]*group{}
	for k := range rows {
		g := get(&rows[k])
		var id strings.Builder
		vals := make([]query.Value, len(by))
		for j, b := range by {
			vals[j] = g(b)
			id.WriteString(strconv.Quote(valString(vals[j])))
			if vals[j].Null {
				id.WriteString("\x00null")
			}
			id.WriteByte(0)
		}
		gr := groups[id.String()]
		if gr == nil {
			gr = &group{row: aggRow{vals: map[string]query.Value{}}}
			for j, b := range by {
				gr.row.set(b, vals[j])
			}
			groups[id.String()] = gr
			order = append(order, id.String())
		}
		gr.rows = append(gr.rows, &rows[k])
	}
	out := make([]aggRow, 0, len(order))
	for _, id := range order {
		gr := groups[id]
		for _, r := range reds {
			gr.row.set(r.as, reduce(r, gr.rows, get))
		}
		out = append(out, gr.row)
	}
	return out
}

func reduce(r reducer, rows []*aggRow, get func(*aggRow) func(string) query.Value) query.Value {
	num := func(f float64) query.Value { return query.Value{Num: f, IsNum: true} }
	switch r.fn {
	case "COUNT":
		return num(float64(len(rows)))
	case "COUNT_DISTINCT":
		seen := map[string]bool{}
		for _, x := range rows {
			if v := get(x)(r.arg); !v.Null {
				seen[valString(v)] = true
			}
		}
		return num(float64(len(seen)))
	}
	sum, n := 0.0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range rows {
		f, ok := get(x)(r.arg).ToNumber()
		if !ok {
			continue
		}
		sum += f
		n++
		lo, hi = min(lo, f), max(hi, f)
	}
	switch r.fn {
	case "SUM":
		return num(sum)
	case "AVG":
		if n == 0 {
			return num(0)
		}
		return num(sum / float64(n))
	case "MIN":
		return num(lo)
	}
	return num(hi)
}

// aggReply is FT.AGGREGATE's reply: RESP2 `[total, [k, v, ...], ...]`,
// RESP3 a map with attributes, format, results (each with
// extra_attributes and values), total_results and warning.
func aggReply(rows []aggRow, total int) reply.Value {
	r2 := []reply.Value{reply.Int(int64(total))}
	var r3 []reply.Value
	for _, r := range rows {
		var kv []reply.Value
		for _, n := range r.names {
			v := r.vals[n]
			if v.Null {
				continue
			}
			kv = append(kv, reply.BulkString(n), reply.BulkString(valString(v)))
		}
		r2 = append(r2, reply.Array(kv...))
		r3 = append(r3, reply.Map(reply.BulkString("extra_attributes"), reply.Map(kv...), reply.BulkString("values"), reply.EmptyArray))
	}
	return reply.ByProto(reply.Array(r2...), reply.Map(
		reply.BulkString("attributes"), reply.EmptyArray,
		reply.BulkString("format"), reply.BulkString("STRING"),
		reply.BulkString("results"), reply.Array(r3...),
		reply.BulkString("total_results"), reply.Int(int64(total)),
		reply.BulkString("warning"), reply.EmptyArray,
	))
}
