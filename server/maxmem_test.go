package server_test

import (
	"bufio"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/servertest"
)

const oomMsg = "OOM command not allowed when used memory > 'maxmemory'."

// infoField returns one field of INFO (0 if absent or not a number).
func infoField(t *testing.T, c *redis.Client, section, name string) int64 {
	t.Helper()
	s, err := c.Info(ctx, section).Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(s, "\r\n") {
		if v, ok := strings.CutPrefix(l, name+":"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

// TestMaxMemoryNoEviction: over maxmemory with noeviction, writes that may
// grow memory get Redis's OOM error, reads and deletes work, and MULTI
// behaves as Redis 7.0 (queued commands refused, EXEC aborted).
func TestMaxMemoryNoEviction(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	for i := range 100 {
		if err := c.Set(ctx, "k"+strconv.Itoa(i), strings.Repeat("x", 100), 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	n.SetMaxMemoryForTest(1000, keyspace.NoEviction)
	if err := c.Set(ctx, "new", "v", 0).Err(); err == nil || err.Error() != oomMsg {
		t.Fatalf("SET over maxmemory: %v", err)
	}
	if err := c.Incr(ctx, "k1").Err(); err == nil || err.Error() != oomMsg {
		t.Fatalf("INCR over maxmemory: %v", err)
	}
	if v, err := c.Get(ctx, "k1").Result(); err != nil || len(v) != 100 {
		t.Fatalf("GET over maxmemory: %q %v", v, err)
	}
	if v, err := c.Del(ctx, "k1", "k2").Result(); err != nil || v != 2 {
		t.Fatalf("DEL over maxmemory: %d %v", v, err)
	}
	// Pipelined: the DenyOOM commands are refused, EXPIRE is not.
	p := c.Pipeline()
	set := p.Set(ctx, "a", "1", 0)
	exp := p.Expire(ctx, "k3", time.Hour)
	p.Exec(ctx)
	if set.Err() == nil || set.Err().Error() != oomMsg || exp.Val() != true {
		t.Fatalf("pipeline: set %v, expire %v %v", set.Err(), exp.Val(), exp.Err())
	}
	// MULTI: a command queued while memory is out is refused and dooms
	// the transaction.
	r := raw(t, n.Addr())
	for _, step := range [][2]string{
		{"MULTI", "OK"},
		{"SET x 1", "(error) " + oomMsg},
		{"GET x", "(error) " + oomMsg},
		{"EXEC", "(error) EXECABORT Transaction discarded because of previous errors."},
	} {
		if got := do(t, r, strings.Fields(step[0])...); got != step[1] {
			t.Fatalf("%s: %s, want %s", step[0], got, step[1])
		}
	}
	if got := infoField(t, c, "memory", "maxmemory"); got != 1000 {
		t.Fatalf("INFO maxmemory %d", got)
	}
	info := c.Info(ctx, "memory").Val()
	for _, want := range []string{"maxmemory_human:1000B", "maxmemory_policy:noeviction", "used_memory_dataset:", "used_memory_go_heap:"} {
		if !strings.Contains(info, want) {
			t.Fatalf("INFO memory lacks %q:\n%s", want, info)
		}
	}
	if u := infoField(t, c, "memory", "used_memory"); u < 98*100 {
		t.Fatalf("INFO used_memory %d for 98 keys of 100 bytes", u)
	}
	// Raising the limit lets writes in again.
	n.SetMaxMemoryForTest(0, keyspace.NoEviction)
	if err := c.Set(ctx, "new", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
}

// writeFast drives pipelined SETs of size-byte values at c: total bytes
// in batches of 200 commands, failing on any error reply. It returns the
// largest used_memory and RSS seen meanwhile.
func writeFast(t *testing.T, c *redis.Client, total, size int, sample func()) {
	t.Helper()
	val := strings.Repeat("v", size)
	n := total / size
	for i := 0; i < n; {
		p := c.Pipeline()
		for j := 0; j < 200 && i < n; j++ {
			p.Set(ctx, "key:"+strconv.Itoa(i), val, 0)
			i++
		}
		cmds, err := p.Exec(ctx)
		if err != nil {
			for _, cmd := range cmds {
				if cmd.Err() != nil {
					t.Fatalf("write %s: %v", cmd.Args()[1], cmd.Err())
				}
			}
			t.Fatal(err)
		}
		if sample != nil && i%5000 < 200 {
			sample()
		}
	}
}

// vmRSS reads this process's resident set size.
func vmRSS(t *testing.T) int64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		t.Skip("no /proc/self/status")
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	t.Skip("no VmRSS")
	return 0
}

// TestMaxMemoryEvictionBoundsMemory: a fast pipelined writer pushes 20x
// maxmemory through a node with allkeys-lru. Every write succeeds, the
// leader evicts ahead of the writes so the accounted memory stays near
// the limit, evicted_keys counts, and the process's RSS stays bounded.
func TestMaxMemoryEvictionBoundsMemory(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	const limit = 8 << 20
	n.SetMaxMemoryForTest(limit, keyspace.AllKeysLRU)
	rss0 := vmRSS(t)
	var peakUsed, peakRSS int64
	sample := func() {
		peakUsed = max(peakUsed, infoField(t, c, "memory", "used_memory"))
		peakRSS = max(peakRSS, vmRSS(t))
	}
	start := time.Now()
	writeFast(t, c, 20*limit, 2000, sample)
	sample()
	t.Logf("wrote %d MB in %v: peak used_memory %.1f MB (limit %d MB), RSS %d MB -> peak %d MB, evicted %d",
		20*limit>>20, time.Since(start).Round(time.Millisecond), float64(peakUsed)/(1<<20), limit>>20, rss0>>20, peakRSS>>20,
		infoField(t, c, "stats", "evicted_keys"))
	if peakUsed > limit*3/2 {
		t.Fatalf("used_memory peaked at %d with maxmemory %d", peakUsed, limit)
	}
	if ev := infoField(t, c, "stats", "evicted_keys"); ev < 10000 {
		t.Fatalf("evicted_keys %d", ev)
	}
	if keys := c.DBSize(ctx).Val(); keys == 0 || keys > limit/2000 {
		t.Fatalf("%d keys left", keys)
	}
	// The process holds the dataset, the Raft log's tail and garbage: far
	// less than what was written (160 MB).
	if growth := peakRSS - rss0; growth > 120<<20 && !raceEnabled {
		t.Fatalf("RSS grew by %d MB while writing %d MB under maxmemory %d MB", growth>>20, 20*limit>>20, limit>>20)
	}
}

// TestMaxMemoryVolatileEvictsOnlyVolatile: under volatile-ttl the leader
// evicts keys with an expiry, nearest first, and never a persistent key;
// once none is left, writes get the OOM error.
func TestMaxMemoryVolatileEvictsOnlyVolatile(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	for i := range 200 {
		c.Set(ctx, "p"+strconv.Itoa(i), strings.Repeat("p", 1000), 0)
		c.Set(ctx, "v"+strconv.Itoa(i), strings.Repeat("v", 1000), time.Hour+time.Duration(i)*time.Second)
	}
	used := infoField(t, c, "memory", "used_memory")
	n.SetMaxMemoryForTest(used-50_000, keyspace.VolatileTTL)
	if err := c.Set(ctx, "w", "x", 0).Err(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for infoField(t, c, "memory", "used_memory") > used-50_000 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 200 {
		if c.Exists(ctx, "p"+strconv.Itoa(i)).Val() != 1 {
			t.Fatalf("persistent key p%d was evicted", i)
		}
	}
	// The choice is Redis's approximation (samples and an eviction pool),
	// so a given near key may escape; the evicted keys must lean to the
	// nearest expiries and the farthest must stay.
	near, far := 0, 0
	for i := range 200 {
		if c.Exists(ctx, "v"+strconv.Itoa(i)).Val() == 0 {
			if i < 100 {
				near++
			} else {
				far++
			}
		}
	}
	if near == 0 || far*4 > near || c.Exists(ctx, "v199").Val() != 1 {
		t.Fatalf("volatile-ttl should evict the nearest expiries first: %d evicted of v0-v99, %d of v100-v199, v199 %d", near, far, c.Exists(ctx, "v199").Val())
	}
	// No volatile key left to evict: OOM.
	n.SetMaxMemoryForTest(1, keyspace.VolatileTTL)
	deadline = time.Now().Add(5 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = c.Set(ctx, "w2", "x", 0).Err(); err != nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err == nil || err.Error() != oomMsg {
		t.Fatalf("SET with no volatile key left: %v", err)
	}
}

// TestConfigSetMaxMemory is the end-to-end path: CONFIG SET maxmemory and
// maxmemory-policy replicate through the log and bound memory. It skips
// until CONFIG SET maxmemory is replicated (INFO maxmemory reports the
// replicated value).
func TestConfigSetMaxMemory(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	if err := c.ConfigSet(ctx, "maxmemory-policy", "allkeys-lru").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "20mb").Err(); err != nil {
		t.Fatal(err)
	}
	if infoField(t, c, "memory", "maxmemory") != 20<<20 {
		t.Skip("CONFIG SET maxmemory does not change the replicated value yet (INFO maxmemory is 0)")
	}
	writeFast(t, c, 100<<20, 4000, nil)
	time.Sleep(300 * time.Millisecond)
	if u := infoField(t, c, "memory", "used_memory"); u > 25<<20 {
		t.Fatalf("used_memory %d over maxmemory 20mb", u)
	}
	if infoField(t, c, "stats", "evicted_keys") == 0 {
		t.Fatal("nothing evicted")
	}
	if err := c.ConfigSet(ctx, "maxmemory-policy", "noeviction").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.ConfigSet(ctx, "maxmemory", "1mb").Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "x", "y", 0).Err(); err == nil || err.Error() != oomMsg {
		t.Fatalf("SET over maxmemory under noeviction: %v", err)
	}
}

// TestEvictionNotifiesAndTouchesWatch: an evicted key raises the
// "evicted" keyspace event (class e) and dooms a transaction WATCHing it.
func TestEvictionNotifiesAndTouchesWatch(t *testing.T) {
	n := servertest.Start(t)
	c := n.Client(t)
	if err := c.ConfigSet(ctx, "notify-keyspace-events", "Ee").Err(); err != nil {
		t.Fatal(err)
	}
	ps := n.Client(t).Subscribe(ctx, "__keyevent@0__:evicted")
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "victim", strings.Repeat("v", 5000), time.Hour).Err(); err != nil {
		t.Fatal(err)
	}
	c.Set(ctx, "keep", "x", 0)
	r := raw(t, n.Addr())
	do(t, r, "WATCH", "victim")
	// Only "victim" has an expiry: volatile-lru must evict it.
	n.SetMaxMemoryForTest(infoField(t, c, "memory", "used_memory")-1000, keyspace.VolatileLRU)
	select {
	case m := <-ps.Channel():
		if m.Payload != "victim" {
			t.Fatalf("evicted event for %q", m.Payload)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no evicted event")
	}
	if c.Exists(ctx, "victim").Val() != 0 || c.Exists(ctx, "keep").Val() != 1 {
		t.Fatal("wrong key evicted")
	}
	if ev := infoField(t, c, "stats", "evicted_keys"); ev != 1 {
		t.Fatalf("evicted_keys %d", ev)
	}
	do(t, r, "MULTI")
	do(t, r, "SET", "victim", "again")
	n.SetMaxMemoryForTest(0, keyspace.NoEviction)
	if got := do(t, r, "EXEC"); got != "(nil)" {
		t.Fatalf("EXEC after the watched key was evicted: %s", got)
	}
}

// procRSS reads the resident set size of process pid.
func procRSS(t *testing.T, pid int) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		t.Skip("no /proc")
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// TestMemoryGuardBoundsRSS: with no maxmemory at all, a node whose RSS
// reaches its memory guard (CAIRN_MEMORY_GUARD) refuses writes that grow
// memory with the OOM error, instead of growing until the OS kills it;
// reads and deletes keep working.
func TestMemoryGuardBoundsRSS(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("builds the binary and writes a few hundred MB")
	}
	const guard = 160 << 20
	t.Setenv("CAIRN_MEMORY_GUARD", strconv.Itoa(guard))
	p := servertest.StartProcess(t, servertest.Binary(t), t.TempDir())
	c := servertest.Client(t, p.Addr())
	val := strings.Repeat("g", 4000)
	var peak int64
	refused := 0
	deadline := time.Now().Add(20 * time.Second)
	for i := 0; refused == 0 && i < 200_000 && time.Now().Before(deadline); {
		pl := c.Pipeline()
		for j := 0; j < 200; j++ {
			pl.Set(ctx, "key:"+strconv.Itoa(i), val, 0)
			i++
		}
		cmds, _ := pl.Exec(ctx)
		for _, cmd := range cmds {
			if err := cmd.Err(); err != nil {
				if err.Error() != oomMsg {
					t.Fatalf("write: %v", err)
				}
				refused++
			}
		}
		peak = max(peak, procRSS(t, p.Pid()))
	}
	t.Logf("RSS peak %d MB with guard %d MB; %d writes refused", peak>>20, guard>>20, refused)
	if refused == 0 {
		t.Fatalf("no write refused; RSS peaked at %d MB", peak>>20)
	}
	if peak > guard+96<<20 {
		t.Fatalf("RSS peaked at %d MB, guard %d MB", peak>>20, guard>>20)
	}
	if v, err := c.Get(ctx, "key:1").Result(); err != nil || v != val {
		t.Fatalf("GET under the guard: %v", err)
	}
	if err := c.Del(ctx, "key:1").Err(); err != nil {
		t.Fatalf("DEL under the guard: %v", err)
	}
}
