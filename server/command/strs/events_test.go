package strs

import (
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
)

// TestEvents checks the keyspace events of every string write command,
// as Redis 7.0's t_string.c raises them.
func TestEvents(t *testing.T) {
	h := commandtest.New(t, Specs, testSpecs)
	h.NotifyMask = commandtest.AllClasses
	past := strconv.FormatInt(h.Now/1000-10, 10)
	future := strconv.FormatInt(h.Now/1000+100, 10)
	steps := []struct {
		want string
		args []string
	}{
		{"$ set k", []string{"SET", "k", "v"}},
		{"$ set k, g expire k", []string{"SET", "k", "v", "EX", "100"}},
		{"$ set k, g expire k", []string{"SET", "k", "v", "PXAT", future + "000"}},
		{"$ set k", []string{"SET", "k", "v", "KEEPTTL"}},
		{"$ set k", []string{"SET", "k", "v", "GET"}},
		{"", []string{"SET", "k", "v", "NX"}},
		{"", []string{"SET", "k", "v", "NX", "GET"}},
		{"", []string{"SET", "nokey", "v", "XX"}},
		{"", []string{"SET", "k", "v", "EX", "0"}},
		{"", []string{"SET", "k", "v", "BAD"}},
		// Redis stores the value and expires it later; Cairn at once.
		{"$ set gone, g expire gone, x expired gone", []string{"SET", "gone", "v", "EXAT", past}},
		{"$ set n", []string{"SETNX", "n", "v"}},
		{"", []string{"SETNX", "n", "v"}},
		{"$ set e, g expire e", []string{"SETEX", "e", "100", "v"}},
		{"$ set p, g expire p", []string{"PSETEX", "p", "100000", "v"}},
		{"", []string{"SETEX", "e", "-1", "v"}},
		{"$ set m1, $ set m2, $ set m1", []string{"MSET", "m1", "a", "m2", "b", "m1", "c"}},
		{"$ set m3, $ set m4", []string{"MSETNX", "m3", "a", "m4", "b"}},
		{"", []string{"MSETNX", "m5", "a", "m4", "b"}},
		{"$ setrange r", []string{"SETRANGE", "r", "3", "abc"}},
		{"$ setrange r", []string{"SETRANGE", "r", "0", "x"}},
		{"$ setrange r", []string{"SETRANGE", "r", "10", "x"}},
		{"", []string{"SETRANGE", "r", "0", ""}},
		{"", []string{"SETRANGE", "r2", "5", ""}},
		{"", []string{"SETRANGE", "r", "-1", "x"}},
		{"$ append a", []string{"APPEND", "a", "x"}},
		{"$ append a", []string{"APPEND", "a", "y"}},
		{"$ incrby i", []string{"INCR", "i"}},
		{"$ incrby i", []string{"DECR", "i"}},
		{"$ incrby i", []string{"INCRBY", "i", "5"}},
		{"$ incrby i", []string{"DECRBY", "i", "5"}},
		{"", []string{"INCR", "a"}},
		{"$ incrbyfloat f", []string{"INCRBYFLOAT", "f", "1.5"}},
		{"", []string{"INCRBYFLOAT", "a", "1.5"}},
		{"$ set g", []string{"GETSET", "g", "1"}},
		{"$ set g", []string{"GETSET", "g", "2"}},
		{"g del g", []string{"GETDEL", "g"}},
		{"", []string{"GETDEL", "g"}},
		{"", []string{"GETEX", "k"}},
		{"g expire k", []string{"GETEX", "k", "EX", "100"}},
		{"g persist k", []string{"GETEX", "k", "PERSIST"}},
		{"", []string{"GETEX", "k", "PERSIST"}},
		{"g expire k", []string{"GETEX", "k", "EXAT", future}},
		{"g del k", []string{"GETEX", "k", "EXAT", past}},
		{"", []string{"GETEX", "k", "EX", "100"}},
		{"", []string{"GET", "a"}},
		{"", []string{"STRLEN", "a"}},
	}
	for _, s := range steps {
		h.CheckEvents(s.want, s.args...)
	}
	// A mask selects classes.
	h.NotifyMask = 1 << 1 // '$' only (command.ClassBit)
	h.CheckEvents("$ set k", "SET", "k", "v", "EX", "100")
	h.CheckEvents("", "GETEX", "k", "PERSIST")
	h.NotifyMask = 0
	h.CheckEvents("", "SET", "k", "v", "EX", "100")
}

// TestDiffEvents compares the events with those redis-server publishes,
// for several class selections. Expired events are left out: Redis raises
// them when it gets round to deleting a key.
func TestDiffEvents(t *testing.T) {
	d := commandtest.NewEventDiff(t, "g$lshzetd", Specs, testSpecs)
	for _, classes := range []string{"g$lshzetd", "g", "$", "h"} {
		d.Reset(classes)
		d.Quiet("HSET", "hash", "f", "v")
		past := strconv.FormatInt(d.H.Now/1000-10, 10)
		for _, args := range [][]string{
			{"SET", "k", "v"}, {"SET", "k", "v", "EX", "100"}, {"SET", "k", "v", "KEEPTTL"}, {"SET", "k", "w", "GET"},
			{"SET", "k", "v", "NX"}, {"SET", "nokey", "v", "XX"}, {"SET", "k", "v", "EX", "0"}, {"SET", "hash", "v", "GET"},
			{"SET", "k", "v", "PX", "100000", "XX", "GET"}, {"SET", "x", "v", "EXAT", past},
			{"SETNX", "n", "v"}, {"SETNX", "n", "v"}, {"SETEX", "e", "100", "v"}, {"PSETEX", "p", "100000", "v"},
			{"SETEX", "e", "-1", "v"}, {"MSET", "m1", "a", "m2", "b", "m1", "c"}, {"MSETNX", "m3", "a", "m4", "b"},
			{"MSETNX", "m5", "a", "m4", "b"}, {"MSET", "m1"},
			{"SETRANGE", "r", "3", "abc"}, {"SETRANGE", "r", "0", "x"}, {"SETRANGE", "r", "0", ""}, {"SETRANGE", "r2", "5", ""},
			{"SETRANGE", "hash", "0", "x"}, {"APPEND", "a", "x"}, {"APPEND", "a", "y"}, {"APPEND", "hash", "y"},
			{"INCR", "i"}, {"DECR", "i"}, {"INCRBY", "i", "5"}, {"DECRBY", "i", "5"}, {"INCR", "a"}, {"INCR", "hash"},
			{"INCRBYFLOAT", "f", "1.5"}, {"INCRBYFLOAT", "i", "1"}, {"INCRBYFLOAT", "a", "1.5"},
			{"GETSET", "g", "1"}, {"GETSET", "g", "2"}, {"GETDEL", "g"}, {"GETDEL", "g"}, {"GETDEL", "hash"},
			{"SET", "k", "v"}, {"GETEX", "k"}, {"GETEX", "k", "EX", "100"}, {"GETEX", "k", "PERSIST"}, {"GETEX", "k", "PERSIST"},
			{"GETEX", "k", "PX", "100000"}, {"GETEX", "k", "EXAT", past}, {"GETEX", "k", "EX", "100"}, {"GETEX", "hash", "EX", "100"},
			{"GET", "a"}, {"MGET", "a", "i"}, {"STRLEN", "a"}, {"GETRANGE", "a", "0", "1"},
		} {
			d.Compare(args...)
		}
	}
}
