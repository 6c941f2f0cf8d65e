package ft

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/search"
	"github.com/cairndb/cairn/vector"
)

// BenchmarkFTSearchKNN: the per-query cost of FT.SEARCH KNN through the
// command handler (parse, run, reply) over 2000 128-dim HNSW vectors.
func BenchmarkFTSearchKNN(b *testing.B) {
	const dim = 128
	rnd := rand.New(rand.NewSource(1))
	vec := func() []byte {
		out := make([]byte, 4*dim)
		for i := range dim {
			binary.LittleEndian.PutUint32(out[4*i:], math.Float32bits(rnd.Float32()))
		}
		return out
	}
	db := keyspace.New()
	for i := range 2000 {
		h := keyspace.NewHash()
		h.Set([]byte("v"), vec())
		h.Set([]byte("tag"), []byte(fmt.Sprintf("p%d", i%50)))
		db.Put([]byte(fmt.Sprintf("d:%d", i)), nil, h, 0)
	}
	reg := search.NewRegistry()
	def := search.Definition{Name: "idx", Prefixes: []string{"d:"}, Fields: []search.Field{
		{Identifier: "v", Attribute: "v", Type: search.Vector, Vec: vector.Config{Algorithm: vector.HNSW, Dim: dim}},
		{Identifier: "tag", Attribute: "tag", Type: search.Tag, Separator: ','},
	}}
	if err := reg.Create(def, db, 0); err != nil {
		b.Fatal(err)
	}
	for reg.Backfill(db, "idx", 0, search.BackfillBatch) {
	}
	c := &command.Ctx{DB: db, Search: reg}
	q := vec()
	args := [][]byte{[]byte("FT.SEARCH"), []byte("idx"), []byte("*=>[KNN 10 @v $B]"), []byte("PARAMS"), []byte("2"), []byte("B"), q, []byte("DIALECT"), []byte("2")}
	b.ReportAllocs()
	for range b.N {
		if _, err := ftSearch(c, args); err != nil {
			b.Fatal(err)
		}
	}
}
