package bits

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

func digest(db *keyspace.DB) string {
	var b strings.Builder
	db.Scan(0, func(it *keyspace.Item) bool {
		fmt.Fprintf(&b, "%q=%q/%v/%d/%v;", it.Key, it.Str, it.Type(), it.ExpireAt, it.Raw)
		return true
	})
	return b.String()
}

// FuzzBits feeds arbitrary argument lists to the bitmap commands (BITFIELD
// and BITFIELD_RO most of all, whose parsing is the most intricate). The
// first byte picks the command, the rest is split at newlines. No input
// may panic, an error must leave the keyspace unchanged, a reader must
// never change it, and no writer may change bytes a reader holds.
func FuzzBits(f *testing.F) {
	for _, s := range []string{
		"\x00s\nGET\nu8\n0\nSET\ni16\n#3\n-5\nINCRBY\nu3\n7\n9",
		"\x00s\nOVERFLOW\nFAIL\nINCRBY\ni64\n0\n9223372036854775807",
		"\x00n\nOVERFLOW\nSAT\nSET\nu63\n100\n-1\nGET\ni64\n#1000",
		"\x01s\nGET\ni8\n#-1", "\x01s\nSET\nu8\n0\n1", "\x00h\nGET\nu8\n0", "\x00s\nget\x00x\nu8\n0",
		"\x02s\n5\n1", "\x02n\n100\n0", "\x03s\n100", "\x04s\n1\n-1\n100\nbit", "\x05s\n0\n3\n-2\nBIT",
		"\x06AND\nd\ns\ne\nn", "\x06NOT\ns\ns", "\x06OR\nd\nn",
	} {
		f.Add([]byte(s))
	}
	names := []string{"bitfield", "bitfield_ro", "setbit", "getbit", "bitcount", "bitpos", "bitop"}
	tbl := command.NewTable(Specs)
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) == 0 {
			return
		}
		name := names[int(data[0])%len(names)]
		argv := [][]byte{[]byte(name)}
		if len(data) > 1 {
			argv = append(argv, bytes.Split(data[1:], []byte("\n"))...)
		}
		db := keyspace.New()
		db.Put([]byte("s"), []byte("hello world \x00\xff"), nil, 0)
		db.Put([]byte("e"), []byte{}, nil, 0)
		hash := keyspace.NewHash()
		hash.Set([]byte("f"), []byte("v"))
		db.Put([]byte("h"), nil, hash, 0)
		held := db.Get([]byte("s"), 0).Str
		heldCopy := bytes.Clone(held)
		before := digest(db)

		spec, err := tbl.Resolve(argv)
		if err != nil {
			return
		}
		c := command.Ctx{DB: db, Now: 1_700_000_000_000, Seed: 1, ProtoMaxBulkLen: 1 << 16}
		v := command.Exec(spec, &c, argv)
		after := digest(db)
		if v.Kind == reply.KindError {
			msg := string(v.Str)
			if !strings.HasPrefix(msg, "ERR ") && !strings.HasPrefix(msg, "WRONGTYPE ") {
				t.Fatalf("%q: odd error %q", argv, msg)
			}
			if after != before {
				t.Fatalf("%q: error %q changed the keyspace", argv, msg)
			}
		}
		if !spec.IsWrite() && after != before {
			t.Fatalf("%q: a reader changed the keyspace", argv)
		}
		if !bytes.Equal(held, heldCopy) {
			t.Fatalf("%q: changed bytes a reader holds", argv)
		}
	})
}
