package ft

import (
	"errors"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// AggRowsSpec is FT._AGGROWS, the internal read the cluster coordinator
// sends every shard for an FT.AGGREGATE: the same arguments (so a shard
// reports the errors one node would, in the same order), but only the
// query runs; the reply is the matching documents (aggDocs) in the
// index's order, encoded by encodeDocs. It is not in the command table:
// clients cannot send it.
var AggRowsSpec = &command.Spec{
	Name: "ft._aggrows", Arity: -3, Flags: command.ReadOnly,
	ACL: []string{"read", "search", "slow"}, Group: "search",
	Summary: "Runs an FT.AGGREGATE's query and returns its documents for the pipeline (internal)", Since: "1.0.0", Complexity: "O(N)",
	Format: Format,
	Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
		_, docs, score, err := aggDocs(c, args)
		if err != nil {
			return reply.Value{}, err
		}
		return encodeDocs(score, docs), nil
	},
}

// encodeDocs is FT._AGGROWS's reply: [score name, [doc ...]], each doc
// [key, [dist name, value ...], [field, value ...] (LOAD *: the whole
// hash in order), [name, value ...] (Fields, by name)]. Distances are
// float32 written to round-trip exactly, so the coordinator orders KNN
// hits exactly as the engine did.
func encodeDocs(score string, docs []AggDoc) reply.Value {
	out := make([]reply.Value, len(docs))
	for i, d := range docs {
		dist := make([]reply.Value, 0, 2*len(d.Dist))
		for _, x := range d.Dist { // sorted by name
			dist = append(dist, reply.BulkString(x.Name), reply.BulkString(strconv.FormatFloat(float64(x.D), 'g', -1, 32)))
		}
		all := make([]reply.Value, 0, 2*len(d.All))
		for _, kv := range d.All {
			all = append(all, reply.BulkString(kv[0]), reply.BulkString(kv[1]))
		}
		fields := make([]reply.Value, 0, 2*len(d.Fields))
		for _, n := range slices.Sorted(maps.Keys(d.Fields)) {
			fields = append(fields, reply.BulkString(n), reply.BulkString(d.Fields[n]))
		}
		out[i] = reply.Array(reply.BulkString(d.Key), reply.Array(dist...), reply.Array(all...), reply.Array(fields...))
	}
	return reply.Array(reply.BulkString(score), reply.Array(out...))
}

var errBadDocs = errors.New("ERR unexpected FT._AGGROWS reply from a shard")

// DecodeAggDocs reads an FT._AGGROWS reply (encodeDocs).
func DecodeAggDocs(v reply.Value) (score string, docs []AggDoc, err error) {
	if v.Kind != reply.KindArray || len(v.Elems) != 2 || v.Elems[1].Kind != reply.KindArray {
		return "", nil, errBadDocs
	}
	pairs := func(v reply.Value) ([]reply.Value, bool) {
		return v.Elems, v.Kind == reply.KindArray && len(v.Elems)%2 == 0
	}
	docs = make([]AggDoc, 0, len(v.Elems[1].Elems))
	for _, e := range v.Elems[1].Elems {
		if e.Kind != reply.KindArray || len(e.Elems) != 4 {
			return "", nil, errBadDocs
		}
		d := AggDoc{Key: string(e.Elems[0].Str)}
		dist, ok1 := pairs(e.Elems[1])
		all, ok2 := pairs(e.Elems[2])
		fields, ok3 := pairs(e.Elems[3])
		if !ok1 || !ok2 || !ok3 {
			return "", nil, errBadDocs
		}
		for k := 0; k < len(dist); k += 2 {
			f, err := strconv.ParseFloat(string(dist[k+1].Str), 32)
			if err != nil {
				return "", nil, errBadDocs
			}
			d.Dist.Set(string(dist[k].Str), float32(f))
		}
		for k := 0; k < len(all); k += 2 {
			d.All = append(d.All, [2]string{string(all[k].Str), string(all[k+1].Str)})
		}
		for k := 0; k < len(fields); k += 2 {
			if d.Fields == nil {
				d.Fields = map[string]string{}
			}
			d.Fields[string(fields[k].Str)] = string(fields[k+1].Str)
		}
		docs = append(docs, d)
	}
	return string(v.Elems[0].Str), docs, nil
}

// Merge joins the documents of several shards, each in its index's
// order, in the order one index holding them all gives: for a KNN query
// the K nearest by (distance, key), as the engine picks and sorts them;
// otherwise by key (one index gives document-id order, which has no
// meaning across shards — a cluster-wide FT.SEARCH merges by key too).
func (p *AggPlan) Merge(score string, parts [][]AggDoc) []AggDoc {
	var all []AggDoc
	for _, part := range parts {
		all = append(all, part...)
	}
	if knn := p.q.KNN; knn != nil {
		slices.SortFunc(all, func(a, b AggDoc) int {
			x, _ := a.Dist.Get(score)
			y, _ := b.Dist.Get(score)
			switch {
			case x < y:
				return -1
			case x > y:
				return 1
			}
			return strings.Compare(a.Key, b.Key)
		})
		return all[:min(len(all), knn.K)]
	}
	slices.SortFunc(all, func(a, b AggDoc) int { return strings.Compare(a.Key, b.Key) })
	return all
}
