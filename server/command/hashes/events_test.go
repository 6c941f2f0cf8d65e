package hashes

import (
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
)

// TestEvents checks the keyspace events of the hash write commands, as
// Redis 7.0's t_hash.c raises them.
func TestEvents(t *testing.T) {
	h := commandtest.New(t, Specs)
	h.NotifyMask = commandtest.AllClasses
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	steps := []struct {
		want string
		args []string
	}{
		{"h hset h", []string{"HSET", "h", "a", "1", "b", "2"}},
		{"h hset h", []string{"HSET", "h", "a", "1"}}, // nothing created, still raised
		{"h hset h", []string{"HMSET", "h", "c", "3"}},
		{"", []string{"HSET", "h", "a"}},
		{"", []string{"HSET", "str", "a", "1"}},
		{"h hset h", []string{"HSETNX", "h", "d", "4"}},
		{"", []string{"HSETNX", "h", "d", "4"}},
		{"h hincrby h", []string{"HINCRBY", "h", "a", "5"}},
		{"h hincrby n", []string{"HINCRBY", "n", "a", "5"}},
		{"", []string{"HINCRBY", "h", "a", "x"}},
		{"", []string{"HINCRBY", "h", "a", "9223372036854775807"}},
		{"h hincrbyfloat h", []string{"HINCRBYFLOAT", "h", "f", "1.5"}},
		{"", []string{"HINCRBYFLOAT", "h", "f", "x"}},
		{"h hdel h", []string{"HDEL", "h", "a", "zz"}},
		{"", []string{"HDEL", "h", "zz"}},
		{"", []string{"HDEL", "nokey", "zz"}},
		{"h hdel n, g del n", []string{"HDEL", "n", "a"}},
		{"h hdel h, g del h", []string{"HDEL", "h", "b", "c", "d", "f", "zz"}},
		{"", []string{"HGET", "h", "a"}},
		{"", []string{"HGETALL", "h"}},
	}
	for _, s := range steps {
		h.CheckEvents(s.want, s.args...)
	}
}

// TestDiffEvents compares the events with those redis-server publishes,
// for several class selections.
func TestDiffEvents(t *testing.T) {
	d := commandtest.NewEventDiff(t, "A", Specs)
	for _, classes := range []string{"A", "g", "h"} {
		d.Reset(classes)
		d.RedisQuiet("SET", "str", "v")
		d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
		for _, args := range [][]string{
			{"HSET", "h", "a", "1", "b", "2"}, {"HSET", "h", "a", "1"}, {"HMSET", "h", "c", "3"}, {"HSET", "h", "a"},
			{"HSET", "str", "a", "1"}, {"HSETNX", "h", "d", "4"}, {"HSETNX", "h", "d", "4"}, {"HSETNX", "str", "d", "4"},
			{"HINCRBY", "h", "a", "5"}, {"HINCRBY", "n", "a", "5"}, {"HINCRBY", "h", "a", "x"},
			{"HINCRBY", "h", "a", "9223372036854775807"}, {"HINCRBYFLOAT", "h", "f", "1.5"}, {"HINCRBYFLOAT", "h", "f", "x"},
			{"HINCRBYFLOAT", "h", "b", "1e5000"}, {"HDEL", "h", "a", "zz"}, {"HDEL", "h", "zz"}, {"HDEL", "nokey", "zz"},
			{"HDEL", "str", "zz"}, {"HDEL", "n", "a"}, {"HDEL", "h", "b", "c", "d", "f", "zz"},
			{"HGET", "h", "a"}, {"HGETALL", "h"}, {"HRANDFIELD", "h"},
		} {
			d.Compare(args...)
		}
	}
}
