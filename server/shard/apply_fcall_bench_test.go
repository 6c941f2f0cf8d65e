package shard_test

import (
	"strconv"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/shard"
)

// BenchmarkApplyFCall compares the apply path of a writing FCALL (the WAT
// fixture's incr: one INCR through the host) with a plain INCR and SET,
// one command an entry: the server-side cost a call adds to a write.
func BenchmarkApplyFCall(b *testing.B) {
	for _, c := range []struct {
		name string
		cmd  func(i int) [][]byte
	}{
		{"set", func(i int) [][]byte { return args("set", "key:"+strconv.Itoa(i%1000), "value-0123456789") }},
		{"incr", func(i int) [][]byte { return args("incr", "key:"+strconv.Itoa(i%1000)) }},
		{"fcall-incr", func(i int) [][]byte { return args("fcall", "incr", "1", "key:"+strconv.Itoa(i%1000)) }},
		{"fcall-ping", func(i int) [][]byte { return args("fcall", "ping", "0") }},
	} {
		b.Run(c.name, func(b *testing.B) {
			s := shard.NewTestSM(table)
			load := encode(entry.Commands, 1_700_000_000_000, 1, [][]byte{[]byte("FUNCTION"), []byte("LOAD"), modulestest.Payload("t", modulestest.Fixture(b, "test"))})
			if _, err := s.SM().Update([]sm.Entry{{Index: 1, Cmd: load}}); err != nil {
				b.Fatal(err)
			}
			const nEntries = 1024
			ents := make([][]byte, nEntries)
			for i := range ents {
				ents[i] = encode(entry.Commands, 1_700_000_000_000+int64(i), uint64(i), c.cmd(i))
			}
			batch := make([]sm.Entry, 1)
			idx := uint64(1)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				idx++
				batch[0] = sm.Entry{Index: idx, Cmd: ents[idx%nEntries]}
				if _, err := s.SM().Update(batch); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
