package sets

import (
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

// benchRun applies one command to db as the state machine does (a write
// through Table.Apply with the entry's time and seed).
func benchCtx(db *keyspace.DB, seed uint64) *command.Ctx {
	return &command.Ctx{DB: db, Now: 1700000000000, Seed: seed}
}

func BenchmarkSADD(b *testing.B) {
	t := command.NewTable(Specs)
	db := keyspace.New()
	members := make([][]byte, 1<<20)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	args := [][]byte{[]byte("SADD"), []byte("s"), nil}
	i := 0
	for b.Loop() {
		args[2] = members[i&(1<<20-1)]
		if i&(1<<20-1) == 0 {
			db.Delete([]byte("s"))
		}
		i++
		t.Apply(benchCtx(db, uint64(i)), args)
	}
}

func BenchmarkSPOP(b *testing.B) {
	t := command.NewTable(Specs)
	db := keyspace.New()
	args := [][]byte{[]byte("SPOP"), []byte("s")}
	fill := [][]byte{[]byte("SADD"), []byte("s")}
	for i := 0; i < 1000; i++ {
		fill = append(fill, []byte("member:"+strconv.Itoa(i)))
	}
	i := 0
	for b.Loop() {
		if i%1000 == 0 {
			b.StopTimer()
			for j := 0; j < 100; j++ {
				t.Apply(benchCtx(db, 0), fill)
			}
			b.StartTimer()
		}
		i++
		t.Apply(benchCtx(db, uint64(i)), args)
	}
}

func BenchmarkSISMEMBER(b *testing.B) {
	t := command.NewTable(Specs)
	db := keyspace.New()
	fill := [][]byte{[]byte("SADD"), []byte("s")}
	for i := 0; i < 10000; i++ {
		fill = append(fill, []byte("member:"+strconv.Itoa(i)))
	}
	t.Apply(benchCtx(db, 0), fill)
	sp := t.Lookup([]byte("sismember"))
	args := [][]byte{[]byte("SISMEMBER"), []byte("s"), nil}
	i := 0
	for b.Loop() {
		args[2] = fill[2+i%10000]
		i++
		command.Exec(sp, benchCtx(db, 0), args)
	}
}

// BenchmarkSMEMBERS100 reads a 100-member set (string members, and
// integers: an intset).
func BenchmarkSMEMBERS100(b *testing.B) {
	for _, kind := range []string{"strings", "ints"} {
		b.Run(kind, func(b *testing.B) {
			t := command.NewTable(Specs)
			db := keyspace.New()
			fill := [][]byte{[]byte("SADD"), []byte("s")}
			for i := 0; i < 100; i++ {
				m := strconv.Itoa(i * 37)
				if kind == "strings" {
					m = "element:" + m
				}
				fill = append(fill, []byte(m))
			}
			t.Apply(benchCtx(db, 0), fill)
			sp := t.Lookup([]byte("smembers"))
			args := [][]byte{[]byte("SMEMBERS"), []byte("s")}
			for b.Loop() {
				v := command.Exec(sp, benchCtx(db, 0), args)
				if len(v.Elems) != 100 {
					b.Fatal(v)
				}
			}
		})
	}
}
