package keys

import (
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/strs"
)

// TestEvents checks the keyspace events of the generic write commands, as
// Redis 7.0's db.c, expire.c and cluster.c (RESTORE) raise them.
func TestEvents(t *testing.T) {
	h := newHarness(t)
	h.NotifyMask = commandtest.AllClasses
	nowS := h.Now / 1000
	h.Do("SET", "s", "v")
	payload := string(h.Do("DUMP", "s").Str)
	steps := []struct {
		want string
		args []string
	}{
		{"$ set a", a("SET", "a", "1")},
		{"g del a", a("DEL", "a", "nokey", "a")},
		{"$ set a, $ set b", a("MSET", "a", "1", "b", "2")},
		{"g del b, g del a", a("UNLINK", "b", "a")},
		{"", a("DEL", "a")},
		{"$ set a", a("SET", "a", "1")},
		{"g rename_from a, g rename_to b", a("RENAME", "a", "b")},
		{"", a("RENAME", "b", "b")},
		{"", a("RENAME", "nokey", "x")},
		{"$ set c", a("SET", "c", "1")},
		{"g rename_from b, g rename_to c", a("RENAME", "b", "c")},
		{"$ set b", a("SET", "b", "1")},
		{"", a("RENAMENX", "b", "c")},
		{"", a("RENAMENX", "b", "b")},
		{"g rename_from b, g rename_to d", a("RENAMENX", "b", "d")},
		{"g copy_to e", a("COPY", "d", "e")},
		{"", a("COPY", "d", "e")},
		{"g copy_to e", a("COPY", "d", "e", "REPLACE")},
		{"", a("COPY", "nokey", "e", "REPLACE")},
		{"", a("COPY", "d", "d")},
		{"g expire e", a("EXPIRE", "e", "100")},
		{"g expire e", a("PEXPIRE", "e", "100000")},
		{"g expire e", a("EXPIREAT", "e", strconv.FormatInt(nowS+200, 10))},
		{"g expire e", a("PEXPIREAT", "e", strconv.FormatInt(nowS*1000+300000, 10))},
		{"", a("EXPIRE", "e", "100", "NX")},
		{"", a("EXPIRE", "nokey", "100")},
		{"", a("EXPIRE", "e", "x")},
		{"g persist e", a("PERSIST", "e")},
		{"", a("PERSIST", "e")},
		{"", a("PERSIST", "nokey")},
		{"g del e", a("EXPIRE", "e", "-1")},
		{"g del d", a("PEXPIREAT", "d", "1")},
		{"g restore r", a("RESTORE", "r", "0", payload)},
		{"", a("RESTORE", "r", "0", payload)},
		{"g restore r", a("RESTORE", "r", "100000", payload, "REPLACE")},
		{"g restore r2", a("RESTORE", "r2", strconv.FormatInt(nowS*1000+100000, 10), payload, "ABSTTL")},
		{"g del r", a("RESTORE", "r", "1", payload, "REPLACE", "ABSTTL")},
		{"", a("RESTORE", "r", "1", payload, "REPLACE", "ABSTTL")},
		{"", a("RESTORE", "r3", "0", "junk")},
		{"", a("FLUSHDB")},
		{"", a("FLUSHALL")},
		{"", a("EXISTS", "a")},
		{"", a("TYPE", "a")},
	}
	for _, s := range steps {
		h.CheckEvents(s.want, s.args...)
	}
}

// TestDiffEvents compares the events with those redis-server publishes,
// for several class selections.
func TestDiffEvents(t *testing.T) {
	d := commandtest.NewEventDiff(t, "A", Specs, strs.Specs, hashes.Specs)
	for _, classes := range []string{"A", "g", "$h"} {
		d.Reset(classes)
		d.Quiet("SET", "s", "v")
		v, err := d.Redis.Do("DUMP", "s")
		if err != nil {
			t.Fatal(err)
		}
		payload := string(v.Str)
		past := strconv.FormatInt(d.H.Now-10000, 10)
		future := strconv.FormatInt(d.H.Now+1000000, 10)
		for _, args := range [][]string{
			{"SET", "a", "1"}, {"DEL", "a", "nokey", "a"}, {"MSET", "a", "1", "b", "2"}, {"UNLINK", "b", "a"},
			{"DEL", "a"}, {"SET", "a", "1"}, {"RENAME", "a", "b"}, {"RENAME", "b", "b"}, {"RENAME", "nokey", "x"},
			{"SET", "c", "1"}, {"RENAME", "b", "c"}, {"SET", "b", "1"}, {"RENAMENX", "b", "c"}, {"RENAMENX", "b", "b"},
			{"RENAMENX", "b", "d"}, {"COPY", "d", "e"}, {"COPY", "d", "e"}, {"COPY", "d", "e", "REPLACE"},
			{"COPY", "nokey", "e", "REPLACE"}, {"COPY", "d", "d"},
			{"EXPIRE", "e", "100"}, {"PEXPIRE", "e", "100000"}, {"EXPIREAT", "e", future[:len(future)-3]},
			{"PEXPIREAT", "e", future}, {"EXPIRE", "e", "100", "NX"}, {"EXPIRE", "e", "200", "GT"}, {"EXPIRE", "e", "300", "LT"},
			{"EXPIRE", "nokey", "100"}, {"EXPIRE", "e", "x"}, {"PERSIST", "e"}, {"PERSIST", "e"}, {"PERSIST", "nokey"},
			{"EXPIRE", "e", "-1"}, {"PEXPIREAT", "d", "1"}, {"EXPIREAT", "c", past[:len(past)-3]},
			{"RESTORE", "r", "0", payload}, {"RESTORE", "r", "0", payload}, {"RESTORE", "r", "100000", payload, "REPLACE"},
			{"RESTORE", "r2", future, payload, "ABSTTL"}, {"RESTORE", "r", past, payload, "REPLACE", "ABSTTL"},
			{"RESTORE", "r", past, payload, "REPLACE", "ABSTTL"}, {"RESTORE", "r3", "0", "junk"},
			{"HSET", "h", "f", "v"}, {"RENAME", "h", "h2"}, {"COPY", "h2", "h3"}, {"DEL", "h2", "h3"},
			{"SET", "x", "1"}, {"FLUSHDB"}, {"SET", "x", "1"}, {"FLUSHALL"}, {"EXISTS", "x"}, {"TOUCH", "x"},
		} {
			d.Compare(args...)
		}
	}
}
