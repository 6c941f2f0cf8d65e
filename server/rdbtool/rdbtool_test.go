package rdbtool

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/clustertest"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/rdb"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// conn is a RESP client that fails the test on a transport error.
type conn struct {
	t    *testing.T
	c    *commandtest.Client
	addr string
}

func dial(t *testing.T, addr string) *conn {
	t.Helper()
	c, err := commandtest.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &conn{t, c, addr}
}

func (c *conn) do(args ...string) reply.Value {
	c.t.Helper()
	v, err := c.c.Do(args...)
	if err != nil {
		c.t.Fatalf("%v: %v", args, err)
	}
	return v
}

// must is do failing on an error reply.
func (c *conn) must(args ...string) reply.Value {
	c.t.Helper()
	v := c.do(args...)
	if v.IsError() {
		c.t.Fatalf("%v: %s", args, v.Str)
	}
	return v
}

// startRedis starts redis-server with DEBUG enabled and its data in dir,
// loading dir/file if it exists.
func startRedis(t *testing.T, dir, file string) string {
	return commandtest.StartRedis(t, "--dir", dir, "--dbfilename", file, "--enable-debug-command", "yes")
}

// populate writes keys of every type and the encodings Redis 7.0 chooses
// for them (small and large), some with an expiry.
func populate(c *conn) {
	future := strconv.FormatInt(time.Now().Add(3*time.Hour).UnixMilli(), 10)
	c.must("SET", "str", "hello")
	c.must("SET", "int", "-123456789")
	c.must("SET", "bigint", "123456789012345678")
	c.must("SET", "empty", "")
	c.must("SET", "lzf", strings.Repeat("compressible text ", 200))
	c.must("SET", "bin\x00key\xff", "\x00\x01\x02\xfe\xff")
	c.must("SET", "ttl:str", "expiring", "PXAT", future)
	c.must("RPUSH", "list:small", "a", "1", "b", "-2")
	args := []string{"RPUSH", "list:big"}
	for i := 0; i < 2000; i++ {
		args = append(args, "element-"+strconv.Itoa(i))
	}
	c.must(args...)
	c.must("RPUSH", "list:wide", strings.Repeat("x", 10000), strings.Repeat("y", 10000))
	c.must("SADD", "set:int", "1", "2", "3", "-100", "100000")
	args = []string{"SADD", "set:bigint"}
	for i := 0; i < 600; i++ {
		args = append(args, strconv.Itoa(i*7))
	}
	c.must(args...)
	c.must("SADD", "set:str", "a", "b", "c")
	c.must("ZADD", "zset:small", "1", "a", "2.5", "b", "-3", "c", "inf", "d")
	args = []string{"ZADD", "zset:big"}
	for i := 0; i < 300; i++ {
		args = append(args, strconv.Itoa(i)+".25", "member-"+strconv.Itoa(i))
	}
	c.must(args...)
	c.must("HSET", "hash:small", "f1", "v1", "n", "42")
	args = []string{"HSET", "hash:big"}
	for i := 0; i < 300; i++ {
		args = append(args, "field-"+strconv.Itoa(i), "value-"+strconv.Itoa(i))
	}
	c.must(args...)
	c.must("HSET", "hash:longval", "f", strings.Repeat("v", 100))
	c.must("PEXPIREAT", "hash:big", future)
	c.must("EXPIRE", "list:small", "5000")
	for i := 1; i <= 150; i++ {
		c.must("XADD", "stream", strconv.Itoa(i)+"-1", "field", "v"+strconv.Itoa(i), "n", strconv.Itoa(i))
	}
	c.must("XDEL", "stream", "3-1", "7-1")
	c.must("XGROUP", "CREATE", "stream", "g1", "0")
	c.must("XGROUP", "CREATE", "stream", "g2", "$")
	c.must("XREADGROUP", "GROUP", "g1", "alice", "COUNT", "5", "STREAMS", "stream", ">")
	c.must("XREADGROUP", "GROUP", "g1", "bob", "COUNT", "3", "STREAMS", "stream", ">")
	c.must("XACK", "stream", "g1", "2-1")
	c.must("XGROUP", "CREATECONSUMER", "stream", "g2", "carol")
	c.must("XADD", "stream:empty", "1-1", "a", "b")
	c.must("XDEL", "stream:empty", "1-1")
}

// keys returns the server's keys, sorted.
func keys(c *conn) []string {
	var out []string
	for _, e := range c.must("KEYS", "*").Elems {
		out = append(out, string(e.Str))
	}
	sort.Strings(out)
	return out
}

// view is a server-independent rendering of a key's value: its type and
// contents in a canonical order, and its absolute expiry.
func view(c *conn, key string) string {
	typ := string(c.must("TYPE", key).Str)
	var v reply.Value
	sorted := false
	switch typ {
	case "string":
		v = c.must("GET", key)
	case "list":
		v = c.must("LRANGE", key, "0", "-1")
	case "set":
		v, sorted = c.must("SMEMBERS", key), true
	case "zset":
		v = c.must("ZRANGE", key, "0", "-1", "WITHSCORES")
	case "hash":
		v, sorted = c.must("HGETALL", key), true
		var pairs []string
		for i := 0; i+1 < len(v.Elems); i += 2 {
			pairs = append(pairs, string(v.Elems[i].Str)+"="+string(v.Elems[i+1].Str))
		}
		sort.Strings(pairs)
		return fmt.Sprintf("%s %q exp=%d", typ, pairs, c.must("PEXPIRETIME", key).Int)
	case "stream":
		v = reply.Value{Kind: reply.KindArray, Elems: []reply.Value{
			c.must("XRANGE", key, "-", "+"),
			c.must("XINFO", "STREAM", key, "FULL"),
		}}
	default:
		c.t.Fatalf("key %q: type %q", key, typ)
	}
	var parts []string
	for _, e := range v.Elems {
		parts = append(parts, fmt.Sprint(e))
	}
	if sorted {
		sort.Strings(parts)
	}
	if v.Kind != reply.KindArray {
		parts = []string{fmt.Sprintf("%q", v.Str)}
	}
	return fmt.Sprintf("%s %q exp=%d", typ, parts, c.must("PEXPIRETIME", key).Int)
}

// short abbreviates a long view for an error message.
func short(s string) string {
	if len(s) > 400 {
		return s[:200] + " ... " + s[len(s)-200:]
	}
	return s
}

// save makes Redis write its dump file and returns its path.
func save(c *conn, dir, file string) string {
	c.must("SAVE")
	return filepath.Join(dir, file)
}

// TestRoundTrip moves a dataset Redis -> RDB -> Cairn (import) -> RDB
// (export) -> Redis, and checks that every key, value and expiry arrives
// unchanged at each step.
func TestRoundTrip(t *testing.T) {
	ctx := context.Background()
	dirA := t.TempDir()
	ra := dial(t, startRedis(t, dirA, "a.rdb"))
	populate(ra)
	dumpA := save(ra, dirA, "a.rdb")
	want := keys(ra)

	// Redis -> Cairn.
	node := servertest.Start(t)
	var progress bytes.Buffer
	st, err := Import(ctx, Options{Addr: node.Addr(), Progress: &progress, Batch: 7}, dumpA)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != len(want) || st.Expires != 3 {
		t.Errorf("import stats %+v, want %d keys, 3 with expiry", st, len(want))
	}
	if !strings.Contains(progress.String(), fmt.Sprintf("imported %d/%d keys (100%%)", len(want), len(want))) {
		t.Errorf("progress output %q", progress.String())
	}
	cn := dial(t, node.Addr())
	if got := keys(cn); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Cairn keys %q, want %q", got, want)
	}
	for _, k := range want {
		if got, w := view(cn, k), view(ra, k); got != w {
			t.Errorf("key %q in Cairn:\n%s\nin Redis:\n%s", k, short(got), short(w))
		}
	}

	// Cairn -> Redis.
	dirB := t.TempDir()
	out := filepath.Join(dirB, "b.rdb")
	st, err = Export(ctx, Options{Addr: node.Addr(), Batch: 5}, out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != len(want) || st.Expires != 3 || st.Bytes == 0 {
		t.Errorf("export stats %+v", st)
	}
	rb := dial(t, startRedis(t, dirB, "b.rdb"))
	if got := keys(rb); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Redis B keys %q, want %q", got, want)
	}
	for _, k := range want {
		if got, w := view(rb, k), view(ra, k); got != w {
			t.Errorf("key %q after the round trip:\n%s\nbefore:\n%s", k, short(got), short(w))
		}
		if got, w := rb.must("DEBUG", "DIGEST-VALUE", k), ra.must("DEBUG", "DIGEST-VALUE", k); !reply.Equal(got, w) {
			t.Errorf("key %q: DIGEST-VALUE %v after the round trip, %v before", k, got, w)
		}
	}
	if got, w := rb.must("DEBUG", "DIGEST"), ra.must("DEBUG", "DIGEST"); !reply.Equal(got, w) {
		t.Errorf("DEBUG DIGEST %s after the round trip, %s before", got.Str, w.Str)
	}

	// Export also reads a real Redis (key by key: SCAN, DUMP, PEXPIRETIME).
	dirC := t.TempDir()
	if st, err = Export(ctx, Options{Addr: ra.addr}, filepath.Join(dirC, "c.rdb")); err != nil {
		t.Fatal(err)
	}
	if st.Keys != len(want) || st.Expires != 3 {
		t.Errorf("export from Redis: %+v", st)
	}
	rc := dial(t, startRedis(t, dirC, "c.rdb"))
	if got, w := rc.must("DEBUG", "DIGEST"), ra.must("DEBUG", "DIGEST"); !reply.Equal(got, w) {
		t.Errorf("DEBUG DIGEST %s after export from Redis, %s before", got.Str, w.Str)
	}
}

// TestRedisCliRDB runs `redis-cli --rdb` against Cairn (SYNC) and loads
// the file into redis-server.
func TestRedisCliRDB(t *testing.T) {
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Skip("redis-cli not installed")
	}
	node := servertest.Start(t)
	cn := dial(t, node.Addr())
	populate(cn)
	cn.must("SET", "gone", "x", "PX", "1")
	time.Sleep(5 * time.Millisecond)
	want := keys(cn)
	dir := t.TempDir()
	_, port, _ := net.SplitHostPort(node.Addr())
	out, err := exec.Command(cli, "-h", "127.0.0.1", "-p", port, "--rdb", filepath.Join(dir, "dump.rdb")).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "Transfer finished with success") {
		t.Fatalf("redis-cli --rdb: %v\n%s", err, out)
	}
	r := dial(t, startRedis(t, dir, "dump.rdb"))
	if got := keys(r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Redis keys %q, want %q", got, want)
	}
	for _, k := range want {
		if got, w := view(r, k), view(cn, k); got != w {
			t.Errorf("key %q in Redis:\n%s\nin Cairn:\n%s", k, short(got), short(w))
		}
	}
	// A Redis replica (it announces its port) is refused: Cairn sends no
	// replication stream after the file.
	rep := dial(t, node.Addr())
	rep.must("REPLCONF", "listening-port", "6380")
	if v := rep.do("SYNC"); !v.IsError() || !strings.Contains(string(v.Str), "replicas") {
		t.Errorf("SYNC from a replica: %v", v)
	}
	if v := rep.do("REPLCONF", "capa"); !v.IsError() {
		t.Errorf("REPLCONF with a dangling option: %v", v)
	}
}

// TestImportBadInput feeds Import files it must refuse and checks that the
// server keeps its data and keeps serving.
func TestImportBadInput(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	r := dial(t, startRedis(t, dir, "dump.rdb"))
	r.must("SET", "k1", "v1")
	r.must("HSET", "k2", "f", "v")
	good, err := os.ReadFile(save(r, dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	// A real two-database file.
	r.must("SELECT", "1")
	r.must("SET", "other", "db")
	twoDB, err := os.ReadFile(save(r, dir, "dump.rdb"))
	if err != nil {
		t.Fatal(err)
	}
	fixCRC := func(b []byte) []byte {
		binary.LittleEndian.PutUint64(b[len(b)-8:], rdb.CRC64(0, b[:len(b)-8]))
		return b
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)/2] ^= 0x55
	newer := fixCRC(append([]byte("REDIS0012"), good[9:]...))
	// A module aux record (opcode 0xF7) right after the header.
	module := fixCRC(append(append([]byte("REDIS0010\xf7\x81"), make([]byte, 8)...), good[9:]...))

	node := servertest.Start(t)
	cn := dial(t, node.Addr())
	cn.must("SET", "keep", "me")
	cases := []struct {
		name string
		file []byte
		msg  string
	}{
		{"truncated", good[:len(good)-12], "truncated"},
		{"corrupted", flipped, "corrupted"},
		{"two databases", twoDB, "database 1"},
		{"newer version", newer, "version 12"},
		{"module", module, "module"},
		{"empty", nil, "not an RDB file"},
	}
	for _, c := range cases {
		path := filepath.Join(t.TempDir(), "bad.rdb")
		os.WriteFile(path, c.file, 0o644)
		_, err := Import(ctx, Options{Addr: node.Addr()}, path)
		if err == nil || !strings.Contains(err.Error(), c.msg) || !strings.Contains(err.Error(), "nothing imported") {
			t.Errorf("%s: error %v, want one mentioning %q and \"nothing imported\"", c.name, err, c.msg)
		}
		if got := keys(cn); fmt.Sprint(got) != "[keep]" {
			t.Fatalf("%s: server holds %q after the refused import", c.name, got)
		}
	}

	// Existing keys are not overwritten without Replace.
	cn.must("SET", "k2", "mine")
	path := filepath.Join(t.TempDir(), "good.rdb")
	os.WriteFile(path, good, 0o644)
	_, err = Import(ctx, Options{Addr: node.Addr()}, path)
	if err == nil || !strings.Contains(err.Error(), `"k2"`) || !strings.Contains(err.Error(), "--replace") {
		t.Errorf("import over an existing key: %v", err)
	}
	if got := keys(cn); fmt.Sprint(got) != "[k2 keep]" || string(cn.must("GET", "k2").Str) != "mine" {
		t.Fatalf("server holds %q after the refused import", got)
	}
	if _, err := Import(ctx, Options{Addr: node.Addr(), Replace: true}, path); err != nil {
		t.Fatal(err)
	}
	if got := keys(cn); fmt.Sprint(got) != "[k1 k2 keep]" || string(cn.must("HGET", "k2", "f").Str) != "v" {
		t.Fatalf("after --replace: %q", got)
	}
	if v := cn.must("PING"); string(v.Str) != "PONG" {
		t.Fatalf("PING: %v", v)
	}

	// A server that refuses the writes (out of memory): the error says
	// what was imported.
	cn.must("FLUSHALL")
	cn.must("CONFIG", "SET", "maxmemory", "1")
	st, err := Import(ctx, Options{Addr: node.Addr()}, path)
	if err == nil || !strings.Contains(err.Error(), "OOM") || !strings.Contains(err.Error(), fmt.Sprintf("%d of 2 keys were imported", st.Keys)) {
		t.Errorf("import into a full server: %v", err)
	}
	cn.must("CONFIG", "SET", "maxmemory", "0")
	if n := cn.must("DBSIZE").Int; n != int64(st.Keys) {
		t.Errorf("the server holds %d keys, the import reported %d", n, st.Keys)
	}
}

// TestExportAtomicFile checks that a failed export leaves no file behind.
func TestExportAtomicFile(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x.rdb")
	_, err := Export(context.Background(), Options{Addr: "127.0.0.1:1"}, out)
	if err == nil {
		t.Fatal("export from a closed port succeeded")
	}
	if ents, _ := os.ReadDir(filepath.Dir(out)); len(ents) != 0 {
		t.Fatalf("left behind %v", ents)
	}
}

// TestExportExact checks the MULTI/EXEC read used for keys written during
// an export.
func TestExportExact(t *testing.T) {
	ctx := context.Background()
	node := servertest.Start(t)
	cn := dial(t, node.Addr())
	cn.must("SET", "plain", "v")
	cn.must("SET", "ttl", "v", "PXAT", "4102444800000")
	o := Options{Addr: node.Addr()}
	c := o.client()
	defer c.Close()
	for _, tc := range []struct {
		key   string
		exp   int64
		found bool
	}{{"plain", -1, true}, {"ttl", 4102444800000, true}, {"missing", 0, false}} {
		payload, exp, found, err := exportExact(ctx, c, tc.key)
		if err != nil || found != tc.found || (found && exp != tc.exp) {
			t.Errorf("%s: exp %d found %v err %v", tc.key, exp, found, err)
		}
		if found && payload != string(cn.must("DUMP", tc.key).Str) {
			t.Errorf("%s: payload differs from DUMP", tc.key)
		}
	}
}

// TestClusterRoundTrip imports a Redis dump into a Cairn cluster, whose
// keys spread over several shards, and exports it back from there.
func TestClusterRoundTrip(t *testing.T) {
	ctx := context.Background()
	dirA := t.TempDir()
	ra := dial(t, startRedis(t, dirA, "a.rdb"))
	populate(ra)
	dumpA := save(ra, dirA, "a.rdb")
	want := keys(ra)

	cl := clustertest.Start(t, clustertest.Options{Nodes: 1, Shards: 3, Replicas: 1})
	st, err := Import(ctx, Options{Addr: cl.Addr(1), Batch: 7}, dumpA)
	if err != nil {
		t.Fatal(err)
	}
	if st.Keys != len(want) {
		t.Errorf("imported %d keys, want %d", st.Keys, len(want))
	}
	// The keys are spread: more than one shard holds some.
	var spread atomic.Int32
	cc := cl.Client()
	cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		if n, _ := c.DBSize(ctx).Result(); n > 0 {
			spread.Add(1)
		}
		return nil
	})
	if spread := spread.Load(); spread < 2 {
		t.Errorf("keys on %d shards", spread)
	}
	// SYNC (redis-cli --rdb) would see only some shards: refused.
	if v := dial(t, cl.Addr(1)).do("SYNC"); !v.IsError() || !strings.Contains(string(v.Str), "cluster mode") {
		t.Errorf("SYNC in cluster mode: %v", v)
	}

	dirB := t.TempDir()
	if st, err = Export(ctx, Options{Addr: cl.Addr(1)}, filepath.Join(dirB, "b.rdb")); err != nil {
		t.Fatal(err)
	}
	if st.Keys != len(want) {
		t.Errorf("exported %d keys, want %d", st.Keys, len(want))
	}
	rb := dial(t, startRedis(t, dirB, "b.rdb"))
	if got := keys(rb); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Redis B keys %q, want %q", got, want)
	}
	for _, k := range want {
		if got, w := view(rb, k), view(ra, k); got != w {
			t.Errorf("key %q after the round trip:\n%s\nbefore:\n%s", k, short(got), short(w))
		}
	}
	if got, w := rb.must("DEBUG", "DIGEST"), ra.must("DEBUG", "DIGEST"); !reply.Equal(got, w) {
		t.Errorf("DEBUG DIGEST %s after the round trip, %s before", got.Str, w.Str)
	}
}

// TestAuthAndIdle exports from and imports into a node with a password,
// and checks that an LRU idle time stored in the file (IDLE opcode)
// arrives with the key.
func TestAuthAndIdle(t *testing.T) {
	ctx := context.Background()
	node := servertest.Start(t, func(c *server.Config) { c.RequirePass = "s3cret" })
	// SELECTDB 0, IDLE 500 (a 14-bit length), SET k v, EOF, checksum.
	file := []byte("REDIS0010\xfe\x00\xf8\x41\xf4\x00\x01k\x01v\xff")
	file = binary.LittleEndian.AppendUint64(file, rdb.CRC64(0, file))
	path := filepath.Join(t.TempDir(), "idle.rdb")
	os.WriteFile(path, file, 0o644)

	if _, err := Import(ctx, Options{Addr: node.Addr()}, path); err == nil || !strings.Contains(err.Error(), "NOAUTH") {
		t.Fatalf("import without the password: %v", err)
	}
	if _, err := Import(ctx, Options{Addr: node.Addr(), Pass: "s3cret"}, path); err != nil {
		t.Fatal(err)
	}
	cn := dial(t, node.Addr())
	cn.must("AUTH", "s3cret")
	if v := cn.must("OBJECT", "IDLETIME", "k"); v.Int < 500 || v.Int > 600 {
		t.Errorf("OBJECT IDLETIME k = %d, want about 500", v.Int)
	}
	out := filepath.Join(t.TempDir(), "out.rdb")
	if _, err := Export(ctx, Options{Addr: node.Addr(), Pass: "wrong"}, out); err == nil {
		t.Fatal("export with a wrong password succeeded")
	}
	st, err := Export(ctx, Options{Addr: node.Addr(), Pass: "s3cret"}, out)
	if err != nil || st.Keys != 1 {
		t.Fatalf("export: %+v %v", st, err)
	}
}

// TestExportIsPointInTime exports from a single node while a client
// updates 50 keys together (MSET) and grows other values: in every file
// the 50 keys must hold one value (one point in time).
func TestExportIsPointInTime(t *testing.T) {
	ctx := context.Background()
	node := servertest.Start(t)
	w := dial(t, node.Addr())
	for i := 0; i < 200; i++ {
		w.must("HSET", "h"+strconv.Itoa(i), "f", "v")
		w.must("RPUSH", "l"+strconv.Itoa(i), "a")
	}
	filler := []string{"MSET"}
	for i := 0; i < 3000; i++ {
		filler = append(filler, "filler"+strconv.Itoa(i), "x")
	}
	w.must(filler...)
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		c, err := commandtest.Dial(node.Addr())
		if err != nil {
			done <- err
			return
		}
		defer c.Close()
		for i := 0; ; i++ {
			select {
			case <-stop:
				done <- nil
				return
			default:
			}
			n := strconv.Itoa(i)
			mset := []string{"MSET"}
			for k := 0; k < 50; k++ {
				mset = append(mset, "k"+strconv.Itoa(k), n)
			}
			for _, args := range [][]string{mset,
				{"HSET", "h" + strconv.Itoa(i%200), "f" + n, n}, {"RPUSH", "l" + strconv.Itoa(i%200), n}} {
				if v, err := c.Do(args...); err != nil || v.IsError() {
					done <- fmt.Errorf("%v: %v %v", args, v, err)
					return
				}
			}
		}
	}()
	for round := 0; round < 3; round++ {
		path := filepath.Join(t.TempDir(), "x.rdb")
		if _, err := Export(ctx, Options{Addr: node.Addr(), Batch: 5}, path); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := rdb.ParseFile(b, nil)
		if err != nil {
			t.Fatal(err)
		}
		vals := map[string]bool{}
		for _, e := range f.Entries {
			if strings.HasPrefix(string(e.Key), "k") {
				str, _, err := rdb.Restore(e.Payload())
				if err != nil {
					t.Fatal(err)
				}
				vals[string(str)] = true
			}
		}
		if len(vals) > 1 {
			t.Fatalf("round %d: the keys one MSET writes hold %d different values in one file", round, len(vals))
		}
	}
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
