package server_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// evalPair drives one Cairn node and one redis-server 7.0 with the same
// commands.
type evalPair struct {
	t            *testing.T
	cairn, redis *commandtest.Client
}

// loadLua loads the interpreter before a node needs it: the compilation
// (once per test process, seconds on a loaded machine) must not count
// against a client's read timeout.
func loadLua(t *testing.T) {
	luatest.Ensure(t)
	if _, err := lua.Library(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func newEvalPair(t *testing.T) *evalPair {
	loadLua(t)
	raddr := commandtest.StartRedis(t)
	n := servertest.Start(t)
	cc, err := commandtest.Dial(n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	rc, err := commandtest.Dial(raddr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cc.Close(); rc.Close() })
	return &evalPair{t: t, cairn: cc, redis: rc}
}

// do runs args on both and returns the two replies.
func (p *evalPair) do(args ...string) (got, want reply.Value) {
	p.t.Helper()
	got, err := p.cairn.Do(args...)
	if err != nil {
		p.t.Fatalf("cairn %q: %v", args, err)
	}
	want, err = p.redis.Do(args...)
	if err != nil {
		p.t.Fatalf("redis %q: %v", args, err)
	}
	return got, want
}

// same checks that both replied the same.
func (p *evalPair) same(args ...string) {
	p.t.Helper()
	got, want := p.do(args...)
	if got.String() != want.String() {
		p.t.Errorf("%q:\n cairn %s\n redis %s", args, got.String(), want.String())
	}
}

// sameUpTo checks both replied errors that agree up to their first n bytes
// (gopher-lua words its own compile and runtime messages).
func (p *evalPair) sameUpTo(n int, args ...string) {
	p.t.Helper()
	got, want := p.do(args...)
	if got.Kind != reply.KindError || want.Kind != reply.KindError || len(got.Str) < n || len(want.Str) < n || string(got.Str[:n]) != string(want.Str[:n]) {
		p.t.Errorf("%q:\n cairn %s\n redis %s\n (first %d bytes should agree)", args, got.String(), want.String(), n)
	}
}

// TestEvalDiff compares EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT with
// redis-server 7.0, reply by reply: Lua <-> RESP conversions, redis.call
// and pcall, errors and their script locators, the script cache.
func TestEvalDiff(t *testing.T) {
	p := newEvalPair(t)
	for _, args := range [][]string{
		{"SET", "s", "str"},
		{"RPUSH", "l", "a", "b", "c"},
		{"HSET", "h", "f1", "v1", "f2", "v2"},
		{"ZADD", "z", "1.5", "m1", "2", "m2"},
		{"SADD", "set", "only"},
	} {
		p.same(args...)
	}
	for _, args := range [][]string{
		// Lua -> RESP.
		{"EVAL", "return 1", "0"},
		{"EVAL", "return 3.99", "0"},
		{"EVAL", "return -3.7", "0"},
		{"EVAL", "return 'a string'", "0"},
		{"EVAL", "return true", "0"},
		{"EVAL", "return false", "0"},
		{"EVAL", "return nil", "0"},
		{"EVAL", "return {1,2,3,'ciao',{1,2}, 3.99, true, false, nil, 5}", "0"},
		{"EVAL", "return {}", "0"},
		{"EVAL", "return {ok='FINE'}", "0"},
		{"EVAL", "return {err='My Error'}", "0"},
		{"EVAL", "return redis.error_reply('My Error')", "0"},
		{"EVAL", "return redis.error_reply('-My Error')", "0"},
		{"EVAL", "return redis.status_reply('FINE')", "0"},
		{"EVAL", "return {ok='a\\r\\nb'}", "0"},
		{"EVAL", "return redis.sha1hex('')", "0"},
		{"EVAL", "return redis.sha1hex('Pizza & Mandolino')", "0"},
		// KEYS and ARGV.
		{"EVAL", "return {KEYS[1], KEYS[2], ARGV[1], ARGV[2], #KEYS, #ARGV}", "2", "k1", "k2", "a1", "a2"},
		{"EVAL", "return ARGV", "0", "x", "y", "z"},
		// RESP -> Lua.
		{"EVAL", "return redis.call('get', KEYS[1])", "1", "s"},
		{"EVAL", "return redis.call('get', KEYS[1])", "1", "nokey"},
		{"EVAL", "return type(redis.call('get', KEYS[1]))", "1", "nokey"},
		{"EVAL", "return redis.call('lrange', KEYS[1], 0, -1)", "1", "l"},
		{"EVAL", "return redis.call('hgetall', KEYS[1])", "1", "h"},
		{"EVAL", "return redis.call('zrange', KEYS[1], 0, -1, 'withscores')", "1", "z"},
		{"EVAL", "return redis.call('zscore', KEYS[1], 'm1')", "1", "z"},
		{"EVAL", "return redis.call('smembers', KEYS[1])", "1", "set"},
		{"EVAL", "return redis.call('set', KEYS[1], 'v')", "1", "k"},
		{"EVAL", "return redis.call('set', KEYS[1], 'v', 'NX')", "1", "k"},
		{"EVAL", "return type(redis.call('set', KEYS[1], 'v', 'NX'))", "1", "k"},
		{"EVAL", "return redis.call('set', KEYS[1], 'v').ok", "1", "k"},
		{"EVAL", "return redis.call('incrby', KEYS[1], 5)", "1", "n"},
		{"EVAL", "return redis.call('incrbyfloat', KEYS[1], 1.5)", "1", "f"},
		{"EVAL", "return redis.call('exists', KEYS[1], KEYS[2])", "2", "s", "nokey"},
		{"EVAL", "return redis.pcall('incr', KEYS[1])", "1", "s"},
		{"EVAL", "return redis.pcall('incr', KEYS[1])['err']", "1", "s"},
		{"EVAL", "local r = redis.pcall('incr', KEYS[1]) return type(r)", "1", "s"},
		{"EVAL", "return redis.call('del', KEYS[1])", "1", "k"},
		// Errors raised in scripts, with Redis's locator.
		{"EVAL", "return redis.call('incr', KEYS[1])", "1", "s"},
		{"EVAL", "return redis.call('nosuchcommand')", "0"},
		{"EVAL", "return redis.call()", "0"},
		{"EVAL", "return redis.call('get', {})", "0"},
		{"EVAL", "return redis.call('set', KEYS[1])", "1", "k"},
		{"EVAL", "return redis.call('eval', 'return 1', 0)", "0"},
		{"EVAL", "error({err='X boom'})", "0"},
		{"EVAL", "return redis.call('get', 'a', 'b', 'c')", "0"},
		// numkeys.
		{"EVAL", "return 1", "-1"},
		{"EVAL", "return 1", "2", "a"},
		{"EVAL", "return 1", "x"},
		// The script cache.
		{"SCRIPT", "FLUSH"},
		{"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
		{"EVALSHA", "aaaa", "0"},
		{"SCRIPT", "LOAD", "return 1"},
		{"SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "ffffffffffffffffffffffffffffffffffffffff"},
		{"EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
		{"EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"},
		{"EVALSHA_RO", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"},
		{"EVAL", "return 'cached by eval'", "0"},
		{"SCRIPT", "EXISTS", "3a51c6a7d4e4f4fb5da1c0b1ef8cfb6c1d2ce4d4"},
		{"SCRIPT", "FLUSH", "ASYNC"},
		{"SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db"},
		{"SCRIPT", "FLUSH", "BAD"},
		{"SCRIPT", "KILL"},
		{"SCRIPT", "NOSUCH"},
		// Read-only scripts.
		{"EVAL_RO", "return redis.call('get', KEYS[1])", "1", "s"},
		{"EVAL_RO", "return redis.call('set', KEYS[1], 'x')", "1", "s"},
		{"GET", "s"},
	} {
		p.same(args...)
	}
	// gopher-lua words compile and runtime errors its own way: the start
	// of the message agrees.
	p.sameUpTo(len("ERR Error compiling script (new function): user_script"), "EVAL", "return 1 +", "0")
	p.sameUpTo(len("ERR user_script:1: Script attempted to access nonexistent global variable 'x'"), "EVAL", "return x.y", "0")
	p.sameUpTo(len("ERR user_script:1: boom"), "EVAL", "error('boom')", "0")
	p.sameUpTo(len("ERR Error compiling script"), "SCRIPT", "LOAD", "return +")
}

// TestEvalLockPattern is the lock-library pattern: SET NX PX to take a
// lock, a compare-and-delete script to release it only when the token
// matches, and EVALSHA after SCRIPT LOAD.
func TestEvalLockPattern(t *testing.T) {
	p := newEvalPair(t)
	const release = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"
	p.same("SCRIPT", "LOAD", release)
	sha, _ := p.cairn.Do("SCRIPT", "LOAD", release)
	for _, args := range [][]string{
		{"SET", "lock:res", "token-a", "NX", "PX", "30000"},
		{"SET", "lock:res", "token-b", "NX", "PX", "30000"},
		{"EVALSHA", string(sha.Str), "1", "lock:res", "token-b"},
		{"GET", "lock:res"},
		{"EVALSHA", string(sha.Str), "1", "lock:res", "token-a"},
		{"EXISTS", "lock:res"},
		{"SET", "lock:res", "token-b", "NX", "PX", "30000"},
		{"EVAL", release, "1", "lock:res", "token-b"},
		{"EXISTS", "lock:res"},
	} {
		p.same(args...)
	}
}

// TestEvalFuel: a script that loops forever ends with an error through
// fuel, well within a second, and the server keeps serving; its writes
// before the loop stay.
func TestEvalFuel(t *testing.T) {
	loadLua(t)
	n := servertest.Start(t)
	c, err := commandtest.Dial(n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, _ := c.Do("EVAL", "return 1", "0"); v.Kind != reply.KindInt { // loads the interpreter
		t.Fatalf("EVAL return 1 = %s", v.String())
	}
	start := time.Now()
	v, err := c.Do("EVAL", "redis.call('set', KEYS[1], 'before') while true do end", "1", "k")
	if err != nil || v.Kind != reply.KindError || !strings.HasPrefix(string(v.Str), "ERR Script ran out of fuel") {
		t.Fatalf("spinning script = %s, %v", v.String(), err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("the spinning script took %v", d)
	}
	t.Logf("spinning script ended after %v: %s", time.Since(start), v.Str)
	if v, _ := c.Do("GET", "k"); string(v.Str) != "before" {
		t.Errorf("write before the loop: GET k = %s", v.String())
	}
	if v, _ := c.Do("EVAL", "local t = {} for i = 1, 1e9 do t[i] = i end", "0"); v.Kind != reply.KindError {
		t.Errorf("allocating script = %s, want an error", v.String())
	} else {
		t.Logf("allocating script: %s", v.Str)
	}
	if v, _ := c.Do("PING"); string(v.Str) != "PONG" {
		t.Fatalf("PING after = %s", v.String())
	}
}

// TestEvalScriptCacheRestart: the script cache is replicated state, so a
// script loaded before a snapshot (SAVE) and one cached after it (replayed
// from the log) both answer EVALSHA after a restart.
func TestEvalScriptCacheRestart(t *testing.T) {
	loadLua(t)
	n := servertest.Start(t)
	c, err := commandtest.Dial(n.Addr())
	if err != nil {
		t.Fatal(err)
	}
	sha1, _ := c.Do("SCRIPT", "LOAD", "return 'before the snapshot'")
	if v, _ := c.Do("SAVE"); v.Kind == reply.KindError {
		t.Fatalf("SAVE: %s", v.String())
	}
	if v, _ := c.Do("EVAL", "return 'after the snapshot'", "0"); string(v.Str) != "after the snapshot" {
		t.Fatalf("EVAL: %s", v.String())
	}
	c.Close()
	cfg := n.Cfg
	n.Close()
	n2 := servertest.Restart(t, cfg)
	c2, err := commandtest.Dial(n2.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c2.Close()
	sha2 := modules.ScriptSHA([]byte("return 'after the snapshot'"))
	for sha, want := range map[string]string{string(sha1.Str): "before the snapshot", sha2: "after the snapshot"} {
		if v, _ := c2.Do("SCRIPT", "EXISTS", sha); len(v.Elems) != 1 || v.Elems[0].Int != 1 {
			t.Errorf("SCRIPT EXISTS %s after restart = %s", sha, v.String())
		}
		if v, _ := c2.Do("EVALSHA", sha, "0"); string(v.Str) != want {
			t.Errorf("EVALSHA %s after restart = %s, want %q", sha, v.String(), want)
		}
	}
}
