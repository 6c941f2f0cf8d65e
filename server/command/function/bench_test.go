package function_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/function"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// BenchmarkApply measures what the shard's apply does for one command of
// bench-modules' rows: a plain SET, and FCALLs of the WAT fixture's incr,
// the C example's cincr and the Go exec module running SET (Table.Apply
// with a fresh Ctx, as for a log entry). The difference to SET is what a
// writing FCALL adds at apply time.
func BenchmarkApply(b *testing.B) {
	ctx := context.Background()
	rt, err := modules.NewRuntime(ctx, modules.Config{})
	if err != nil {
		b.Fatal(err)
	}
	defer func() { _ = rt.Close(ctx) }()
	table := command.NewTable(function.Specs, strs.Specs)
	db := keyspace.New()
	funcs := modules.NewRegistry(rt)
	for name, code := range map[string][]byte{
		"wat": modulestest.Fixture(b, "test"), "c": modulestest.Fixture(b, "c_incr"), "exec": modulestest.Example(b, "testdata/exec"),
	} {
		if _, err := funcs.Load(ctx, modulestest.Payload(name, code), false, modules.DefaultLimits()); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct{ name, cmd string }{
		{"SET", "SET k v"},
		{"FCALL-incr-WAT", "FCALL incr 1 n"},
		{"FCALL-cincr-C", "FCALL cincr 1 n"},
		{"FCALL-exec-SET-Go", "FCALL exec 1 k SET k v"},
	} {
		var argv [][]byte
		for _, a := range strings.Fields(bc.cmd) {
			argv = append(argv, []byte(a))
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			now := int64(1_700_000_000_000)
			for b.Loop() {
				now++
				c := command.Ctx{DB: db, Now: now, Seed: uint64(now), ProtoMaxBulkLen: 512 << 20, Funcs: funcs, Table: table}
				if v := table.Apply(&c, argv); v.Kind == reply.KindError {
					b.Fatalf("%s: %s", bc.cmd, v.Str)
				}
			}
		})
	}
}
