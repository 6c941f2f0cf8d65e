package streams

import (
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// BenchmarkXAddAuto measures XADD key * field value applied directly (no
// log encoding), one entry per call, the clock advancing every 16 calls.
func BenchmarkXAddAuto(b *testing.B) {
	table := command.NewTable(Specs)
	db := keyspace.New()
	args := [][]byte{[]byte("xadd"), []byte("mystream"), []byte("*"), []byte("field"), []byte("value-1234")}
	c := &command.Ctx{DB: db, Now: 1700000000000}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Now = 1700000000000 + int64(i/16)
		if v := table.Apply(c, args); v.IsError() {
			b.Fatal(v)
		}
	}
}

// BenchmarkXRange100 measures XRANGE of 100 entries from a 100k stream.
func BenchmarkXRange100(b *testing.B) {
	table := command.NewTable(Specs)
	db := keyspace.New()
	c := &command.Ctx{DB: db, Now: 1700000000000}
	for i := 0; i < 100000; i++ {
		c.Now++
		table.Apply(c, [][]byte{[]byte("xadd"), []byte("s"), []byte("*"), []byte("field"), []byte("value")})
	}
	spec := table.Lookup([]byte("xrange"))
	args := [][]byte{[]byte("xrange"), []byte("s"), []byte("1700000050000"), []byte("+"), []byte("COUNT"), []byte("100")}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if v := command.Exec(spec, c, args); len(v.Elems) != 100 {
			b.Fatal(v.String())
		}
	}
}
