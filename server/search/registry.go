// Package search is the FT.* index registry: index definitions (FT.CREATE),
// aliases, and the documents each index holds, maintained at apply time
// from the keys the keyspace reports as touched, on every replica, in log
// order. VECTOR fields are vector.Index graphs; TAG, NUMERIC and TEXT
// fields are evaluated against the hash itself at query time (the hash is
// the document). It is derived state: the shard snapshots it (COW, O(1)
// pause) next to the keyspace and restores it without a rebuild.
//
// Locking: the shard's state-machine lock serialises mutations (apply,
// write lock) against queries (read lock); a vector.Index's own lock
// additionally lets a snapshot be written while applies continue.
package search

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/tidwall/btree"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector"
)

// FieldType is a schema field's type.
type FieldType uint8

// The field types.
const (
	Text FieldType = iota
	Tag
	Numeric
	Vector
)

// String returns the RediSearch name of the type.
func (t FieldType) String() string {
	switch t {
	case Text:
		return "TEXT"
	case Tag:
		return "TAG"
	case Numeric:
		return "NUMERIC"
	case Vector:
		return "VECTOR"
	}
	return "UNKNOWN"
}

// Field is one SCHEMA field.
type Field struct {
	// Identifier is the hash field; Attribute the name queries use (AS),
	// equal to Identifier without AS.
	Identifier, Attribute string
	Type                  FieldType
	Sortable              bool
	// Separator (TAG, default ',') and CaseSensitive.
	Separator     byte
	CaseSensitive bool
	// Weight is a TEXT field's WEIGHT: each occurrence of a term adds
	// max(1, int(Weight)) to its frequency. 0 means the default, 1.
	Weight float64
	// Vec configures a VECTOR field (Seed comes from the definition).
	Vec vector.Config
}

// Definition is an FT.CREATE.
type Definition struct {
	Name            string
	Prefixes        []string // empty: every key
	SkipInitialScan bool
	Fields          []Field
	// Seed is the seed of the log entry that created the index; it
	// derives the HNSW levels.
	Seed uint64
	// CustomStopWords: StopWords replace the default stop-word list
	// (FT.CREATE STOPWORDS n w ...; n 0 means no stop words).
	CustomStopWords bool
	StopWords       []string
}

// Field returns the field whose attribute is name, or nil.
func (d *Definition) Field(name string) *Field {
	for i := range d.Fields {
		if d.Fields[i].Attribute == name {
			return &d.Fields[i]
		}
	}
	return nil
}

// matches tells whether key is under one of d's prefixes.
func (d *Definition) matches(key string) bool {
	if len(d.Prefixes) == 0 {
		return true
	}
	for _, p := range d.Prefixes {
		if strings.HasPrefix(key, p) {
			return true
		}
	}
	return false
}

type doc struct {
	key string
	id  uint64
}

func lessKey(a, b doc) bool { return a.key < b.key }
func lessID(a, b doc) bool  { return a.id < b.id }

// Index is one FT index.
type Index struct {
	Def  Definition
	keys *btree.BTreeG[doc] // by key
	ids  *btree.BTreeG[doc] // by id: the order of non-vector results
	// MaxDocID is the last document id handed out.
	MaxDocID uint64
	// Failures counts hashes that could not be indexed (hash_indexing_failures).
	Failures     int64
	LastError    string
	LastErrorKey string
	vecs         []*vector.Index // per field; nil for non-vector fields
	tags         *tagCache       // node-local TAG postings (tagcache.go)
	text         *textCache      // node-local TEXT postings (textcache.go)
	// Backfill: while Scanning, the hashes that existed at FT.CREATE are
	// indexed in batches (Registry.Backfill, one log entry each) from
	// Cursor (a keyspace scan cursor); Scanned of ScanTotal keys are done.
	Scanning           bool
	Cursor             uint64
	Scanned, ScanTotal int64
}

// PercentIndexed is FT.INFO's percent_indexed: 1 unless a backfill runs.
func (ix *Index) PercentIndexed() float64 {
	if !ix.Scanning || ix.ScanTotal == 0 {
		return 1
	}
	return min(float64(ix.Scanned)/float64(ix.ScanTotal), 0.999)
}

func newTrees() (*btree.BTreeG[doc], *btree.BTreeG[doc]) {
	o := btree.Options{NoLocks: true}
	return btree.NewBTreeGOptions(lessKey, o), btree.NewBTreeGOptions(lessID, o)
}

// NumDocs returns the number of indexed documents.
func (ix *Index) NumDocs() int { return ix.keys.Len() }

// Vector returns the vector index of field f (nil unless VECTOR).
func (ix *Index) Vector(f *Field) *vector.Index {
	for i := range ix.Def.Fields {
		if &ix.Def.Fields[i] == f {
			return ix.vecs[i]
		}
	}
	return nil
}

// VectorBytes returns the memory of the index's vector graphs.
func (ix *Index) VectorBytes() int64 {
	var n int64
	for _, v := range ix.vecs {
		if v != nil {
			n += v.MemSize()
		}
	}
	return n
}

// Has tells whether key is an indexed document.
func (ix *Index) Has(key string) bool {
	_, ok := ix.keys.Get(doc{key: key})
	return ok
}

// Registry holds every index and alias of a keyspace.
type Registry struct {
	byName  map[string]*Index
	names   []string          // sorted; iteration order
	aliases map[string]string // alias -> index
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{byName: map[string]*Index{}, aliases: map[string]string{}}
}

// Len returns the number of indexes.
func (r *Registry) Len() int {
	if r == nil {
		return 0
	}
	return len(r.names)
}

// Names returns the index names, sorted.
func (r *Registry) Names() []string {
	if r == nil {
		return nil
	}
	return slices.Clone(r.names)
}

// Get returns the index named name (or aliased name), or nil.
func (r *Registry) Get(name string) *Index {
	if r == nil {
		return nil
	}
	if ix := r.byName[name]; ix != nil {
		return ix
	}
	if n, ok := r.aliases[name]; ok {
		return r.byName[n]
	}
	return nil
}

// Errors with RediSearch's texts.
var (
	ErrExists       = errors.New("Index already exists")
	ErrUnknownIndex = errors.New("Unknown Index name")
	ErrAliasExists  = errors.New("Alias already exists")
	ErrNoAlias      = errors.New("Alias does not exist")
	ErrAliasTarget  = errors.New("Unknown index name (or name is an alias itself)")
)

// BackfillBatch is how many keys one backfill step scans.
const BackfillBatch = 1000

// Create adds the index def and, unless SKIPINITIALSCAN, starts indexing
// the hashes already under its prefixes: the first BackfillBatch keys at
// once, the rest by Backfill steps. def must be validated (every vector
// config valid); nothing is created on error.
func (r *Registry) Create(def Definition, db *keyspace.DB, now int64) error {
	if _, ok := r.byName[def.Name]; ok {
		return ErrExists
	}
	if _, ok := r.aliases[def.Name]; ok {
		return ErrExists
	}
	ix := &Index{Def: def, vecs: make([]*vector.Index, len(def.Fields)), tags: &tagCache{}, text: &textCache{}}
	ix.keys, ix.ids = newTrees()
	for i := range def.Fields {
		f := &ix.Def.Fields[i]
		if f.Type != Vector {
			continue
		}
		f.Vec.Seed = def.Seed + uint64(i)
		v, err := vector.New(f.Vec)
		if err != nil {
			return err
		}
		ix.vecs[i] = v
	}
	if !def.SkipInitialScan && db.Len() > 0 {
		ix.Scanning, ix.ScanTotal = true, int64(db.Len())
		ix.backfill(db, now, BackfillBatch)
	}
	r.byName[def.Name] = ix
	r.names = append(r.names, def.Name)
	slices.Sort(r.names)
	return nil
}

// Drop removes the index name (not an alias) and its aliases. With
// deleteDocs it returns the documents' keys so the caller deletes them.
func (r *Registry) Drop(name string, deleteDocs bool) ([]string, error) {
	ix := r.byName[name]
	if ix == nil {
		ix = r.Get(name)
		if ix == nil {
			return nil, ErrUnknownIndex
		}
		name = ix.Def.Name
	}
	var keys []string
	if deleteDocs {
		ix.ids.Scan(func(d doc) bool {
			keys = append(keys, d.key)
			return true
		})
	}
	delete(r.byName, name)
	r.names = slices.DeleteFunc(r.names, func(n string) bool { return n == name })
	for a, n := range r.aliases {
		if n == name {
			delete(r.aliases, a)
		}
	}
	return keys, nil
}

// AliasAdd makes alias name index; with update it may repoint an
// existing alias (FT.ALIASUPDATE).
func (r *Registry) AliasAdd(alias, index string, update bool) error {
	if _, ok := r.byName[index]; !ok {
		return ErrAliasTarget
	}
	if _, ok := r.aliases[alias]; ok && !update {
		return ErrAliasExists
	}
	if _, ok := r.byName[alias]; ok {
		return ErrAliasExists
	}
	r.aliases[alias] = index
	return nil
}

// AliasDel removes alias.
func (r *Registry) AliasDel(alias string) error {
	if _, ok := r.aliases[alias]; !ok {
		return ErrNoAlias
	}
	delete(r.aliases, alias)
	return nil
}

// Aliases returns the aliases of index name, sorted.
func (r *Registry) Aliases(name string) []string {
	var out []string
	for a, n := range r.aliases {
		if n == name {
			out = append(out, a)
		}
	}
	slices.Sort(out)
	return out
}

// Backfilling returns the names of the indexes whose backfill runs.
func (r *Registry) Backfilling() []string {
	var out []string
	for _, n := range r.Names() {
		if r.byName[n].Scanning {
			out = append(out, n)
		}
	}
	return out
}

// Backfill indexes the next n keys of index name's backfill; it reports
// whether a backfill was running.
func (r *Registry) Backfill(db *keyspace.DB, name string, now int64, n int) bool {
	ix := r.byName[name]
	if ix == nil || !ix.Scanning {
		return false
	}
	ix.backfill(db, now, n)
	return true
}

func (ix *Index) backfill(db *keyspace.DB, now int64, n int) {
	seen := 0
	next := db.Scan(ix.Cursor, func(it *keyspace.Item) bool {
		if ix.Def.matches(it.Key) {
			ix.reindex(it.Key, it, now)
		}
		seen++
		return seen < n
	})
	ix.Scanned += int64(seen)
	ix.Cursor = next
	if next == 0 {
		ix.Scanning, ix.Cursor = false, 0
	}
}

// Touched re-indexes key in every index whose prefixes match it, from
// its current value in db: a hash is (re)indexed, anything else (or no
// key) is removed. Applies call it, in log order, for every key a command
// created, changed or deleted.
func (r *Registry) Touched(db *keyspace.DB, key string, now int64) {
	for _, n := range r.names {
		ix := r.byName[n]
		if !ix.Def.matches(key) {
			continue
		}
		ix.reindex(key, db.Peek([]byte(key)), now)
	}
}

// Flushed empties every index (FLUSHALL); definitions stay.
func (r *Registry) Flushed() {
	for _, n := range r.names {
		ix := r.byName[n]
		ix.keys, ix.ids = newTrees()
		ix.tags = &tagCache{}
		ix.text = &textCache{}
		for i, v := range ix.vecs {
			if v != nil {
				nv, err := vector.New(v.Config())
				if err == nil {
					ix.vecs[i] = nv
				}
			}
		}
	}
}

// reindex brings key's document in line with it (nil: no key).
func (ix *Index) reindex(key string, it *keyspace.Item, now int64) {
	var h *keyspace.Hash
	if it != nil {
		h, _ = it.Obj.(*keyspace.Hash)
	}
	if h == nil {
		ix.remove(key)
		return
	}
	for i := range ix.Def.Fields {
		f := &ix.Def.Fields[i]
		val, ok := h.Get([]byte(f.Identifier))
		if !ok {
			if ix.vecs[i] != nil {
				ix.vecs[i].Delete(key)
			}
			continue
		}
		switch f.Type {
		case Vector:
			if err := ix.vecs[i].SetBlob(key, val); err != nil {
				ix.fail(key, "Could not add vector with blob size "+strconv.Itoa(len(val))+
					" (expected size "+strconv.Itoa(f.Vec.Dim*f.Vec.Type.Size())+")")
				return
			}
		case Numeric:
			if _, err := parseNumber(val); err != nil {
				ix.fail(key, fmt.Sprintf("Invalid numeric value: '%s'", val))
				return
			}
		}
	}
	if d, ok := ix.keys.Get(doc{key: key}); ok {
		ix.ids.Delete(d)
	}
	ix.MaxDocID++
	d := doc{key: key, id: ix.MaxDocID}
	ix.keys.Set(d)
	ix.ids.Set(d)
	ix.tags.update(ix, key, h)
	ix.text.update(ix, key, h)
}

// fail records an indexing failure and takes key out of the index.
func (ix *Index) fail(key, msg string) {
	ix.Failures++
	ix.LastError, ix.LastErrorKey = msg, key
	ix.remove(key)
}

func (ix *Index) remove(key string) {
	if d, ok := ix.keys.Delete(doc{key: key}); ok {
		ix.ids.Delete(d)
	}
	ix.tags.update(ix, key, nil)
	ix.text.update(ix, key, nil)
	for _, v := range ix.vecs {
		if v != nil {
			v.Delete(key)
		}
	}
}

// parseNumber parses a NUMERIC field value.
func parseNumber(b []byte) (float64, error) {
	s := strings.TrimSpace(string(b))
	switch strings.ToLower(s) {
	case "inf", "+inf":
		s = "+Inf"
	case "-inf":
		s = "-Inf"
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f {
		return 0, errors.New("not a number")
	}
	return f, nil
}
