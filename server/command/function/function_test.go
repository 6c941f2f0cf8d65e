package function_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/modulestest"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/function"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// env runs commands as the shard does: writes through Table.Apply with the
// entry's time and seed, reads through Exec, both with the library set.
type env struct {
	t       *testing.T
	table   *command.Table
	db      *keyspace.DB
	funcs   *modules.Registry
	now     int64
	seed    uint64
	cluster bool
}

var rt *modules.Runtime

func runtime(t *testing.T) *modules.Runtime {
	if rt == nil {
		r, err := modules.NewRuntime(context.Background(), modules.Config{})
		if err != nil {
			t.Fatal(err)
		}
		rt = r
	}
	return rt
}

func newEnv(t *testing.T) *env {
	return &env{
		t: t, table: command.NewTable(function.Specs, strs.Specs, hashes.Specs, keys.Specs),
		db: keyspace.New(), funcs: modules.NewRegistry(runtime(t)), now: 1_700_000_000_000, seed: 7,
	}
}

func (e *env) doBytes(argv ...[]byte) reply.Value {
	s, err := e.table.Resolve(argv)
	if err != nil {
		return command.ErrorReply(err)
	}
	c := command.Ctx{DB: e.db, Now: e.now, Seed: e.seed, ProtoMaxBulkLen: 512 << 20, Funcs: e.funcs, Table: e.table, Cluster: e.cluster}
	e.seed++
	if s.IsWrite() {
		return e.table.Apply(&c, argv)
	}
	return command.Exec(s, &c, argv)
}

func (e *env) do(args ...string) reply.Value {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return e.doBytes(argv...)
}

// render shows a reply with its type, as redis-cli does.
func render(v reply.Value) string {
	switch v.Kind {
	case reply.KindBulk:
		return strconv.Quote(string(v.Str))
	case reply.KindInt:
		return "(integer) " + strconv.FormatInt(v.Int, 10)
	}
	return v.String()
}

// want checks a reply's rendering.
func (e *env) want(got reply.Value, want string) {
	e.t.Helper()
	if render(got) != want {
		e.t.Fatalf("got %s, want %s", render(got), want)
	}
}

// wantErr checks that a reply is an error starting with prefix.
func (e *env) wantErr(got reply.Value, prefix string) {
	e.t.Helper()
	if got.Kind != reply.KindError || !strings.HasPrefix(string(got.Str), prefix) {
		e.t.Fatalf("got %s, want an error starting %q", got.String(), prefix)
	}
}

func (e *env) load(name string, code []byte, extra ...string) reply.Value {
	argv := [][]byte{[]byte("FUNCTION"), []byte("LOAD")}
	for _, x := range extra {
		argv = append(argv, []byte(x))
	}
	return e.doBytes(append(argv, modulestest.Payload(name, code))...)
}

func TestFunctionLoadDeleteFlush(t *testing.T) {
	e := newEnv(t)
	code := modulestest.Fixture(t, "test")
	e.want(e.load("t", code), `"t"`)
	e.want(e.load("t", code), `(error) ERR Library 't' already exists`)
	e.want(e.load("t", code, "REPLACE"), `"t"`)
	e.want(e.load("u", code), `(error) ERR Function badreply already exists`)
	e.want(e.load("t", code, "FOO"), `(error) ERR Unknown option given: FOO`)
	e.want(e.do("FUNCTION", "LOAD", "REPLACE"), `(error) ERR Missing library metadata`)
	e.want(e.do("FUNCTION", "LOAD"), `(error) ERR wrong number of arguments for 'function|load' command`)
	e.want(e.do("FUNCTION", "LOAD", "#!lua name=x\nreturn 1"), `(error) ERR Engine 'lua' not found`)
	e.want(e.do("FCALL", "ping", "0"), `PONG`)

	e.want(e.do("FUNCTION", "DELETE", "nosuch"), `(error) ERR Library not found`)
	e.want(e.do("FUNCTION", "DELETE", "t"), `OK`)
	e.want(e.do("FCALL", "ping", "0"), `(error) ERR Function not found`)
	e.want(e.load("t", code), `"t"`)
	e.want(e.do("FUNCTION", "FLUSH", "foo"), `(error) ERR FUNCTION FLUSH only supports SYNC|ASYNC option`)
	e.want(e.do("FUNCTION", "FLUSH", "ASYNC", "x"), `(error) ERR unknown subcommand or wrong number of arguments for 'FLUSH'. Try FUNCTION HELP.`)
	e.want(e.do("FUNCTION", "FLUSH", "sync"), `OK`)
	if n := len(e.funcs.List("")); n != 0 {
		t.Fatalf("%d libraries after FLUSH", n)
	}
	e.want(e.do("FUNCTION", "FOO"), `(error) ERR unknown subcommand 'FOO'. Try FUNCTION HELP.`)
}

func TestFunctionList(t *testing.T) {
	e := newEnv(t)
	code := modulestest.Fixture(t, "c_incr")
	e.want(e.load("beta", code), `"beta"`)
	v := e.do("FUNCTION", "LIST")
	if v.Kind != reply.KindArray || len(v.Elems) != 1 {
		t.Fatalf("LIST: %s", v.String())
	}
	lib := v.Elems[0]
	if lib.Kind != reply.KindMap || render(lib.Elems[0]) != `"library_name"` || render(lib.Elems[1]) != `"beta"` ||
		render(lib.Elems[3]) != `"WASM"` || render(lib.Elems[4]) != `"functions"` {
		t.Fatalf("LIST entry: %s", lib.String())
	}
	for _, f := range lib.Elems[5].Elems {
		if render(f.Elems[0]) != `"name"` || render(f.Elems[2]) != `"description"` || f.Elems[3].Kind != reply.KindNil ||
			render(f.Elems[4]) != `"flags"` || f.Elems[5].Kind != reply.KindSet {
			t.Fatalf("LIST function: %s", f.String())
		}
	}
	if len(lib.Elems) != 6 {
		t.Fatalf("LIST without WITHCODE has %d fields", len(lib.Elems))
	}
	wc := e.do("FUNCTION", "LIST", "WITHCODE").Elems[0]
	if len(wc.Elems) != 8 || render(wc.Elems[6]) != `"library_code"` || !bytes.Equal(wc.Elems[7].Str, modulestest.Payload("beta", code)) {
		t.Fatalf("LIST WITHCODE: %d fields", len(wc.Elems))
	}
	if n := len(e.do("FUNCTION", "LIST", "LIBRARYNAME", "b*").Elems); n != 1 {
		t.Fatalf("LIBRARYNAME b*: %d", n)
	}
	if n := len(e.do("FUNCTION", "LIST", "LIBRARYNAME", "a*").Elems); n != 0 {
		t.Fatalf("LIBRARYNAME a*: %d", n)
	}
	e.want(e.do("FUNCTION", "LIST", "LIBRARYNAME"), `(error) ERR library name argument was not given`)
	e.want(e.do("FUNCTION", "LIST", "foo"), `(error) ERR Unknown argument foo`)
	e.want(e.do("FUNCTION", "LIST", "WITHCODE", "WITHCODE"), `(error) ERR Unknown argument WITHCODE`)
	e.want(e.do("FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"), `(error) ERR Unknown argument LIBRARYNAME`)

	st := e.do("FUNCTION", "STATS")
	want := `running_script`
	if st.Kind != reply.KindMap || render(st.Elems[0]) != `"`+want+`"` || st.Elems[1].Kind != reply.KindNil {
		t.Fatalf("STATS: %s", st.String())
	}
	eng := st.Elems[3]
	if render(eng.Elems[0]) != `"WASM"` || eng.Elems[1].Elems[1].Int != 1 || eng.Elems[1].Elems[3].Int != int64(len(lib.Elems[5].Elems)) {
		t.Fatalf("STATS engines: %s", eng.String())
	}
	e.want(e.do("FUNCTION", "KILL"), `(error) NOTBUSY No scripts in execution right now.`)
	if h := e.do("FUNCTION", "HELP"); h.Kind != reply.KindArray || len(h.Elems) < 10 {
		t.Fatalf("HELP: %s", h.String())
	}
}

func TestFunctionDumpRestore(t *testing.T) {
	e := newEnv(t)
	test, incr := modulestest.Fixture(t, "test"), modulestest.Fixture(t, "c_incr")
	e.load("t", test)
	e.load("c", incr)
	dump := e.do("FUNCTION", "DUMP")
	if dump.Kind != reply.KindBulk {
		t.Fatalf("DUMP: %s", dump.String())
	}
	restore := func(policy ...string) reply.Value {
		argv := [][]byte{[]byte("FUNCTION"), []byte("RESTORE"), dump.Str}
		for _, p := range policy {
			argv = append(argv, []byte(p))
		}
		return e.doBytes(argv...)
	}
	e.want(restore(), `(error) ERR Library c already exists`)
	e.want(restore("APPEND"), `(error) ERR Library c already exists`)
	e.want(restore("REPLACE"), `OK`)
	e.want(restore("BAD"), `(error) ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.`)
	e.want(e.do("FUNCTION", "RESTORE", "garbage"), `(error) ERR DUMP payload version or checksum are wrong`)
	bad := bytes.Clone(dump.Str)
	bad[len(bad)/2] ^= 1
	e.want(e.doBytes([]byte("FUNCTION"), []byte("RESTORE"), bad), `(error) ERR DUMP payload version or checksum are wrong`)
	e.want(e.do("FUNCTION", "RESTORE", "x", "y", "z"), `(error) ERR unknown subcommand or wrong number of arguments for 'RESTORE'. Try FUNCTION HELP.`)

	// Restore on another server: same libraries, same dump.
	f := newEnv(t)
	f.load("other", incr)
	f.want(f.doBytes([]byte("FUNCTION"), []byte("RESTORE"), dump.Str, []byte("FLUSH")), `OK`)
	if got := f.do("FUNCTION", "DUMP"); !bytes.Equal(got.Str, dump.Str) {
		t.Fatal("restored set dumps differently")
	}
	f.want(f.do("FCALL", "ping", "0"), `PONG`)
	// A function name collision refuses the whole restore, leaving the set.
	g := newEnv(t)
	g.load("x", test)
	g.want(g.doBytes([]byte("FUNCTION"), []byte("RESTORE"), dump.Str, []byte("REPLACE")), `(error) ERR Function badreply already exists`)
	if n := len(g.funcs.List("")); n != 1 {
		t.Fatalf("%d libraries after a refused restore", n)
	}
}

func TestFCall(t *testing.T) {
	e := newEnv(t)
	e.load("t", modulestest.Fixture(t, "test"))
	e.want(e.do("FCALL", "nosuch", "0"), `(error) ERR Function not found`)
	e.want(e.do("FCALL", "incr"), `(error) ERR wrong number of arguments for 'fcall' command`)
	e.want(e.do("FCALL", "incr", "x"), `(error) ERR Bad number of keys provided`)
	e.want(e.do("FCALL", "incr", "-1"), `(error) ERR Number of keys can't be negative`)
	e.want(e.do("FCALL", "incr", "5", "a"), `(error) ERR Number of keys can't be greater than number of args`)
	e.want(e.do("FCALL_RO", "incr", "1", "k"), `(error) ERR Can not execute a script with write flag using *_ro command.`)

	e.want(e.do("FCALL", "incr", "1", "k"), `(integer) 1`)
	e.want(e.do("FCALL", "incr", "1", "k"), `(integer) 2`)
	e.want(e.do("GET", "k"), `"2"`)
	e.want(e.do("FCALL_RO", "ping", "0"), `PONG`)
	e.want(e.do("FCALL", "ping", "0"), `PONG`)
	e.want(e.do("FCALL", "noreply", "0"), `(nil)`)
	e.want(e.do("FCALL", "badreply", "0"), `(error) ERR Function returned an invalid reply`)
	e.want(e.do("FCALL", "trap", "0"), `(error) ERR Function trapped: unreachable`)
	e.want(e.do("FCALL", "recurse", "0"), `(error) ERR Function exceeded the maximum call depth`)

	// The command's error ends a call; pcall returns it.
	e.want(e.do("FCALL", "callerr", "0"), `(error) ERR Unknown Redis command called from script`)
	e.want(e.do("FCALL", "pcallerr", "0"), `(error) ERR Unknown Redis command called from script`)

	// Fuel runs out after the write: the write stays, the reply is the error.
	e.want(e.do("FCALL", "incrspin", "1", "k"), `(error) ERR Function ran out of fuel`)
	e.want(e.do("GET", "k"), `"3"`)

	// Only declared keys: incr's first input is here an argument.
	e.want(e.do("FCALL", "incr", "0", "undeclared"), `(error) ERR Function attempted to access a key that was not declared (pass every key it uses among FCALL's keys)`)
	e.want(e.do("EXISTS", "undeclared"), `(integer) 0`)

	// The guest's clock is the entry's time.
	v := e.do("FCALL", "time", "0")
	if v.Kind != reply.KindBulk || len(v.Str) != 8 || int64(binary.LittleEndian.Uint64(v.Str)) != e.now*1_000_000 {
		t.Fatalf("time: %s, want the entry time %d ms", v.String(), e.now)
	}
	// random_get follows the entry's seed.
	e.seed = 99
	r1 := e.do("FCALL", "random", "0")
	e.seed = 99
	r2 := e.do("FCALL", "random", "0")
	if !bytes.Equal(r1.Str, r2.Str) || len(r1.Str) != 8 {
		t.Fatalf("random with the same seed: %q vs %q", r1.Str, r2.Str)
	}
}

// TestFunctionBadInput: each bad payload is refused with a clear error,
// nothing is half-loaded, and the loaded set keeps working.
func TestFunctionBadInput(t *testing.T) {
	e := newEnv(t)
	test := modulestest.Fixture(t, "test")
	e.load("good", modulestest.Fixture(t, "c_incr"))
	before := e.funcs.Dump()
	for _, c := range []struct {
		name string
		code []byte
		err  string
	}{
		{"notwasm", []byte("hello, world"), "ERR Invalid module"},
		{"empty", nil, "ERR Invalid module"},
		{"truncated", test[:len(test)/2], "ERR Invalid module"},
		{"pathopen", modulestest.Fixture(t, "path_open"), "ERR Forbidden import: wasi_snapshot_preview1.path_open"},
		{"sock", modulestest.Fixture(t, "sock_accept"), "ERR Forbidden import: wasi_snapshot_preview1.sock_accept"},
		{"dup", modulestest.Fixture(t, "dup"), "ERR Function already exists in the library"},
		{"badflag", modulestest.Fixture(t, "badflag"), "ERR Unknown flag given"},
		{"noreg", modulestest.Fixture(t, "noreg"), "ERR No functions registered"},
		{"huge", append(bytes.Clone(test), make([]byte, 17<<20)...), "ERR Module too large"},
		{"bad-name", test, "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
	} {
		e.wantErr(e.load(c.name, c.code), c.err) // "bad-name" is an invalid library name
	}
	if !bytes.Equal(e.funcs.Dump(), before) {
		t.Fatal("a refused load changed the library set")
	}
	e.want(e.do("FCALL", "cincr", "1", "n"), `(integer) 1`)
}

// TestFunctionRules runs commands from a Go guest under each flag: what a
// function may run, with Redis's errors for what it may not.
func TestFunctionRules(t *testing.T) {
	e := newEnv(t)
	e.want(e.load("exec", modulestest.Example(t, "testdata/exec")), `"exec"`)
	e.want(e.do("FCALL", "exec", "1", "k", "SET", "k", "v"), `OK`)
	e.want(e.do("FCALL", "exec", "1", "k", "GET", "k"), `"v"`)
	e.want(e.do("FCALL_RO", "exec_ro", "1", "k", "GET", "k"), `"v"`)
	e.want(e.do("FCALL", "exec_ro", "1", "k", "SET", "k", "w"), `(error) ERR Write commands are not allowed from read-only scripts.`)
	e.want(e.do("FCALL_RO", "exec_ro", "1", "k", "DEL", "k"), `(error) ERR Write commands are not allowed from read-only scripts.`)
	e.want(e.do("GET", "k"), `"v"`)
	e.want(e.do("FCALL", "exec", "0", "NOSUCH"), `(error) ERR Unknown Redis command called from script`)
	e.want(e.do("FCALL", "exec", "0", "FCALL", "exec", "0", "PING"), `(error) ERR This Redis command is not allowed from script`)
	e.want(e.do("FCALL", "exec", "0", "FUNCTION", "FLUSH"), `(error) ERR This Redis command is not allowed from script`)
	e.want(e.do("FCALL", "exec", "1", "k", "GET"), `(error) ERR wrong number of arguments for 'get' command`)
	e.want(e.do("FCALL", "exec", "1", "k", "HSET", "k", "f", "v"), `(error) WRONGTYPE Operation against a key holding the wrong kind of value`)
	e.want(e.do("FCALL", "exec_p", "1", "k", "HSET", "k", "f", "v"), `(error) WRONGTYPE Operation against a key holding the wrong kind of value`)
	e.want(e.do("FCALL", "exec", "1", "k", "GET", "other"), `(error) ERR Function attempted to access a key that was not declared (pass every key it uses among FCALL's keys)`)
	e.want(e.do("FCALL", "exec", "2", "a", "b", "MSET", "a", "1", "b", "2"), `OK`)
	v := e.do("FCALL", "now", "0")
	if v.Kind != reply.KindInt || v.Int != e.now*1_000_000 {
		t.Fatalf("now: %s, want %d", render(v), e.now*1_000_000)
	}

	// Cluster mode: one slot per call unless allow-cross-slot-keys;
	// no-cluster functions refused.
	e.cluster = true
	e.want(e.do("FCALL", "exec_nc", "0", "DBSIZE"), `(error) ERR Can not run script on cluster, 'no-cluster' flag is set.`)
	e.want(e.do("FCALL", "exec", "2", "a", "b", "MSET", "a", "1", "b", "2"), `(error) ERR Script attempted to access keys that do not hash to the same slot`)
	e.want(e.do("FCALL", "exec_xs", "2", "a", "b", "MSET", "a", "1", "b", "2"), `OK`)
	e.want(e.do("FCALL", "exec", "2", "{t}a", "{t}b", "MSET", "{t}a", "1", "{t}b", "2"), `OK`)
}

// TestCExampleFromSource builds the C example with clang-14 when it is
// installed and calls it.
func TestCExampleFromSource(t *testing.T) {
	e := newEnv(t)
	e.want(e.load("c", modulestest.CExample(t, "incr")), `"c"`)
	e.want(e.do("FCALL", "cincr", "1", "k"), `(integer) 1`)
	e.want(e.do("FCALL_RO", "cping", "0"), `PONG`)
}
