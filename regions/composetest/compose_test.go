// Package composetest runs the docker compose topology of two regions
// (deploy/compose) end to end: shipping across the link between the
// regions, a cut of that link with `docker network disconnect`, and a
// forced promotion after the whole primary region is killed.
//
// It needs docker, the docker-compose tool and redis-cli, and skips with a
// message without them (or with -short, or when the topology is already up
// on this machine: make compose-down). It uses the fixed host ports of the
// compose file (7001-7003, 7101-7103, 9001-9003, 9101-9103, 27001-27023, 27101-27123).
package composetest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const (
	linkNet   = "cairn-regions-link"
	r2Holder  = "cairn-r2" // region 2's network namespace (deploy/compose/netns)
	primary   = "127.0.0.1:7001"
	secondary = "127.0.0.1:7101"
)

// nodes is the number of nodes per region the test runs (compose.sh
// NODES): 3 (cluster mode), or 1 (single-node regions) with
// CAIRN_COMPOSE_NODES=1.
func nodes() string {
	if os.Getenv("CAIRN_COMPOSE_NODES") == "1" {
		return "1"
	}
	return "3"
}

func root(t *testing.T) string {
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// run runs a command with a deadline and returns its combined output.
func run(ctx context.Context, t *testing.T, env []string, name string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = root(t)
	cmd.Env = append(os.Environ(), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

func mustRun(ctx context.Context, t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	out, err := run(ctx, t, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// skipWithoutDocker skips unless docker answers and docker-compose and
// redis-cli are installed.
func skipWithoutDocker(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("compose test: skipped with -short")
	}
	for _, tool := range []string{"docker", "docker-compose", "redis-cli"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("compose test: %s is not installed (needs docker, docker-compose and redis-cli)", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "docker", "info").CombinedOutput(); err != nil {
		t.Skipf("compose test: the docker daemon does not answer (docker info: %v): %s", err, firstLine(string(out)))
	}
	// One compose topology per machine (fixed names and ports): another
	// run of this test holds the lock.
	lock, err := os.OpenFile(filepath.Join(os.TempDir(), "cairn-composetest.lock"), os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		t.Fatalf("compose test lock: %v", err)
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		t.Skip("compose test: another run of this test holds " + lock.Name() + " (one compose topology per machine)")
	}
	t.Cleanup(func() { lock.Close() })
	if out, err := exec.CommandContext(ctx, "docker", "ps", "-a", "-q", "--filter", "name=^cairn-r[12]").Output(); err == nil && len(bytes.TrimSpace(out)) > 0 {
		t.Skip("compose test: the compose topology is already up on this machine (its containers cairn-r1..., fixed host ports); make compose-down to run this test")
	}
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return l
}

// client returns a client of one region: a cluster client with three
// nodes per region, else a plain one.
func client(addr string) redis.UniversalClient {
	if nodes() == "3" {
		return redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, MaxRedirects: 8,
			DialTimeout: 2 * time.Second, ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second})
	}
	return redis.NewClient(&redis.Options{Addr: addr, DialTimeout: 2 * time.Second,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxRetries: -1})
}

// regionInfo returns INFO regions of one node as fields.
func regionInfo(ctx context.Context, addr string) (map[string]string, error) {
	c := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, ReadTimeout: 2 * time.Second, MaxRetries: -1})
	defer c.Close()
	s, err := c.Info(ctx, "regions").Result()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(strings.TrimSpace(l), ":"); ok {
			out[k] = v
		}
	}
	return out, nil
}

// eventually retries f every 200 ms until it returns nil or d passes.
func eventually(t *testing.T, d time.Duration, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after %v: %v", what, d, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func write(ctx context.Context, t *testing.T, c redis.UniversalClient, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		k := fmt.Sprintf("compose:{k%d}", i)
		if err := c.Set(ctx, k, fmt.Sprintf("v%d", i), 0).Err(); err != nil {
			t.Fatalf("SET %s on the primary region: %v", k, err)
		}
	}
}

// missing returns the first key of [from, to) the client does not read
// with its value ("" when all are there).
func missing(ctx context.Context, c redis.UniversalClient, from, to int) (string, error) {
	for i := from; i < to; i++ {
		k := fmt.Sprintf("compose:{k%d}", i)
		v, err := c.Get(ctx, k).Result()
		if err == redis.Nil || (err == nil && v != fmt.Sprintf("v%d", i)) {
			return k, nil
		}
		if err != nil {
			return k, err
		}
	}
	return "", nil
}

func caughtUp(ctx context.Context, c redis.UniversalClient, from, to int) error {
	k, err := missing(ctx, c, from, to)
	if err != nil {
		return err
	}
	if k != "" {
		return fmt.Errorf("%s not read on the secondary yet", k)
	}
	return nil
}

// TestCompose_LinkCutAndForcedPromotion: the compose topology up; writes
// on region 1 read on region 2; the link cut (region 2's namespace
// disconnected from the link network): region 2 reports its link down and
// does not get the writes made meanwhile; the link back: region 2 catches
// up; region 1 killed: REGION PROMOTE FORCE on region 2, which then takes
// writes; region 1 started again: it rejoins as a secondary of region 2
// by itself, following region 2's announced link addresses. Everything
// is removed at the end, also on failure.
func TestCompose_LinkCutAndForcedPromotion(t *testing.T) {
	skipWithoutDocker(t)
	env := []string{"NODES=" + nodes(), "WAIT_SECS=90"}

	t.Cleanup(func() {
		dctx, dcancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer dcancel()
		if t.Failed() {
			for _, c := range []string{"cairn-r1n1", "cairn-r1n2", "cairn-r1n3", "cairn-r2n1", "cairn-r2n2", "cairn-r2n3"} {
				if out, err := run(dctx, t, nil, "docker", "logs", "--tail", "30", c); err == nil {
					t.Logf("docker logs --tail 30 %s:\n%s", c, out)
				}
			}
		}
		if out, err := run(dctx, t, env, "deploy/compose/compose.sh", "down"); err != nil {
			t.Errorf("compose.sh down: %v\n%s", err, out)
		}
	})
	// The build (go build of bin/cairn, cached in make test, and the
	// images) is bounded apart from the test itself.
	bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Minute)
	start := time.Now()
	mustRun(bctx, t, env, "deploy/compose/compose.sh", "build")
	bcancel()
	t.Logf("binaries and images built in %v", time.Since(start).Round(time.Millisecond))
	env = append(env, "SKIP_BUILD=1")
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Second)
	defer cancel()
	start = time.Now()
	t.Logf("%s", mustRun(ctx, t, env, "deploy/compose/compose.sh", "up"))
	t.Logf("up and serving in %v (%s node(s) per region)", time.Since(start).Round(time.Millisecond), nodes())

	p, s := client(primary), client(secondary)
	defer p.Close()
	defer s.Close()

	// 1. Shipping across the link.
	write(ctx, t, p, 0, 50)
	eventually(t, 30*time.Second, "region 2 reads region 1's first writes", func() error { return caughtUp(ctx, s, 0, 50) })
	// (While shard leaders still move after the start, the redirect to
	// the slot's leader can outrun the client's redirects: retried.)
	eventually(t, 20*time.Second, "SET on the secondary region answers READONLY", func() error {
		if err := s.Set(ctx, "compose:{k0}", "x", 0).Err(); err == nil || !strings.HasPrefix(err.Error(), "READONLY") {
			return fmt.Errorf("SET: %v, want READONLY", err)
		}
		return nil
	})

	// A secondary region describes its own nodes to cluster clients.
	if nodes() == "3" {
		slots, err := s.(*redis.ClusterClient).ClusterSlots(ctx).Result()
		if err != nil {
			t.Fatalf("CLUSTER SLOTS on region 2: %v", err)
		}
		for _, r := range slots {
			for _, nd := range r.Nodes {
				if !strings.HasPrefix(nd.Addr, "127.0.0.1:271") {
					t.Fatalf("CLUSTER SLOTS on region 2 gives %s (slots %d-%d), not one of region 2's endpoints (127.0.0.1:271xx)", nd.Addr, r.Start, r.End)
				}
			}
		}
	}

	// 2. Cut the link: region 2 says so and gets nothing more.
	mustRun(ctx, t, nil, "docker", "network", "disconnect", linkNet, r2Holder)
	eventually(t, 20*time.Second, "region 2 reports its link down", func() error {
		info, err := regionInfo(ctx, secondary)
		if err != nil {
			return err
		}
		for k, v := range info {
			if strings.HasPrefix(k, "region_shard_") && strings.Contains(v, "link=up") {
				return fmt.Errorf("%s:%s", k, v)
			}
		}
		return nil
	})
	write(ctx, t, p, 50, 150)
	time.Sleep(time.Second)
	if k, err := missing(ctx, s, 50, 150); err != nil || k == "" {
		t.Fatalf("with the link cut, region 2 read every write made meanwhile (err %v): the cut did not cut", err)
	}
	// Cut off, the secondary's lag counts at least the time since it
	// last heard from the primary (more than the second above).
	info, err := regionInfo(ctx, secondary)
	if err != nil {
		t.Fatalf("INFO regions on region 2: %v", err)
	}
	if ms, err := strconv.Atoi(info["region_lag_ms"]); err != nil || ms < 1000 {
		t.Fatalf("region 2 cut off: region_lag_ms %q, want at least 1000", info["region_lag_ms"])
	}
	t.Logf("region 2 while cut off: lag_ms=%s lag_entries=%s", info["region_lag_ms"], info["region_lag_entries"])

	// 3. Reconnect: region 2 catches up.
	mustRun(ctx, t, nil, "docker", "network", "connect", "--alias", "r2", linkNet, r2Holder)
	cut := time.Now()
	eventually(t, 60*time.Second, "region 2 catches up after the link is back", func() error { return caughtUp(ctx, s, 0, 150) })
	t.Logf("region 2 caught up %v after the link came back", time.Since(cut).Round(time.Millisecond))

	// 4. Lose region 1 entirely; force-promote region 2.
	kill := []string{"kill"}
	count, _ := strconv.Atoi(nodes())
	for n := 1; n <= count; n++ {
		kill = append(kill, fmt.Sprintf("cairn-r1n%d", n))
	}
	mustRun(ctx, t, nil, "docker", kill...)
	promote := redis.NewClient(&redis.Options{Addr: secondary, ReadTimeout: 30 * time.Second, MaxRetries: -1})
	defer promote.Close()
	res, err := promote.Do(ctx, "REGION", "PROMOTE", "FORCE").Result()
	if err != nil {
		t.Fatalf("REGION PROMOTE FORCE on region 2: %v", err)
	}
	t.Logf("REGION PROMOTE FORCE: %v", res)
	promoted := time.Now()
	eventually(t, 10*time.Second, "region 2 takes writes after the forced promotion", func() error {
		return s.Set(ctx, "compose:{after}", "promoted", 0).Err()
	})
	t.Logf("region 2 took a write %v after the promotion", time.Since(promoted).Round(time.Millisecond))
	if v, err := s.Get(ctx, "compose:{after}").Result(); err != nil || v != "promoted" {
		t.Fatalf("GET after the promotion: %q, %v", v, err)
	}
	if err := caughtUp(ctx, s, 0, 150); err != nil {
		t.Fatalf("after the forced promotion: %v", err)
	}
	info, err = regionInfo(ctx, secondary)
	if err != nil || info["region_role"] != "primary" {
		t.Fatalf("region 2 after the promotion: role %q, %v", info["region_role"], err)
	}

	// 5. Region 1 comes back (its data kept, still believing it is the
	// primary): it rejoins region 2 by itself as a secondary, following
	// the addresses region 2's nodes announce on the link network
	// (r2:10101..., not their container-local 127.0.0.1 ones).
	start = time.Now()
	mustRun(ctx, t, nil, "docker", append([]string{"start"}, kill[1:]...)...)
	want := map[string]bool{}
	for n := 1; n <= count; n++ {
		want[fmt.Sprintf("r2:%d", 10101+n-1)] = true
	}
	for n := 1; n <= count; n++ {
		addr := fmt.Sprintf("127.0.0.1:%d", 7001+n-1)
		eventually(t, 90*time.Second, "region 1 node "+strconv.Itoa(n)+" rejoins region 2 as a secondary", func() error {
			info, err := regionInfo(ctx, addr)
			if err != nil {
				return err
			}
			if info["region_role"] != "secondary" || info["region_rebuilding"] != "" {
				return fmt.Errorf("role %q rebuilding %q", info["region_role"], info["region_rebuilding"])
			}
			got := strings.Split(info["region_primary"], ",")
			if len(got) != len(want) {
				return fmt.Errorf("region_primary %q, want %v", info["region_primary"], want)
			}
			for _, a := range got {
				if !want[a] {
					return fmt.Errorf("region_primary %q, want %v", info["region_primary"], want)
				}
			}
			return nil
		})
	}
	eventually(t, 60*time.Second, "region 1 reads region 2's write after rejoining", func() error {
		v, err := p.Get(ctx, "compose:{after}").Result()
		if err != nil || v != "promoted" {
			return fmt.Errorf("%q %v", v, err)
		}
		return nil
	})
	// A write is refused as READONLY once the rejoined region's shard
	// leaders have settled (until then the cluster client can be sent
	// MOVED to an endpoint that is still changing hands); it is never
	// accepted.
	eventually(t, 30*time.Second, "a SET on the rejoined region 1 is refused as READONLY", func() error {
		err := p.Set(ctx, "compose:{k0}", "x", 0).Err()
		if err == nil {
			t.Fatal("SET on the rejoined region 1 was accepted")
		}
		if !strings.HasPrefix(err.Error(), "READONLY") {
			return err
		}
		return nil
	})
	t.Logf("region 1 rejoined as a secondary and caught up %v after its nodes were started", time.Since(start).Round(time.Millisecond))
}
