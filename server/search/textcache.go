package search

import (
	"sync"

	"github.com/cairndb/cairn/server/keyspace"
)

// textCache is a node-local inverted index of an Index's TEXT fields: for
// each term, the documents holding it (with the TEXT fields it occurs
// in), and for each document its norms. Like tagCache it only speeds up
// queries and never changes an answer, so it is not replicated state and
// not in snapshots: the first scored query after start, load or FLUSHALL
// builds it from the documents, and from then on reindex and remove keep
// it current at apply time. It gives the term statistics (document
// frequencies, number of records) without analysing every document per
// query, and exact term matching without tokenizing the documents that
// do not match. Positions are not kept: the matches of a text query are
// analysed again for them.
type textCache struct {
	mu    sync.RWMutex
	built bool
	// off: the schema has more than 64 TEXT fields (the field bits do not
	// fit); queries analyse the documents instead.
	off     bool
	docs    map[string]docNorms
	post    map[string]map[string]uint64 // term -> key -> TEXT field bits
	records int                          // distinct terms summed over the documents
}

type docNorms struct {
	maxFreq, length uint32
	terms           []string
}

// textOrdinals maps field positions to TEXT field ordinals (-1 for other
// types); ok is false past 64 TEXT fields.
func textOrdinals(ix *Index) (ord []int, ok bool) {
	ord = make([]int, len(ix.Def.Fields))
	n := 0
	for i := range ix.Def.Fields {
		ord[i] = -1
		if ix.Def.Fields[i].Type == Text {
			ord[i] = n
			n++
		}
	}
	return ord, n <= 64
}

// update replaces key's entry with h's (nil: drop key). Apply time only.
func (c *textCache) update(ix *Index, key string, h *keyspace.Hash) {
	if c == nil || !c.built || c.off {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.drop(key)
	if h != nil {
		ord, _ := textOrdinals(ix)
		c.add(ix, ord, key, h)
	}
}

func (c *textCache) drop(key string) {
	d, ok := c.docs[key]
	if !ok {
		return
	}
	for _, t := range d.terms {
		if ks := c.post[t]; ks != nil {
			delete(ks, key)
			if len(ks) == 0 {
				delete(c.post, t)
			}
		}
	}
	c.records -= len(d.terms)
	delete(c.docs, key)
}

func (c *textCache) add(ix *Index, ord []int, key string, h *keyspace.Hash) {
	td := ix.analyze(h)
	d := docNorms{maxFreq: td.maxFreq, length: td.length, terms: make([]string, 0, len(td.terms))}
	for t, ts := range td.terms {
		var bits uint64
		for _, f := range ts.fields {
			bits |= 1 << uint(ord[f])
		}
		ks := c.post[t]
		if ks == nil {
			ks = map[string]uint64{}
			c.post[t] = ks
		}
		ks[key] = bits
		d.terms = append(d.terms, t)
	}
	c.records += len(d.terms)
	c.docs[key] = d
}

// acquire builds the cache if needed and read-locks it; the caller holds
// the state machine's read lock, so no apply runs meanwhile. It returns
// nil (nothing locked) when the cache cannot serve the index.
func (c *textCache) acquire(ix *Index, db *keyspace.DB) *textCache {
	if c == nil {
		return nil
	}
	c.mu.RLock()
	if c.built {
		if c.off {
			c.mu.RUnlock()
			return nil
		}
		return c
	}
	c.mu.RUnlock()
	c.mu.Lock()
	if !c.built {
		ord, ok := textOrdinals(ix)
		c.built, c.off = true, !ok
		c.docs, c.post, c.records = map[string]docNorms{}, map[string]map[string]uint64{}, 0
		if !c.off {
			ix.ids.Scan(func(d doc) bool {
				if it := db.Peek([]byte(d.key)); it != nil {
					if h, ok := it.Obj.(*keyspace.Hash); ok {
						c.add(ix, ord, d.key, h)
					}
				}
				return true
			})
		}
	}
	off := c.off
	c.mu.Unlock()
	if off {
		return nil
	}
	c.mu.RLock()
	return c
}

func (c *textCache) release() { c.mu.RUnlock() }
