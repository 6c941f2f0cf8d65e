package control

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/shard"
)

// The replicated configuration in cluster mode: the directory holds the
// cluster's configuration; each shard leader brings its shard up to the
// directory's ConfigEpoch through the shard's log and reports it, and
// CONFIG SET returns once every shard has reported. See
// server/shard/DESIGN.md, "Replicated configuration".

// Config returns the directory's replicated configuration
// (session.Backend.Config in cluster mode).
func (c *Plane) Config() keyspace.Config { return c.machine.Topology().KeyspaceConfig() }

// errConfigPending is returned when the directory has committed a
// configuration change but some shard has not applied it in time; it will.
var errConfigPending = errors.New("CONFIG SET is committed but not yet applied by every shard; it will be")

// SetConfig implements session.Backend.SetConfig for cluster mode: it
// commits a change to the directory, then waits until every
// shard's leader has reported it applied.
func (c *Plane) SetConfig(pairs [][2]string) error {
	ch := map[string]string{}
	for _, p := range pairs {
		ch[p[0]] = p[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	epoch, err := c.propose(ctx, cluster.Op{Op: "config-set", Config: ch})
	if err != nil {
		return err
	}
	c.poke()
	for {
		topo := c.machine.Topology()
		done := true
		for _, sh := range topo.Shards {
			if sh.ConfigApplied < epoch && sh.InitConfigEpoch < epoch {
				done = false
			}
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			return errConfigPending
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// shardConfig is the initial configuration of a shard's replicas.
func shardConfig(sh *cluster.Shard) []shard.ConfigPair {
	var out []shard.ConfigPair
	if sh.InitConfigEpoch > 0 {
		out = append(out, shard.ConfigPair{Name: "#epoch", Value: strconv.FormatUint(sh.InitConfigEpoch, 10)})
	}
	for _, name := range slices.Sorted(maps.Keys(sh.InitConfig)) {
		out = append(out, shard.ConfigPair{Name: name, Value: sh.InitConfig[name]})
	}
	return out
}

// syncConfig, run by a shard's leader, brings the shard up to the
// directory's configuration through its log and reports the epoch it has
// applied to the directory.
func (c *Plane) syncConfig(topo *cluster.Topology, s *shard.Shard, sh *cluster.Shard) {
	_, applied := s.Config()
	if applied >= topo.ConfigEpoch && sh.ConfigApplied >= applied {
		return
	}
	if _, busy := c.configBusy.LoadOrStore(sh.ID, true); busy {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer c.configBusy.Delete(sh.ID)
		if applied < topo.ConfigEpoch {
			pairs := make([]shard.ConfigPair, 0, len(topo.Config))
			for _, name := range slices.Sorted(maps.Keys(topo.Config)) {
				pairs = append(pairs, shard.ConfigPair{Name: name, Value: topo.Config[name]})
			}
			if err := s.ProposeConfig(pairs, topo.ConfigEpoch); err != nil {
				c.log.Warn("apply config", "shard", sh.ID, "err", err)
				return
			}
			_, applied = s.Config()
		}
		if sh.ConfigApplied < applied {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			if _, err := c.propose(ctx, cluster.Op{Op: "config-applied", Shard: sh.ID, Term: applied}); err != nil {
				c.log.Warn("report config", "shard", sh.ID, "err", fmt.Sprint(err))
			}
		}
	}()
}
