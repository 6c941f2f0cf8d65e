package sorts

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

func benchCtx(b *testing.B, n int) *command.Ctx {
	db := keyspace.New()
	r := rand.New(rand.NewPCG(1, 1))
	l := keyspace.NewList()
	for i := 0; i < n; i++ {
		l.PushBack([]byte(strconv.Itoa(r.IntN(1 << 30))))
	}
	db.Put([]byte("l"), nil, l, 0)
	return &command.Ctx{DB: db, Now: 1}
}

func benchSort(b *testing.B, n int, args ...string) {
	c := benchCtx(b, n)
	argv := toBytes(args)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := sortRO(c, argv); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSortNumeric10k(b *testing.B) { benchSort(b, 10000, "SORT_RO", "l") }
func BenchmarkSortAlpha10k(b *testing.B)   { benchSort(b, 10000, "SORT_RO", "l", "ALPHA") }
func BenchmarkSortLimit10k(b *testing.B)   { benchSort(b, 10000, "SORT_RO", "l", "LIMIT", "0", "10") }
