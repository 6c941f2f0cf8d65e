package bits

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

// BenchmarkSetbit sets bits at random-ish offsets of a 16 KB bitmap (the
// string is copied when a bit changes: readers may alias it).
func BenchmarkSetbit(b *testing.B) {
	for _, size := range []int{128, 16 << 10} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			db := keyspace.New()
			tbl := command.NewTable(Specs)
			db.Put([]byte("k"), make([]byte, size), nil, 0)
			argv := [][]byte{[]byte("setbit"), []byte("k"), nil, nil}
			for i := 0; i < b.N; i++ {
				argv[2] = strconv.AppendInt(argv[2][:0], int64(i*7919%(size*8)), 10)
				argv[3] = []byte{'0' + byte(i>>3&1)}
				benchRun(b, db, tbl, argv)
			}
		})
	}
}

func BenchmarkBitcount(b *testing.B) {
	for _, size := range []int{128, 1 << 20} {
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			db := keyspace.New()
			tbl := command.NewTable(Specs)
			s := make([]byte, size)
			for i := range s {
				s[i] = byte(i * 31)
			}
			db.Put([]byte("k"), s, nil, 0)
			argv := [][]byte{[]byte("bitcount"), []byte("k"), []byte("1"), []byte("-2"), []byte("BIT")}
			b.SetBytes(int64(size))
			for i := 0; i < b.N; i++ {
				benchRun(b, db, tbl, argv)
			}
		})
	}
}
