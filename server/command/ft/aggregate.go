package ft

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
	"github.com/cairndb/cairn/vector/query"
)

// FT.AGGREGATE runs in two stages:
//
//  1. Docs: on the keyspace that holds the documents, the query picks
//     the matching documents (AggDoc), each with its distances and the
//     document fields the pipeline reads (LOAD'ed ones, @names of APPLY,
//     FILTER, GROUPBY, REDUCE and SORTBY up to the first GROUPBY).
//  2. Run: the pipeline (AggPlan) over those documents, without the
//     keyspace.
//
// A single node runs both; in cluster mode every shard runs stage 1
// (FT._AGGROWS, an internal read), the coordinator merges the shards'
// documents (AggPlan.Merge) and runs stage 2 itself, so one code path
// gives both answers.

// AggDoc is one matching document as the pipeline starts from it.
type AggDoc struct {
	Key string
	// Dist holds the distances the query yields (KNN, $YIELD_DISTANCE_AS).
	Dist search.Dists
	// All is every field of the hash in its order (LOAD * only).
	All [][2]string
	// Fields are the values of the fields the pipeline reads (AggPlan.need)
	// that the document has, by the name the pipeline uses.
	Fields map[string]string
}

// aggRow is one row of the aggregation pipeline: named values in output
// order, and the document it came from (until GROUPBY).
type aggRow struct {
	names []string
	vals  map[string]query.Value
	key   string
	doc   map[string]string
}

func (r *aggRow) set(name string, v query.Value) {
	if _, ok := r.vals[name]; !ok {
		r.names = append(r.names, name)
	}
	r.vals[name] = v
}

// get returns a row's property: a value of the row, else (before GROUPBY)
// the document's field, else null.
func (r *aggRow) get(name string) query.Value {
	if v, ok := r.vals[name]; ok {
		return v
	}
	if r.key != "" {
		if v, ok := r.doc[name]; ok {
			return query.Value{Str: v}
		}
	}
	return query.Value{Null: true}
}

type aggStep func(rows []aggRow) []aggRow

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

// AggPlan is a parsed FT.AGGREGATE: its query and its pipeline.
type AggPlan struct {
	q       *query.Query
	loads   []string
	loadAll bool
	steps   []aggStep
	// need are the document fields the pipeline reads, in first-use
	// order: LOAD'ed fields and the @names read before the first
	// GROUPBY's rows replace the documents.
	need []string
}

// KNN returns the query's KNN clause (nil without one).
func (p *AggPlan) KNN() *query.KNN { return p.q.KNN }

// ParseAggregate parses a whole FT.AGGREGATE command
//
//	FT.AGGREGATE index query [LOAD n @f ... | LOAD *] [GROUPBY n @p ...
//	  [REDUCE COUNT|SUM|AVG|MIN|MAX|COUNT_DISTINCT nargs arg ... [AS name]] ...]
//	  [APPLY expr AS name] [FILTER expr] [SORTBY n @p [ASC|DESC] ... [MAX m]]
//	  [LIMIT offset num] [PARAMS n k v ...] [TIMEOUT ms] [DIALECT d]
//
// (the steps run in the order given), with the errors RediSearch gives:
// the pipeline's first, then the query's. The index is not looked up.
func ParseAggregate(args [][]byte) (*AggPlan, error) {
	p := &AggPlan{}
	params := map[string][]byte{}
	grouped := false
	seen := map[string]bool{}
	need := func(names ...string) {
		if grouped {
			return // rows after a GROUPBY have no document
		}
		for _, n := range names {
			if !seen[n] {
				seen[n] = true
				p.need = append(p.need, n)
			}
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
				return nil, bad(w)
			}
			i++
		case "PARAMS":
			n, err := parseParams(args, i, params)
			if err != nil {
				return nil, err
			}
			i += n
		case "LOAD":
			if i+1 >= len(args) {
				return nil, bad(w)
			}
			if string(args[i+1]) == "*" {
				p.loadAll = true
				i++
				continue
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, command.Msg("Bad arguments for LOAD: Value is outside acceptable bounds")
			}
			for j := i + 2; j < i+2+n; j++ {
				name := strings.TrimPrefix(string(args[j]), "@")
				if j+2 < i+2+n && upper(args[j+1]) == "AS" {
					j += 2 // the alias is accepted; the field keeps its name
				}
				p.loads = append(p.loads, name)
				if !seen[name] {
					// LOAD reads the document wherever it stands.
					seen[name] = true
					p.need = append(p.need, name)
				}
			}
			i += 1 + n
		case "APPLY", "FILTER":
			if i+1 >= len(args) {
				return nil, bad(w)
			}
			e, err := query.ParseExpr(string(args[i+1]))
			if err != nil {
				return nil, command.Msg(err.Error())
			}
			i++
			need(e.Props()...)
			if w == "FILTER" {
				p.steps = append(p.steps, func(rows []aggRow) []aggRow {
					out := rows[:0]
					for k := range rows {
						if v := e.Eval(rows[k].get); !v.Null && (v.IsNum && v.Num != 0 || !v.IsNum && v.Str != "") {
							out = append(out, rows[k])
						}
					}
					return out
				})
				continue
			}
			if i+2 >= len(args) || upper(args[i+1]) != "AS" {
				return nil, command.Msg("Bad arguments for APPLY: AS is required")
			}
			name := string(args[i+2])
			i += 2
			p.steps = append(p.steps, func(rows []aggRow) []aggRow {
				for k := range rows {
					rows[k].set(name, e.Eval(rows[k].get))
				}
				return rows
			})
		case "LIMIT":
			if i+2 >= len(args) {
				return nil, bad(w)
			}
			off, err1 := strconv.Atoi(string(args[i+1]))
			num, err2 := strconv.Atoi(string(args[i+2]))
			if err1 != nil || err2 != nil || off < 0 || num < 0 {
				return nil, command.Msg("Bad arguments for LIMIT: Value is outside acceptable bounds")
			}
			i += 2
			p.steps = append(p.steps, func(rows []aggRow) []aggRow {
				if off >= len(rows) {
					return nil
				}
				return rows[off:min(len(rows), off+num)]
			})
		case "SORTBY":
			if i+1 >= len(args) {
				return nil, bad(w)
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, command.Msg("Bad arguments for SORTBY: Value is outside acceptable bounds")
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
					return nil, err
				}
				keys = append(keys, key{name: p})
				need(p)
			}
			i += 1 + n
			maxN := 0
			if i+2 < len(args) && upper(args[i+1]) == "MAX" {
				if maxN, err = strconv.Atoi(string(args[i+2])); err != nil || maxN < 0 {
					return nil, command.Msg("Bad arguments for MAX: Value is outside acceptable bounds")
				}
				i += 2
			}
			p.steps = append(p.steps, func(rows []aggRow) []aggRow {
				slices.SortStableFunc(rows, func(a, b aggRow) int {
					for _, k := range keys {
						av, bv := a.get(k.name), b.get(k.name)
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
				return rows
			})
		case "GROUPBY":
			if i+1 >= len(args) {
				return nil, bad(w)
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, command.Msg("Bad arguments for GROUPBY: Value is outside acceptable bounds")
			}
			var by []string
			for _, a := range args[i+2 : i+2+n] {
				p, err := prop(a)
				if err != nil {
					return nil, err
				}
				by = append(by, p)
			}
			need(by...)
			i += 1 + n
			var reds []reducer
			for i+1 < len(args) && upper(args[i+1]) == "REDUCE" {
				r, used, err := parseReducer(args[i+2:])
				if err != nil {
					return nil, err
				}
				if r.arg != "" {
					need(r.arg)
				}
				reds = append(reds, r)
				i += 1 + used
			}
			p.steps = append(p.steps, func(rows []aggRow) []aggRow {
				return groupBy(rows, by, reds)
			})
			grouped = true
		default:
			return nil, command.Msg("Unknown argument `" + string(args[i]) + "`")
		}
	}
	q, err := query.Parse(string(args[2]), params)
	if err != nil {
		return nil, command.Msg(err.Error())
	}
	p.q = q
	return p, nil
}

// ftAggregate implements FT.AGGREGATE (ParseAggregate) on one keyspace.
func ftAggregate(c *command.Ctx, args [][]byte) (reply.Value, error) {
	p, docs, _, err := aggDocs(c, args)
	if err != nil {
		return reply.Value{}, err
	}
	return p.Run(docs), nil
}

// aggDocs looks up the index, parses the command and runs its query:
// the matching documents in the index's order, and the KNN score name.
func aggDocs(c *command.Ctx, args [][]byte) (*AggPlan, []AggDoc, string, error) {
	ix, err := lookup(c, args[1], string(args[1])+": no such index")
	if err != nil {
		return nil, nil, "", err
	}
	p, err := ParseAggregate(args)
	if err != nil {
		return nil, nil, "", err
	}
	res, err := ix.Run(c.DB, c.Now, p.q)
	if err != nil {
		return nil, nil, "", command.Msg(err.Error())
	}
	ids := make([]string, len(p.need))
	for k, n := range p.need {
		ids[k] = n
		if f := ix.Def.Field(n); f != nil {
			ids[k] = f.Identifier
		}
	}
	docs := make([]AggDoc, 0, len(res.Hits))
	for _, h := range res.Hits {
		d := AggDoc{Key: h.Key, Dist: h.Dist}
		if hh := liveHash(c, h.Key); hh != nil {
			if p.loadAll {
				d.All = make([][2]string, 0, hh.Len())
				hh.Each(func(name string, value []byte) bool {
					d.All = append(d.All, [2]string{name, string(value)})
					return true
				})
			}
			for k, n := range p.need {
				if v, ok := hh.Get([]byte(ids[k])); ok {
					if d.Fields == nil {
						d.Fields = make(map[string]string, len(p.need))
					}
					d.Fields[n] = string(v)
				}
			}
		}
		docs = append(docs, d)
	}
	return p, docs, res.ScoreField, nil
}

// Run runs the pipeline over docs (in the order the index gives them)
// and builds FT.AGGREGATE's reply.
func (p *AggPlan) Run(docs []AggDoc) reply.Value {
	rows := make([]aggRow, 0, len(docs))
	for _, d := range docs {
		r := aggRow{vals: map[string]query.Value{}, key: d.Key, doc: d.Fields}
		for _, x := range d.Dist { // sorted by name
			r.set(x.Name, query.Value{Num: float64(x.D), IsNum: true})
		}
		for _, kv := range d.All {
			r.set(kv[0], query.Value{Str: kv[1]})
		}
		for _, l := range p.loads {
			if v, ok := d.Fields[l]; ok {
				r.set(l, query.Value{Str: v})
			}
		}
		rows = append(rows, r)
	}
	total := len(rows)
	for _, st := range p.steps {
		rows = st(rows)
		total = len(rows)
	}
	return aggReply(rows, total)
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
func groupBy(rows []aggRow, by []string, reds []reducer) []aggRow {
	type group struct {
		row  aggRow
		rows []*aggRow
	}
	var order []string
	groups := map[string]*group{}
	for k := range rows {
		var id strings.Builder
		vals := make([]query.Value, len(by))
		for j, b := range by {
			vals[j] = rows[k].get(b)
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
			gr.row.set(r.as, reduce(r, gr.rows))
		}
		out = append(out, gr.row)
	}
	return out
}

func reduce(r reducer, rows []*aggRow) query.Value {
	num := func(f float64) query.Value { return query.Value{Num: f, IsNum: true} }
	switch r.fn {
	case "COUNT":
		return num(float64(len(rows)))
	case "COUNT_DISTINCT":
		seen := map[string]bool{}
		for _, x := range rows {
			if v := x.get(r.arg); !v.Null {
				seen[valString(v)] = true
			}
		}
		return num(float64(len(seen)))
	}
	sum, n := 0.0, 0
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range rows {
		f, ok := x.get(r.arg).ToNumber()
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
