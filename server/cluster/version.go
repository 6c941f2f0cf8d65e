package cluster

import (
	"encoding/json"
	"errors"
	"fmt"
	"log"
)

// Directory formats and the cluster version.
//
// FormatVersion is the directory format (ops and snapshots) this binary
// understands. An op carries its format in V (absent: 1) and a snapshot
// in Topology.Format. A directory replica that meets a newer op or
// snapshot, an op it cannot decode or an op name it does not know stops
// applying (like a data shard, shard/halt.go): it never answers it with an
// error and moves on, which would let an old binary's directory diverge
// from a new one's. A halted directory refuses snapshots (so the log
// behind the op is kept) and answers every op with an error; a restart
// with a newer binary replays from the last snapshot and converges.
//
// JSON ignores fields it does not know, so a new Op field that changes
// what apply does must come with a new FormatVersion, written in V only
// once the cluster version allows it; a purely informative field (like
// Version) need not.
//
// Every node records in the directory (announce, add-node) the highest
// data format version its binary understands (Node.Version, from
// entry.Version). The cluster version is the minimum over the nodes;
// shard leaders write no entry version or kind the cluster version does
// not allow (entry.WriteVersion), so a new feature turns on only once
// every node has been upgraded.
//
// Format 2 adds the bootstrap op's Seed and Shard.InitState (a cluster
// restored from a backup); a directory that uses neither is still written
// as format 1 (format), so older binaries keep reading it.
const FormatVersion = 2

// format is the lowest directory format that holds t.
func (t *Topology) format() uint8 {
	for _, s := range t.Shards {
		if s.InitState != "" {
			return 2
		}
	}
	return 1
}

// ErrHalted is returned by Save once the directory has stopped applying.
var ErrHalted = errors.New("cluster: directory halted")

var errUnknownOp = errors.New("unknown op")

// check decodes cmd into op and tells why the directory cannot apply it
// ("" if it can). Anything this binary does not understand halts it.
func (m *Machine) check(cmd []byte, op *Op) string {
	if h := m.halted.Load(); h != nil {
		return "directory halted on this node: " + *h
	}
	if err := json.Unmarshal(cmd, op); err != nil {
		m.halt("op does not decode: " + err.Error())
		return "bad op: " + err.Error()
	}
	if op.V > FormatVersion {
		m.halt(fmt.Sprintf("op %q has format %d, newer than this binary's %d", op.Op, op.V, FormatVersion))
		return "directory halted on this node: unknown op format"
	}
	return ""
}

func (m *Machine) halt(why string) {
	if m.halted.CompareAndSwap(nil, &why) {
		log.Printf("cluster directory: STOPPED APPLYING: %s. This binary understands directory format %d; "+
			"restart the node with a binary that understands it.", why, FormatVersion)
	}
}

// Halted returns why the directory stopped applying ("" if it did not).
func (m *Machine) Halted() string {
	if h := m.halted.Load(); h != nil {
		return *h
	}
	return ""
}

// ClusterVersion is the lowest format version any node of the cluster
// understands (1 for a node from before versions, or with no node yet).
func (t *Topology) ClusterVersion() uint8 {
	v := uint8(0)
	for _, n := range t.Nodes {
		nv := max(n.Version, 1)
		if v == 0 || nv < v {
			v = nv
		}
	}
	return max(v, 1)
}
