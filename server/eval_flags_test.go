package server_test

import (
	"testing"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/reply"
)

// TestEvalShebangDiff compares Redis 7's "#!lua flags=..." scripts with
// redis-server 7.0: the shebang's parse errors, no-writes (refused writes,
// the only scripts EVAL_RO runs), the script cache and line numbers.
func TestEvalShebangDiff(t *testing.T) {
	p := newEvalPair(t)
	p.same("SET", "k", "v")
	for _, src := range []string{
		"#!lua\nreturn 1",
		"#!lua\nreturn redis.call('set', KEYS[1], 'w')",
		"#!lua flags=no-writes\nreturn redis.call('set', KEYS[1], 'x')",
		"#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])",
		"#!lua flags=\nreturn redis.call('set', KEYS[1], 'y')",
		"#!lua flags=bad\nreturn 1",
		"#!lua flags=no-writes,Allow-oom\nreturn 1",
		"#!lua name=x\nreturn 1",
		"#!luajit\nreturn 1",
		"#! lua\nreturn 1",
		"#!LUA\nreturn 1",
		"#!lua\nerror('x')",
		"#!lua flags=no-writes,allow-oom\nreturn 1",
		"#!lua flags=allow-oom,no-cluster,allow-stale,allow-cross-slot-keys\nreturn 1",
		"#!lua",
		"#!lua flags=no-writes",
		"#!lua  flags=no-writes\nreturn 2",
		"#!lua flags=no-writes FLAGS=allow-oom\nreturn 3",
		"#!lua flags=no-writes,no-writes\nreturn 4",
		"#!lua flags=no-writes\nreturn redis.pcall('del', KEYS[1])",
		"#!lua flags=no-writes\nreturn redis.call('eval', 'return 1', 0)",
		"#!lua\nreturn redis.call('\\0setresp', '3')",
	} {
		p.same("EVAL", src, "1", "k")
		p.same("EVAL_RO", src, "1", "k")
	}
	p.same("GET", "k")
	// The cache keeps scripts with flags; EVALSHA applies them again.
	p.same("SCRIPT", "FLUSH")
	p.same("SCRIPT", "LOAD", "#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])")
	p.same("SCRIPT", "LOAD", "#!lua flags=nope\nreturn 1")
	p.same("SCRIPT", "LOAD", "#!lua\nreturn redis.call('incr', KEYS[1])")
	// gopher-lua words its compile errors its own way (TestEvalDiff); the
	// line number of the error is the user's.
	p.sameUpTo(len("ERR Error compiling script (new function): user_script"), "SCRIPT", "LOAD", "#!lua\nreturn 1 +")
	p.sameUpTo(len("ERR Error compiling script (new function): user_script"), "EVAL", "#!lua\n\nreturn 1 +", "0")
	p.sameUpTo(len("ERR Error compiling script (new function): user_script"), "EVAL_RO", "#!lua\n\nreturn 1 +", "0")
	p.sameUpTo(len("ERR user_script:3: boom"), "EVAL", "#!lua\n\nerror('boom')", "0")
	for _, sha := range []string{"bee99a4dcc4e8a0d7fe7e2cc4e0bfc4f0ac7e05d", "64b5a2d8e6ebd0a93a2f58e4ba9b9c9b5c5f3a2c"} {
		p.same("EVALSHA", sha, "1", "k")
	}
	ro := modulesSHA("#!lua flags=no-writes\nreturn redis.call('get', KEYS[1])")
	rw := modulesSHA("#!lua\nreturn redis.call('incr', KEYS[1])")
	p.same("SET", "n", "1")
	p.same("EVALSHA", ro, "1", "k")
	p.same("EVALSHA_RO", ro, "1", "k")
	p.same("EVALSHA", rw, "1", "n")
	p.same("EVALSHA_RO", rw, "1", "n")
}

// TestEvalRESP3Diff compares redis.setresp(3) scripts and the RESP3 reply
// tables ({double=...}, {map=...}, ...) with redis-server 7.0, for a RESP2
// and a RESP3 client.
func TestEvalRESP3Diff(t *testing.T) {
	p := newEvalPair(t)
	for _, args := range [][]string{
		{"HSET", "h", "f", "v"},
		{"ZADD", "z", "1.5", "m", "2", "n"},
		{"SADD", "s", "a"},
	} {
		p.same(args...)
	}
	scripts := []string{
		"return {double=3.14}",
		"return {double=1/0}",
		"return {double=-2.5e-10}",
		"return {big_number='123456789012345678901234567890'}",
		"return {map={a=1}}",
		"return {map={1,2}}",
		"return {map={a={set={x=true}}}}",
		"return {set={a=true}}",
		"return {set={[1]=true,[2]=false}}",
		"return {verbatim_string={format='txt', string='hi'}}",
		"return {double='x'}",
		"return {map='x'}",
		"return false",
		"return {1, false, 'x'}",
		"redis.setresp(3) return true",
		"redis.setresp(3) return false",
		"redis.setresp(3) return {1, true, false, nil}",
		"redis.setresp(3) return redis.call('hgetall', 'h')",
		"redis.setresp(3) return redis.call('hgetall', 'h').map.f",
		"redis.setresp(3) return redis.call('zscore', 'z', 'm')",
		"redis.setresp(3) return redis.call('zscore', 'z', 'm').double",
		"redis.setresp(3) return redis.call('zrange', 'z', 0, -1, 'withscores')",
		"redis.setresp(3) return redis.call('smembers', 's')",
		"redis.setresp(3) return redis.call('smembers', 's').set.a",
		"redis.setresp(3) return type(redis.call('get', 'nokey'))",
		"redis.setresp(3) return redis.call('set', 'x', 'y')",
		"redis.setresp(3) return redis.call('exists', 'h')",
		"redis.setresp(3) return redis.pcall('incr', 'h')",
		"redis.setresp(3) redis.setresp(2) return redis.call('hgetall', 'h')",
		"redis.setresp(3) redis.setresp(2) return type(redis.call('get', 'nokey'))",
		"redis.setresp(4)",
		"redis.setresp()",
		"redis.setresp('x')",
		"redis.setresp('3') return redis.call('hgetall', 'h')",
	}
	for _, proto := range []string{"2", "3"} {
		got, err := p.cairn.Do("HELLO", proto)
		if err != nil || got.Kind == 0 {
			t.Fatalf("cairn HELLO %s: %v %v", proto, got, err)
		}
		if _, err := p.redis.Do("HELLO", proto); err != nil {
			t.Fatal(err)
		}
		for _, src := range scripts {
			got, want := p.do("EVAL", src, "0")
			if !reply.Equal(got, want) {
				t.Errorf("RESP%s %q:\n cairn %s %#v\n redis %s %#v", proto, src, got.String(), got, want.String(), want)
			}
		}
	}
}

// modulesSHA is a script's SHA1 hex.
func modulesSHA(src string) string { return modules.ScriptSHA([]byte(src)) }
