package server_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
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

// TestTLSCluster_MutualTLS: with tls-cluster, two nodes form a cluster
// over mutually authenticated Raft and TLS node calls, and serve a TLS
// cluster client. A node with another CA's certificate can neither join
// nor complete a handshake with the Raft transport; a connection
// without the cluster's certificate cannot authenticate as a node even
// with the cluster secret.
func TestTLSCluster_MutualTLS(t *testing.T) {
	e := newTLSEnv(t)
	peers := map[uint64]string{}
	for i := uint64(1); i <= 2; i++ {
		peers[i] = "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t))
	}
	nodes := make([]*server.Node, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range nodes {
		cert, key := e.ca.Issue(fmt.Sprintf("node%d", i+1), tlstestOpts())
		cfg := server.Config{Port: -1, TLSPort: -1, ShardPorts: -1, Dir: t.TempDir(), NodeID: uint64(i + 1), Peers: peers,
			RaftAddr: peers[uint64(i+1)], Shards: 1, Replicas: 2, Logger: quiet(),
			// Clients need no certificate; nodes still do.
			TLS: tlsconf.Settings{CertFile: cert, KeyFile: key, CAFile: e.ca.File, Cluster: true, AuthClients: "no"}}
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
	good := e.clientTLS(t, e.cliCert, e.cliKey)
	ctx := context.Background()
	deadline := time.Now().Add(60 * time.Second)
	for _, n := range nodes {
		c := redis.NewClient(&redis.Options{Addr: n.Addr(), TLSConfig: good, MaxRetries: -1})
		for {
			info, err := c.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && n.ClusterSecret() != "" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("node %s not serving: %q %v", n.Addr(), info, err)
			}
			time.Sleep(100 * time.Millisecond)
		}
		c.Close()
	}
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{nodes[0].Addr()}, TLSConfig: good})
	defer cc.Close()
	for i := range 20 {
		k := "key" + strconv.Itoa(i)
		if err := cc.Set(ctx, k, i, 0).Err(); err != nil {
			t.Fatalf("SET %s over a TLS cluster: %v", k, err)
		}
		if v, err := cc.Get(ctx, k).Int(); err != nil || v != i {
			t.Fatalf("GET %s: %d %v", k, v, err)
		}
	}

	// The Raft transport: another CA's certificate is refused at the
	// handshake, the cluster's is accepted (the transport then waits for
	// Raft messages), plain TCP gets nothing.
	raftRead := func(cfg *tls.Config) error {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", peers[1], cfg)
		if err != nil {
			return err
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(time.Second))
		_, err = conn.Read(make([]byte, 1))
		return err
	}
	var ne net.Error
	if err := raftRead(e.clientTLS(t, e.wrongCert, e.wrongKey)); err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("Raft transport with another CA's certificate: %v, want a handshake error", err)
	}
	if err := raftRead(e.clientTLS(t, "", "")); err == nil || (errors.As(err, &ne) && ne.Timeout()) {
		t.Errorf("Raft transport without a certificate: %v, want a handshake error", err)
	}
	if err := raftRead(e.clientTLS(t, e.cliCert, e.cliKey)); !errors.As(err, &ne) || !ne.Timeout() {
		t.Errorf("Raft transport with the cluster's certificate: %v, want an accepted connection (read timeout)", err)
	}

	// Node authentication needs the certificate as well as the secret
	// (clients connect without one: tls-auth-clients no).
	secret := nodes[0].ClusterSecret()
	plain := redis.NewClient(&redis.Options{Addr: nodes[0].Addr(), TLSConfig: e.clientTLS(t, "", ""), MaxRetries: -1})
	defer plain.Close()
	if err := plain.Do(ctx, "AUTH", "cairn-node", secret).Err(); err == nil || !strings.HasPrefix(err.Error(), "WRONGPASS") {
		t.Errorf("node AUTH without a client certificate: %v", err)
	}
	withCert := redis.NewClient(&redis.Options{Addr: nodes[0].Addr(), TLSConfig: good, MaxRetries: -1})
	defer withCert.Close()
	if err := withCert.Do(ctx, "AUTH", "cairn-node", secret).Err(); err != nil {
		t.Errorf("node AUTH with the cluster's certificate: %v", err)
	}

	// A node with another CA's certificate cannot join.
	cfg := server.Config{Port: -1, TLSPort: -1, ShardPorts: -1, Dir: t.TempDir(), Join: nodes[0].Addr(),
		RaftAddr: "127.0.0.1:" + strconv.Itoa(servertest.FreePort(t)), Logger: quiet(),
		TLS: tlsconf.Settings{CertFile: e.wrongCert, KeyFile: e.wrongKey, CAFile: e.ca.File, Cluster: true}}
	if n, err := server.Start(cfg); err == nil {
		n.Close()
		t.Fatal("a node with another CA's certificate joined")
	} else if !strings.Contains(err.Error(), "join") {
		t.Errorf("join error: %v", err)
	}
}

func quiet() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func tlstestOpts() tlstest.Options { return tlstest.Options{} }
