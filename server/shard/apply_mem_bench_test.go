package shard_test

import (
	"strconv"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

// benchApply applies entries of 100 commands built by cmd(i) and reports
// the cost per command (decode, apply, memory accounting).
func benchApply(b *testing.B, cmd func(i int) [][]byte) { benchApplyMax(b, 0, cmd) }

// benchApplyMax is benchApply with maxmemory set (never reached): the
// apply-time OOM check runs for every command.
func benchApplyMax(b *testing.B, maxmemory int64, cmd func(i int) [][]byte) {
	s := shard.NewTestSM(table)
	s.DB().Cfg.MaxMemory = maxmemory
	const per = 100
	var ents [][]byte
	for i := 0; i < 1000; i++ {
		cmds := make([][][]byte, per)
		for j := range cmds {
			cmds[j] = cmd(i*per + j)
		}
		ents = append(ents, encode(entry.Commands, 1000, uint64(i), cmds...))
	}
	b.ResetTimer()
	idx := uint64(0)
	for n := 0; n < b.N; n += per {
		idx++
		if _, err := s.SM().Update([]sm.Entry{{Index: idx, Cmd: ents[int(idx)%len(ents)]}}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApplySetNew(b *testing.B) {
	n := 0
	benchApply(b, func(int) [][]byte { n++; return args("set", "key:"+strconv.Itoa(n), "value-0123456789") })
}

func BenchmarkApplySetOverwrite(b *testing.B) {
	benchApply(b, func(i int) [][]byte { return args("set", "key:"+strconv.Itoa(i%10000), "value-0123456789") })
}

func BenchmarkApplyHSetSmall(b *testing.B) {
	benchApply(b, func(i int) [][]byte {
		return args("hset", "h:"+strconv.Itoa(i%10000), "f"+strconv.Itoa(i%50), "value")
	})
}

func BenchmarkApplyHSetLarge(b *testing.B) {
	benchApply(b, func(i int) [][]byte { return args("hset", "big", "f"+strconv.Itoa(i), "value") })
}

func BenchmarkApplySetOverwriteMaxMemory(b *testing.B) {
	benchApplyMax(b, 1<<40, func(i int) [][]byte { return args("set", "key:"+strconv.Itoa(i%10000), "value-0123456789") })
}
