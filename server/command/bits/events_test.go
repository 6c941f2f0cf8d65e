package bits

import (
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
	d.Compare("HSET", "hash", "f", "v")
	e.Events()
	for _, args := range [][]string{
		{"SETBIT", "b", "3", "1"}, {"SETBIT", "b", "3", "1"}, {"SETBIT", "b", "3", "0"}, {"SETBIT", "b", "20", "0"},
		{"SETBIT", "b", "20", "0"}, {"SETBIT", "new", "0", "0"}, {"SETBIT", "b", "x", "1"},
		{"SETBIT", "hash", "1", "1"},
		{"BITOP", "OR", "d", "b", "new"}, {"BITOP", "AND", "d", "nokey"}, {"BITOP", "AND", "d", "nokey"},
		{"BITOP", "NOT", "d", "b"}, {"BITOP", "XOR", "d", "b", "hash"},
		{"BITFIELD", "f", "GET", "u8", "0"}, {"BITFIELD", "f", "SET", "u8", "0", "0"}, {"BITFIELD", "f", "SET", "u8", "0", "0"},
		{"BITFIELD", "f", "SET", "u8", "0", "1", "SET", "u8", "8", "0", "INCRBY", "u8", "0", "0"},
		{"BITFIELD", "f", "SET", "u8", "0", "1", "SET", "u8", "8", "0", "INCRBY", "u8", "0", "1"},
		{"BITFIELD", "g", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9"}, {"EXISTS", "g"},
		{"BITFIELD", "f", "OVERFLOW", "FAIL", "INCRBY", "u2", "0", "9", "INCRBY", "u2", "0", "1"},
		{"BITFIELD", "f", "SET", "u4", "60", "1", "SET", "u4", "60", "1"},
		{"BITFIELD_RO", "f", "GET", "u8", "0"},
	} {
		e.Run(args...)
	}
}
