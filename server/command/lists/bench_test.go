package lists

import (
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// benchRun calls the handler of args[0] b.N times on db, as apply does
// (without the log codec).
func benchRun(b *testing.B, db *keyspace.DB, args ...string) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	spec := command.NewTable(Specs).Lookup(argv[0])
	c := &command.Ctx{DB: db, Now: 1}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		c.Dirty = 0
		if v := command.Exec(spec, c, argv); v.IsError() {
			b.Fatal(v)
		}
	}
}

func fillList(db *keyspace.DB, n int) {
	l := keyspace.NewList()
	l.GrowCheck(3*n, n)
	for i := 0; i < n; i++ {
		l.PushBack([]byte("xxx"))
	}
	db.Put([]byte("mylist"), nil, l, 0)
}

// The redis-benchmark workloads: LPUSH/RPUSH "xxx", LPOP/RPOP, and
// LRANGE_100 on a 600-element list.
func BenchmarkLPush(b *testing.B) { benchRun(b, keyspace.New(), "LPUSH", "mylist", "xxx") }
func BenchmarkRPush(b *testing.B) { benchRun(b, keyspace.New(), "RPUSH", "mylist", "xxx") }

func BenchmarkLPop(b *testing.B) {
	db := keyspace.New()
	fillList(db, b.N+1)
	benchRun(b, db, "LPOP", "mylist")
}

func BenchmarkRPop(b *testing.B) {
	db := keyspace.New()
	fillList(db, b.N+1)
	benchRun(b, db, "RPOP", "mylist")
}

// BenchmarkPushPop alternates a push and a pop at the same end of a large
// list (a stack).
func BenchmarkPushPop(b *testing.B) {
	db := keyspace.New()
	fillList(db, 10000)
	l := db.Peek([]byte("mylist")).Obj.(*keyspace.List)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		l.PushBack([]byte("xxx"))
		l.PopBack()
	}
}

func BenchmarkLRange100(b *testing.B) {
	db := keyspace.New()
	fillList(db, 600)
	benchRun(b, db, "LRANGE", "mylist", "0", "99")
}
