package web

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
	"github.com/cairndb/cairn/server/tlsconf"
	"github.com/cairndb/cairn/server/tlsconf/tlstest"
)

// TestDashboardTLSCluster: on a two-node --tls-cluster cluster whose
// nodes ask every client for a certificate (tls-auth-clients yes), the
// dashboard of each node reaches the other node: the overview shows its
// version, the shard page its replicas' states, and keys of both shards
// are written and read back through the dashboard (MOVED to the other
// node's TLS endpoint). Node 1 keeps a plaintext port (its dashboard
// reaches it in plaintext, the other node over TLS); node 2 has none
// (--port 0: its dashboard reaches it on its TLS port too).
func TestDashboardTLSCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped with -short")
	}
	dir := t.TempDir()
	ca := tlstest.NewCA(t, dir, "ca")
	peers := map[uint64]string{}
	for i := uint64(1); i <= 2; i++ {
		peers[i] = "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	}
	nodes := make([]*server.Node, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		cert, key := ca.Issue(fmt.Sprintf("node%d", i+1), tlstest.Options{})
		cfg := server.Config{Port: -1, TLSPort: -1, ShardPorts: -1, Dir: t.TempDir(), NodeID: uint64(i + 1), Peers: peers,
			RaftAddr: peers[uint64(i+1)], Shards: 2, Replicas: 2, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
			PlainDisabled: i == 1,
			TLS:           tlsconf.Settings{CertFile: cert, KeyFile: key, CAFile: ca.File, Cluster: true}}
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

	// A client of the cluster's CA with a certificate of it.
	pem, err := os.ReadFile(ca.File)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	cliCert, cliKey := ca.Issue("client", tlstest.Options{})
	kp, err := tls.LoadX509KeyPair(cliCert, cliKey)
	if err != nil {
		t.Fatal(err)
	}
	good := &tls.Config{RootCAs: pool, ServerName: "localhost", Certificates: []tls.Certificate{kp}}
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr(), TLSConfig: good, MaxRetries: -1})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s not serving: %q %v", n.Addr(), info, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	if addr, tc := nodes[0].SelfDial(); tc != nil || addr == nodes[0].Addr() {
		t.Fatalf("node 1 (plaintext port kept) dials itself at %s (TLS %v); its announced address is %s", addr, tc != nil, nodes[0].Addr())
	}

	for i, n := range nodes {
		addr, selfTLS := n.SelfDial()
		d := newDashboard(t, NodeDialer(addr, selfTLS, n.PeerDial()), func(c *Config) { c.SampleEvery = -1 })
		c := newTester(t, d)
		c.signIn("default", "")
		other := nodes[1-i]

		// Overview: the other node answered INFO (version and uptime).
		// The first connection to it may take longer than the page's
		// 250 ms budget on a loaded machine (TLS handshake): it is kept
		// for the next refresh, so poll as the page does.
		var ov struct{ View overviewView }
		var row nodeRow
		for deadline := time.Now().Add(20 * time.Second); ; {
			w := c.do("GET", "/api/overview", nil)
			if err := json.Unmarshal(w.Body.Bytes(), &ov); err != nil || w.Code != 200 {
				t.Fatalf("node %d overview: %d %s", i+1, w.Code, w.Body)
			}
			if len(ov.View.Nodes) != 2 {
				t.Fatalf("node %d overview nodes %+v", i+1, ov.View.Nodes)
			}
			for _, r := range ov.View.Nodes {
				if r.Addr == other.Addr() {
					row = r
				}
			}
			if row.Health == "online" && row.Version != "?" && row.Version != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d's dashboard shows node %s as %+v", i+1, other.Addr(), row)
			}
			time.Sleep(200 * time.Millisecond)
		}

		// Shard page: both replicas of both shards report their state.
		var sh struct{ View shardView }
		deadline := time.Now().Add(20 * time.Second)
		for {
			w := c.do("GET", "/api/shard", nil)
			if err := json.Unmarshal(w.Body.Bytes(), &sh); err != nil || w.Code != 200 {
				t.Fatalf("node %d shard page: %d %s", i+1, w.Code, w.Body)
			}
			ok := len(sh.View.Local) == 2
			for _, l := range sh.View.Local {
				if len(l.Replicas) != 2 {
					ok = false
				}
				for _, r := range l.Replicas {
					if r.Behind < 0 || (r.State != "leader" && r.State != "following") {
						ok = false
					}
				}
			}
			if ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %d's shard page does not reach the other node: %+v", i+1, sh.View.Local)
			}
			time.Sleep(200 * time.Millisecond)
		}

		// Keys of both shards through the dashboard (MOVED to shard
		// leaders, some on the other node's TLS endpoints).
		// A leader election under load answers CLUSTERDOWN for a moment:
		// retried, as a cluster client would.
		retry := func(f func() *httptest.ResponseRecorder) *httptest.ResponseRecorder {
			for deadline := time.Now().Add(10 * time.Second); ; {
				w := f()
				if w.Code == 200 || !strings.Contains(w.Body.String(), "CLUSTERDOWN") || time.Now().After(deadline) {
					return w
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		for k := range 20 {
			key := fmt.Sprintf("tls%d-%d", i, k)
			expect(t, retry(func() *httptest.ResponseRecorder {
				return c.act("PUT", "/api/key", map[string]any{"key": key, "value": strconv.Itoa(k)})
			}), 200, "OK")
			expect(t, retry(func() *httptest.ResponseRecorder { return c.do("GET", "/api/key?key="+key, nil) }), 200, `"`+strconv.Itoa(k)+`"`)
		}
	}
	// The keys are in the cluster, as a TLS cluster client reads them.
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].Addr()}, TLSConfig: good})
	defer cc.Close()
	for i := range 2 {
		for k := range 20 {
			if v, err := cc.Get(ctx, fmt.Sprintf("tls%d-%d", i, k)).Int(); err != nil || v != k {
				t.Fatalf("GET tls%d-%d: %d %v", i, k, v, err)
			}
		}
	}
}
