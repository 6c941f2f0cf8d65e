package strs

import (
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
)

// TestTTLExpiry moves the harness clock across expiries.
func TestTTLExpiry(t *testing.T) {
	h := newHarness(t)
	now := h.Now
	h.Check("OK", "set", "k", "v", "ex", "10")
	h.Check(itoa(now+10000), "pexpiretime", "k")
	h.Now += 9999
	h.Check("v", "get", "k")
	h.Now++
	h.Check("(nil)", "get", "k")
	h.Check("0", "strlen", "k")
	h.Check("[(nil)]", "mget", "k")
	h.Check("1", "setnx", "k", "new") // the expired key does not block NX
	h.Check("-1", "pexpiretime", "k")

	now = h.Now
	h.Check("OK", "psetex", "p", "1500", "v")
	h.Check(itoa(now+1500), "pexpiretime", "p")
	h.Check("OK", "setex", "s", "2", "v")
	h.Check(itoa(now+2000), "pexpiretime", "s")
	h.Now += 1500
	h.Check("(nil)", "get", "p")
	h.Check("v", "get", "s")
	h.Check("(nil)", "set", "p", "v", "xx") // expired: XX finds nothing
	h.Now += 500
	h.Check("(nil)", "getex", "s", "persist")
	h.Check("1", "incr", "s") // starts from 0 after expiry
	h.Check("-1", "pexpiretime", "s")
}

func TestTTLKeptAndDropped(t *testing.T) {
	h := newHarness(t)
	now := h.Now
	at := itoa(now + 100000)
	// Writers that modify the value keep the TTL.
	for _, c := range [][]string{
		{"append", "k", "x"}, {"setrange", "k", "0", "z"}, {"incr", "n"}, {"decrby", "n", "3"},
		{"incrbyfloat", "n", "0.5"}, {"set", "k", "v", "keepttl"}, {"set", "k", "v", "keepttl", "get"},
		{"set", "k", "v", "nx"}, {"setnx", "k", "v"}, {"getex", "k"}, {"msetnx", "k", "1", "z", "2"},
	} {
		h.Check("OK", "set", "k", "1", "px", "100000")
		h.Check("OK", "set", "n", "1", "px", "100000")
		h.Do(c...)
		h.Check(at, "pexpiretime", c[1])
	}
	// Writers that replace the value drop it.
	for _, c := range [][]string{
		{"set", "k", "v"}, {"set", "k", "v", "xx"}, {"set", "k", "v", "get"}, {"getset", "k", "v"}, {"mset", "k", "v"},
		{"getex", "k", "persist"},
	} {
		h.Check("OK", "set", "k", "1", "px", "100000")
		h.Do(c...)
		h.Check("-1", "pexpiretime", "k")
	}
	// KEEPTTL on a key without TTL, or a missing key, sets none.
	h.Check("OK", "set", "k", "v", "keepttl")
	h.Check("-1", "pexpiretime", "k")
	h.Check("OK", "set", "fresh", "v", "keepttl")
	h.Check("-1", "pexpiretime", "fresh")
}

func TestTTLPastAbsolute(t *testing.T) {
	h := newHarness(t)
	now := h.Now
	for _, opts := range [][]string{{"exat", "1"}, {"pxat", "1"}, {"pxat", itoa(now)}, {"exat", itoa(now/1000 - 1)}} {
		h.Check("OK", "set", "k", "old")
		args := append([]string{"set", "k", "v", "get"}, opts...)
		h.Check("old", args...)
		h.Check("0", "exists", "k")
		if h.DB.Peek([]byte("k")) != nil {
			t.Errorf("%q: key still stored", args)
		}
		h.Check("OK", append([]string{"set", "k", "v"}, opts...)...)
		h.Check("(nil)", "get", "k")
		h.Check("1", "setnx", "k", "n")
		h.Check("n", "getex", "k", opts[0], opts[1])
		if h.DB.Peek([]byte("k")) != nil {
			t.Errorf("getex %q: key still stored", opts)
		}
	}
	// One millisecond in the future is still alive.
	h.Check("OK", "set", "k", "v", "pxat", itoa(now+1))
	h.Check("v", "get", "k")
	h.Now++
	h.Check("(nil)", "get", "k")
}

// TestTTLReplay applies the same log entry twice at different wall-clock
// times: relative TTLs come from the entry's time, so both applies agree.
func TestTTLReplay(t *testing.T) {
	for _, args := range [][]string{
		{"set", "k", "v", "ex", "10"}, {"set", "k", "v", "px", "1234"}, {"setex", "k", "7", "v"},
		{"psetex", "k", "700", "v"}, {"getex", "k", "ex", "9"}, {"getex", "k", "px", "99"},
	} {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		buf := entry.Append(nil, &entry.Entry{Kind: entry.Commands, Time: 1_700_000_000_000, Seed: 1, Cmds: [][][]byte{argv}})
		var got []int64
		for replay := 0; replay < 2; replay++ {
			h := newHarness(t)
			h.Check("OK", "set", "k", "v")
			var e entry.Entry
			if err := entry.Decode(buf, &e); err != nil {
				t.Fatal(err)
			}
			c := command.Ctx{DB: h.DB, Now: e.Time, Seed: e.Seed, ProtoMaxBulkLen: 512 << 20}
			if v := h.Table.Apply(&c, e.Cmds[0]); v.IsError() {
				t.Fatalf("%q: %s", args, v)
			}
			got = append(got, h.DB.Peek([]byte("k")).ExpireAt)
		}
		if got[0] != got[1] || got[0] <= 1_700_000_000_000 {
			t.Errorf("%q: expiries %v", args, got)
		}
	}
}

// TestSnapshotIsolation checks that in-place writers leave a snapshot's
// view of the value untouched.
func TestSnapshotIsolation(t *testing.T) {
	h := newHarness(t)
	h.Check("OK", "set", "k", "hello")
	h.Check("6", "append", "k", "!")
	old := h.DB.Peek([]byte("k"))
	h.DB.Snapshot()
	h.Check("10", "append", "k", "more")
	h.Check("10", "setrange", "k", "0", "J")
	h.Check("Jello!more", "getex", "k", "ex", "100")
	if string(old.Str) != "hello!" || old.ExpireAt != 0 {
		t.Errorf("snapshot item changed: %q, %d", old.Str, old.ExpireAt)
	}
	h.Check("Jello!more", "get", "k")
}
