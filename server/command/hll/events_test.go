package hll

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
)

func TestDiffDirtyAndEvents(t *testing.T) {
	addr := commandtest.StartRedis(t)
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &commandtest.Diff{H: newHarness(t), Redis: c}
	e := commandtest.NewDirtyDiff(t, d, addr)
	// Redis's PFCOUNT counts the cache it stores as a change; Cairn's
	// PFCOUNT is a read.
	e.SkipDirty = func(args []string) bool { return strings.EqualFold(args[0], "pfcount") }
	d.Compare("HSET", "hash", "f", "v")
	e.Events()
	for _, args := range [][]string{
		{"PFADD", "h"}, {"PFADD", "h"}, {"PFADD", "h", "a", "b"}, {"PFADD", "h", "a", "b"}, {"PFADD", "h", "a", "c", "d"},
		{"PFADD", "n", "a", "b", "c"}, {"PFADD", "hash", "a"}, {"PFCOUNT", "h"}, {"PFCOUNT", "h", "n"},
		{"PFMERGE", "m"}, {"PFMERGE", "m"}, {"PFMERGE", "m", "h", "n"}, {"PFMERGE", "m", "hash"},
		{"PFDEBUG", "ENCODING", "m"}, {"PFDEBUG", "TODENSE", "m"}, {"PFDEBUG", "TODENSE", "m"}, {"PFDEBUG", "GETREG", "h"},
		{"PFDEBUG", "DECODE", "n"}, {"PFDEBUG", "GETREG", "nokey"}, {"PFADD", "m", "zz"},
	} {
		e.Run(args...)
	}
}
