package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/regions"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/durable"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
)

// Multi-region (package regions): the node's region manager over its
// shard, the write refusal of a secondary, INFO regions and REGION.

// errReadOnlyRegion is returned for a write on a secondary region.
var errReadOnlyRegion = errors.New("READONLY You can't write against a read only replica.")

// failedPending is a proposal refused before it reached the log.
type failedPending struct{ err error }

func (p failedPending) Wait() ([]reply.Value, error) { return nil, p.err }

// readOnly tells whether this node refuses writes (a secondary region).
func (b *backend) readOnly() bool { return b.regionRO.Load() }

// admit runs propose unless the node refuses writes; with regions on, the
// write is counted in flight until its Wait returns, so a fence (planned
// promotion) knows when every accepted write is applied.
func (b *backend) admit(propose func() session.Pending) session.Pending {
	if b.regions == nil {
		if b.readOnly() {
			return failedPending{errReadOnlyRegion}
		}
		return propose()
	}
	b.fenceMu.RLock()
	defer b.fenceMu.RUnlock()
	if b.readOnly() {
		return failedPending{errReadOnlyRegion}
	}
	b.inflight.Add(1)
	return &trackedPending{p: propose(), n: &b.inflight}
}

// trackedPending counts a write in flight until Wait returns.
type trackedPending struct {
	p    session.Pending
	n    *atomic.Int64
	done atomic.Bool
}

func (t *trackedPending) Wait() ([]reply.Value, error) {
	defer func() {
		if !t.done.Swap(true) {
			t.n.Add(-1)
		}
	}()
	return t.p.Wait()
}

// fence makes the node refuse writes and propose nothing of its own, then
// waits (at most 30 s) until every write accepted before is applied.
func (n *Node) fence() error {
	b := (*backend)(n)
	b.fenceMu.Lock()
	n.regionRO.Store(true)
	b.fenceMu.Unlock()
	n.setRegionPassive(true)
	deadline := time.Now().Add(30 * time.Second)
	for b.inflight.Load() > 0 {
		if time.Now().After(deadline) {
			return errors.New("regions: writes still in flight after 30s")
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// setRegionPassive makes every local shard passive (a secondary or a
// fenced primary: it proposes no expiry, eviction or clock entry of its
// own) or active; in cluster mode the control plane also stops or
// resumes proposing into the shards (control/region.go).
func (n *Node) setRegionPassive(on bool) {
	if n.cluster != nil {
		n.cluster.SetRegionSecondary(on)
		return
	}
	n.shard.SetPassive(on)
}

// regionShard returns this node's replica of shard id, or nil.
func (n *Node) regionShard(id uint64) *shard.Shard {
	if n.cluster != nil {
		return n.host.Shard(id)
	}
	if id == n.shard.ID() {
		return n.shard
	}
	return nil
}

// regionPeers lists the region link addresses of this region's nodes:
// --region-peers, or else each node's client address with the port
// moved by RegionPortOffset (the default --region-addr).
func (n *Node) regionPeers() []string {
	if len(n.cfg.RegionPeers) > 0 {
		return n.cfg.RegionPeers
	}
	var out []string
	for _, a := range n.cluster.NodeClientAddrs() {
		h, p, err := net.SplitHostPort(a)
		if err != nil {
			continue
		}
		port, err := strconv.Atoi(p)
		if err != nil {
			continue
		}
		out = append(out, net.JoinHostPort(h, strconv.Itoa(port+RegionPortOffset)))
	}
	return out
}

// regionReady tells whether every shard replica this node should hold
// is started and has applied every data entry of its local log (a rejoining
// old primary lists its divergent tail from them: regions/rejoin.go).
func (n *Node) regionReady() error {
	ids := []uint64{}
	if n.cluster != nil {
		ids = n.cluster.AssignedShards()
	} else if n.shard != nil {
		ids = append(ids, n.shard.ID())
	}
	for _, id := range ids {
		s := n.regionShard(id)
		if s == nil {
			return fmt.Errorf("shard %d not started", id)
		}
		n, err := s.PendingData()
		if err != nil {
			return fmt.Errorf("shard %d: %w", id, err)
		}
		if n > 0 {
			return fmt.Errorf("shard %d: %d entries of its log not applied yet (applied %d)", id, n, s.AppliedIndex())
		}
	}
	return nil
}

// sourceLog adapts a shard to regions.SourceLog.
type sourceLog struct{ s *shard.Shard }

func (l sourceLog) ReadCommitted(from uint64, max int) ([]regions.Entry, error) {
	ents, err := l.s.ReadCommitted(from, max)
	if err != nil {
		if errors.Is(err, shard.ErrCompacted) {
			return nil, fmt.Errorf("%w: %v", regions.ErrCompacted, err)
		}
		return nil, err
	}
	out := make([]regions.Entry, 0, len(ents))
	for _, e := range ents {
		if len(e.Data) >= 2 && (entry.Kind(e.Data[1]) == entry.Shipped || entry.Kind(e.Data[1]) == entry.ShipSnapshot) {
			// This log was itself fed by another region (it was a
			// secondary before a promotion): those entries cannot be
			// shipped on (a destination halts on them), so a
			// destination this far behind gets a snapshot instead,
			// as for a compacted log.
			if len(out) == 0 {
				return nil, fmt.Errorf("%w: entry %d was shipped from another region", regions.ErrCompacted, e.Index)
			}
			break
		}
		out = append(out, regions.Entry{Index: e.Index, Data: e.Data})
	}
	return out, nil
}

func (l sourceLog) AppliedIndex() uint64 { return l.s.AppliedIndex() }

func (l sourceLog) ClockMs() int64 { ms, _ := l.s.ClockStats(); return ms }

func (l sourceLog) Snapshot(w io.Writer) (uint64, int64, error) { return l.s.WriteShipSnapshot(w) }

// destLog adapts a shard to regions.DestLog.
type destLog struct{ s *shard.Shard }

func (l destLog) IsLeader() bool { return l.s.IsLeader() }

func (l destLog) Position(src uint64) (uint64, int64) {
	p := l.s.ShipPosition(src)
	return p.Index, p.Time
}

func (l destLog) AppliedIndex() uint64 { return l.s.AppliedIndex() }

func (l destLog) Ship(src uint64, ents []regions.Entry) error {
	in := make([]shard.CommittedEntry, len(ents))
	for i, e := range ents {
		in[i] = shard.CommittedEntry{Index: e.Index, Data: e.Data}
	}
	return l.s.ProposeShipped(src, in)
}

func (l destLog) SnapshotsInstalled() uint64 { return l.s.ShipSnapshotsInstalled() }

func (l destLog) ShipSnapshot(src uint64, c regions.SnapshotChunk) error {
	return l.s.ProposeShipSnapshot(src, c.Index, c.TimeMs, c.Offset, c.Last, c.Data)
}

// regionStateFile, in the data directory, keeps the region role and the
// primary's addresses as promotions left them: a restart takes them over
// the flags, so a promoted region stays primary and a demoted one keeps
// following the new primary. Delete it to go back to the flags.
const regionStateFile = "region.state"

// regionState is what region.state holds.
type regionState struct {
	role    string
	primary []string
	// reclaim, reclaimPos: after a forced promotion, the old primary to
	// tell to rejoin; rebuild: shards to rebuild from the primary's
	// snapshot (regions/rejoin.go).
	reclaim    []string
	reclaimPos []regions.ShardPosition
	rebuild    []uint64
}

func splitList(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}

// loadRegionState overrides cfg's role and primary addresses with the
// saved ones, if any, and returns the rest of the saved state.
func (n *Node) loadRegionState(cfg *Config) regionState {
	st := regionState{role: cfg.RegionRole, primary: cfg.RegionPrimary}
	if cfg.FS != nil {
		return st // a test's in-memory file system: no state file
	}
	b, err := os.ReadFile(filepath.Join(n.cfg.Dir, regionStateFile))
	if err != nil {
		return st
	}
	saved := regionState{role: cfg.RegionRole, primary: cfg.RegionPrimary}
	for _, line := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(line, "=")
		switch k {
		case "role":
			saved.role = v
		case "primary":
			saved.primary = splitList(v)
		case "reclaim":
			saved.reclaim = splitList(v)
		case "reclaim_pos":
			for _, p := range splitList(v) {
				sh, idx, _ := strings.Cut(p, ":")
				a, err1 := strconv.ParseUint(sh, 10, 64)
				b, err2 := strconv.ParseUint(idx, 10, 64)
				if err1 == nil && err2 == nil {
					saved.reclaimPos = append(saved.reclaimPos, regions.ShardPosition{Shard: a, Index: b})
				}
			}
		case "rebuild":
			for _, id := range splitList(v) {
				if x, err := strconv.ParseUint(id, 10, 64); err == nil {
					saved.rebuild = append(saved.rebuild, x)
				}
			}
		}
	}
	if saved.role != "primary" && saved.role != "secondary" {
		n.log.Warn("ignoring a bad region state file", "file", regionStateFile, "role", saved.role)
		return st
	}
	if saved.role == "secondary" && len(saved.primary) == 0 {
		return st
	}
	if saved.role != cfg.RegionRole || strings.Join(saved.primary, ",") != strings.Join(cfg.RegionPrimary, ",") {
		n.log.Warn("region role and primary taken from the data directory (a promotion changed them), not from the flags",
			"file", filepath.Join(n.cfg.Dir, regionStateFile), "role", saved.role, "primary", strings.Join(saved.primary, ","))
	}
	cfg.RegionRole, cfg.RegionPrimary = saved.role, saved.primary
	return saved
}

// saveRegionState records the region state after a change (see
// regionStateFile).
func (n *Node) saveRegionState(m *regions.Manager, r regions.Role) {
	if n.cfg.FS != nil {
		return
	}
	reclaim, pos := m.Reclaim()
	var ps, rb []string
	for _, p := range pos {
		ps = append(ps, fmt.Sprintf("%d:%d", p.Shard, p.Index))
	}
	for _, id := range m.Rebuilding() {
		rb = append(rb, strconv.FormatUint(id, 10))
	}
	data := "role=" + string(r) + "\nprimary=" + strings.Join(m.Primaries(), ",") + "\n" +
		"reclaim=" + strings.Join(reclaim, ",") + "\nreclaim_pos=" + strings.Join(ps, ",") + "\n" +
		"rebuild=" + strings.Join(rb, ",") + "\n"
	if err := durable.WriteFile(filepath.Join(n.cfg.Dir, regionStateFile), []byte(data)); err != nil {
		n.log.Error("save region state", "err", err)
	}
}

// describeEntry renders one log entry's writes for the discarded-writes
// file of a rejoining old primary: a line per write, with its keys.
func describeEntry(table *command.Table, data []byte) []string {
	var e entry.Entry
	if err := entry.Decode(data, &e); err != nil {
		return []string{"undecodable entry: " + err.Error()}
	}
	at := "time=" + time.UnixMilli(e.Time).UTC().Format(time.RFC3339Nano)
	quote := func(args [][]byte) string {
		parts := make([]string, len(args))
		for i, a := range args {
			parts[i] = strconv.Quote(string(a))
		}
		return strings.Join(parts, " ")
	}
	var out []string
	cmds := e.Cmds
	switch e.Kind {
	case entry.WatchedMulti:
		if len(cmds) > 0 {
			cmds = cmds[1:]
		}
		fallthrough
	case entry.Commands, entry.Multi:
		for _, c := range cmds {
			if len(c) == 0 {
				continue
			}
			sp := table.Lookup(c[0])
			if sp == nil || !sp.IsWrite() {
				continue
			}
			var keys [][]byte
			for _, i := range sp.Keys(c) {
				keys = append(keys, c[i])
			}
			out = append(out, fmt.Sprintf("%s keys=[%s] command=%s", at, quote(keys), quote(c)))
		}
	case entry.Expire, entry.Evict:
		what := map[entry.Kind]string{entry.Expire: "expired", entry.Evict: "evicted"}[e.Kind]
		for _, c := range cmds {
			out = append(out, fmt.Sprintf("%s keys=[%s] %s", at, quote(c), what))
		}
	case entry.Config:
		out = append(out, fmt.Sprintf("%s config=%s", at, quote(flatten(cmds))))
	default:
		out = append(out, fmt.Sprintf("%s entry kind %d (%d commands, not listed)", at, e.Kind, len(cmds)))
	}
	return out
}

func flatten(cmds [][][]byte) [][]byte {
	var out [][]byte
	for _, c := range cmds {
		out = append(out, c...)
	}
	return out
}

// startRegions starts the region manager (Config.RegionRole set).
func (n *Node) startRegions(table *command.Table) error {
	cfg := n.cfg
	secret := cfg.RegionSecret
	if secret == "" {
		secret = cfg.RequirePass
	}
	if secret == "" {
		return errors.New("regions: set --region-secret (or --requirepass) so region links authenticate")
	}
	saved := n.regionSaved
	ln, err := net.Listen("tcp", cfg.RegionAddr)
	if err != nil {
		return fmt.Errorf("region link listener: %w", err)
	}
	dial := cfg.RegionDial
	if cfg.TLS.Cluster {
		// Region links on mutual TLS with the cluster's CA (tls.go).
		ln = tls.NewListener(ln, n.tls.MutualServerConfig())
		if dial == nil {
			dial = func(addr string) (net.Conn, error) { return n.tls.Dial(addr, 3*time.Second) }
		}
	}
	rc := regions.Config{
		Name: cfg.Region, Role: regions.Role(cfg.RegionRole), Primary: cfg.RegionPrimary, Secret: secret,
		Shards: func() []uint64 {
			if n.cluster != nil {
				return n.cluster.LocalShards()
			}
			return []uint64{n.shard.ID()}
		},
		Source: func(id uint64) regions.SourceLog {
			if s := n.regionShard(id); s != nil {
				return sourceLog{s}
			}
			return nil
		},
		Dest: func(id uint64) regions.DestLog {
			if s := n.regionShard(id); s != nil {
				return destLog{s}
			}
			return nil
		},
		OnRole: func(r regions.Role) {
			n.regionRO.Store(r == regions.Secondary)
			n.setRegionPassive(r == regions.Secondary)
			if m := n.regions; m != nil {
				n.saveRegionState(m, r)
			}
		},
		Dir:        cfg.Dir,
		Describe:   func(data []byte) []string { return describeEntry(table, data) },
		Reclaim:    saved.reclaim,
		ReclaimPos: saved.reclaimPos,
		Rebuild:    saved.rebuild,
		Fence:      n.fence,
		Ready:      n.regionReady,
		Announce:   cfg.RegionAnnounce,
		Dial:       dial,
		Logger:     n.log,
	}
	if n.cluster != nil {
		// A region of several nodes (regions/cluster.go): lag, promotion
		// and the layout are coordinated over the region's nodes.
		rc.Peers, rc.SelfAddr = n.regionPeers, cfg.RegionAddr
		rc.Layout, rc.Mirror, rc.MirrorDue = n.cluster.Layout, n.cluster.MirrorLayout, n.cluster.IsMetaLeader
	}
	m, err := regions.New(rc)
	if err != nil {
		ln.Close()
		return err
	}
	n.regions = m
	m.Start(ln)
	return nil
}

// RegionAddr is the region link listener's address ("" without regions).
func (n *Node) RegionAddr() string {
	if n.regions == nil {
		return ""
	}
	return n.regions.Addr()
}

// RegionStatus returns the region status (zero without regions).
func (n *Node) RegionStatus() regions.Status {
	if n.regions == nil {
		return regions.Status{}
	}
	return n.regions.Status()
}

// RegionInfo implements session.RegionBackend: INFO's regions section,
// nil when the node is not in a multi-region deployment.
func (b *backend) RegionInfo() [][2]string {
	if b.regions == nil {
		return nil
	}
	st := b.regions.Status()
	out := [][2]string{
		{"region", st.Name},
		{"region_role", string(st.Role)},
		{"region_lag_ms", strconv.FormatInt(st.LagMs, 10)},
		{"region_lag_entries", strconv.FormatUint(st.LagEntries, 10)},
	}
	if st.Role == regions.Secondary {
		// The primary region's link addresses this node pulls from (a
		// promotion or a rejoin sets them).
		out = append(out, [2]string{"region_primary", strings.Join(b.regions.Primaries(), ",")})
		if st.LayoutErr != "" {
			out = append(out, [2]string{"region_layout_error", st.LayoutErr})
		}
		if rb := b.regions.Rebuilding(); len(rb) > 0 {
			ids := make([]string, len(rb))
			for i, id := range rb {
				ids[i] = strconv.FormatUint(id, 10)
			}
			out = append(out, [2]string{"region_rebuilding", strings.Join(ids, ",")})
		}
	}
	if st.Role != regions.Secondary {
		// A primary's shards (this node's replicas): what secondaries
		// can pull. log_first: a secondary behind it is caught up by a
		// snapshot.
		for _, s := range b.shards() {
			out = append(out, [2]string{"region_shard_" + strconv.FormatUint(s.ID(), 10),
				fmt.Sprintf("applied=%d,log_first=%d,leader=%d", s.AppliedIndex(), s.LogFirstIndex(), boolInt(s.IsLeader()))})
		}
	}
	for _, l := range st.Shards {
		link := "down"
		switch {
		case l.Connected:
			link = "up"
		case !l.Leader:
			link = "follower"
		}
		v := fmt.Sprintf("applied=%d,source_applied=%d,lag_entries=%d,lag_ms=%d,link=%s,snapshots=%d", l.Applied, l.SourceApplied, l.Entries, l.Ms, link, l.Snapshots)
		if l.Err != "" {
			v += ",last_error=" + strings.ReplaceAll(l.Err, ",", ";")
		}
		out = append(out, [2]string{"region_shard_" + strconv.FormatUint(l.Shard, 10), v})
	}
	return out
}

// Region implements session.RegionBackend: the REGION command.
func (b *backend) Region(args [][]byte) reply.Value {
	if b.regions == nil {
		return reply.Error("ERR this node is not part of a multi-region deployment")
	}
	sub := strings.ToLower(string(args[1]))
	switch sub {
	case "info":
		if len(args) != 2 {
			return reply.Error("ERR wrong number of arguments for 'region|info' command")
		}
		st := b.regions.Status()
		shards := make([]reply.Value, len(st.Shards))
		for i, l := range st.Shards {
			shards[i] = reply.Map(
				reply.Bulk([]byte("shard")), reply.Int(int64(l.Shard)),
				reply.Bulk([]byte("applied")), reply.Int(int64(l.Applied)),
				reply.Bulk([]byte("source_applied")), reply.Int(int64(l.SourceApplied)),
				reply.Bulk([]byte("lag_entries")), reply.Int(int64(l.Entries)),
				reply.Bulk([]byte("lag_ms")), reply.Int(l.Ms),
				reply.Bulk([]byte("connected")), reply.Int(boolInt(l.Connected)),
				reply.Bulk([]byte("last_error")), reply.Bulk([]byte(l.Err)),
			)
		}
		return reply.Map(
			reply.Bulk([]byte("region")), reply.Bulk([]byte(st.Name)),
			reply.Bulk([]byte("role")), reply.Bulk([]byte(st.Role)),
			reply.Bulk([]byte("lag_ms")), reply.Int(st.LagMs),
			reply.Bulk([]byte("lag_entries")), reply.Int(int64(st.LagEntries)),
			reply.Bulk([]byte("shards")), reply.Array(shards...),
		)
	case "promote":
		force := len(args) == 3 && strings.EqualFold(string(args[2]), "force")
		if len(args) > 3 || (len(args) == 3 && !force) {
			return reply.Error("ERR syntax error")
		}
		var (
			pos []regions.ShardPosition
			err error
		)
		if force {
			pos, err = b.regions.PromoteForce()
		} else {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			pos, err = b.regions.Promote(ctx)
			cancel()
		}
		if err != nil {
			msg := err.Error()
			if !strings.HasPrefix(msg, "ERR ") {
				msg = "ERR " + msg
			}
			return reply.Error(msg)
		}
		// Per shard, the source position reached: with FORCE, what the
		// old primary committed after it is not in this region.
		out := make([]reply.Value, len(pos))
		for i, p := range pos {
			out[i] = reply.Map(
				reply.BulkString("shard"), reply.Int(int64(p.Shard)),
				reply.BulkString("source_index"), reply.Int(int64(p.Index)),
			)
		}
		return reply.Array(out...)
	}
	return reply.Error(fmt.Sprintf("ERR unknown subcommand '%s'. Try REGION HELP.", args[1]))
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
