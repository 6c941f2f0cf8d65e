package hll

import (
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

func benchRun(b *testing.B, db *keyspace.DB, tbl *command.Table, argv [][]byte) {
	spec, err := tbl.Resolve(argv)
	if err != nil {
		b.Fatal(err)
	}
	c := command.Ctx{DB: db, Now: 1, ProtoMaxBulkLen: 512 << 20}
	if v := command.Exec(spec, &c, argv); v.IsError() {
		b.Fatal(v)
	}
}

// BenchmarkPfadd adds new elements, one per call, to an HLL that is sparse
// at first and dense after a few thousand.
func BenchmarkPfadd(b *testing.B) {
	db := keyspace.New()
	tbl := command.NewTable(Specs)
	argv := [][]byte{[]byte("pfadd"), []byte("k"), nil}
	for i := 0; i < b.N; i++ {
		argv[2] = strconv.AppendInt(argv[2][:0], int64(i), 10)
		benchRun(b, db, tbl, argv)
	}
}

// BenchmarkPfcount counts a sparse and a dense HLL (Cairn computes the
// estimate on every call: no cache is written on reads).
func BenchmarkPfcount(b *testing.B) {
	for _, n := range []int{100, 100000} {
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			db := keyspace.New()
			tbl := command.NewTable(Specs)
			db.Put([]byte("k"), bufAfter(n), nil, 0)
			db.Put([]byte("o"), bufAfter(n/2), nil, 0)
			for _, argv := range [][][]byte{{[]byte("pfcount"), []byte("k")}, {[]byte("pfcount"), []byte("k"), []byte("o")}} {
				b.Run(strconv.Itoa(len(argv)-1)+"key", func(b *testing.B) {
					for i := 0; i < b.N; i++ {
						benchRun(b, db, tbl, argv)
					}
				})
			}
		})
	}
}
