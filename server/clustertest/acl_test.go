package clustertest

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// TestACLReachesEveryNode: ACL SETUSER on one node of a cluster makes
// the user known to every node (it can authenticate anywhere and is
// limited to its keys everywhere); ACL DELUSER on another node removes
// it from all of them; concurrent changes on different nodes are all
// kept (none is lost to another computed from a stale view).
func TestACLReachesEveryNode(t *testing.T) {
	c := Start(t, Options{Nodes: 3, Shards: 1, Replicas: 3})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 9)
	for i := 1; i <= 3; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 3 {
				errs <- c.NodeClient(i).Do(ctx, "ACL", "SETUSER", "u"+strconv.Itoa(i)+"_"+strconv.Itoa(j), "on").Err()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, 10*time.Second, "every concurrent user", func() bool {
		users, _ := c.NodeClient(2).Do(ctx, "ACL", "USERS").StringSlice()
		return len(users) == 10
	})
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
