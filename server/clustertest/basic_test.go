package clustertest

import (
	"context"
	"fmt"
	"github.com/redis/go-redis/v9"
	"sync/atomic"
	"testing"
)

func TestClusterBasics(t *testing.T) {
	c := Start(t, Options{})
	ctx := context.Background()
	cl := c.Client()
	for i := range 200 {
		if err := cl.Set(ctx, fmt.Sprintf("k%d", i), i, 0).Err(); err != nil {
			t.Fatalf("set k%d: %v", i, err)
		}
	}
	for i := range 200 {
		v, err := cl.Get(ctx, fmt.Sprintf("k%d", i)).Int()
		if err != nil || v != i {
			t.Fatalf("get k%d = %v, %v", i, v, err)
		}
	}
	slots, err := cl.ClusterSlots(ctx).Result()
	if err != nil {
		t.Fatal(err)
	}
	covered := 0
	for _, s := range slots {
		covered += s.End - s.Start + 1
		if len(s.Nodes) != 3 {
			t.Fatalf("slot range %d-%d has %d nodes, want 3", s.Start, s.End, len(s.Nodes))
		}
	}
	if covered != 16384 {
		t.Fatalf("CLUSTER SLOTS covers %d slots", covered)
	}
	var n atomic.Int64
	err = cl.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		k, err := m.DBSize(ctx).Result()
		n.Add(k)
		return err
	})
	if err != nil || n.Load() != 200 {
		t.Fatalf("DBSIZE over masters = %d, %v", n.Load(), err)
	}
}
