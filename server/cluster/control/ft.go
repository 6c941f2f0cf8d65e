package control

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"maps"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/ft"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
	"github.com/cairndb/cairn/vector/query"
)

// FT.* in cluster mode (see DESIGN.md, "FT.* across shards"). An index
// is one per shard, over that shard's keys; these commands have no key,
// so instead of running over the shards this node leads (RouteNode) they
// run on every shard's leader, wherever it is: this node's own shards
// directly, the others through CLUSTER FTSHARD on the leader's node.

const (
	ftNone = iota
	ftWrite
	ftSearch
	ftAggregate
	ftInfo
	ftAny // FT._LIST, FT.EXPLAIN: any one shard answers
)

func ftKind(spec *command.Spec) int {
	if spec == nil || !strings.HasPrefix(spec.Name, "ft.") {
		return ftNone
	}
	switch spec.Name {
	case "ft.create", "ft.dropindex", "ft.drop", "ft.aliasadd", "ft.aliasupdate", "ft.aliasdel":
		return ftWrite
	case "ft.search":
		return ftSearch
	case "ft.aggregate":
		return ftAggregate
	case "ft.info":
		return ftInfo
	case "ft._list", "ft.explain":
		return ftAny
	}
	return ftNone
}

// ftReadKind tells whether spec is an FT read that spans the cluster.
func ftReadKind(spec *command.Spec) bool {
	switch ftKind(spec) {
	case ftSearch, ftAggregate, ftInfo, ftAny:
		return true
	}
	return false
}

// ftRetry is how long a fan-out keeps retrying a shard without a
// reachable leader (an election, a node restarting).
const ftRetry = 5 * time.Second

// ftShards lists every shard of the cluster.
func (c *Plane) ftShards() []uint64 {
	topo := c.machine.Topology()
	out := make([]uint64, 0, len(topo.Shards))
	for _, sh := range topo.Shards {
		out = append(out, sh.ID)
	}
	return out
}

// ftOnShard runs one FT command on shard sid's leader and returns its
// reply, retrying while the shard has no reachable leader. A read with
// replicas set (a READONLY connection) runs on this node's replica of the
// shard when there is one, without a barrier: stale reads allowed, as
// for a READONLY read of a key.
func (c *Plane) ftOnShard(sid uint64, write, replicas bool, now time.Time, spec *command.Spec, args [][]byte) reply.Value {
	deadline := time.Now().Add(ftRetry)
	for {
		v, retry := c.ftTry(sid, write, replicas, now, spec, args)
		if !retry || time.Now().After(deadline) {
			return v
		}
		select {
		case <-c.quit:
			return v
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// ftTry makes one attempt; retry is true only when the command certainly
// did not run (no leader, not the leader any more, connection refused),
// so retrying a write cannot apply it twice, or when a read timed out (a
// read changes nothing).
func (c *Plane) ftTry(sid uint64, write, replicas bool, now time.Time, spec *command.Spec, args [][]byte) (reply.Value, bool) {
	if s := c.host.Shard(sid); s != nil {
		if replicas && !write {
			return s.ReadAt(now, spec, args), false
		}
		if s.IsLeader() {
			return c.ftLocal(s, write, now, spec, args)
		}
	}
	topo := c.machine.Topology()
	ln := c.leaderNode(topo, sid)
	nd := topo.Node(ln)
	if ln == 0 || ln == c.id || nd == nil || nd.ClientAddr == "" {
		return errDown, true
	}
	mode := "r"
	if write {
		mode = "w"
	}
	call := append([][]byte{[]byte("CLUSTER"), []byte("FTSHARD"), []byte(strconv.FormatUint(sid, 10)),
		[]byte(mode), []byte(strconv.FormatInt(now.UnixNano(), 10))}, args...)
	out, err := resp.CallNodeWith(c.cfg.Dial, nd.ClientAddr, 10*time.Second, topo.Secret, call...)
	if err != nil {
		var op *net.OpError
		if strings.Contains(err.Error(), "TRYAGAIN") || (errors.As(err, &op) && op.Op == "dial") {
			return errDown, true
		}
		return reply.Error("ERR shard " + strconv.FormatUint(sid, 10) + ": " + err.Error()), false
	}
	if len(out) != 1 {
		return reply.Error("ERR shard " + strconv.FormatUint(sid, 10) + ": unexpected reply"), false
	}
	v, _, err := reply.Decode(out[0])
	if err != nil {
		return reply.Error("ERR shard " + strconv.FormatUint(sid, 10) + ": " + err.Error()), false
	}
	return v, !write && isReadTimeout(v)
}

// ftLocal runs an FT command on a shard this node leads.
func (c *Plane) ftLocal(s *shard.Shard, write bool, now time.Time, spec *command.Spec, args [][]byte) (reply.Value, bool) {
	if write {
		vals, err := s.Propose(entry.Commands, [][][]byte{args}).Wait()
		if errors.Is(err, shard.ErrNotLeader) {
			return errDown, true // dropped, not appended: nothing applied
		}
		if err != nil {
			return shard.ErrorReply(err), false
		}
		if len(vals) != 1 {
			return reply.Error("ERR unexpected reply count"), false
		}
		return vals[0], false
	}
	v, err := s.LinearRead(now, spec, args)
	if errors.Is(err, shard.ErrNotLeader) {
		return errDown, true
	}
	if err != nil {
		return shard.ErrorReply(err), errors.Is(err, shard.ErrReadTimeout)
	}
	return v, false
}

// ftShardCmd serves CLUSTER FTSHARD <shard> r|w <now ns> <FT command...>
// (internal): the command on this node's replica of the shard, which must
// lead it; the reply is the encoded reply.Value (RESP2 and RESP3 shapes
// both kept), or a TRYAGAIN error when the command did not run.
func (c *Plane) ftShardCmd(args [][]byte) reply.Value {
	if len(args) < 6 {
		return reply.Error("ERR wrong number of arguments for 'cluster|ftshard' command")
	}
	sid, ok := parseShardRef(args[2])
	ns, err := strconv.ParseInt(string(args[4]), 10, 64)
	spec := c.table.Lookup(args[5])
	kind := ftKind(spec)
	if strings.EqualFold(string(args[5]), aggRowsName) {
		spec, kind = ft.AggRowsSpec, ftAggregate // internal, not in the table
	}
	if !ok || err != nil || kind == ftNone {
		return reply.Error("ERR bad CLUSTER FTSHARD request")
	}
	write := string(args[3]) == "w"
	if write != (kind == ftWrite) {
		return reply.Error("ERR bad CLUSTER FTSHARD mode")
	}
	s := c.host.Shard(sid)
	if s == nil || !s.IsLeader() {
		return reply.Error("TRYAGAIN this node does not lead shard " + strconv.FormatUint(sid, 10))
	}
	v, retry := c.ftLocal(s, write, time.Unix(0, ns), spec, args[5:])
	if retry && !isReadTimeout(v) {
		return reply.Error("TRYAGAIN this node does not lead shard " + strconv.FormatUint(sid, 10))
	}
	// A read that timed out travels as its reply; the coordinator
	// retries it (ftTry).
	return reply.Bulk(reply.Append(nil, v))
}

// isReadTimeout tells whether v is shard.ErrReadTimeout's reply.
func isReadTimeout(v reply.Value) bool {
	return v.Kind == reply.KindError && string(v.Str) == shard.ReadTimeoutReply
}

// ftAll runs the command on every shard at once; replies are in shard
// order.
func (c *Plane) ftAll(write, replicas bool, now time.Time, spec *command.Spec, args [][]byte) []reply.Value {
	sids := c.ftShards()
	out := make([]reply.Value, len(sids))
	var wg sync.WaitGroup
	for i, sid := range sids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.ftOnShard(sid, write, replicas, now, spec, args)
		}()
	}
	wg.Wait()
	return out
}

// firstError returns the first error reply in shard order.
func firstError(vs []reply.Value) (reply.Value, bool) {
	for _, v := range vs {
		if v.Kind == reply.KindError {
			return v, true
		}
	}
	return reply.Value{}, false
}

// ftPending is an FT write fanned out to every shard; it runs when
// waited on.
type ftPending struct {
	c    *Plane
	spec *command.Spec
	args [][]byte
}

func (p ftPending) Wait() ([]reply.Value, error) {
	return []reply.Value{p.c.ftWriteAll(p.spec, p.args)}, nil
}

// errFTPending is the reply when the directory has the change but some
// shard has no reachable leader: its leader applies it later (syncFT).
func errFTPending(name string) reply.Value {
	return reply.Error("ERR " + strings.ToUpper(name) + " is committed but not yet applied by every shard; it will be")
}

// ftWriteAll validates an FT write as a shard would, records it in the
// directory (which refuses what a shard's registry refuses, with the same
// error), then applies it on every shard's leader. A shard that misses it
// here (no leader in time) gets it from syncFT; an answer of a shard that
// syncFT reached first ("Index already exists" for FT.CREATE...) counts
// as applied.
func (c *Plane) ftWriteAll(spec *command.Spec, args [][]byte) reply.Value {
	switch spec.Name {
	case "ft.create":
		if _, err := ft.ParseCreate(args[1:]); err != nil {
			return command.ErrorReply(err)
		}
	case "ft.dropindex":
		if !(len(args) == 2 || (len(args) == 3 && strings.EqualFold(string(args[2]), "DD"))) {
			return command.ErrorReply(command.ArityError(spec.Name))
		}
	case "ft.drop":
		if len(args) > 3 {
			return command.ErrorReply(command.ArityError(spec.Name))
		}
	}
	// The directory op "ft" is new with this family: a node whose binary
	// predates it would halt its directory on it, so it is proposed only
	// once every node understands the family's entry format.
	if cv := c.machine.Topology().ClusterVersion(); cv < spec.Format {
		return reply.Error("ERR '" + spec.Name + "' needs cluster version " + strconv.Itoa(int(spec.Format)) + ", the cluster is at " + strconv.Itoa(int(cv)))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	_, err := c.propose(ctx, cluster.Op{Op: "ft", FT: args})
	cancel()
	if err != nil {
		return command.ErrorReply(command.Msg(err.Error()))
	}
	c.poke()
	vs := c.ftAll(true, false, time.Now(), spec, args)
	if len(vs) == 0 {
		return errFTPending(spec.Name)
	}
	pending := false
	for _, v := range vs {
		if v.Kind != reply.KindError {
			continue
		}
		switch string(v.Str) {
		case "Index already exists", "Unknown Index name", "Alias does not exist", "Alias already exists":
			// syncFT applied it first (or a later change overtook this one).
			continue
		}
		if bytes.HasPrefix(v.Str, []byte("CLUSTERDOWN")) {
			pending = true
			continue
		}
		return v
	}
	if pending {
		return errFTPending(spec.Name)
	}
	return reply.OK
}

// ftSyncState is what syncFT last did for one shard this node leads.
type ftSyncState struct {
	epoch, term uint64    // the directory's FTEpoch and the leader term synced
	want        [2]uint64 // the (epoch, term) seen first at since
	since       time.Time
}

// ftSettle is how long a change must stand before a leader brings its
// shard to it: the node that made it applies it on every shard itself
// (ftWriteAll); syncFT is the fallback, and must not overtake it (an
// FT.DROPINDEX DD reached first by syncFT would keep the documents).
const ftSettle = 2 * time.Second

// syncFT, run by a shard's leader, brings the shard's indexes and aliases
// to the directory's: an index the directory lacks is dropped (without
// its documents), one the shard lacks is created from its FT.CREATE
// arguments, and every alias is set (FT.ALIASUPDATE). It compares index
// names only, once per directory change and leader term.
func (c *Plane) syncFT(topo *cluster.Topology, s *shard.Shard) {
	if topo.FTEpoch == 0 {
		return // no FT command ever ran in this cluster
	}
	_, term, ok := s.Leader()
	if !ok {
		return
	}
	sid := s.ID()
	key := [2]uint64{topo.FTEpoch, term}
	c.mu.Lock()
	if c.ftSync == nil {
		c.ftSync = map[uint64]*ftSyncState{}
	}
	st := c.ftSync[sid]
	if st == nil {
		st = &ftSyncState{}
		c.ftSync[sid] = st
	}
	if st.epoch == topo.FTEpoch && st.term == term {
		c.mu.Unlock()
		return
	}
	if st.want != key {
		st.want, st.since = key, time.Now()
	}
	ready := time.Since(st.since) >= ftSettle
	c.mu.Unlock()
	if !ready {
		return
	}
	if _, busy := c.ftBusy.LoadOrStore(sid, true); busy {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.ftBusy.Delete(sid)
		if err := c.ftSyncShard(topo, s); err != nil {
			c.log.Warn("sync FT indexes", "shard", sid, "err", err)
			return
		}
		c.mu.Lock()
		st.epoch, st.term = key[0], key[1]
		c.mu.Unlock()
	}()
}

func (c *Plane) ftSyncShard(topo *cluster.Topology, s *shard.Shard) error {
	spec := c.table.Lookup([]byte("ft._list"))
	if spec == nil {
		return errors.New("no FT._LIST")
	}
	v, err := s.LinearRead(time.Now(), spec, [][]byte{[]byte("FT._LIST")})
	if err != nil {
		return err
	}
	if v.Kind == reply.KindByProto && len(v.Elems) == 2 {
		v = v.Elems[0]
	}
	if v.Kind == reply.KindError {
		return errors.New(string(v.Str))
	}
	have := map[string]bool{}
	for _, e := range v.Elems {
		have[string(e.Str)] = true
	}
	var cmds [][][]byte
	for _, n := range slices.Sorted(maps.Keys(have)) {
		if _, ok := topo.FTIndexes[n]; !ok {
			cmds = append(cmds, [][]byte{[]byte("FT.DROPINDEX"), []byte(n)})
		}
	}
	for _, n := range slices.Sorted(maps.Keys(topo.FTIndexes)) {
		if !have[n] {
			cmds = append(cmds, append([][]byte{[]byte("FT.CREATE")}, topo.FTIndexes[n]...))
		}
	}
	for _, a := range slices.Sorted(maps.Keys(topo.FTAliases)) {
		cmds = append(cmds, [][]byte{[]byte("FT.ALIASUPDATE"), []byte(a), []byte(topo.FTAliases[a])})
	}
	for _, cmd := range cmds {
		vals, err := s.Propose(entry.Commands, [][][]byte{cmd}).Wait()
		if err != nil {
			return err
		}
		if len(vals) == 1 && vals[0].Kind == reply.KindError {
			c.log.Warn("sync FT indexes", "shard", s.ID(), "cmd", string(cmd[0]), "index", string(cmd[1]), "err", string(vals[0].Str))
		}
	}
	return nil
}

// ftPropose handles a keyless proposal of FT writes; ok is false when
// cmds are not (only) one FT write.
func (c *Plane) ftPropose(cmds [][][]byte) (session.Pending, bool) {
	if len(cmds) != 1 || len(cmds[0]) == 0 {
		return nil, false
	}
	spec := c.table.Lookup(cmds[0][0])
	if ftKind(spec) != ftWrite {
		return nil, false
	}
	return ftPending{c: c, spec: spec, args: cmds[0]}, true
}

// ftRead answers an FT read over every shard (from replicas when
// replicas is set: a READONLY connection); ok is false for other
// commands.
func (c *Plane) ftRead(now time.Time, spec *command.Spec, args [][]byte, replicas bool) (reply.Value, bool) {
	switch ftKind(spec) {
	case ftAny:
		sids := c.ftShards()
		if len(sids) == 0 {
			return errDown, true
		}
		return c.ftOnShard(sids[0], false, replicas, now, spec, args), true
	case ftInfo:
		vs := c.ftAll(false, replicas, now, spec, args)
		if e, ok := firstError(vs); ok {
			return e, true
		}
		if len(vs) == 0 {
			return errDown, true
		}
		return mergeInfo(vs), true
	case ftSearch:
		return c.ftSearchAll(now, spec, args, replicas), true
	case ftAggregate:
		return c.ftAggregateAll(now, spec, args, replicas), true
	}
	return reply.Value{}, false
}

// mergeInfo adds up FT.INFO's counters over the shards: the first
// shard's reply with num_docs, num_records, hash_indexing_failures,
// vector_index_sz_mb summed, max_doc_id and indexing the largest,
// percent_indexed the smallest.
func mergeInfo(vs []reply.Value) reply.Value {
	return mergeInfoAt(vs, func(v reply.Value) reply.Value { return v })
}

func mergeInfoAt(vs []reply.Value, get func(reply.Value) reply.Value) reply.Value {
	first := get(vs[0])
	if first.Kind == reply.KindByProto && len(first.Elems) == 2 {
		out := first
		out.Elems = []reply.Value{
			mergeInfoAt(vs, func(v reply.Value) reply.Value { return elem(get(v), 0) }),
			mergeInfoAt(vs, func(v reply.Value) reply.Value { return elem(get(v), 1) }),
		}
		return out
	}
	if first.Kind != reply.KindMap && first.Kind != reply.KindArray && first.Kind != reply.KindPairs {
		return first
	}
	out := first
	out.Elems = slices.Clone(first.Elems)
	for i := 0; i+1 < len(out.Elems); i += 2 {
		name := string(out.Elems[i].Str)
		var op string
		switch name {
		case "num_docs", "num_records", "hash_indexing_failures", "vector_index_sz_mb", "total_indexing_time":
			op = "sum"
		case "max_doc_id", "indexing":
			op = "max"
		case "percent_indexed":
			op = "min"
		default:
			continue
		}
		acc := 0.0
		for j, v := range vs {
			e := elem(get(v), i+1)
			x := asFloat(e)
			switch {
			case j == 0:
				acc = x
			case op == "sum":
				acc += x
			case op == "max":
				acc = max(acc, x)
			default:
				acc = min(acc, x)
			}
		}
		v := out.Elems[i+1]
		if v.Kind == reply.KindInt {
			out.Elems[i+1] = reply.Int(int64(acc))
		} else {
			v.Str = []byte(strconv.FormatFloat(acc, 'g', -1, 64))
			out.Elems[i+1] = v
		}
	}
	return out
}

func elem(v reply.Value, i int) reply.Value {
	if i < len(v.Elems) {
		return v.Elems[i]
	}
	return reply.Value{}
}

// ftSearchPlan is an FT.SEARCH as the coordinator merges it.
type ftSearchPlan struct {
	offset, num int
	sortBy      string
	desc        bool
	knn         *query.KNN
	score       string // the KNN distance's name
	withScores  bool
	byScore     bool // no SORTBY nor KNN: merged by relevance score
	noContent   bool // as asked by the client
	shardNoCont bool // as asked of the shards
	shardArgs   [][]byte
	// strip are returned fields the client did not ask for (added so the
	// merge can read them); out names the field holding each merge key.
	strip map[string]bool
	out   map[string]string
}

// planSearch parses FT.SEARCH's options as far as the merge needs; ok is
// false for anything it does not understand (the shards then report the
// error).
func planSearch(args [][]byte) (*ftSearchPlan, bool) {
	p := &ftSearchPlan{num: 10, strip: map[string]bool{}, out: map[string]string{}}
	params := map[string][]byte{}
	type ret struct{ name, as string }
	var rets []ret
	retGiven := false
	rest := [][]byte{}
	for i := 3; i < len(args); i++ {
		w := strings.ToUpper(string(args[i]))
		switch w {
		case "NOCONTENT":
			p.noContent = true
			continue
		case "WITHSCORES":
			p.withScores = true
			continue
		case "VERBATIM", "NOSTOPWORDS", "INORDER", "EXPLAINSCORE", "WITHPAYLOADS", "WITHSORTKEYS":
		case "SLOP", "LANGUAGE", "EXPANDER", "SCORER", "PAYLOAD", "TIMEOUT", "DIALECT":
			if i+1 >= len(args) {
				return nil, false
			}
			rest = append(rest, args[i])
			i++
		case "LIMIT":
			if i+2 >= len(args) {
				return nil, false
			}
			off, err1 := strconv.Atoi(string(args[i+1]))
			num, err2 := strconv.Atoi(string(args[i+2]))
			if err1 != nil || err2 != nil || off < 0 || num < 0 || off+num > 1000000 {
				return nil, false
			}
			p.offset, p.num = off, num
			i += 2
			continue
		case "SORTBY":
			if i+1 >= len(args) {
				return nil, false
			}
			p.sortBy = strings.TrimPrefix(string(args[i+1]), "@")
			rest = append(rest, args[i], args[i+1])
			i++
			if i+1 < len(args) {
				switch strings.ToUpper(string(args[i+1])) {
				case "ASC":
					i++
					rest = append(rest, args[i])
				case "DESC":
					p.desc = true
					i++
					rest = append(rest, args[i])
				}
			}
			continue
		case "RETURN":
			if i+1 >= len(args) {
				return nil, false
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, false
			}
			retGiven = true
			end := i + 2 + n
			for j := i + 2; j < end; j++ {
				r := ret{name: string(args[j]), as: string(args[j])}
				if j+2 < end && strings.EqualFold(string(args[j+1]), "AS") {
					r.as = string(args[j+2])
					j += 2
				}
				rets = append(rets, r)
			}
			i = end - 1
			continue
		case "PARAMS":
			if i+1 >= len(args) {
				return nil, false
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || n%2 != 0 || i+2+n > len(args) {
				return nil, false
			}
			for j := i + 2; j < i+2+n; j += 2 {
				params[string(args[j])] = args[j+1]
			}
			rest = append(rest, args[i:i+2+n]...)
			i += 1 + n
			continue
		default:
			return nil, false
		}
		rest = append(rest, args[i])
	}
	q, err := query.Parse(string(args[2]), params)
	if err != nil {
		return nil, false
	}
	var need []string
	limit := p.offset + p.num
	if q.KNN != nil {
		p.knn = q.KNN
		p.score = q.KNN.As
		if p.score == "" {
			p.score = "__" + q.KNN.Field + "_score"
		}
		need = append(need, p.score)
		if p.sortBy != "" && p.sortBy != p.score {
			// The cut to K goes by distance, then SORTBY orders it: every
			// shard's whole top K is needed.
			limit = max(limit, q.KNN.K)
		}
	}
	if p.sortBy != "" && !slices.Contains(need, p.sortBy) {
		need = append(need, p.sortBy)
	}
	for _, f := range need {
		p.out[f] = f
	}
	p.byScore = q.KNN == nil && p.sortBy == ""
	if p.withScores || p.byScore {
		// The shards send their scores; the merge orders by them.
		rest = append(rest, []byte("WITHSCORES"))
	}
	p.shardNoCont = p.noContent && len(need) == 0
	if len(need) > 0 && (p.noContent || retGiven) {
		if p.noContent {
			rets = nil
		}
		for _, f := range need {
			found := false
			for _, r := range rets {
				if r.name == f {
					p.out[f], found = r.as, true
					break
				}
			}
			if !found {
				rets = append(rets, ret{name: f, as: f})
				p.strip[f] = true
			}
		}
		retGiven = true
	}
	sa := append([][]byte(nil), args[:3]...)
	sa = append(sa, rest...)
	if p.shardNoCont {
		sa = append(sa, []byte("NOCONTENT"))
	}
	if retGiven && !p.shardNoCont {
		var rv [][]byte
		for _, r := range rets {
			rv = append(rv, []byte(r.name))
			if r.as != r.name {
				rv = append(rv, []byte("AS"), []byte(r.as))
			}
		}
		sa = append(sa, []byte("RETURN"), []byte(strconv.Itoa(len(rv))))
		sa = append(sa, rv...)
	}
	sa = append(sa, []byte("LIMIT"), []byte("0"), []byte(strconv.Itoa(limit)))
	p.shardArgs = sa
	return p, true
}

// ftHit is one document of one shard's FT.SEARCH reply.
type ftHit struct {
	key    string
	score  float64
	r2     []reply.Value // score and fields after the key (RESP2)
	r3     reply.Value   // the result map (RESP3)
	fields map[string]string
}

// ftSearchAll runs FT.SEARCH on every shard and merges: KNN hits by
// (distance, key), cut to K; then SORTBY (ties keep the distance order,
// or go by key); without either, by key. LIMIT applies to the merge;
// total_results is the sum (at most K for KNN).
func (c *Plane) ftSearchAll(now time.Time, spec *command.Spec, args [][]byte, replicas bool) reply.Value {
	p, ok := planSearch(args)
	if !ok {
		vs := c.ftAll(false, replicas, now, spec, args)
		if e, ok := firstError(vs); ok {
			return e
		}
		if len(vs) == 0 {
			return errDown
		}
		return vs[0]
	}
	vs := c.ftAll(false, replicas, now, spec, p.shardArgs)
	if e, ok := firstError(vs); ok {
		return e
	}
	if len(vs) == 0 {
		return errDown
	}
	stride := 1
	if p.withScores || p.byScore {
		stride++
	}
	if !p.shardNoCont {
		stride++
	}
	var hits []ftHit
	total := int64(0)
	var r3base reply.Value
	for _, v := range vs {
		if v.Kind != reply.KindByProto || len(v.Elems) != 2 {
			return reply.Error("ERR unexpected FT.SEARCH reply from a shard")
		}
		r2, r3 := v.Elems[0], v.Elems[1]
		r3base = r3
		if r2.Kind != reply.KindArray || len(r2.Elems) == 0 || (len(r2.Elems)-1)%stride != 0 {
			return reply.Error("ERR unexpected FT.SEARCH reply from a shard")
		}
		total += r2.Elems[0].Int
		res := mapGet(r3, "results")
		for j, n := 0, (len(r2.Elems)-1)/stride; j < n; j++ {
			e := r2.Elems[1+j*stride : 1+(j+1)*stride]
			h := ftHit{key: string(e[0].Str), r2: e[1:], r3: elem(res, j), fields: map[string]string{}}
			if stride > 1 && (p.withScores || p.byScore) {
				sc := e[1]
				if sc.Kind == reply.KindArray && len(sc.Elems) > 0 {
					sc = sc.Elems[0] // EXPLAINSCORE: [score, explanation]
				}
				h.score, _ = strconv.ParseFloat(string(sc.Str), 64)
			}
			if !p.shardNoCont {
				fs := e[stride-1].Elems
				for k := 0; k+1 < len(fs); k += 2 {
					h.fields[string(fs[k].Str)] = string(fs[k+1].Str)
				}
			}
			hits = append(hits, h)
		}
	}
	byKey := func(a, b ftHit) int { return strings.Compare(a.key, b.key) }
	if p.knn != nil {
		name := p.out[p.score]
		slices.SortFunc(hits, func(a, b ftHit) int {
			if r := compareSort(a.fields, b.fields, name, false); r != 0 {
				return r
			}
			return byKey(a, b)
		})
		hits = hits[:min(len(hits), p.knn.K)]
		total = min(total, int64(p.knn.K))
	} else if p.byScore {
		// Each shard scores with its own term statistics, as RediSearch's
		// coordinator merges them: by score, ties by key.
		slices.SortFunc(hits, func(a, b ftHit) int {
			switch {
			case a.score > b.score:
				return -1
			case a.score < b.score:
				return 1
			}
			return byKey(a, b)
		})
	} else {
		slices.SortFunc(hits, byKey)
	}
	if p.sortBy != "" {
		name := p.out[p.sortBy]
		slices.SortStableFunc(hits, func(a, b ftHit) int { return compareSort(a.fields, b.fields, name, p.desc) })
	}
	if p.offset >= len(hits) {
		hits = nil
	} else {
		hits = hits[p.offset:min(len(hits), p.offset+p.num)]
	}
	out2 := []reply.Value{reply.Int(total)}
	var out3 []reply.Value
	for _, h := range hits {
		out2 = append(out2, reply.BulkString(h.key))
		if p.withScores {
			out2 = append(out2, h.r2[0])
		}
		if !p.noContent {
			out2 = append(out2, reply.Array(p.stripFields(h.r2[len(h.r2)-1].Elems)...))
		}
		doc := h.r3
		doc.Elems = nil
		for k := 0; k+1 < len(h.r3.Elems); k += 2 {
			name := string(h.r3.Elems[k].Str)
			if name == "score" && !p.withScores {
				continue
			}
			if name == "extra_attributes" {
				if p.noContent {
					continue
				}
				m := h.r3.Elems[k+1]
				m.Elems = p.stripFields(m.Elems)
				doc.Elems = append(doc.Elems, h.r3.Elems[k], m)
				continue
			}
			doc.Elems = append(doc.Elems, h.r3.Elems[k], h.r3.Elems[k+1])
		}
		out3 = append(out3, doc)
	}
	r3 := r3base
	r3.Elems = slices.Clone(r3base.Elems)
	for k := 0; k+1 < len(r3.Elems); k += 2 {
		switch string(r3.Elems[k].Str) {
		case "results":
			r3.Elems[k+1] = reply.Array(out3...)
		case "total_results":
			r3.Elems[k+1] = reply.Int(total)
		}
	}
	return reply.ByProto(reply.Array(out2...), r3)
}

func (p *ftSearchPlan) stripFields(fs []reply.Value) []reply.Value {
	out := []reply.Value{}
	for k := 0; k+1 < len(fs); k += 2 {
		if !p.strip[string(fs[k].Str)] {
			out = append(out, fs[k], fs[k+1])
		}
	}
	return out
}

func mapGet(m reply.Value, name string) reply.Value {
	for k := 0; k+1 < len(m.Elems); k += 2 {
		if string(m.Elems[k].Str) == name {
			return m.Elems[k+1]
		}
	}
	return reply.Value{}
}

// compareSort orders two hits by a field as FT.SEARCH's SORTBY does:
// numbers numerically when both parse, else as strings; a missing value
// sorts last in both directions.
func compareSort(a, b map[string]string, name string, desc bool) int {
	x, okx := a[name]
	y, oky := b[name]
	switch {
	case !okx && !oky:
		return 0
	case !okx:
		return 1
	case !oky:
		return -1
	}
	var r int
	fx, ex := strconv.ParseFloat(x, 64)
	fy, ey := strconv.ParseFloat(y, 64)
	if ex == nil && ey == nil {
		r = cmp.Compare(fx, fy)
	} else {
		r = strings.Compare(x, y)
	}
	if desc {
		r = -r
	}
	return r
}

// asFloat reads an integer, double or numeric string reply.
func asFloat(v reply.Value) float64 {
	if v.Kind == reply.KindInt {
		return float64(v.Int)
	}
	f, _ := strconv.ParseFloat(string(v.Str), 64)
	return f
}
