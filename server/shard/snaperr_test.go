package shard_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/shard"
)

type syncBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuf) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuf) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestSnapshotErrorLogged: a snapshot that fails is logged and reported by
// Status, once per run of failures; a success clears it and says so.
func TestSnapshotErrorLogged(t *testing.T) {
	var logs syncBuf
	h, err := shard.NewHost(shard.HostConfig{Dir: t.TempDir(), RaftAddr: freeAddr(t), RTTMillisecond: 5,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	s, err := h.StartShard(shard.Options{}, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	n := &node{t: t, host: h, sh: s}
	n.write("SET", "k", "v")

	// A snapshot whose deadline has passed fails.
	dead, cancelDead := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancelDead()
	for range 3 {
		if _, err := s.Snapshot(dead); err == nil {
			t.Fatal("snapshot with an expired deadline succeeded")
		}
	}
	if s.Status().SnapshotErr == nil || s.SnapshotErr() == nil {
		t.Fatal("Status does not report the failed snapshot")
	}
	if got := strings.Count(logs.String(), "snapshot failed"); got != 1 {
		t.Fatalf("%d log lines for three failures in a row, want 1:\n%s", got, logs.String())
	}

	n.write("SET", "k2", "v2")
	n.snapshot()
	if err := s.SnapshotErr(); err != nil {
		t.Fatalf("after a successful snapshot: %v", err)
	}
	if !strings.Contains(logs.String(), "snapshot succeeds again") {
		t.Fatalf("recovery not logged:\n%s", logs.String())
	}
}
