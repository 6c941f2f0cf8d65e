package clustertest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

// hostnameWrapper writes a script that runs cairn in its own UTS namespace
// under hostname name, or skips the test where that is not allowed.
func hostnameWrapper(t *testing.T, bin, name string) string {
	t.Helper()
	if err := exec.Command("unshare", "--uts", "true").Run(); err != nil {
		t.Skipf("cannot run a process under another hostname (unshare --uts: %v)", err)
	}
	path := filepath.Join(t.TempDir(), "cairn-as-"+name)
	script := fmt.Sprintf("#!/bin/sh\nexec unshare --uts /bin/sh -c 'hostname %s && exec \"$0\" \"$@\"' %s \"$@\"\n", name, bin)
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestRestartWithNewHostnameAndPort restarts a cluster node as a recreated
// container comes back: same data volume, new hostname, new client port
// (the Raft address is a stable name). It must rejoin with its data, the
// directory must name its new client address, and clients must reach its
// shards there.
func TestRestartWithNewHostnameAndPort(t *testing.T) {
	if testing.Short() {
		t.Skip("multi-process cluster test skipped in -short mode")
	}
	bin := servertest.Binary(t)
	oldHost := hostnameWrapper(t, bin, "cairn-old-box")
	newHost := hostnameWrapper(t, bin, "cairn-new-box")
	procs := startProcesses(t, bin, 3, func(i int, p *servertest.Process) {
		if i == 2 {
			p.Bin = oldHost
		}
	})
	ctx := context.Background()
	cl := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{procs[0].Addr(), procs[1].Addr()}, MaxRetries: 10, MaxRedirects: 16,
		MinRetryBackoff: 10 * time.Millisecond, MaxRetryBackoff: 100 * time.Millisecond,
		DialTimeout: time.Second, ClusterStateReloadInterval: time.Second,
	})
	defer cl.Close()
	waitFor(t, 30*time.Second, "cluster serving", func() bool { return cl.Set(ctx, "warmup", 1, 0).Err() == nil })
	const keys = 300
	for i := range keys {
		if err := cl.Set(ctx, fmt.Sprintf("h%d", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	if err := procs[2].Stop(); err != nil {
		t.Fatal(err)
	}

	// The same volume in a new container: new hostname, new client port.
	oldAddr := procs[2].Addr()
	procs[2].Bin = newHost
	procs[2].Port = servertest.FreePort(t)
	if err := procs[2].Start(); err != nil {
		t.Fatal(err)
	}
	newAddr := procs[2].Addr()
	log, _ := os.ReadFile(procs[2].Dir + ".log")
	if !strings.Contains(string(log), "hostname changed") || !strings.Contains(string(log), "cairn-old-box") {
		t.Errorf("node 3 did not report adopting the old hostname's data:\n%s", log)
	}
	if _, err := os.Lstat(filepath.Join(procs[2].Dir, "raft", "cairn-new-box")); err != nil {
		t.Errorf("no Raft data under the new hostname: %v", err)
	}

	// Node 3 leads shard 3 again, at its new address.
	n1 := redis.NewClient(&redis.Options{Addr: procs[0].Addr(), MaxRetries: -1})
	defer n1.Close()
	var key3 string
	for i := 0; key3 == ""; i++ {
		if sl, _ := n1.ClusterKeySlot(ctx, fmt.Sprintf("h%d", i)).Result(); sl >= 10923 {
			key3 = fmt.Sprintf("h%d", i)
		}
	}
	// MOVED names node 3's endpoint for shard 3: its new client port +
	// 300 (shard N's endpoint is port+100*N by default).
	epHost, newPort, _ := net.SplitHostPort(newAddr)
	np, _ := strconv.Atoi(newPort)
	newEP := net.JoinHostPort(epHost, strconv.Itoa(np+300))
	waitFor(t, 30*time.Second, "node 1 redirecting shard 3 to node 3's new address", func() bool {
		err := n1.Get(ctx, key3).Err()
		return err != nil && err.Error() == fmt.Sprintf("MOVED %d %s", mustSlot(n1, key3), newEP)
	})
	direct := redis.NewClient(&redis.Options{Addr: newAddr, MaxRetries: -1})
	defer direct.Close()
	if err := direct.Set(ctx, key3, "new", 0).Err(); err != nil {
		t.Fatalf("write on node 3 at its new address: %v", err)
	}
	if nodes, _ := n1.ClusterNodes(ctx).Result(); strings.Contains(nodes, oldAddr) {
		t.Errorf("CLUSTER NODES still names the old address %s", oldAddr)
	}
	// Every key is there; node 3's own replicas hold them too.
	for i := range keys {
		k := fmt.Sprintf("h%d", i)
		want := strconv.Itoa(i)
		if k == key3 {
			want = "new"
		}
		if v, err := cl.Get(ctx, k).Result(); err != nil || v != want {
			t.Fatalf("GET %s = %q, %v; want %s", k, v, err, want)
		}
	}
	if err := direct.ReadOnly(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "node 3's replicas holding every key", func() bool {
		for i := range keys {
			k := fmt.Sprintf("h%d", i)
			want := strconv.Itoa(i)
			if k == key3 {
				want = "new"
			}
			if v, err := direct.Get(ctx, k).Result(); err != nil || v != want {
				return false
			}
		}
		return true
	})
}

func mustSlot(c *redis.Client, key string) int64 {
	n, _ := c.ClusterKeySlot(context.Background(), key).Result()
	return n
}
