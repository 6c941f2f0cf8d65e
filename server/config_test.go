package server_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// TestConfigDiffThresholds runs the same CONFIG SET and writes against
// Cairn and redis-server 7.0 and compares every reply exactly: CONFIG
// SET/GET (aliases, memory units, errors) and OBJECT ENCODING of hashes,
// sets and sorted sets around the thresholds, including lowering a limit
// under existing keys.
func TestConfigDiffThresholds(t *testing.T) {
	r := raw(t, commandtest.StartRedis(t))
	n := servertest.Start(t)
	c := raw(t, n.Addr())
	steps := [][]string{
		{"CONFIG", "SET", "hash-max-listpack-entries", "2"},
		{"CONFIG", "GET", "hash-max-ziplist-entries"},
		{"HSET", "h1", "a", "1", "b", "2"},
		{"OBJECT", "ENCODING", "h1"},
		{"HSET", "h1", "c", "3"},
		{"OBJECT", "ENCODING", "h1"},
		{"HSET", "h2", "a", "1", "b", "2", "c", "3"},
		{"OBJECT", "ENCODING", "h2"},
		{"HSET", "h3", "a", "1", "b", "2"},
		{"CONFIG", "SET", "hash-max-ziplist-entries", "1"},
		{"CONFIG", "GET", "hash-max-listpack-entries"},
		{"OBJECT", "ENCODING", "h3"}, // lowering converts nothing
		{"HGET", "h3", "a"},
		{"HSET", "h3", "a", "9"}, // an update checks the length
		{"OBJECT", "ENCODING", "h3"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "128", "hash-max-listpack-value", "4"},
		{"HSET", "h4", "abcd", "1234"},
		{"OBJECT", "ENCODING", "h4"},
		{"HSET", "h4", "abcde", "1"},
		{"OBJECT", "ENCODING", "h4"},
		{"HSET", "h5", "f", "1"},
		{"HINCRBY", "h5", "f", "100000"},
		{"OBJECT", "ENCODING", "h5"},
		{"HSET", "h6", "abcdefgh", "1"},
		{"OBJECT", "ENCODING", "h6"},
		{"CONFIG", "SET", "hash-max-listpack-value", "1kb"},
		{"CONFIG", "GET", "hash-max-ziplist-value"},
		{"HSET", "h7", "f", strings.Repeat("v", 1000), strings.Repeat("n", 300), "x"},
		{"OBJECT", "ENCODING", "h7"},
		{"HGETALL", "h7"},
		{"HSET", "h7", "g", strings.Repeat("w", 1025)},
		{"OBJECT", "ENCODING", "h7"},
		{"CONFIG", "SET", "set-max-intset-entries", "3"},
		{"SADD", "s1", "1", "2", "3"},
		{"OBJECT", "ENCODING", "s1"},
		{"SADD", "s1", "4"},
		{"OBJECT", "ENCODING", "s1"},
		{"SADD", "s2", "1", "2", "3", "4", "5"},
		{"OBJECT", "ENCODING", "s2"},
		{"SADD", "s3", "1", "2"},
		{"SUNIONSTORE", "s4", "s3", "s1"},
		{"OBJECT", "ENCODING", "s4"},
		{"SINTERSTORE", "s5", "s3", "s3"},
		{"OBJECT", "ENCODING", "s5"},
		{"CONFIG", "SET", "set-max-intset-entries", "0"},
		{"SADD", "s6", "1"},
		{"OBJECT", "ENCODING", "s6"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "2", "zset-max-ziplist-value", "3"},
		{"CONFIG", "GET", "zset-max-ziplist-value"},
		{"ZADD", "z1", "1", "a", "2", "b"},
		{"OBJECT", "ENCODING", "z1"},
		{"ZADD", "z1", "3", "c"},
		{"OBJECT", "ENCODING", "z1"},
		{"ZADD", "z2", "1", "abcd"},
		{"OBJECT", "ENCODING", "z2"},
		{"ZADD", "z3", "1", "a", "2", "b"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "1"},
		{"ZADD", "z3", "5", "a"}, // an update does not convert a zset
		{"OBJECT", "ENCODING", "z3"},
		{"ZUNIONSTORE", "z4", "1", "z3"},
		{"OBJECT", "ENCODING", "z4"},
		{"ZRANGESTORE", "z5", "z3", "0", "0"},
		{"OBJECT", "ENCODING", "z5"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "0"},
		{"ZADD", "z6", "1", "a"},
		{"OBJECT", "ENCODING", "z6"},
		{"CONFIG", "SET", "stream-node-max-entries", "2"},
		{"XADD", "x", "1-1", "f", "v"},
		{"XADD", "x", "1-2", "f", "v"},
		{"XADD", "x", "1-3", "f", "v"},
		{"XADD", "x", "1-4", "f", "v"},
		{"XADD", "x", "1-5", "f", "v"},
		{"XTRIM", "x", "MAXLEN", "~", "2"},
		{"XLEN", "x"},
		{"CONFIG", "SET", "stream-node-max-entries", "0", "stream-node-max-bytes", "60"},
		{"XADD", "y", "1-1", "field", "value"},
		{"XADD", "y", "1-2", "field", "value"},
		{"XADD", "y", "1-3", "field", "value"},
		{"XADD", "y", "1-4", "field", "value"},
		{"XTRIM", "y", "MINID", "~", "1-4"},
		{"XLEN", "y"},
		{"CONFIG", "SET", "stream-node-max-entries", "1", "stream-node-max-bytes", "4096"},
		{"XADD", "w", "MAXLEN", "~", "0", "1-1", "f", "v"},
		{"XADD", "w", "MAXLEN", "~", "0", "1-2", "f", "v"},
		{"XLEN", "w"},
		{"CONFIG", "SET", "list-compress-depth", "1", "list-max-listpack-size", "4"},
		{"RPUSH", "l", "e00-compressible-compressible-compressible", "e01-compressible-compressible-compressible", "e02-compressible-compressible-compressible", "e03-compressible-compressible-compressible", "e04-compressible-compressible-compressible", "e05-compressible-compressible-compressible", "e06-compressible-compressible-compressible", "e07-compressible-compressible-compressible", "e08-compressible-compressible-compressible", "e09-compressible-compressible-compressible", "e10-compressible-compressible-compressible", "e11-compressible-compressible-compressible", "e12-compressible-compressible-compressible", "e13-compressible-compressible-compressible", "e14-compressible-compressible-compressible", "e15-compressible-compressible-compressible", "e16-compressible-compressible-compressible", "e17-compressible-compressible-compressible", "e18-compressible-compressible-compressible", "e19-compressible-compressible-compressible", "e20-compressible-compressible-compressible", "e21-compressible-compressible-compressible", "e22-compressible-compressible-compressible", "e23-compressible-compressible-compressible", "e24-compressible-compressible-compressible", "e25-compressible-compressible-compressible", "e26-compressible-compressible-compressible", "e27-compressible-compressible-compressible", "e28-compressible-compressible-compressible", "e29-compressible-compressible-compressible", "e30-compressible-compressible-compressible", "e31-compressible-compressible-compressible", "e32-compressible-compressible-compressible", "e33-compressible-compressible-compressible", "e34-compressible-compressible-compressible", "e35-compressible-compressible-compressible", "e36-compressible-compressible-compressible", "e37-compressible-compressible-compressible", "e38-compressible-compressible-compressible", "e39-compressible-compressible-compressible"},
		{"LRANGE", "l", "0", "-1"},
		{"LSET", "l", "20", "changed"},
		{"LINSERT", "l", "BEFORE", "e30-compressible-compressible-compressible", "inserted"},
		{"LREM", "l", "0", "e10-compressible-compressible-compressible"},
		{"LINDEX", "l", "25"},
		{"LPOS", "l", "inserted"},
		{"LTRIM", "l", "2", "-3"},
		{"LPOP", "l", "3"},
		{"RPOP", "l", "3"},
		{"LRANGE", "l", "0", "-1"},
		{"CONFIG", "SET", "list-compress-depth", "0", "list-max-listpack-size", "-2"},
		{"RPUSH", "l", "last"},
		{"LRANGE", "l", "10", "-1"},
		// Parsing and errors.
		{"CONFIG", "SET", "hash-max-listpack-entries", "1k"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "-1"},
		{"CONFIG", "SET", "hash-max-listpack-value", "-1"},
		{"CONFIG", "SET", "list-max-listpack-size", "x"},
		{"CONFIG", "SET", "list-compress-depth", "-1"},
		{"CONFIG", "SET", "stream-node-max-entries", "1k"},
		{"CONFIG", "SET", "stream-node-max-bytes", "8kb"},
		{"CONFIG", "GET", "stream-node-max-bytes"},
		{"CONFIG", "SET", "maxmemory", "-5"},
		{"CONFIG", "SET", "maxmemory", "100mb"},
		{"CONFIG", "GET", "maxmemory"},
		{"CONFIG", "SET", "maxmemory", "0"},
		{"CONFIG", "SET", "maxmemory-policy", "foo"},
		{"CONFIG", "SET", "maxmemory-policy", "ALLKEYS-LRU"},
		{"CONFIG", "GET", "maxmemory-policy"},
		{"CONFIG", "SET", "proto-max-bulk-len", "1000"},
		{"CONFIG", "SET", "proto-max-bulk-len", "2mb"},
		{"CONFIG", "GET", "proto-max-bulk-len"},
		{"CONFIG", "SET", "notify-keyspace-events", "KEA"},
		{"CONFIG", "GET", "notify-keyspace-events"},
		{"CONFIG", "SET", "notify-keyspace-events", "Q"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "5", "hash-max-ziplist-entries", "6"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "5", "set-max-intset-entries", "x"},
		{"CONFIG", "GET", "hash-max-listpack-entries"},
		{"CONFIG", "GET", "list-max-ziplist-size"},
		{"CONFIG", "GET", "list-compress-depth"},
	}
	for _, s := range steps {
		want, err := r.Do(s...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Do(s...)
		if err != nil {
			t.Fatal(err)
		}
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", s, got, want)
		}
	}
}

// TestConfigReplicatedSurvivesRestart: CONFIG SET is replicated state. It
// survives a restart from the log alone and from a snapshot plus the log
// tail, and it changes what commands do after the restart.
func TestConfigReplicatedSurvivesRestart(t *testing.T) {
	n := servertest.Start(t)
	c := raw(t, n.Addr())
	for _, s := range [][]string{
		{"CONFIG", "SET", "hash-max-listpack-entries", "2"},
		{"HSET", "h", "a", "1", "b", "2", "c", "3"},
	} {
		if v := do(t, c, s...); strings.HasPrefix(v, "ERR") {
			t.Fatalf("%q: %s", s, v)
		}
	}
	if got := do(t, c, "OBJECT", "ENCODING", "h"); got != "hashtable" {
		t.Fatalf("encoding %s", got)
	}
	cfg := n.Cfg
	n.Close()

	// Log replay only.
	n = servertest.Restart(t, cfg)
	c = raw(t, n.Addr())
	if got := do(t, c, "CONFIG", "GET", "hash-max-listpack-entries"); got != "[hash-max-listpack-entries 2]" {
		t.Fatalf("after replay: %s", got)
	}
	do(t, c, "HSET", "h2", "a", "1", "b", "2", "c", "3")
	if got := do(t, c, "OBJECT", "ENCODING", "h2"); got != "hashtable" {
		t.Fatalf("after replay: encoding %s", got)
	}
	// Snapshot, then more config in the log tail.
	if got := do(t, c, "SAVE"); got != "OK" {
		t.Fatal(got)
	}
	do(t, c, "CONFIG", "SET", "set-max-intset-entries", "1", "notify-keyspace-events", "Kgx")
	n.Close()

	n = servertest.Restart(t, cfg)
	c = raw(t, n.Addr())
	got := do(t, c, "CONFIG", "GET", "hash-max-listpack-entries", "set-max-intset-entries", "notify-keyspace-events")
	if got != "[hash-max-listpack-entries 2 notify-keyspace-events gxK set-max-intset-entries 1]" {
		t.Fatalf("after snapshot and replay: %s", got)
	}
	do(t, c, "SAVE")
	n.Close()
	n = servertest.Restart(t, cfg)
	c = raw(t, n.Addr())
	if got := do(t, c, "CONFIG", "GET", "set-max-intset-entries"); got != "[set-max-intset-entries 1]" {
		t.Fatalf("after snapshot: %s", got)
	}
	do(t, c, "SADD", "s", "1", "2")
	if got := do(t, c, "OBJECT", "ENCODING", "s"); got != "hashtable" {
		t.Fatalf("after snapshot: set encoding %s", got)
	}
}

// TestConfigFlagsDoNotChangeApply: two nodes started with different
// --proto-max-bulk-len flags, and one of them restarted with yet another,
// reach the same state digest after the same workload: what apply does
// depends only on the log.
func TestConfigFlagsDoNotChangeApply(t *testing.T) {
	workload := [][]string{
		{"SETRANGE", "big", "1100000", "x"}, // past 1mb
		{"APPEND", "big", "yz"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "2"},
		{"HSET", "h", "a", "1", "b", "2", "c", "3"},
		{"CONFIG", "SET", "proto-max-bulk-len", "2mb"},
		{"SETRANGE", "big2", "3000000", "x"}, // refused on both
		{"SETBIT", "bits", "9000000", "1"},
		{"CONFIG", "SET", "zset-max-listpack-entries", "1"},
		{"ZADD", "z", "1", "a", "2", "b"},
	}
	digest := func(n *servertest.Node) server.ShardDigest {
		for _, d := range n.StateDigests() {
			return d
		}
		t.Fatal("no shard")
		return server.ShardDigest{}
	}
	var digests []server.ShardDigest
	var replies []string
	var small *servertest.Node
	for i, flag := range []int64{1 << 20, 512 << 20} {
		n := servertest.Start(t, func(c *server.Config) { c.ProtoMaxBulkLen = flag })
		c := raw(t, n.Addr())
		var out []string
		for _, s := range workload {
			out = append(out, do(t, c, s...))
		}
		if i == 0 {
			small = n
			replies = out
		} else if strings.Join(out, "\n") != strings.Join(replies, "\n") {
			t.Errorf("replies differ:\n%s\n--\n%s", strings.Join(replies, "\n"), strings.Join(out, "\n"))
		}
		digests = append(digests, digest(n))
	}
	if !strings.HasPrefix(replies[5], "(error) ERR string exceeds maximum allowed size") {
		t.Errorf("SETRANGE past the replicated limit: %s", replies[5])
	}
	if digests[0].Digest != digests[1].Digest {
		t.Fatalf("digests differ: %v", digests)
	}
	cfg := small.Cfg
	small.Close()
	cfg.ProtoMaxBulkLen = 4 << 20
	n := servertest.Restart(t, cfg)
	if d := digest(n); d != digests[0] {
		t.Fatalf("after a restart with another flag: %v, want %v", d, digests[0])
	}
}

// TestConfigNotifyFromReplicatedState: notify-keyspace-events set with
// CONFIG SET reaches the subscribers (the pubsub side reads the applied
// configuration).
func TestConfigNotifyFromReplicatedState(t *testing.T) {
	n := servertest.Start(t)
	c := raw(t, n.Addr())
	sub := raw(t, n.Addr())
	do(t, sub, "SUBSCRIBE", "__keyevent@0__:set")
	do(t, c, "SET", "quiet", "1") // notifications off: nothing published
	do(t, c, "CONFIG", "SET", "notify-keyspace-events", "E$")
	do(t, c, "SET", "loud", "1")
	v, err := sub.Read()
	if err != nil {
		t.Fatal(err)
	}
	if got := v.String(); got != "[message __keyevent@0__:set loud]" {
		t.Fatalf("got %s", got)
	}
}

// TestConfigLocalParams: node-local parameters take effect: timeout closes
// idle clients, loglevel and tcp-keepalive are kept, CONFIG REWRITE writes
// a file the next start accepts.
func TestConfigLocalParams(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "cairn.conf")
	if err := os.WriteFile(file, []byte("# my config\nport 1234\nmaxclients 50\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	n := servertest.Start(t, func(c *server.Config) { c.ConfigFile = file })
	c := raw(t, n.Addr())
	for _, s := range [][]string{
		{"CONFIG", "SET", "timeout", "1", "loglevel", "warning", "tcp-keepalive", "60", "hz", "100"},
		{"CONFIG", "SET", "maxclients", "77", "slowlog-max-len", "5"},
		{"CONFIG", "SET", "hash-max-listpack-entries", "3"},
	} {
		if got := do(t, c, s...); got != "OK" {
			t.Fatalf("%q: %s", s, got)
		}
	}
	if got := do(t, c, "CONFIG", "GET", "loglevel"); got != "[loglevel warning]" {
		t.Fatal(got)
	}
	if got := do(t, c, "CONFIG", "REWRITE"); got != "OK" {
		t.Fatal(got)
	}
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"# my config\n", "port 1234\n", "maxclients \"77\"\n", "timeout \"1\"\n", "loglevel \"warning\"\n", "tcp-keepalive \"60\"\n", "slowlog-max-len \"5\"\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("rewritten file lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "hash-max") {
		t.Errorf("replicated parameter in the file:\n%s", text)
	}
	if m, _ := filepath.Glob(file + ".tmp*"); len(m) > 0 {
		t.Errorf("temp files left: %v", m)
	}
	// timeout: an idle client is closed within a second or two.
	idle := raw(t, n.Addr())
	do(t, idle, "PING")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := idle.Do("PING"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("idle client not closed")
		}
		time.Sleep(1500 * time.Millisecond)
	}
	c = raw(t, n.Addr())
	do(t, c, "CONFIG", "SET", "timeout", "0")
	if got := do(t, c, "CONFIG", "GET", "timeout"); got != "[timeout 0]" {
		t.Fatal(got)
	}
}

// TestConfigDiffLFUSamplesLazyfree: CONFIG GET/SET of lfu-log-factor,
// lfu-decay-time, maxmemory-samples and lazyfree-lazy-user-del/-flush
// (ranges, error strings, yes/no; one name per GET: Redis's order for a
// pattern is its hash table's) and the effect of lfu-log-factor 0 on
// OBJECT FREQ, as Redis 7.0.
func TestConfigDiffLFUSamplesLazyfree(t *testing.T) {
	r := raw(t, commandtest.StartRedis(t))
	n := servertest.Start(t)
	c := raw(t, n.Addr())
	steps := [][]string{
		{"CONFIG", "GET", "lfu-log-factor"},
		{"CONFIG", "GET", "lfu-decay-time"},
		{"CONFIG", "GET", "maxmemory-samples"},
		{"CONFIG", "GET", "lazyfree-lazy-user-del"},
		{"CONFIG", "GET", "lazyfree-lazy-user-flush"},
		{"CONFIG", "SET", "lfu-log-factor", "-1"},
		{"CONFIG", "SET", "lfu-log-factor", "abc"},
		{"CONFIG", "SET", "lfu-log-factor", "2147483648"},
		{"CONFIG", "SET", "lfu-decay-time", "-1"},
		{"CONFIG", "SET", "lfu-decay-time", "1kb"},
		{"CONFIG", "SET", "maxmemory-samples", "0"},
		{"CONFIG", "SET", "maxmemory-samples", "x"},
		{"CONFIG", "SET", "maxmemory-samples", "2147483648"},
		{"CONFIG", "SET", "lazyfree-lazy-user-del", "maybe"},
		{"CONFIG", "SET", "lazyfree-lazy-user-flush", "1"},
		{"CONFIG", "SET", "lfu-log-factor", "2147483647", "lfu-decay-time", "0"},
		{"CONFIG", "GET", "lfu-log-factor"},
		{"CONFIG", "GET", "lfu-decay-time"},
		{"CONFIG", "SET", "maxmemory-samples", "65"},
		{"CONFIG", "GET", "maxmemory-samples"},
		{"CONFIG", "SET", "lazyfree-lazy-user-del", "YES", "lazyfree-lazy-user-flush", "Yes"},
		{"CONFIG", "GET", "lazyfree-lazy-user-del"},
		{"CONFIG", "GET", "lazyfree-lazy-user-flush"},
		{"CONFIG", "SET", "lazyfree-lazy-user-del", "no", "lazyfree-lazy-user-flush", "no"},
		{"CONFIG", "GET", "lazyfree-lazy-user-del"},
		{"CONFIG", "GET", "lazyfree-lazy-user-flush"},
		// lfu-log-factor 0: every access counts (no randomness).
		{"CONFIG", "SET", "maxmemory-policy", "allkeys-lfu", "lfu-log-factor", "0", "lfu-decay-time", "1"},
		{"SET", "k", "v"},
		{"OBJECT", "FREQ", "k"},
		{"GET", "k"},
		{"GET", "k"},
		{"GET", "k"},
		{"OBJECT", "FREQ", "k"},
		{"CONFIG", "SET", "maxmemory-policy", "noeviction", "lfu-log-factor", "10", "maxmemory-samples", "5"},
	}
	for _, s := range steps {
		want, err := r.Do(s...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := c.Do(s...)
		if err != nil {
			t.Fatal(err)
		}
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", s, got, want)
		}
	}
}
