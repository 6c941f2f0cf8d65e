package shard

import (
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// BenchmarkGuardOverhead compares applying SET with the per-command
// recover (applyCmd) and without it (the code before panic containment),
// in the same process, so the difference is the guard's cost.
func BenchmarkGuardOverhead(b *testing.B) {
	table := command.NewTable(strs.Specs)
	cmds := make([][][]byte, 1024)
	for i := range cmds {
		cmds[i] = [][]byte{[]byte("set"), []byte("key:" + strconv.Itoa(i)), []byte("value-0123456789")}
	}
	for _, guarded := range []bool{false, true} {
		name := "direct"
		if guarded {
			name = "guarded"
		}
		b.Run(name, func(b *testing.B) {
			var opts Options
			opts.setDefaults()
			s := &stateMachine{db: keyspace.New(), table: table, opts: opts}
			c := command.Ctx{DB: s.db, Now: 1_700_000_000_000}
			out := make([]byte, 0, 64)
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				cmd := cmds[i&1023]
				if guarded {
					out = s.applyCmd(&c, cmd, out[:0], false)
				} else {
					out = reply.Append(out[:0], s.table.Apply(&c, cmd))
					s.takeEvents(&c)
				}
			}
		})
	}
}
