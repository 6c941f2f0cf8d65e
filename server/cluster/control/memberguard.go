package control

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/cluster"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
)

// The membership guard of CLUSTER DELREPLICA (and of REPLACENODE when it
// only removes): a replica may leave a shard only when
//
//   - the group has no membership change in flight: its voting members are
//     exactly the replicas the directory lists (one change at a time; a
//     replica added by the directory but not yet taken in by the group, or
//     an old replica the group still counts, blocks the next removal);
//   - the group has a leader;
//   - at least a quorum of the new membership is live and caught up: the
//     node runs the replica under the replica ID the directory gives it and
//     has applied every entry the leader had applied when asked.
//
// Otherwise the removal is refused with an error starting with
// RemovalRefused, changing nothing; the operator retries later. (A CI run
// of TestChaos removed and re-added all three replicas of a shard within
// ten seconds and left it without a quorum for good.)

// RemovalRefused starts the error of a removal the guard refuses.
const RemovalRefused = "ERR replica removal refused: "

// guardCatchUp is how long a remaining replica gets to reach the leader's
// applied index before it counts as behind.
const guardCatchUp = time.Second

// replState is one replica's view of itself (CLUSTER REPLSTATE).
type replState struct {
	replica uint64 // its Raft replica ID
	applied uint64 // last applied log index
	leader  uint64 // the leader's replica ID as it knows it (0: none)
}

// replStateCmd answers CLUSTER REPLSTATE <shard> (internal).
func (c *Plane) replStateCmd(args [][]byte) reply.Value {
	sid, ok := parseShardRef(args[2])
	s := c.host.Shard(sid)
	if !ok || s == nil {
		return reply.Error("ERR this node holds no replica of shard " + string(args[2]))
	}
	var leader uint64
	if id, _, ok := s.Leader(); ok {
		leader = id
	}
	return reply.Array(
		reply.Int(int64(s.ReplicaID())),
		reply.Int(int64(s.Applied())),
		reply.Int(int64(leader)),
	)
}

// replStateOf reads node nid's view of its replica of shard sid: locally
// for this node, otherwise with CLUSTER REPLSTATE.
func (c *Plane) replStateOf(topo *cluster.Topology, sid, nid uint64) (replState, error) {
	if nid == c.id {
		s := c.host.Shard(sid)
		if s == nil {
			return replState{}, errors.New("runs no replica of the shard")
		}
		st := replState{replica: s.ReplicaID(), applied: s.Applied()}
		if id, _, ok := s.Leader(); ok {
			st.leader = id
		}
		return st, nil
	}
	nd := topo.Node(nid)
	if nd == nil || nd.ClientAddr == "" {
		return replState{}, errors.New("has no client address")
	}
	if c.isDown(nid) {
		return replState{}, errors.New("is down")
	}
	if topo.Secret == "" {
		return replState{}, errors.New("no cluster secret yet")
	}
	out, err := resp.CallNodeWith(c.cfg.Dial, nd.ClientAddr, 500*time.Millisecond, topo.Secret,
		[]byte("CLUSTER"), []byte("REPLSTATE"), []byte(strconv.FormatUint(sid, 10)))
	if err != nil {
		return replState{}, err
	}
	if len(out) != 3 {
		return replState{}, fmt.Errorf("bad CLUSTER REPLSTATE reply %q", out)
	}
	var v [3]uint64
	for i, b := range out {
		if v[i], err = strconv.ParseUint(string(b), 10, 64); err != nil {
			return replState{}, fmt.Errorf("bad CLUSTER REPLSTATE reply %q", out)
		}
	}
	return replState{replica: v[0], applied: v[1], leader: v[2]}, nil
}

// groupMembers reads the group's voting members through this node's
// replica or, without one, through the nodes that hold one.
func (c *Plane) groupMembers(sid uint64) (map[uint64]string, error) {
	if s := c.host.Shard(sid); s != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		m, err := s.Members(ctx)
		cancel()
		if err == nil {
			return m, nil
		}
	}
	return c.remoteMembers(sid)
}

// checkRemoval tells whether node nid's replica may leave shard sh, whose
// replicas become remaining; it returns the refusal, or nil.
func (c *Plane) checkRemoval(topo *cluster.Topology, sh *cluster.Shard, nid uint64, remaining []uint64) error {
	refuse := func(format string, a ...any) error {
		return fmt.Errorf(RemovalRefused+"shard %d: "+format+"; retry later", append([]any{sh.ID}, a...)...)
	}
	if len(remaining) == 0 {
		return errors.New("ERR cannot remove a shard's last replica")
	}
	members, err := c.groupMembers(sh.ID)
	if err != nil {
		return refuse("cannot read the group's membership (%v)", err)
	}
	// One change at a time: the group must have done the last one.
	pending := len(members) != len(sh.Replicas)
	for _, r := range sh.Replicas {
		if _, ok := members[sh.ReplicaID(r)]; !ok {
			pending = true
		}
	}
	if pending {
		return refuse("a membership change is in progress (the group's voters %v are not yet the directory's replicas %v)",
			memberNodes(members), sh.Replicas)
	}
	// The leader's applied index, from whichever replica is the leader.
	var leaderNode, leaderApplied uint64
	states := map[uint64]replState{}
	errs := map[uint64]error{}
	for _, r := range sh.Replicas {
		st, err := c.replStateOf(topo, sh.ID, r)
		if err != nil {
			errs[r] = err
			continue
		}
		states[r] = st
		// A deposed leader may still believe it leads: the most advanced
		// claimant is the leader (or ahead of it).
		if st.leader != 0 && st.leader == st.replica && st.replica == sh.ReplicaID(r) && st.applied >= leaderApplied {
			leaderNode, leaderApplied = r, st.applied
		}
	}
	if leaderNode == 0 {
		return refuse("the group has no leader")
	}
	quorum := len(remaining)/2 + 1
	deadline := time.Now().Add(guardCatchUp)
	var behind []string
	for {
		behind = behind[:0]
		ok := 0
		for _, r := range remaining {
			st, have := states[r]
			switch {
			case !have:
				behind = append(behind, fmt.Sprintf("node %d: %v", r, errs[r]))
			case st.replica != sh.ReplicaID(r):
				behind = append(behind, fmt.Sprintf("node %d runs replica %d, not %d", r, st.replica, sh.ReplicaID(r)))
			case st.applied < leaderApplied:
				behind = append(behind, fmt.Sprintf("node %d applied index %d < leader's %d", r, st.applied, leaderApplied))
			default:
				ok++
			}
		}
		if ok >= quorum {
			return nil
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
		// Ask the lagging replicas again (a follower applies a little
		// after the leader).
		for _, r := range remaining {
			if st, have := states[r]; have && st.replica == sh.ReplicaID(r) && st.applied >= leaderApplied {
				continue
			}
			if st, err := c.replStateOf(topo, sh.ID, r); err == nil {
				states[r] = st
			} else {
				errs[r] = err
			}
		}
	}
	return refuse("the %d remaining replicas would have %d live and caught up, fewer than a quorum of %d (%s)",
		len(remaining), len(remaining)-len(behind), quorum, strings.Join(behind, "; "))
}

func memberNodes(m map[uint64]string) []string {
	out := make([]string, 0, len(m))
	for rid := range m {
		if gen := rid >> 32; gen != 0 {
			out = append(out, fmt.Sprintf("%d(gen %d)", cluster.NodeOf(rid), gen))
		} else {
			out = append(out, strconv.FormatUint(rid, 10))
		}
	}
	slices.Sort(out)
	return out
}
