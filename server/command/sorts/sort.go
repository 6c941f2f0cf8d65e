package sorts

import (
	"bytes"
	"slices"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// errScores is SORT's error for a weight that is not a double.
const errScores = command.Msg("ERR One or more scores can't be converted into double")

// options are SORT's parsed arguments.
type options struct {
	desc, alpha bool
	// dontsort is set by a BY pattern without '*' (BY nosort).
	dontsort   bool
	limitStart int64
	limitCount int64
	sortby     []byte   // the last BY pattern, nil without BY
	store      []byte   // STORE destination, nil without STORE
	gets       [][]byte // GET patterns in order
}

// parse reads SORT's options as Redis's sortCommandGeneric does: left to
// right, the last of a repeated option winning, and the first bad one
// failing the command (a LIMIT that is not two integers fails with the
// integer error). SORT_RO (readonly) does not know STORE.
func parse(args [][]byte, readonly bool) (*options, error) {
	o := &options{limitCount: -1}
	for j := 2; j < len(args); j++ {
		left := len(args) - j - 1
		a := args[j]
		switch {
		case isOpt(a, "asc"):
			o.desc = false
		case isOpt(a, "desc"):
			o.desc = true
		case isOpt(a, "alpha"):
			o.alpha = true
		case isOpt(a, "limit") && left >= 2:
			var err error
			if o.limitStart, err = command.ParseInt(args[j+1]); err != nil {
				return nil, err
			}
			if o.limitCount, err = command.ParseInt(args[j+2]); err != nil {
				return nil, err
			}
			j += 2
		case !readonly && isOpt(a, "store") && left >= 1:
			o.store = args[j+1]
			j++
		case isOpt(a, "by") && left >= 1:
			// Redis denies BY with a real pattern in cluster mode ("ERR BY
			// option of SORT denied in Cluster mode."); a handler cannot
			// tell, so Cairn allows it (the pattern's keys are looked up
			// in the local keyspace).
			o.sortby = args[j+1]
			if !hasStar(o.sortby) {
				o.dontsort = true
			}
			j++
		case isOpt(a, "get") && left >= 1:
			o.gets = append(o.gets, args[j+1])
			j++
		default:
			return nil, command.ErrSyntax
		}
	}
	return o, nil
}

// sortObj is one element being sorted (Redis's redisSortObject).
type sortObj struct {
	elem   []byte
	score  float64
	cmp    []byte // ALPHA with BY: the weight
	hasCmp bool   // false when the BY weight is missing (sorts first)
}

// sortCmd implements
//
//	SORT key [BY pattern] [LIMIT offset count] [GET pattern [GET pattern ...]]
//	     [ASC|DESC] [ALPHA] [STORE destination]
//
// It is a write command (it goes through the log, even without STORE) so
// that STORE runs at apply time on every replica.
func sortCmd(c *command.Ctx, args [][]byte) (reply.Value, error) { return run(c, args, false) }

// sortRO implements SORT_RO: SORT without STORE, a read-only command.
func sortRO(c *command.Ctx, args [][]byte) (reply.Value, error) { return run(c, args, true) }

func run(c *command.Ctx, args [][]byte, readonly bool) (reply.Value, error) {
	o, err := parse(args, readonly)
	if err != nil {
		return reply.Value{}, err
	}
	// Keys (the one sorted and those BY and GET patterns name) are read
	// as Redis's lookupKeyRead does, recording the access: SORT, at apply
	// time, deletes a key that has expired; SORT_RO, a read, skips it.
	lookup := func(key []byte) *keyspace.Item {
		it := c.DB.Lookup(key, c.Now)
		if it != nil {
			it.Touch(c.Now)
		}
		return it
	}
	if readonly {
		lookup = func(key []byte) *keyspace.Item { return c.DB.Get(key, c.Now) }
	}
	it := lookup(args[1])
	var obj keyspace.Object
	if it != nil {
		switch it.Type() {
		case keyspace.TypeList, keyspace.TypeSet, keyspace.TypeZSet:
			obj = it.Obj
		default:
			return reply.Value{}, keyspace.ErrWrongType
		}
	}

	alpha, dontsort, sortby := o.alpha, o.dontsort, o.sortby
	typ := keyspace.TypeList // a missing key sorts as an empty list
	n := 0
	if obj != nil {
		typ, n = obj.Type(), obj.Len()
	}
	// A set's order is not defined: with STORE (as from scripts) Redis
	// sorts it anyway, by the elements, so that the stored result is
	// deterministic. Without STORE it returns the set in its own order
	// (Cairn's set order is deterministic too, but not Redis's).
	if dontsort && typ == keyspace.TypeSet && o.store != nil {
		dontsort, alpha, sortby = false, true, nil
	}

	start, end := limits(o.limitStart, o.limitCount, n)

	// Load the vector. A list or sorted set that is not sorted (BY
	// nosort) loads only the range asked for, in its order (reversed by
	// DESC); everything else loads the whole value.
	var vec []sortObj
	switch {
	case obj == nil:
	case dontsort && typ == keyspace.TypeList:
		if end >= start {
			vec = make([]sortObj, 0, end-start+1)
			l := obj.(*keyspace.List)
			from := start
			if o.desc {
				from = n - start - 1
			}
			l.Range(from, end-start+1, o.desc, func(s []byte) { vec = append(vec, sortObj{elem: s}) })
			end -= start
			start = 0
		}
	case dontsort && typ == keyspace.TypeZSet:
		count := max(end-start+1, 0)
		for _, m := range zsetMembers(obj, false, start, count, o.desc) {
			vec = append(vec, sortObj{elem: m})
		}
		end -= start
		start = 0
	case typ == keyspace.TypeList:
		vec = make([]sortObj, 0, n)
		obj.(*keyspace.List).Range(0, n, false, func(s []byte) { vec = append(vec, sortObj{elem: s}) })
	case typ == keyspace.TypeSet:
		vec = make([]sortObj, 0, n)
		obj.(*keyspace.Set).EachStable(func(m []byte) { vec = append(vec, sortObj{elem: m}) })
	case typ == keyspace.TypeZSet:
		for _, m := range zsetMembers(obj, true, 0, n, false) {
			vec = append(vec, sortObj{elem: m})
		}
	}

	if !dontsort {
		convErr := false
		for j := range vec {
			by := vec[j].elem
			if sortby != nil {
				v, ok := lookupPattern(lookup, sortby, vec[j].elem)
				if !ok {
					continue // score 0, or a nil ALPHA weight
				}
				by = v
			}
			if alpha {
				if sortby != nil {
					vec[j].cmp, vec[j].hasCmp = by, true
				}
			} else if f, ok := strtod(by); ok {
				vec[j].score = f
			} else {
				convErr = true
			}
		}
		if convErr {
			return reply.Value{}, errScores
		}
		cmp := comparator(o.desc, alpha, sortby != nil, o.store != nil)
		switch {
		case sortby != nil && (start != 0 || end != len(vec)-1):
			pqsort(vec, cmp, start, end)
		case !alpha:
			// Scores, then bytes: elements that compare equal are
			// identical, so any sort gives Redis's result.
			if o.desc {
				slices.SortFunc(vec, func(a, b sortObj) int { return numericCmp(&b, &a) })
			} else {
				slices.SortFunc(vec, func(a, b sortObj) int { return numericCmp(&a, &b) })
			}
		default:
			// glibc's qsort is a merge sort: stable.
			slices.SortStableFunc(vec, func(a, b sortObj) int { return cmp(&a, &b) })
		}
	}

	rows := max(end-start+1, 0)
	outputlen := rows
	if len(o.gets) > 0 {
		outputlen = rows * len(o.gets)
	}
	if o.store == nil {
		out := make([]reply.Value, 0, outputlen)
		for j := start; j <= end; j++ {
			if len(o.gets) == 0 {
				out = append(out, reply.Bulk(vec[j].elem))
			}
			for _, g := range o.gets {
				if v, ok := lookupPattern(lookup, g, vec[j].elem); ok {
					out = append(out, reply.Bulk(v))
				} else {
					out = append(out, reply.Nil)
				}
			}
		}
		return reply.Array(out...), nil
	}

	// STORE: the result is a list, built as Redis 7.2 builds it (a
	// quicklist converted to a listpack when it is small enough).
	if outputlen == 0 {
		if c.DB.Lookup(o.store, c.Now) != nil {
			c.DB.Delete(o.store)
			c.Notify(command.ClassGeneric, "del", o.store)
			c.Dirty++
		}
		return reply.Int(0), nil
	}
	l := keyspace.NewList()
	l.SetLimits(&c.DB.Cfg)
	l.MakeQuicklist() // start as a quicklist
	for j := start; j <= end; j++ {
		if len(o.gets) == 0 {
			l.PushBack(vec[j].elem)
		}
		for _, g := range o.gets {
			v, _ := lookupPattern(lookup, g, vec[j].elem)
			l.PushBack(v) // a missing value is stored as ""
		}
	}
	l.AutoConvert()
	c.DB.Put(o.store, nil, l, 0)
	c.Notify(command.ClassList, "sortstore", o.store)
	c.Dirty += int64(outputlen)
	return reply.Int(int64(outputlen)), nil
}

// limits turns LIMIT offset count into the inclusive range start..end of
// the sorted vector of n elements to return (Redis 7.0's arithmetic,
// with its overflow guard; end < start means nothing).
func limits(offset, count int64, n int) (int, int) {
	vlen := int64(n)
	start := min(max(offset, 0), vlen)
	count = min(max(count, -1), vlen)
	end := vlen - 1
	if count >= 0 {
		end = start + count - 1
	}
	if start >= vlen {
		start, end = vlen-1, vlen-2
	}
	if end >= vlen {
		end = vlen - 1
	}
	return int(start), int(end)
}

// comparator is Redis's sortCompare. Numeric sorting compares the
// scores, then (as Redis does, for a deterministic result) the elements'
// bytes. ALPHA compares the BY weights (a missing weight first) or the
// elements: without STORE Redis uses strcoll, which Cairn takes as the C
// locale's strcmp (byte order up to the first NUL byte); with STORE it
// compares the whole byte strings.
func comparator(desc, alpha, bypattern, store bool) func(a, b *sortObj) int {
	coll := func(x, y []byte) int {
		if store {
			return bytes.Compare(x, y)
		}
		return bytes.Compare(cstr(x), cstr(y))
	}
	return func(a, b *sortObj) int {
		var r int
		switch {
		case !alpha:
			r = numericCmp(a, b)
		case bypattern:
			switch {
			case !a.hasCmp || !b.hasCmp:
				if a.hasCmp == b.hasCmp {
					r = 0
				} else if !a.hasCmp {
					r = -1
				} else {
					r = 1
				}
			default:
				r = coll(a.cmp, b.cmp)
			}
		default:
			r = coll(a.elem, b.elem)
		}
		if desc {
			return -r
		}
		return r
	}
}

// numericCmp orders by score, then by the elements' bytes.
func numericCmp(a, b *sortObj) int {
	switch {
	case a.score > b.score:
		return 1
	case a.score < b.score:
		return -1
	}
	return bytes.Compare(a.elem, b.elem)
}

// sortKeys is SORT's KeysFunc (Redis's sortGetKeys): the key to sort and
// the last STORE destination, skipping the arguments of LIMIT, GET and BY.
func sortKeys(args [][]byte) []int {
	if len(args) < 2 {
		return nil
	}
	keys := []int{1}
	store := 0
	for i := 2; i < len(args); i++ {
		switch {
		case isOpt(args[i], "limit"):
			i += 2
		case isOpt(args[i], "get"), isOpt(args[i], "by"):
			i++
		case isOpt(args[i], "store") && i+1 < len(args):
			store = i + 1
		}
	}
	if store > 0 {
		keys = append(keys, store)
	}
	return keys
}

// sortROKeys is SORT_RO's KeysFunc: the key to sort (BY and GET name keys
// only through the sorted elements).
func sortROKeys(args [][]byte) []int {
	if len(args) < 2 {
		return nil
	}
	return []int{1}
}
