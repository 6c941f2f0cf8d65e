package clustertest

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestACLReachesEveryNode: ACL SETUSER on one node of a cluster makes
// the user known to every node (it can authenticate anywhere and is
// limited to its keys everywhere); ACL DELUSER on another node removes
// it from all of them.
func TestACLReachesEveryNode(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 1, Replicas: 3})
	ctx := context.Background()
	if err := c.NodeClient(3).Do(ctx, "ACL", "SETUSER", "app", "on", ">apppw", "~app:*", "+@all").Err(); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 3; i++ {
		waitFor(t, 10*time.Second, "the user on every node", func() bool {
			cl := redis.NewClient(&redis.Options{Addr: c.Addr(i), Username: "app", Password: "apppw", DialTimeout: time.Second, MaxRetries: -1})
			defer cl.Close()
			err := cl.Do(ctx, "ACL", "DRYRUN", "app", "get", "other:1").Err()
			if err != nil {
				return false
			}
			got, _ := cl.Do(ctx, "ACL", "DRYRUN", "app", "get", "other:1").Text()
			return got == "This user has no permissions to access the 'other:1' key"
		})
	}
	if n, err := c.NodeClient(1).Do(ctx, "ACL", "DELUSER", "app").Int(); err != nil || n != 1 {
		t.Fatalf("DELUSER = %d %v", n, err)
	}
	for i := 1; i <= 3; i++ {
		waitFor(t, 10*time.Second, "the user gone from every node", func() bool {
			err := c.NodeClient(i).Do(ctx, "AUTH", "app", "apppw").Err()
			return err != nil && strings.HasPrefix(err.Error(), "WRONGPASS")
		})
	}
}
