package server_test

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// TestMemoryUsage: MEMORY USAGE answers like Redis 7.0 for a missing key,
// every option error and wrong arity (compared with redis-server in the
// same run); for a present key it is Cairn's accounted size, which grows
// with the value and is what INFO's used_memory_dataset sums.
func TestMemoryUsage(t *testing.T) {
	n := servertest.Start(t)
	cairn, redis := raw(t, n.Addr()), raw(t, commandtest.StartRedis(t))
	for _, c := range []*commandtest.Client{cairn, redis} {
		c.Do("SET", "s", "v")
	}
	same := [][]string{
		{"MEMORY", "USAGE", "missing"},
		{"MEMORY", "USAGE", "missing", "SAMPLES", "5"},
		{"MEMORY", "USAGE", "s", "SAMPLES"},
		{"MEMORY", "USAGE", "s", "SAMPLES", "x"},
		{"MEMORY", "USAGE", "s", "SAMPLES", "-1"},
		{"MEMORY", "USAGE", "s", "BOGUS", "1"},
		{"MEMORY", "USAGE", "missing", "SAMPLES", "x"},
		{"MEMORY", "USAGE"},
	}
	for _, args := range same {
		got, err1 := cairn.Do(args...)
		want, err2 := redis.Do(args...)
		if err1 != nil || err2 != nil || got.String() != want.String() {
			t.Errorf("%s: cairn %v (%v), redis %v (%v)", strings.Join(args, " "), got, err1, want, err2)
		}
	}
	size := func(args ...string) int64 {
		t.Helper()
		v, err := cairn.Do(args...)
		if err != nil || v.Kind != reply.KindInt || v.Int <= 0 {
			t.Fatalf("%v: %v %v", args, v, err)
		}
		return v.Int
	}
	small := size("MEMORY", "USAGE", "s")
	cairn.Do("SET", "s", strings.Repeat("x", 1000))
	if big := size("MEMORY", "USAGE", "s", "SAMPLES", "0"); big-small != 999 {
		t.Errorf("a 1000-byte value: %d bytes, a 1-byte one: %d", big, small)
	}
	cairn.Do("RPUSH", "l", "a", "b", "c")
	size("MEMORY", "USAGE", "l")
}
