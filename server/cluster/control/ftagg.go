package control

import (
	"strings"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/ft"
	"github.com/cairndb/cairn/server/reply"
)

// FT.AGGREGATE across shards (DESIGN.md, "FT.* across shards"): every
// shard runs only the query — FT._AGGROWS (ft.AggRowsSpec) with the
// client's arguments, answering the matching documents with their
// distances and the fields the pipeline reads — and the coordinator
// merges them in the order one index holding all the data gives (KNN:
// the K nearest by (distance, key)) and runs the whole pipeline itself
// with the single-node code (ft.AggPlan.Run). Any pipeline merges.

// aggRowsName is FT._AGGROWS as sent in CLUSTER FTSHARD. It is not in
// the command table: a node whose binary predates it refuses the request
// ("bad CLUSTER FTSHARD request").
const aggRowsName = "FT._AGGROWS"

func (c *Plane) ftAggregateAll(now time.Time, spec *command.Spec, args [][]byte, replicas bool) reply.Value {
	sids := c.ftShards()
	switch len(sids) {
	case 0:
		return errDown
	case 1:
		return c.ftOnShard(sids[0], false, replicas, now, spec, args)
	}
	rargs := append([][]byte{[]byte(aggRowsName)}, args[1:]...)
	vs := c.ftAll(false, replicas, now, ft.AggRowsSpec, rargs)
	if e, bad := firstError(vs); bad {
		if strings.Contains(string(e.Str), "bad CLUSTER FTSHARD request") {
			return reply.Error("ERR FT.AGGREGATE over several shards needs every node upgraded: a shard's node does not serve " + aggRowsName + " (" + string(e.Str) + ")")
		}
		return e
	}
	p, err := ft.ParseAggregate(args)
	if err != nil {
		return command.ErrorReply(err) // the shards parsed it; not reached
	}
	score := ""
	parts := make([][]ft.AggDoc, len(vs))
	for i, v := range vs {
		s, docs, err := ft.DecodeAggDocs(v)
		if err != nil {
			return reply.Error(err.Error())
		}
		if score == "" {
			score = s
		}
		parts[i] = docs
	}
	return p.Run(p.Merge(score, parts))
}
