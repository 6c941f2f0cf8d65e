package search

import (
	"reflect"
	"slices"
	"strings"
	"sync"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector/query"
)

// tagCache is a node-local inverted index of an Index's TAG fields: for
// each TAG field, the documents carrying each tag. It only speeds up
// filtered KNN (Index.Run) and never changes an answer, so it is not
// replicated state and not in snapshots: the first filtered query after
// start, load or FLUSHALL builds it from the documents, and from then on
// reindex and remove keep it current at apply time. Its candidate sets are
// supersets of the matches (expiry and the rest of the query are checked
// per candidate), so a stale build could only cost time, never results.
type tagCache struct {
	mu     sync.RWMutex
	built  bool
	fields map[int]*tagPostings // by field position in Def.Fields
}

type tagPostings struct {
	byTag map[string]map[string]struct{} // trimmed tag -> keys
	byKey map[string][]string            // key -> its tags
}

// splitTags calls fn for each non-empty trimmed tag of v.
func splitTags(v []byte, sep byte, fn func(string)) {
	s := string(v)
	for s != "" {
		t, rest, _ := strings.Cut(s, string(sep))
		if t = strings.TrimSpace(t); t != "" {
			fn(t)
		}
		s = rest
	}
}

// update replaces key's tags with those of h (nil: drop key).
func (c *tagCache) update(ix *Index, key string, h *keyspace.Hash) {
	if c == nil || !c.built {
		return
	}
	for i, p := range c.fields {
		for _, t := range p.byKey[key] {
			if ks := p.byTag[t]; ks != nil {
				delete(ks, key)
				if len(ks) == 0 {
					delete(p.byTag, t)
				}
			}
		}
		delete(p.byKey, key)
		if h == nil {
			continue
		}
		f := &ix.Def.Fields[i]
		v, ok := h.Get([]byte(f.Identifier))
		if !ok {
			continue
		}
		var tags []string
		splitTags(v, f.Separator, func(t string) {
			t = tagKey(t, f.CaseSensitive)
			ks := p.byTag[t]
			if ks == nil {
				ks = map[string]struct{}{}
				p.byTag[t] = ks
			}
			if _, dup := ks[key]; !dup {
				ks[key] = struct{}{}
				tags = append(tags, t)
			}
		})
		if tags != nil {
			p.byKey[key] = tags
		}
	}
}

// build indexes every document of ix from db (c.mu held).
func (c *tagCache) build(ix *Index, db *keyspace.DB) {
	c.fields = map[int]*tagPostings{}
	for i := range ix.Def.Fields {
		if ix.Def.Fields[i].Type == Tag {
			c.fields[i] = &tagPostings{byTag: map[string]map[string]struct{}{}, byKey: map[string][]string{}}
		}
	}
	c.built = true
	ix.ids.Scan(func(d doc) bool {
		if it := db.Peek([]byte(d.key)); it != nil {
			if h, ok := it.Obj.(*keyspace.Hash); ok {
				c.update(ix, d.key, h)
			}
		}
		return true
	})
}

// rlock read-locks the postings, building them first if needed: queries
// share them, only the first builds them. Apply-time updates need no
// lock: the caller holds the state machine's read lock, so no apply runs
// meanwhile.
func (c *tagCache) rlock(ix *Index, db *keyspace.DB) {
	c.mu.RLock()
	if c.built {
		return
	}
	c.mu.RUnlock()
	c.mu.Lock()
	if !c.built {
		c.build(ix, db)
	}
	c.mu.Unlock()
	c.mu.RLock()
}

// candidates returns a superset of the documents matching n when the tag
// postings bound it by at most limit keys, and ok false otherwise (n is
// not narrowed by a TAG clause, or too many documents may match).
func (c *tagCache) candidates(ix *Index, db *keyspace.DB, n *query.Node, limit int) (keys map[string]struct{}, ok bool) {
	c.rlock(ix, db)
	defer c.mu.RUnlock()
	if bound(c, ix, n) > limit {
		return nil, false
	}
	out := map[string]struct{}{}
	c.collect(ix, n, out)
	return out, true
}

// postings returns the postings of every tag the TAG clauses of n match
// (n: TAG clauses joined by OR), each once.
func (c *tagCache) postings(ix *Index, db *keyspace.DB, n *query.Node) []map[string]struct{} {
	c.rlock(ix, db)
	defer c.mu.RUnlock()
	var sets []map[string]struct{}
	var walk func(n *query.Node)
	walk = func(n *query.Node) {
		if n.Kind == query.Or {
			for _, ch := range n.Children {
				walk(ch)
			}
			return
		}
		c.eachPosting(ix, n, func(ks map[string]struct{}) {
			for _, s := range sets {
				if sameMap(s, ks) {
					return
				}
			}
			sets = append(sets, ks)
		})
	}
	walk(n)
	return sets
}

// sameMap reports whether a and b are the same map.
func sameMap(a, b map[string]struct{}) bool {
	return reflect.ValueOf(a).UnsafePointer() == reflect.ValueOf(b).UnsafePointer()
}

// noBound is the bound of a clause the postings do not narrow.
const noBound = int(^uint(0) >> 1)

// bound is an upper bound on the number of documents matching n.
func bound(c *tagCache, ix *Index, n *query.Node) int {
	switch n.Kind {
	case query.Tag:
		sum := 0
		c.eachPosting(ix, n, func(ks map[string]struct{}) { sum += len(ks) })
		return sum
	case query.And:
		b := noBound
		for _, ch := range n.Children {
			b = min(b, bound(c, ix, ch))
		}
		return b
	case query.Or:
		sum := 0
		for _, ch := range n.Children {
			b := bound(c, ix, ch)
			if b == noBound {
				return noBound
			}
			sum += b
		}
		return sum
	}
	return noBound
}

// collect adds to out a superset of n's matches; n's bound must be finite.
func (c *tagCache) collect(ix *Index, n *query.Node, out map[string]struct{}) {
	switch n.Kind {
	case query.Tag:
		c.eachPosting(ix, n, func(ks map[string]struct{}) {
			for k := range ks {
				out[k] = struct{}{}
			}
		})
	case query.And:
		best, b := n.Children[0], noBound
		for _, ch := range n.Children {
			if x := bound(c, ix, ch); x < b {
				best, b = ch, x
			}
		}
		c.collect(ix, best, out)
	case query.Or:
		for _, ch := range n.Children {
			c.collect(ix, ch, out)
		}
	}
}

// tagKey is the postings key of tag t: t itself, or lower-cased for a
// case-insensitive field (as tagMatch compares).
func tagKey(t string, caseSensitive bool) string {
	if caseSensitive {
		return t
	}
	return strings.ToLower(t)
}

// eachPosting calls fn with the postings of every tag the Tag node n matches
// (each once).
func (c *tagCache) eachPosting(ix *Index, n *query.Node, fn func(map[string]struct{})) {
	f := ix.Def.Field(n.Field)
	if f == nil {
		return
	}
	p := c.fields[fieldPos(ix, f)]
	if p == nil {
		return
	}
	if !slices.Contains(n.Prefix, true) {
		seen := map[string]bool{}
		for _, want := range n.Values {
			w := tagKey(want, f.CaseSensitive)
			if ks := p.byTag[w]; ks != nil && !seen[w] {
				seen[w] = true
				fn(ks)
			}
		}
		return
	}
	for t, ks := range p.byTag {
		for j, want := range n.Values {
			if tagMatch(t, want, n.Prefix[j], f.CaseSensitive) {
				fn(ks)
				break
			}
		}
	}
}

// fieldPos is f's position in ix.Def.Fields.
func fieldPos(ix *Index, f *Field) int {
	for i := range ix.Def.Fields {
		if &ix.Def.Fields[i] == f {
			return i
		}
	}
	return -1
}
