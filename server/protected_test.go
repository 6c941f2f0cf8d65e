package server_test

import (
	"bufio"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

// redisDenied is Redis 7.0's protected-mode reply, word for word.
const redisDenied = "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n"

// externalIP returns a non-loopback IPv4 address of this machine (the
// peer address a connection to it then has), or skips the test.
func externalIP(t *testing.T) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Skipf("interface addresses: %v", err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Skip("no non-loopback IPv4 address: cannot connect from outside the loopback interface")
	return ""
}

// firstReply connects to addr, sends cmd (if any) and returns the first
// line the server writes.
func firstReply(t *testing.T, addr, cmd string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if cmd != "" {
		conn.Write([]byte(cmd))
	}
	line, err := bufio.NewReaderSize(conn, 4096).ReadString('\n')
	if err != nil {
		t.Fatalf("read from %s: %q %v", addr, line, err)
	}
	return line
}

// TestProtectedMode_Runtime: protected mode follows Redis at run time.
// With protected-mode yes and no password for the default user, a
// connection from another address than 127.0.0.1 gets Redis's DENIED
// text and is closed, while loopback clients are served; CONFIG SET
// requirepass, ACL SETUSER default and CONFIG SET protected-mode change
// that for new connections without a restart.
func TestProtectedMode_Runtime(t *testing.T) {
	ip := externalIP(t)
	port := servertest.FreePort(t)
	n, err := server.Start(server.Config{Port: port, Bind: "0.0.0.0", Dir: t.TempDir(), ProtectedMode: true, Logger: quiet()})
	if err != nil {
		t.Fatal(err)
	}
	defer n.Close()
	local := "127.0.0.1:" + strconv.Itoa(port)
	remote := net.JoinHostPort(ip, strconv.Itoa(port))
	ctx := context.Background()
	admin := redis.NewClient(&redis.Options{Addr: local, MaxRetries: -1})
	defer admin.Close()
	do := func(args ...any) {
		t.Helper()
		if err := admin.Do(ctx, args...).Err(); err != nil {
			t.Fatalf("%v: %v", args, err)
		}
	}
	rejected := func() int {
		info, _ := admin.Info(ctx, "stats").Result()
		for _, l := range strings.Split(info, "\r\n") {
			if v, ok := strings.CutPrefix(l, "rejected_connections:"); ok {
				r, _ := strconv.Atoi(v)
				return r
			}
		}
		return -1
	}
	denied := func(when string) {
		t.Helper()
		before := rejected()
		// Redis writes it at once, before any command.
		if got := firstReply(t, remote, ""); got != redisDenied {
			t.Errorf("%s: first line from %s: %q, want Redis's DENIED", when, remote, got)
		}
		if got := rejected(); got != before+1 {
			t.Errorf("%s: rejected_connections %d -> %d", when, before, got)
		}
		if got := firstReply(t, local, "PING\r\n"); got != "+PONG\r\n" {
			t.Errorf("%s: loopback PING: %q", when, got)
		}
	}
	served := func(when, want string) {
		t.Helper()
		if got := firstReply(t, remote, "PING\r\n"); got != want {
			t.Errorf("%s: PING from %s: %q, want %q", when, remote, got, want)
		}
	}
	if v, err := admin.ConfigGet(ctx, "protected-mode").Result(); err != nil || v["protected-mode"] != "yes" {
		t.Fatalf("CONFIG GET protected-mode: %v %v", v, err)
	}
	denied("at start")

	do("CONFIG", "SET", "requirepass", "s3cret-pass")
	admin.Do(ctx, "AUTH", "s3cret-pass")
	served("with requirepass", "-NOAUTH Authentication required.\r\n")
	do("CONFIG", "SET", "requirepass", "")
	denied("requirepass removed")

	do("ACL", "SETUSER", "default", "resetpass", ">acl-pass")
	served("default user with an ACL password", "-NOAUTH Authentication required.\r\n")
	do("AUTH", "acl-pass")
	do("ACL", "SETUSER", "default", "nopass")
	denied("default user nopass again")

	do("CONFIG", "SET", "protected-mode", "no")
	served("protected-mode no", "+PONG\r\n")
	do("CONFIG", "SET", "protected-mode", "yes")
	denied("protected-mode yes again")
	if err := admin.ConfigSet(ctx, "protected-mode", "maybe").Err(); err == nil || !strings.Contains(err.Error(), "argument must be 'yes' or 'no'") {
		t.Errorf("CONFIG SET protected-mode maybe: %v", err)
	}
}

// TestProtectedMode_ClusterNodes: in cluster mode, nodes call each other
// from other addresses than 127.0.0.1 (here each announces the machine's
// non-loopback address): under protected mode with no password they still
// authenticate as nodes and the cluster serves, while a client from that
// address gets Redis's DENIED reply to its first command.
func TestProtectedMode_ClusterNodes(t *testing.T) {
	ip := externalIP(t)
	peers := map[uint64]string{}
	ports := map[uint64]int{}
	for i := uint64(1); i <= 2; i++ {
		peers[i] = "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
		ports[i] = servertest.FreePort(t)
	}
	nodes := make([]*server.Node, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		id := uint64(i + 1)
		cfg := server.Config{Port: ports[id], Bind: "0.0.0.0", Announce: net.JoinHostPort(ip, strconv.Itoa(ports[id])), ShardPorts: -1,
			Dir: t.TempDir(), NodeID: id, Peers: peers, RaftAddr: peers[id], Shards: 2, Replicas: 1, Logger: quiet(),
			RaftSecret: "protected-cluster-raft-secret", ProtectedMode: true}
		wg.Add(1)
		go func() {
			defer wg.Done()
			nodes[i], errs[i] = server.Start(cfg)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("start node %d: %v", i+1, err)
		}
		t.Cleanup(nodes[i].Close)
	}
	ctx := context.Background()
	// Clients on the loopback interface; MOVED redirections name the
	// announced addresses, reached through loopback too.
	toLocal := func(ctx context.Context, network, addr string) (net.Conn, error) {
		_, p, _ := net.SplitHostPort(addr)
		return (&net.Dialer{}).DialContext(ctx, network, "127.0.0.1:"+p)
	}
	deadline := time.Now().Add(60 * time.Second)
	for id := range ports {
		c := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(ports[id]), MaxRetries: -1})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d not serving: %q %v", id, info, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{"127.0.0.1:" + strconv.Itoa(ports[1])}, Dialer: toLocal})
	defer cc.Close()
	// FT.CREATE and FT.SEARCH run on every shard: the node a client asks
	// calls the other node (CLUSTER FTSHARD, authenticated as a node) at
	// its announced, non-loopback address.
	for i := range 20 {
		if err := cc.HSet(ctx, "doc:"+strconv.Itoa(i), "title", "hello").Err(); err != nil {
			t.Fatalf("HSET: %v", err)
		}
	}
	c1 := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(ports[1]), Protocol: 2})
	defer c1.Close()
	if err := c1.Do(ctx, "FT.CREATE", "idx", "ON", "HASH", "PREFIX", "1", "doc:", "SCHEMA", "title", "TEXT").Err(); err != nil {
		t.Fatalf("FT.CREATE across nodes: %v", err)
	}
	for {
		v, err := c1.Do(ctx, "FT.SEARCH", "idx", "hello", "LIMIT", "0", "0").Slice()
		if err == nil && len(v) > 0 && v[0] == int64(20) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("FT.SEARCH across nodes: %v %v", v, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for id := range ports {
		remote := net.JoinHostPort(ip, strconv.Itoa(ports[id]))
		if got := firstReply(t, remote, "PING\r\n"); got != redisDenied {
			t.Errorf("client from %s: %q, want Redis's DENIED", remote, got)
		}
		if got := firstReply(t, remote, "AUTH cairn-node wrong-secret\r\n"); !strings.HasPrefix(got, "-WRONGPASS") {
			t.Errorf("wrong node AUTH from %s: %q", remote, got)
		}
		secret := nodes[id-1].ClusterSecret()
		if got := firstReply(t, remote, "AUTH cairn-node "+secret+"\r\n"); got != "+OK\r\n" {
			t.Errorf("node AUTH from %s: %q", remote, got)
		}
	}
}
