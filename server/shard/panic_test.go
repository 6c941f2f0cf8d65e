package shard_test

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// panicSpecs are test-only commands whose handlers panic, to check that a
// panic is contained: TESTPANIC key value writes key, then panics with a
// value whose text differs between runs (a fresh pointer); TESTPANICRO key
// is a read that panics; TESTPANICKEYS panics computing its keys (the
// cluster slot check runs before the handler).
var panicSpecs = []*command.Spec{
	{Name: "testpanic", Arity: 3, Flags: command.Write, FirstKey: 1, LastKey: 1, Step: 1,
		Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
			c.DB.Put(args[1], append([]byte(nil), args[2]...), nil, 0)
			c.Dirty++
			panic(&struct{ n int }{len(args)}) // printed as an address
		}},
	{Name: "testpanicro", Arity: 2, Flags: command.ReadOnly, FirstKey: 1, LastKey: 1, Step: 1,
		Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
			var m map[string]int
			m[string(args[1])]++ // nil map write
			return reply.OK, nil
		}},
	{Name: "testpanickeys", Arity: -2, Flags: command.Write,
		KeysFunc: func(args [][]byte) []int { return []int{len(args) + 5}[:len(args)+1] },
		Run: func(c *command.Ctx, args [][]byte) (reply.Value, error) {
			return reply.OK, nil
		}},
}

// logBuf collects slog output for assertions.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func panicSM(cluster bool, slots []uint16) (*shard.TestSM, *logBuf) {
	lb := &logBuf{}
	log := slog.New(slog.NewTextHandler(lb, nil))
	t := server.Commands(panicSpecs)
	return shard.NewTestSMOpts(t, shard.Options{ShardID: 7, Logger: log, Cluster: cluster, InitialSlots: slots}), lb
}

// TestSMPanicContained: a command whose handler panics at apply time gets
// a deterministic error reply (the same text on every replica, whatever
// the panic value), the other commands of its entry and the following
// entries apply, the panic is logged with the shard, index and command,
// and a second state machine replaying the same log, in other batches,
// reaches the same replies and state.
func TestSMPanicContained(t *testing.T) {
	want := reply.Error("ERR internal error executing 'testpanic', see the server log")
	log := [][]byte{
		encode(entry.Commands, 1000, 1, args("set", "a", "1"), args("testpanic", "p", "partial"), args("incr", "a")),
		encode(entry.Commands, 1001, 2, args("TESTPANIC", "q", "x")),
		encode(entry.Multi, 1002, 3, args("incr", "a"), args("testpanic", "r", "y"), args("testpanicro", "a"), args("get", "a")),
		encode(entry.WatchedMulti, 1003, 4, args("a", "12345"), args("set", "never", "1")),
		encode(entry.Commands, 1004, 5, args("hset", "h", "f", "v"), args("sadd", "s", "m")),
	}
	a, lbA := panicSM(false, nil)
	var resA []sm.Result
	for i, e := range log {
		resA = append(resA, apply(t, a, uint64(i+1), e))
	}
	rs := replies(t, resA[0])
	if len(rs) != 3 || !reply.Equal(rs[0], reply.OK) || !reply.Equal(rs[1], want) || !reply.Equal(rs[2], reply.Int(2)) {
		t.Fatalf("entry 1 replies %v", rs)
	}
	if rs := replies(t, resA[1]); len(rs) != 1 || !reply.Equal(rs[0], want) {
		t.Fatalf("entry 2 replies %v", rs)
	}
	rs = replies(t, resA[2])
	if len(rs) != 1 || rs[0].Kind != reply.KindArray || len(rs[0].Elems) != 4 {
		t.Fatalf("multi replies %v", rs)
	}
	ex := rs[0].Elems
	if !reply.Equal(ex[0], reply.Int(3)) || !reply.Equal(ex[1], want) ||
		!reply.Equal(ex[2], reply.Error("ERR internal error executing 'testpanicro', see the server log")) ||
		!reply.Equal(ex[3], reply.BulkString("3")) {
		t.Fatalf("multi replies %v", ex)
	}
	if rs := replies(t, resA[4]); len(rs) != 2 || !reply.Equal(rs[0], reply.Int(1)) || !reply.Equal(rs[1], reply.Int(1)) {
		t.Fatalf("entry after the panics: %v", rs)
	}
	if a.Applied() != uint64(len(log)) || a.Panics() != 4 {
		t.Fatalf("applied %d, panics %d", a.Applied(), a.Panics())
	}
	// What the handler did before it panicked stays (the same on every
	// replica).
	if it := a.DB().Peek([]byte("p")); it == nil || string(it.Str) != "partial" {
		t.Fatal("the partial write of the panicking command is missing")
	}
	logs := lbA.String()
	for _, s := range []string{"level=ERROR", "shard=7", "index=1", "index=2", "index=3", "command=testpanic", "command=testpanicro", "panic=", "stack=", "panic_test.go"} {
		if !strings.Contains(logs, s) {
			t.Errorf("log lacks %q:\n%s", s, logs)
		}
	}

	// b: the same log in one Update call.
	b, _ := panicSM(false, nil)
	batch := make([]sm.Entry, len(log))
	for i := range log {
		batch[i] = sm.Entry{Index: uint64(i + 1), Cmd: log[i]}
	}
	out, err := b.SM().Update(batch)
	if err != nil {
		t.Fatal(err)
	}
	for i := range out {
		if out[i].Result.Value != resA[i].Value || !bytes.Equal(out[i].Result.Data, resA[i].Data) {
			t.Fatalf("entry %d: replay replies differ:\n %v\n %v", i+1, replies(t, resA[i]), replies(t, out[i].Result))
		}
	}
	if digest(a) != digest(b) || a.DB().Len() != b.DB().Len() {
		t.Fatal("replay diverged")
	}
}

// TestSMPanicContainedCluster covers the entry kinds of a cluster shard: a
// panic in the slot check before a handler, SlotOp entries and Expire
// entries around it keep applying.
func TestSMPanicContainedCluster(t *testing.T) {
	all := make([]uint16, 16384)
	for i := range all {
		all[i] = uint16(i)
	}
	s, logs := panicSM(true, all)
	rs := replies(t, apply(t, s, 1, encode(entry.Commands, 1000, 1, args("testpanickeys", "a"), args("set", "k", "v", "px", "10"))))
	if len(rs) != 2 || !reply.Equal(rs[0], reply.Error("ERR internal error executing 'testpanickeys', see the server log")) || !reply.Equal(rs[1], reply.OK) {
		t.Fatalf("replies %v", rs)
	}
	rs = replies(t, apply(t, s, 2, encode(entry.Multi, 1000, 2, args("set", "m", "1"), args("testpanickeys", "a"))))
	if len(rs) != 1 || !reply.Equal(rs[0], reply.Error("ERR internal error executing 'exec', see the server log")) {
		t.Fatalf("multi with a panicking slot check: %v", rs)
	}
	if s.DB().Peek([]byte("m")) != nil {
		t.Fatal("a transaction whose checks panicked ran a command")
	}
	res := apply(t, s, 3, encode(entry.Expire, 2000, 3, args("k")))
	if res.Value != 1 || s.DB().Peek([]byte("k")) != nil {
		t.Fatalf("expire entry after a panic: %d", res.Value)
	}
	rs = replies(t, apply(t, s, 4, encode(entry.SlotOp, 2000, 4, args(shard.OpStatus, string(shard.EncodeSlots([]uint16{1, 2}))))))
	if len(rs) != 1 || rs[0].Kind != reply.KindArray {
		t.Fatalf("slot op: %v", rs)
	}
	if s.Panics() != 2 || !strings.Contains(logs.String(), "command=exec") {
		t.Fatalf("panics %d, logs:\n%s", s.Panics(), logs)
	}
}

// TestReadPanicContained: a read handler that panics answers an error,
// releases the read lock (the next write would deadlock otherwise) and the
// state machine keeps serving reads and writes.
func TestReadPanicContained(t *testing.T) {
	s, logs := panicSM(false, nil)
	tbl := server.Commands(panicSpecs)
	do(t, s, 1, 1000, "set", "a", "1")
	v := s.Read(1000, tbl.Lookup([]byte("testpanicro")), args("testpanicro", "a"))
	if !reply.Equal(v, reply.Error("ERR internal error executing 'testpanicro', see the server log")) {
		t.Fatalf("read reply %v", v)
	}
	if v := do(t, s, 2, 1000, "incr", "a"); !reply.Equal(v, reply.Int(2)) {
		t.Fatalf("write after a panicked read: %v", v)
	}
	if v := s.Read(1000, tbl.Lookup([]byte("get")), args("get", "a")); !reply.Equal(v, reply.BulkString("2")) {
		t.Fatalf("read after a panicked read: %v", v)
	}
	if !strings.Contains(logs.String(), "command=testpanicro") || s.Panics() != 1 {
		t.Fatalf("panics %d, logs:\n%s", s.Panics(), logs)
	}
}
