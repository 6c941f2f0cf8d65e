package ft

import (
	"cmp"
	"math"
	"slices"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/cfloat"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
	"github.com/cairndb/cairn/vector/query"
)

// maxResults is RediSearch's MAXSEARCHRESULTS default: the largest
// offset+num a LIMIT may ask for.
const maxResults = 1000000

// searchArgs are FT.SEARCH's options.
type searchArgs struct {
	noContent, withScores bool
	explain               bool       // EXPLAINSCORE
	scorer                string     // SCORER ("": TFIDF)
	ret                   []retField // nil: every field
	retGiven              bool
	sortBy                string
	sortDesc              bool
	offset, num           int
	params                map[string][]byte
}

type retField struct{ name, as string }

func parseSearchArgs(args [][]byte) (*searchArgs, error) {
	a := &searchArgs{num: 10, params: map[string][]byte{}}
	need := func(i, n int, what string) error {
		if i+n >= len(args) {
			return command.Msg("Bad arguments for " + what + ": Expected an argument, but none provided")
		}
		return nil
	}
	for i := 3; i < len(args); i++ {
		switch w := upper(args[i]); w {
		case "NOCONTENT":
			a.noContent = true
		case "WITHSCORES":
			a.withScores = true
		case "EXPLAINSCORE":
			a.explain = true
		case "SCORER":
			if err := need(i, 1, w); err != nil {
				return nil, err
			}
			a.scorer = string(args[i+1])
			i++
		case "VERBATIM", "NOSTOPWORDS", "INORDER", "WITHPAYLOADS", "WITHSORTKEYS":
		case "SLOP", "LANGUAGE", "EXPANDER", "PAYLOAD":
			if err := need(i, 1, w); err != nil {
				return nil, err
			}
			i++
		case "TIMEOUT":
			if err := need(i, 1, w); err != nil {
				return nil, err
			}
			if t, err := strconv.ParseInt(string(args[i+1]), 10, 64); err != nil || t < 0 {
				return nil, command.Msg("Bad arguments for TIMEOUT: Value is outside acceptable bounds")
			}
			i++
		case "DIALECT":
			if err := need(i, 1, w); err != nil {
				return nil, err
			}
			if d, err := strconv.Atoi(string(args[i+1])); err != nil || d < 1 || d > 4 {
				return nil, command.Msg("DIALECT requires a non negative integer >=1 and <= 4")
			}
			i++
		case "LIMIT":
			if err := need(i, 2, w); err != nil {
				return nil, err
			}
			off, err1 := strconv.Atoi(string(args[i+1]))
			num, err2 := strconv.Atoi(string(args[i+2]))
			if err1 != nil || err2 != nil || off < 0 || num < 0 {
				return nil, command.Msg("Bad arguments for LIMIT: Value is outside acceptable bounds")
			}
			if off+num > maxResults {
				return nil, command.Msg("OFFSET exceeds maximum of " + strconv.Itoa(maxResults))
			}
			a.offset, a.num = off, num
			i += 2
		case "SORTBY":
			if err := need(i, 1, w); err != nil {
				return nil, err
			}
			a.sortBy = string(args[i+1])
			if len(a.sortBy) > 0 && a.sortBy[0] == '@' {
				a.sortBy = a.sortBy[1:]
			}
			i++
			if i+1 < len(args) {
				switch upper(args[i+1]) {
				case "ASC":
					i++
				case "DESC":
					a.sortDesc = true
					i++
				}
			}
		case "RETURN":
			if err := need(i, 1, w); err != nil {
				return nil, err
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+2+n > len(args) {
				return nil, command.Msg("Bad arguments for RETURN: Value is outside acceptable bounds")
			}
			a.retGiven = true
			a.ret = []retField{}
			end := i + 2 + n
			for j := i + 2; j < end; j++ {
				f := retField{name: string(args[j])}
				f.as = f.name
				if j+2 < end && upper(args[j+1]) == "AS" {
					f.as = string(args[j+2])
					j += 2
				}
				a.ret = append(a.ret, f)
			}
			i = end - 1
			if n == 0 {
				a.noContent = true // RETURN 0 is NOCONTENT
			}
		case "PARAMS":
			n, err := parseParams(args, i, a.params)
			if err != nil {
				return nil, err
			}
			i += n
		case "FILTER", "GEOFILTER", "INKEYS", "INFIELDS", "SUMMARIZE", "HIGHLIGHT":
			return nil, command.Msg("Option " + w + " is not supported")
		default:
			return nil, command.Msg("Unknown argument `" + string(args[i]) + "` at position " + strconv.Itoa(i-1) + " for <main>")
		}
	}
	if a.explain && !a.withScores {
		return nil, command.Msg("EXPLAINSCORE must be accompanied with WITHSCORES")
	}
	if a.scorer != "" && !search.ValidScorer(a.scorer) {
		return nil, command.Msg("No such scorer " + a.scorer)
	}
	return a, nil
}

// ftSearch implements
//
//	FT.SEARCH index query [NOCONTENT] [WITHSCORES] [EXPLAINSCORE]
//	  [SCORER name] [RETURN n f [AS a] ...] [SORTBY f [ASC|DESC]]
//	  [LIMIT offset num] [PARAMS n k v ...] [TIMEOUT ms] [DIALECT d]
//
// Results are ordered by relevance score (highest first, ties by document
// id), by SORTBY when given, and a KNN query's by distance.
func ftSearch(c *command.Ctx, args [][]byte) (reply.Value, error) {
	ix, err := lookup(c, args[1], string(args[1])+": no such index")
	if err != nil {
		return reply.Value{}, err
	}
	a, err := parseSearchArgs(args)
	if err != nil {
		return reply.Value{}, err
	}
	q, err := query.Parse(string(args[2]), a.params)
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	var res *search.Result
	if a.num == 0 {
		// LIMIT 0 0 (a count): no document is returned, none needs a score.
		res, err = ix.Run(c.DB, c.Now, q)
	} else {
		res, err = ix.Search(c.DB, c.Now, q, search.SearchOptions{Scorer: a.scorer, Explain: a.explain, KNNScores: a.withScores})
	}
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	hits := res.Hits
	switch {
	case a.sortBy != "":
		if err := sortHits(c, ix, hits, a.sortBy, a.sortDesc); err != nil {
			return reply.Value{}, err
		}
	case q.KNN == nil:
		search.SortByScore(hits)
	}
	if a.offset >= len(hits) {
		hits = nil
	} else {
		hits = hits[a.offset:min(len(hits), a.offset+a.num)]
	}
	return searchReply(c, ix, res, hits, a), nil
}

// sortValue is a hit's SORTBY key: a number, a string, or missing.
type sortValue struct {
	missing bool
	num     float64
	str     string
	isNum   bool
}

func sortHits(c *command.Ctx, ix *search.Index, hits []search.Hit, by string, desc bool) error {
	f := ix.Def.Field(by)
	keys := make(map[string]sortValue, len(hits))
	for _, h := range hits {
		var v sortValue
		if d, ok := h.Dist.Get(by); ok {
			v = sortValue{num: float64(d), isNum: true}
		} else if f == nil {
			v.missing = true
		} else if hv, ok := hashField(c, h.Key, f.Identifier); !ok {
			v.missing = true
		} else if f.Type == search.Numeric {
			x, err := strconv.ParseFloat(string(hv), 64)
			v = sortValue{num: x, isNum: true, missing: err != nil}
		} else {
			v = sortValue{str: string(hv)}
		}
		keys[h.Key] = v
	}
	if f == nil {
		found := false
		for _, h := range hits {
			if _, ok := h.Dist.Get(by); ok {
				found = true
				break
			}
		}
		if !found && len(hits) > 0 {
			return command.Msg("Property `" + by + "` not loaded nor in schema")
		}
	}
	slices.SortStableFunc(hits, func(x, y search.Hit) int {
		a, b := keys[x.Key], keys[y.Key]
		if a.missing || b.missing {
			switch {
			case a.missing && b.missing:
				return 0
			case a.missing:
				return 1
			}
			return -1
		}
		r := 0
		if a.isNum && b.isNum {
			r = cmp.Compare(a.num, b.num)
		} else {
			r = cmp.Compare(a.str, b.str)
		}
		if desc {
			r = -r
		}
		return r
	})
	return nil
}

func liveHash(c *command.Ctx, key string) *keyspace.Hash {
	it := c.DB.Peek([]byte(key))
	if it == nil || it.Expired(c.Now) {
		return nil
	}
	h, _ := it.Obj.(*keyspace.Hash)
	return h
}

func hashField(c *command.Ctx, key, field string) ([]byte, bool) {
	h := liveHash(c, key)
	if h == nil {
		return nil, false
	}
	return h.Get([]byte(field))
}

// formatDistance formats a distance as RediSearch prints scores (%.12g).
func formatDistance(d float32) string {
	f := float64(d)
	if math.IsInf(f, 1) {
		return "inf"
	}
	return strconv.FormatFloat(f, 'g', 12, 64)
}

// docFields returns a hit's fields as name/value pairs.
func docFields(c *command.Ctx, ix *search.Index, res *search.Result, h search.Hit, a *searchArgs) []reply.Value {
	var out []reply.Value
	hash := liveHash(c, h.Key)
	if a.retGiven {
		for _, r := range a.ret {
			if d, ok := h.Dist.Get(r.name); ok {
				out = append(out, reply.BulkString(r.as), reply.BulkString(formatDistance(d)))
				continue
			}
			id := r.name
			if f := ix.Def.Field(r.name); f != nil {
				id = f.Identifier
			}
			if hash == nil {
				continue
			}
			if v, ok := hash.Get([]byte(id)); ok {
				out = append(out, reply.BulkString(r.as), reply.Bulk(v))
			}
		}
		return out
	}
	if res.ScoreField != "" {
		if d, ok := h.Dist.Get(res.ScoreField); ok {
			out = append(out, reply.BulkString(res.ScoreField), reply.BulkString(formatDistance(d)))
		}
	}
	for _, d := range h.Dist { // sorted by name
		if d.Name != res.ScoreField {
			out = append(out, reply.BulkString(d.Name), reply.BulkString(formatDistance(d.D)))
		}
	}
	if hash != nil {
		hash.Each(func(name string, value []byte) bool {
			out = append(out, reply.BulkString(name), reply.Bulk(value))
			return true
		})
	}
	return out
}

// searchReply builds FT.SEARCH's reply: RESP2 `[total, key, [fields],
// ...]`, RESP3 a map of attributes, format, results, total_results and
// warning, as RediSearch sends them.
func searchReply(c *command.Ctx, ix *search.Index, res *search.Result, hits []search.Hit, a *searchArgs) reply.Value {
	// Both shapes are built (the connection's protocol picks one); they
	// share the key strings, and each document's map is a window of one
	// backing array, so a reply costs a few allocations, not several per
	// hit.
	per2, per3 := 1, 4 // key; id, key, values, []
	if a.withScores {
		per2, per3 = per2+1, per3+2
	}
	if !a.noContent {
		per2, per3 = per2+1, per3+2
	}
	r2 := make([]reply.Value, 1, 1+per2*len(hits))
	r2[0] = reply.Int(int64(res.Total))
	r3 := make([]reply.Value, 0, len(hits))
	docs := make([]reply.Value, 0, per3*len(hits))
	for _, h := range hits {
		key := reply.BulkString(h.Key)
		r2 = append(r2, key)
		start := len(docs)
		docs = append(docs, replyID, key)
		if a.withScores {
			sc := reply.Double(formatScore(h.Score))
			if a.explain {
				sc = reply.Array(sc, explainReply(h.Explain))
			}
			r2 = append(r2, sc)
			docs = append(docs, replyScore, sc)
		}
		if !a.noContent {
			fields := docFields(c, ix, res, h, a)
			r2 = append(r2, reply.Array(fields...))
			docs = append(docs, replyExtra, reply.Map(fields...))
		}
		docs = append(docs, replyValues, reply.EmptyArray)
		r3 = append(r3, reply.Map(docs[start:len(docs):len(docs)]...))
	}
	resp3 := reply.Map(
		reply.BulkString("attributes"), reply.EmptyArray,
		reply.BulkString("format"), reply.BulkString("STRING"),
		reply.BulkString("results"), reply.Array(r3...),
		reply.BulkString("total_results"), reply.Int(int64(res.Total)),
		reply.BulkString("warning"), reply.EmptyArray,
	)
	return reply.ByProto(reply.Array(r2...), resp3)
}

// The constant names of FT.SEARCH's RESP3 documents (a reply is only
// read once built, so they are shared).
var (
	replyID     = reply.BulkString("id")
	replyScore  = reply.BulkString("score")
	replyExtra  = reply.BulkString("extra_attributes")
	replyValues = reply.BulkString("values")
)

// formatScore prints a relevance score as Redis prints a double reply
// (shortest round-trip form; inf, -inf, nan).
func formatScore(f float64) string { return cfloat.FormatG(f, -1) }

// explainReply renders an EXPLAINSCORE tree as RediSearch does: a line
// alone, or [line, [children...]].
func explainReply(e *search.Explain) reply.Value {
	if e == nil {
		return reply.Status("")
	}
	if len(e.Children) == 0 {
		return reply.Status(e.Text)
	}
	kids := make([]reply.Value, len(e.Children))
	for i, c := range e.Children {
		kids[i] = explainReply(c)
	}
	return reply.Array(reply.Status(e.Text), reply.Array(kids...))
}
