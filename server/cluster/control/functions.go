package control

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/resp"
)

// Function libraries belong to shards (each shard's state machine holds
// its own set, replicated through its log). As in Redis Cluster, a client
// loads a library on every master; a shard created later (CLUSTER
// ADDSHARD) starts with none, so before it takes slots from another shard
// it receives that shard's libraries: the keys it takes are served with
// the functions their clients call. The copy is best effort: a failure is
// logged and the slots move anyway (the libraries can be loaded again
// with cairn module load), so it never blocks resharding.

// copyFunctions gives shard to the libraries of shard from when to has
// none and from has some: FUNCTION DUMP on from's leader endpoint,
// FUNCTION RESTORE APPEND on to's, both through their logs. It is safe to
// run twice (to then has libraries and is left alone).
func (c *Plane) copyFunctions(from, to uint64) error {
	if from == 0 || from == to {
		return nil // slots nobody owned: nothing to copy from
	}
	topo := c.machine.Topology()
	if topo.Secret == "" {
		return errors.New("no cluster secret yet")
	}
	dump := func(sid uint64) ([]byte, int, error) {
		addr := c.leaderAddr(topo, sid)
		if addr == "" {
			return nil, 0, fmt.Errorf("no leader endpoint for shard %d", sid)
		}
		out, err := resp.CallNodeWith(c.cfg.Dial, addr, 10*time.Second, topo.Secret, []byte("FUNCTION"), []byte("DUMP"))
		if err != nil || len(out) != 1 {
			return nil, 0, fmt.Errorf("FUNCTION DUMP on shard %d: %v", sid, err)
		}
		n, err := modules.DumpLibraries(out[0])
		return out[0], n, err
	}
	if s := c.host.Shard(to); s != nil {
		if s.Libraries() > 0 {
			return nil
		}
	} else if _, have, err := dump(to); err != nil || have > 0 {
		return err
	}
	src, n, err := dump(from)
	if err != nil || n == 0 {
		return err
	}
	_, err = resp.CallNodeWith(c.cfg.Dial, c.leaderAddr(topo, to), 60*time.Second, topo.Secret, []byte("FUNCTION"), []byte("RESTORE"), src, []byte("APPEND"))
	if err != nil && !strings.Contains(err.Error(), "already exists") { // a replica lagging behind a done copy
		return fmt.Errorf("FUNCTION RESTORE on shard %d: %w", to, err)
	}
	c.log.Info("copied function libraries to a shard taking slots", "from", from, "to", to, "libraries", n)
	return nil
}
