package control

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/vector/query"
)

// FT.AGGREGATE across shards, for pipelines that split: row steps (LOAD,
// APPLY, FILTER) then one GROUPBY whose reducers are COUNT, SUM, MIN or
// MAX run on every shard; the coordinator merges the groups (COUNT and
// SUM add up, MIN and MAX take the extreme) and runs the SORTBY and LIMIT
// steps that follow. A KNN query, AVG, COUNT_DISTINCT, or an order-
// dependent step before GROUPBY is refused: merging those needs the rows.

var errAggUnsupported = reply.Error("ERR FT.AGGREGATE over several shards supports row steps, one GROUPBY with COUNT/SUM/MIN/MAX, then SORTBY/LIMIT")

type aggSort struct {
	keys []struct {
		name string
		desc bool
	}
	max int
}

type aggPost struct {
	sort          *aggSort
	limit         bool
	offset, count int
}

type aggPlan struct {
	shardArgs [][]byte
	by        []string
	reds      []struct{ fn, as string }
	post      []aggPost
}

func planAggregate(args [][]byte) (*aggPlan, bool) {
	p := &aggPlan{}
	params := map[string][]byte{}
	grouped := false
	end := len(args)
	for i := 3; i < len(args); i++ {
		w := strings.ToUpper(string(args[i]))
		if grouped && w != "SORTBY" && w != "LIMIT" {
			return nil, false
		}
		switch w {
		case "VERBATIM":
		case "TIMEOUT", "DIALECT", "APPLY", "FILTER":
			i++
			if w == "APPLY" {
				if i+2 >= len(args) || !strings.EqualFold(string(args[i+1]), "AS") {
					return nil, false
				}
				i += 2
			}
		case "PARAMS", "LOAD":
			if i+1 >= len(args) {
				return nil, false
			}
			if w == "LOAD" && string(args[i+1]) == "*" {
				i++
				continue
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, false
			}
			if w == "PARAMS" {
				if n%2 != 0 {
					return nil, false
				}
				for j := i + 2; j < i+2+n; j += 2 {
					params[string(args[j])] = args[j+1]
				}
			}
			i += 1 + n
		case "GROUPBY":
			if i+1 >= len(args) {
				return nil, false
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, false
			}
			for _, a := range args[i+2 : i+2+n] {
				if !strings.HasPrefix(string(a), "@") {
					return nil, false
				}
				p.by = append(p.by, string(a)[1:])
			}
			i += 1 + n
			for i+1 < len(args) && strings.EqualFold(string(args[i+1]), "REDUCE") {
				if i+3 >= len(args) {
					return nil, false
				}
				fn := strings.ToUpper(string(args[i+2]))
				n, err := strconv.Atoi(string(args[i+3]))
				if err != nil || n < 0 || i+4+n > len(args) {
					return nil, false
				}
				arg := ""
				switch fn {
				case "COUNT":
					if n != 0 {
						return nil, false
					}
				case "SUM", "MIN", "MAX":
					if n != 1 || !strings.HasPrefix(string(args[i+4]), "@") {
						return nil, false
					}
					arg = string(args[i+4])[1:]
				default:
					return nil, false
				}
				used := 3 + n
				as := "__generated_alias" + strings.ToLower(fn) + arg
				if i+1+used+1 < len(args) && strings.EqualFold(string(args[i+1+used]), "AS") {
					as = string(args[i+2+used])
					used += 2
				}
				p.reds = append(p.reds, struct{ fn, as string }{fn, as})
				i += used
			}
			grouped = true
			end = i + 1
		case "SORTBY":
			if !grouped || i+1 >= len(args) {
				return nil, false
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, false
			}
			s := &aggSort{}
			for _, a := range args[i+2 : i+2+n] {
				switch strings.ToUpper(string(a)) {
				case "ASC":
					continue
				case "DESC":
					if len(s.keys) > 0 {
						s.keys[len(s.keys)-1].desc = true
					}
					continue
				}
				if !strings.HasPrefix(string(a), "@") {
					return nil, false
				}
				s.keys = append(s.keys, struct {
					name string
					desc bool
				}{name: string(a)[1:]})
			}
			i += 1 + n
			if i+2 < len(args) && strings.EqualFold(string(args[i+1]), "MAX") {
				m, err := strconv.Atoi(string(args[i+2]))
				if err != nil || m < 0 {
					return nil, false
				}
				s.max = m
				i += 2
			}
			p.post = append(p.post, aggPost{sort: s})
		case "LIMIT":
			if !grouped || i+2 >= len(args) {
				return nil, false
			}
			off, err1 := strconv.Atoi(string(args[i+1]))
			num, err2 := strconv.Atoi(string(args[i+2]))
			if err1 != nil || err2 != nil || off < 0 || num < 0 {
				return nil, false
			}
			p.post = append(p.post, aggPost{limit: true, offset: off, count: num})
			i += 2
		default:
			return nil, false
		}
	}
	if !grouped {
		return nil, false
	}
	if q, err := query.Parse(string(args[2]), params); err != nil || q.KNN != nil {
		return nil, false
	}
	p.shardArgs = args[:end]
	return p, true
}

// aggGroup is one merged group: its values by name, in output order.
type aggGroup struct {
	names []string
	vals  map[string]string
}

func (c *Plane) ftAggregateAll(now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	sids := c.ftShards()
	if len(sids) == 1 {
		return c.ftOnShard(sids[0], false, now, spec, args)
	}
	p, ok := planAggregate(args)
	if !ok {
		// The shards report what is wrong with the arguments, if anything.
		vs := c.ftAll(false, now, spec, args)
		if e, bad := firstError(vs); bad {
			return e
		}
		return errAggUnsupported
	}
	vs := c.ftAll(false, now, spec, p.shardArgs)
	if e, bad := firstError(vs); bad {
		return e
	}
	var order []string
	groups := map[string]*aggGroup{}
	for _, v := range vs {
		if v.Kind != reply.KindByProto || len(v.Elems) != 2 || len(v.Elems[0].Elems) == 0 {
			return reply.Error("ERR unexpected FT.AGGREGATE reply from a shard")
		}
		for _, row := range v.Elems[0].Elems[1:] {
			g := &aggGroup{vals: map[string]string{}}
			for k := 0; k+1 < len(row.Elems); k += 2 {
				n := string(row.Elems[k].Str)
				g.names = append(g.names, n)
				g.vals[n] = string(row.Elems[k+1].Str)
			}
			var id strings.Builder
			for _, b := range p.by {
				if x, ok := g.vals[b]; ok {
					id.WriteString(strconv.Quote(x))
				} else {
					id.WriteString("\x00null")
				}
				id.WriteByte(0)
			}
			cur := groups[id.String()]
			if cur == nil {
				groups[id.String()] = g
				order = append(order, id.String())
				continue
			}
			for _, r := range p.reds {
				a, _ := strconv.ParseFloat(cur.vals[r.as], 64)
				b, _ := strconv.ParseFloat(g.vals[r.as], 64)
				switch r.fn {
				case "COUNT", "SUM":
					a += b
				case "MIN":
					a = min(a, b)
				case "MAX":
					a = max(a, b)
				}
				cur.vals[r.as] = aggNum(a)
			}
		}
	}
	rows := make([]*aggGroup, 0, len(order))
	for _, id := range order {
		rows = append(rows, groups[id])
	}
	for _, st := range p.post {
		if st.limit {
			if st.offset >= len(rows) {
				rows = nil
			} else {
				rows = rows[st.offset:min(len(rows), st.offset+st.count)]
			}
			continue
		}
		slices.SortStableFunc(rows, func(a, b *aggGroup) int {
			for _, k := range st.sort.keys {
				av, aok := a.vals[k.name]
				bv, bok := b.vals[k.name]
				var r int
				an, aerr := strconv.ParseFloat(av, 64)
				bn, berr := strconv.ParseFloat(bv, 64)
				switch {
				case !aok && !bok:
				case !aok:
					return 1
				case !bok:
					return -1
				case aerr == nil && berr == nil:
					r = cmp.Compare(an, bn)
				default:
					r = strings.Compare(av, bv)
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
		if st.sort.max > 0 && len(rows) > st.sort.max {
			rows = rows[:st.sort.max]
		}
	}
	r2 := []reply.Value{reply.Int(int64(len(rows)))}
	var r3 []reply.Value
	for _, g := range rows {
		var kv []reply.Value
		for _, n := range g.names {
			kv = append(kv, reply.BulkString(n), reply.BulkString(g.vals[n]))
		}
		r2 = append(r2, reply.Array(kv...))
		r3 = append(r3, reply.Map(reply.BulkString("extra_attributes"), reply.Map(kv...), reply.BulkString("values"), reply.EmptyArray))
	}
	base := vs[0].Elems[1]
	out3 := base
	out3.Elems = slices.Clone(base.Elems)
	for k := 0; k+1 < len(out3.Elems); k += 2 {
		switch string(out3.Elems[k].Str) {
		case "results":
			out3.Elems[k+1] = reply.Array(r3...)
		case "total_results":
			out3.Elems[k+1] = reply.Int(int64(len(rows)))
		}
	}
	return reply.ByProto(reply.Array(r2...), out3)
}

// aggNum formats a merged number as FT.AGGREGATE prints numbers.
func aggNum(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	}
	return strconv.FormatFloat(f, 'g', 12, 64)
}
