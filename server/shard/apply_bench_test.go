package shard_test

import (
	"math/rand/v2"
	"strconv"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

// BenchmarkApplySet measures the apply path (entry decode, Update, handler,
// reply encoding) for SET entries: one command an entry, and a pipelined
// batch of 64. ns/op is per command.
func BenchmarkApplySet(b *testing.B) {
	for _, per := range []int{1, 64} {
		b.Run("batch="+strconv.Itoa(per), func(b *testing.B) {
			s := shard.NewTestSM(table)
			const nEntries = 1024
			ents := make([][]byte, nEntries)
			for i := range ents {
				cmds := make([][][]byte, per)
				for j := range cmds {
					cmds[j] = args("set", "key:"+strconv.Itoa((i*per+j)%10000), "value-0123456789")
				}
				ents[i] = encode(entry.Commands, 1_700_000_000_000, uint64(i), cmds...)
			}
			batch := make([]sm.Entry, 1)
			b.ReportAllocs()
			b.ResetTimer()
			idx := uint64(0)
			for i := 0; i < b.N; i += per {
				idx++
				batch[0] = sm.Entry{Index: idx, Cmd: ents[idx%nEntries]}
				if _, err := s.SM().Update(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkApplySetRandom applies entries of 64 SETs of random keys over
// a keyspace of 1M keys (most look-ups miss the caches, as in a large
// keyspace), with and without the read-ahead of the entry's keys. ns/op
// is per command.
func BenchmarkApplySetRandom(b *testing.B) {
	const keys, per, nEntries = 1 << 20, 64, 4096
	s := shard.NewTestSM(table)
	idx := uint64(0)
	apply := func(cmd []byte) {
		idx++
		if _, err := s.SM().Update([]sm.Entry{{Index: idx, Cmd: cmd}}); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; i < keys; i += per {
		cmds := make([][][]byte, per)
		for j := range cmds {
			cmds[j] = args("set", "key:"+strconv.Itoa(i+j), "v")
		}
		apply(encode(entry.Commands, 1_700_000_000_000, idx, cmds...))
	}
	rng := rand.New(rand.NewPCG(5, 6))
	ents := make([][]byte, nEntries)
	for i := range ents {
		cmds := make([][][]byte, per)
		for j := range cmds {
			cmds[j] = args("set", "key:"+strconv.Itoa(rng.IntN(keys)), "value-0123456789")
		}
		ents[i] = encode(entry.Commands, 1_700_000_000_000, uint64(i), cmds...)
	}
	for _, on := range []bool{false, true} {
		b.Run("prefetch="+strconv.FormatBool(on), func(b *testing.B) {
			defer shard.SetPrefetching(shard.SetPrefetching(on))
			b.ResetTimer()
			for i := 0; i < b.N; i += per {
				apply(ents[int(idx)%nEntries])
			}
		})
	}
}
