package strs

import (
	"bytes"
	"fmt"
	"github.com/cairndb/cairn/server/command/longdouble"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

var fuzzCommands = []string{"set", "getex", "incrbyfloat", "setrange", "getrange", "lcs"}

// dbDigest renders every key, value and expiry, to tell whether a command
// changed anything.
func dbDigest(db *keyspace.DB) string {
	var b strings.Builder
	db.Scan(0, func(it *keyspace.Item) bool {
		fmt.Fprintf(&b, "%q=%q/%v/%d/%v;", it.Key, it.Str, it.Type(), it.ExpireAt, it.Raw)
		return true
	})
	return b.String()
}

// FuzzStrings feeds arbitrary argument lists to the commands with the most
// parsing (SET, GETEX, INCRBYFLOAT, SETRANGE, GETRANGE, LCS). The first
// byte picks the command, the rest is split at newlines. No input may
// panic, an error reply must leave the keyspace unchanged, and a stored
// INCRBYFLOAT result must parse as a float again.
func FuzzStrings(f *testing.F) {
	for _, s := range []string{
		"\x00s\nv\nNX\nGET\nEX\n10", "\x00s\nv\nKEEPTTL\nPXAT\n1", "\x00s\nv\nex\n9223372036854775", "\x00h\nv\nget",
		"\x01s\nEX\n100", "\x01s\npersist", "\x01s\nexat\n1", "\x01h\npx\n0",
		"\x02f\n0.1", "\x02f\n-0x1.8p3", "\x02f\n1e4932", "\x02n\ninf", "\x02s\n1", "\x02f\n" + strings.Repeat("9", 300),
		"\x03s\n5\nabc", "\x03s\n-1\nx", "\x03m\n1048570\nxyzxyzxyz", "\x03h\n0\n",
		"\x04s\n-10\n-20", "\x04s\n0\n-1", "\x04n\n9223372036854775807\n-9223372036854775808",
		"\x05s\nl\nidx\nwithmatchlen\nminmatchlen\n2", "\x05s\nh\nlen", "\x05s\nl\nlen\nidx",
	} {
		f.Add([]byte(s))
	}
	tbl := command.NewTable(Specs)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		name := fuzzCommands[int(data[0])%len(fuzzCommands)]
		argv := [][]byte{[]byte(name)}
		if len(data) > 1 {
			argv = append(argv, bytes.Split(data[1:], []byte("\n"))...)
		}
		db := keyspace.New()
		const now = 1_700_000_000_000
		db.Put([]byte("s"), []byte("hello world"), nil, 0)
		db.Put([]byte("l"), []byte("ohmytext"), nil, now+5000)
		db.Put([]byte("n"), []byte("12345"), nil, 0)
		db.Put([]byte("f"), []byte("3.25"), nil, 0)
		hash := keyspace.NewHash()
		hash.Set([]byte("f"), []byte("v"))
		db.Put([]byte("h"), nil, hash, 0)
		before := dbDigest(db)

		spec, err := tbl.Resolve(argv)
		if err != nil {
			return
		}
		c := command.Ctx{DB: db, Now: now, Seed: 1, ProtoMaxBulkLen: 1 << 20}
		v := command.Exec(spec, &c, argv)
		if v.Kind == reply.KindError {
			msg := string(v.Str)
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: odd error %q", argv, msg)
			}
			if after := dbDigest(db); spec.IsWrite() && after != before {
				t.Fatalf("%q: error %q changed the keyspace", argv, msg)
			}
			return
		}
		if name == "incrbyfloat" {
			it := db.Peek(argv[1])
			if it == nil || string(it.Str) != string(v.Str) {
				t.Fatalf("%q: reply %q, stored %v", argv, v.Str, it)
			}
			if _, ok := longdouble.Parse(it.Str); !ok {
				t.Fatalf("%q: stored %q does not parse", argv, it.Str)
			}
		}
	})
}
