package vsets

import (
	"math"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/vector"
	"github.com/cairndb/cairn/vector/vexpr"
)

// vsim implements
//
//	VSIM key (ELE | FP32 | VALUES num) (vector | element) [WITHSCORES]
//	     [WITHATTRIBS] [COUNT num] [EPSILON delta] [EF search-exploration-factor]
//	     [FILTER expression] [FILTER-EF max-filtering-effort] [TRUTH] [NOTHREAD]
//
// It replies the COUNT (default 10) most similar elements, best first
// (ties by name). WITHSCORES adds the similarity 1 - cosine distance/2;
// WITHATTRIBS the JSON attribute (null if none). RESP3 clients get a map
// element -> score (or attribute, or [score, attribute]) when either is
// asked, as Redis 8 replies. EF defaults to 100 and is at least COUNT;
// TRUTH scans every element exactly (with FILTER: every matching one).
// FILTER admits only elements whose attribute matches the expression,
// evaluated during the traversal, with Redis's bounded effort: the graph
// search walks through non-matching elements too and stops after
// examining FILTER-EF candidates (default COUNT*100; Redis refuses 0 with
// "invalid FILTER-EF" although its documentation calls 0 unlimited, and
// so does Cairn), so a very selective filter may return fewer than COUNT
// elements, as in Redis. NOTHREAD is accepted: reads always run on the
// connection's goroutine.
func vsim(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readVSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.EmptyArray, nil
	}
	var q []float32
	used := 0
	if command.EqualFold(args[2], "ele") {
		name := string(args[3])
		v, _ := s.Vector(name)
		if v == nil {
			return reply.Value{}, errNotFound
		}
		// As Redis: the element's dequantized vector, normalised again
		// and quantized like any query.
		q, _ = s.Prepare(v)
		used = 2
	} else {
		v, _, n, ok := parseVector(args, 2, false)
		if !ok {
			return reply.Value{}, errVectorSpec
		}
		if s.ProjectionInput() > 0 && len(v) != s.Dim() {
			if len(v) != s.ProjectionInput() {
				return reply.Value{}, projMismatch(len(v), s.ProjectionInput())
			}
			v = s.Project(v)
		}
		if !command.EqualFold(args[2], "fp32") && !command.EqualFold(args[2], "values") {
			return reply.Value{}, errVsimType
		}
		if len(v) != s.Dim() {
			return reply.Value{}, dimMismatch(len(v), s.Dim())
		}
		q, _ = s.Prepare(v)
		used = n
	}
	withScores, withAttribs, truth := false, false, false
	count, ef, filterEF := int64(defaultCount), int64(0), int64(0)
	epsilon := 2.0
	var filter *vexpr.Expr
	for j := 2 + used; j < len(args); j++ {
		a := args[j]
		more := j+1 < len(args)
		switch {
		case command.EqualFold(a, "withscores"):
			withScores = true
		case command.EqualFold(a, "withattribs"):
			withAttribs = true
		case command.EqualFold(a, "truth"):
			truth = true
		case command.EqualFold(a, "nothread"):
		case command.EqualFold(a, "count") && more:
			n, err := command.ParseInt(args[j+1])
			if err != nil || n <= 0 {
				return reply.Value{}, errCount
			}
			count = n
			j++
		case command.EqualFold(a, "epsilon") && more:
			f, err := command.ParseFloat(args[j+1])
			if err != nil || f <= 0 || math.IsNaN(f) {
				return reply.Value{}, errEpsilon
			}
			epsilon = f
			j++
		case command.EqualFold(a, "ef") && more:
			n, err := command.ParseInt(args[j+1])
			if err != nil || n <= 0 || n > maxEF {
				return reply.Value{}, errInvalidEF
			}
			ef = n
			j++
		case command.EqualFold(a, "filter-ef") && more:
			n, err := command.ParseInt(args[j+1])
			if err != nil || n <= 0 {
				return reply.Value{}, errFilterEF
			}
			filterEF = n
			j++
		case command.EqualFold(a, "filter") && more:
			e, err := vexpr.Compile(string(args[j+1]))
			if err != nil {
				return reply.Value{}, command.Msg("ERR " + err.Error())
			}
			filter = e
			j++
		default:
			return reply.Value{}, errVsimSyntax
		}
	}
	if ef == 0 {
		ef = defaultSearchEF
	}
	ef = max(ef, count)
	if filterEF == 0 {
		filterEF = min(count, math.MaxInt64/100) * 100
	}
	k := int(min(count, int64(s.Len())))
	opt := &vector.SearchOptions{EF: int(min(ef, int64(s.Len()))), Exact: truth}
	if filter != nil {
		opt.MaxCandidates = int(min(filterEF, math.MaxInt32))
		opt.Filter = func(name string) bool {
			e, ok := s.Elem(name)
			return ok && filter.Match(e.Fields)
		}
	}
	res, err := s.Search(q, k, opt)
	if err != nil {
		return reply.Value{}, err
	}
	var out []reply.Value
	var pairs3 []reply.Value // RESP3 map values when both are asked
	for _, r := range res {
		if float64(r.Distance/2) > epsilon {
			break
		}
		out = append(out, reply.BulkString(r.Key))
		var score, attr reply.Value
		if withScores {
			// Quantized dot products may exceed 1 by a rounding
			// step; the similarity is kept within [0, 1].
			score = double(1 - float64(min(max(r.Distance, 0), 2))/2)
			out = append(out, score)
		}
		if withAttribs {
			attr = reply.Nil
			if e, _ := s.Elem(r.Key); e != nil && e.Attr != "" {
				attr = reply.BulkString(e.Attr)
			}
			out = append(out, attr)
		}
		if withScores && withAttribs {
			pairs3 = append(pairs3, reply.BulkString(r.Key), reply.Array(score, attr))
		}
	}
	switch {
	case withScores && withAttribs:
		return reply.ByProto(reply.Array(out...), reply.Map(pairs3...)), nil
	case withScores || withAttribs:
		return reply.Map(out...), nil
	}
	return reply.Array(out...), nil
}

// vemb implements VEMB key element [RAW]: the element's vector,
// dequantized and scaled back by its norm (an approximation of what was
// added; BIN gives ±1), or with RAW the quantization name, the stored
// bytes, the norm and (Q8) the range. Null for a missing key or element.
func vemb(c *command.Ctx, args [][]byte) (reply.Value, error) {
	raw := false
	for _, a := range args[3:] {
		if !command.EqualFold(a, "raw") {
			return reply.Value{}, errVembOption
		}
		raw = true
	}
	s, err := readVSet(c, args[1])
	if err != nil || s == nil {
		return reply.Nil, err
	}
	name := string(args[2])
	if raw {
		b, e, rng, ok := s.Raw(name)
		if !ok {
			return reply.Nil, nil
		}
		out := []reply.Value{reply.Status(s.Quant().String()), reply.Bulk(b), double(float64(e.Norm))}
		if s.Quant() == keyspace.QuantQ8 {
			out = append(out, double(float64(rng)))
		}
		return reply.Array(out...), nil
	}
	v, ok := s.Embedding(name)
	if !ok {
		return reply.Nil, nil
	}
	out := make([]reply.Value, len(v))
	for i, x := range v {
		out[i] = double(float64(x))
	}
	return reply.Array(out...), nil
}

// vcard implements VCARD key: the number of elements (0 for no key).
func vcard(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readVSet(c, args[1])
	if err != nil || s == nil {
		return reply.Int(0), err
	}
	return reply.Int(int64(s.Len())), nil
}

// vdim implements VDIM key: the (reduced) dimension of the set's vectors.
func vdim(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readVSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.Value{}, errNoKey
	}
	return reply.Int(int64(s.Dim())), nil
}

// vinfo implements VINFO key: Redis 8's nine fields as a map (a flat
// array for RESP2), a null array for no key.
func vinfo(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readVSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.NilArray, nil
	}
	return reply.Map(
		reply.Status("quant-type"), reply.Status(s.Quant().String()),
		reply.Status("hnsw-m"), reply.Int(int64(s.M())),
		reply.Status("vector-dim"), reply.Int(int64(s.Dim())),
		reply.Status("projection-input-dim"), reply.Int(int64(s.ProjectionInput())),
		reply.Status("size"), reply.Int(int64(s.Len())),
		reply.Status("max-level"), reply.Int(int64(s.MaxLevel())),
		reply.Status("attributes-count"), reply.Int(int64(s.Attrs())),
		reply.Status("vset-uid"), reply.Int(int64(s.UID())),
		reply.Status("hnsw-max-node-uid"), reply.Int(int64(s.LastID())),
	), nil
}

// vgetattr implements VGETATTR key element: the JSON attribute, or null.
func vgetattr(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readVSet(c, args[1])
	if err != nil || s == nil {
		return reply.Nil, err
	}
	e, ok := s.Elem(string(args[2]))
	if !ok || e.Attr == "" {
		return reply.Nil, nil
	}
	return reply.BulkString(e.Attr), nil
}

// vismember implements VISMEMBER key element.
func vismember(c *command.Ctx, args [][]byte) (reply.Value, error) {
	s, err := readVSet(c, args[1])
	if err != nil || s == nil {
		return reply.Bool(false), err
	}
	_, ok := s.Elem(string(args[2]))
	return reply.Bool(ok), nil
}

// maxRandCount bounds VRANDMEMBER's reply with a negative count (Redis
// would build a reply of any size).
const maxRandCount = 1 << 22

// vrandmember implements VRANDMEMBER key [count]: one random element
// (null for no key); with a positive count up to count distinct elements
// (random picks while they are at most 20% of the set, else a walk in
// name order from a random start, as Redis); with a negative count
// |count| picks that may repeat.
func vrandmember(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 3 {
		return reply.Value{}, command.ArityError("vrandmember")
	}
	count, withCount := int64(1), len(args) == 3
	if withCount {
		n, err := command.ParseInt(args[2])
		if err != nil {
			return reply.Value{}, errRandCount
		}
		if n == 0 {
			return reply.EmptyArray, nil
		}
		count = n
	}
	s, err := readVSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil || s.Len() == 0 {
		if withCount {
			return reply.EmptyArray, nil
		}
		return reply.Nil, nil
	}
	rng := c.Rand()
	size := s.Len()
	pick := func() string {
		name, _ := s.ElemAt(rng.IntN(size))
		return name
	}
	if !withCount {
		return reply.BulkString(pick()), nil
	}
	if count < 0 {
		if count < -maxRandCount {
			return reply.Value{}, command.Msg("ERR value is out of range")
		}
		out := make([]reply.Value, -count)
		for i := range out {
			out[i] = reply.BulkString(pick())
		}
		return reply.Array(out...), nil
	}
	n := int(min(count, int64(size)))
	out := make([]reply.Value, 0, n)
	if float64(n) <= float64(size)*0.2 {
		seen := make(map[string]bool, n)
		for len(out) < n {
			name := pick()
			if !seen[name] {
				seen[name] = true
				out = append(out, reply.BulkString(name))
			}
		}
		return reply.Array(out...), nil
	}
	start := rng.IntN(size)
	for i := 0; i < n; i++ {
		name, _ := s.ElemAt((start + i) % size)
		out = append(out, reply.BulkString(name))
	}
	return reply.Array(out...), nil
}

// vlinks implements VLINKS key element [WITHSCORES]: the element's
// neighbours on each level of the graph, from its top level down to 0
// (deleted elements still routing searches are left out); WITHSCORES
// gives each level as a map neighbour -> similarity (1 - distance/2,
// rounded to float32 as Redis computes it). Null for a missing key or
// element; any other fourth argument is an arity error, as in Redis.
func vlinks(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 4 {
		return reply.Value{}, command.ArityError("vlinks")
	}
	withScores := false
	if len(args) == 4 {
		if !command.EqualFold(args[3], "withscores") {
			return reply.Value{}, command.ArityError("vlinks")
		}
		withScores = true
	}
	s, err := readVSet(c, args[1])
	if err != nil || s == nil {
		return reply.Nil, err
	}
	levels, ok := s.Links(string(args[2]))
	if !ok {
		return reply.Nil, nil
	}
	out := make([]reply.Value, len(levels))
	for i, ls := range levels {
		vals := make([]reply.Value, 0, len(ls)*2)
		for _, r := range ls {
			vals = append(vals, reply.BulkString(r.Key))
			if withScores {
				vals = append(vals, double(float64(float32(1-float64(r.Distance)/2))))
			}
		}
		if withScores {
			out[i] = reply.Map(vals...)
		} else {
			out[i] = reply.Array(vals...)
		}
	}
	return reply.Array(out...), nil
}

// errRangeItem is the error for a VRANGE bound that is not -, + or
// prefixed by [ or ( (the text ZRANGEBYLEX uses).
var errRangeItem = command.Msg("ERR min or max not valid string range item")

// lexBound parses a VRANGE bound: "-" (min), "+" (max), "[x" inclusive
// or "(x" exclusive.
func lexBound(b []byte) (s string, incl, isMin, isMax, ok bool) {
	switch {
	case len(b) == 1 && b[0] == '-':
		return "", false, true, false, true
	case len(b) == 1 && b[0] == '+':
		return "", false, false, true, true
	case len(b) >= 1 && b[0] == '[':
		return string(b[1:]), true, false, false, true
	case len(b) >= 1 && b[0] == '(':
		return string(b[1:]), false, false, false, true
	}
	return "", false, false, false, false
}

// vrange implements VRANGE key start end [count] (Redis 8.4): up to count
// element names in byte order within [start, end] (each bound "[x"
// inclusive, "(x" exclusive, "-" the minimum, "+" the maximum); a
// negative or absent count returns the whole range, 0 an empty array. An
// empty array for no key.
func vrange(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 5 {
		return reply.Value{}, command.ArityError("vrange")
	}
	count := int64(-1)
	if len(args) == 5 {
		n, err := command.ParseInt(args[4])
		if err != nil {
			return reply.Value{}, command.Msg("ERR value is not an integer or out of range")
		}
		count = n
	}
	start, startIncl, startMin, startMax, ok1 := lexBound(args[2])
	end, endIncl, endMin, endMax, ok2 := lexBound(args[3])
	if !ok1 || !ok2 {
		return reply.Value{}, errRangeItem
	}
	s, err := readVSet(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil || count == 0 || startMax || endMin {
		return reply.EmptyArray, nil
	}
	if count < 0 || count > int64(s.Len()) {
		count = int64(s.Len())
	}
	names := s.Range(start, end, startIncl, endIncl, startMin, endMax, int(count))
	out := make([]reply.Value, len(names))
	for i, n := range names {
		out[i] = reply.BulkString(n)
	}
	return reply.Array(out...), nil
}
