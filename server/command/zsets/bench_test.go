package zsets

import (
	"runtime"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
)

var benchTable = command.NewTable(Specs)

func argv(args ...string) [][]byte {
	v := make([][]byte, len(args))
	for i, a := range args {
		v[i] = []byte(a)
	}
	return v
}

// run executes one command on db as apply does (without the log codec).
func run(tb testing.TB, c *command.Ctx, argv [][]byte) {
	spec := benchTable.Lookup(argv[0])
	if v := command.Exec(spec, c, argv); v.IsError() {
		tb.Fatal(v)
	}
}

// zadd100 is "ZADD key 0 field:0 1 field:1 ... 99 field:99", as the
// memory load of bench/types.sh sends it.
func zadd100(key string) [][]byte {
	args := []string{"ZADD", key}
	for i := 0; i < 100; i++ {
		args = append(args, strconv.Itoa(i), "field:"+strconv.Itoa(i))
	}
	return argv(args...)
}

// TestZSetSmallMemory measures the heap used by 10,000 sorted sets of 100
// members ("field:N", integer scores: listpacks in Redis), loaded with one
// ZADD each, keys and DB overhead included. Redis 7.0 uses about 15.5
// bytes a member; the target is at most 2.5 times that.
func TestZSetSmallMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	const keys, per = 10_000, 100
	cmds := make([][][]byte, keys)
	for k := range cmds {
		cmds[k] = zadd100("mem:" + strconv.Itoa(1000000 + k)[1:])
	}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	db := keyspace.New()
	c := &command.Ctx{DB: db, Now: 1}
	for _, a := range cmds {
		run(t, c, a)
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	b := float64(after.HeapAlloc-before.HeapAlloc) / (keys * per)
	t.Logf("%.1f bytes a member (%d keys of %d members, listpack)", b, db.Len(), per)
	if b > 2.5*15.5 {
		t.Errorf("%.1f bytes a member, more than 2.5x Redis", b)
	}
	runtime.KeepAlive(db)
	runtime.KeepAlive(cmds)
}

// BenchmarkZAddSmall adds single new members to 1,000 sets of 64 to 124
// members in turn (listpacks), as ZADD key score member.
func BenchmarkZAddSmall(b *testing.B) {
	const nkeys, base, rounds = 1000, 64, 60
	keys := make([]string, nkeys)
	for k := range keys {
		keys[k] = "z:" + strconv.Itoa(k)
	}
	fill := func() (*keyspace.DB, *command.Ctx) {
		db := keyspace.New()
		c := &command.Ctx{DB: db, Now: 1}
		for _, k := range keys {
			args := []string{"ZADD", k}
			for i := 0; i < base; i++ {
				args = append(args, strconv.Itoa((i*7919)%1000), "member:"+strconv.Itoa(i))
			}
			run(b, c, argv(args...))
		}
		return db, c
	}
	cmds := make([][][]byte, nkeys*rounds)
	for i := range cmds {
		k, r := i%nkeys, i/nkeys
		cmds[i] = argv("ZADD", keys[k], strconv.Itoa(((base+r)*7919)%1000), "member:"+strconv.Itoa(base+r))
	}
	_, c := fill()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(cmds)
		if j == 0 && i > 0 {
			b.StopTimer()
			_, c = fill()
			b.StartTimer()
		}
		run(b, c, cmds[j])
	}
}

// BenchmarkZAddSmallUpdate changes the score of a member of a 100-member
// set.
func BenchmarkZAddSmallUpdate(b *testing.B) {
	db := keyspace.New()
	c := &command.Ctx{DB: db, Now: 1}
	run(b, c, zadd100("z"))
	cmds := make([][][]byte, 1000)
	for i := range cmds {
		cmds[i] = argv("ZADD", "z", strconv.Itoa(i%150), "field:"+strconv.Itoa((i*37)%100))
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		run(b, c, cmds[i%len(cmds)])
	}
}

// BenchmarkZAdd100 creates a 100-member set with one ZADD.
func BenchmarkZAdd100(b *testing.B) {
	db := keyspace.New()
	c := &command.Ctx{DB: db, Now: 1}
	cmd := zadd100("z")
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.Delete(cmd[1])
		run(b, c, cmd)
	}
}

// BenchmarkZRange100 is bench/types.sh's "ZRANGE bench:z 0 99" on a
// 100-member set ("member:N", score N).
func BenchmarkZRange100(b *testing.B) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"plain", []string{"ZRANGE", "bench:z", "0", "99"}},
		{"withscores", []string{"ZRANGE", "bench:z", "0", "99", "WITHSCORES"}},
		{"rev", []string{"ZREVRANGE", "bench:z", "0", "99"}},
		{"byscore", []string{"ZRANGEBYSCORE", "bench:z", "-inf", "+inf"}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			db := keyspace.New()
			c := &command.Ctx{DB: db, Now: 1}
			args := []string{"ZADD", "bench:z"}
			for i := 0; i < 100; i++ {
				args = append(args, strconv.Itoa(i), "member:"+strconv.Itoa(i))
			}
			run(b, c, argv(args...))
			cmd := argv(tc.args...)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				run(b, c, cmd)
			}
		})
	}
}
