package web

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// nodeRow is one node of the overview.
type nodeRow struct {
	ID, Addr, Role, Health, Version, Uptime, Shards string
	Self                                            bool
}

// shardRow is one shard (Raft group) and the slots it owns.
type shardRow struct {
	ID, Color, Slots string
	SlotCount        int
	Leader           string
	Term             uint64
	Nodes            []string
	ranges           [][2]int
}

type overviewView struct {
	Mode     string
	Node     []kv
	Cluster  bool
	Nodes    []nodeRow
	Shards   []shardRow
	Regions  []kv
	SlotMap  template.HTML
	Problems []string
}

var shardColors = []string{"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"}

func overviewData(d *Dashboard, c *gin.Context) (any, error) {
	s := sess(c)
	ctx := c.Request.Context()
	r, err := s.conn.Do(ctx, "INFO", "everything")
	if err != nil {
		return overviewView{}, err
	}
	in := parseInfo(str(r))
	v := overviewView{Mode: in.get("redis_mode")}
	up, _ := strconv.ParseInt(in.get("uptime_in_seconds"), 10, 64)
	v.Node = []kv{
		{"Client port", in.get("tcp_port")},
		{"Cairn version", in.get("cairn_version")},
		{"Redis version", in.get("redis_version")},
		{"Uptime", humanDuration(up)},
		{"Raft role", in.get("raft_role")},
		{"Memory used", humanBytes(in.num("used_memory"))},
		{"Clients", in.get("connected_clients")},
		{"Keys", strconv.FormatFloat(keyCount(in), 'f', 0, 64)},
	}
	v.Regions = in.section("regions")
	if in.get("cluster_enabled") != "1" {
		v.Nodes = []nodeRow{{ID: "-", Addr: "this node", Role: in.get("raft_role"), Health: health(in),
			Version: in.get("cairn_version"), Uptime: humanDuration(up), Shards: "all", Self: true}}
		v.Shards = []shardRow{{ID: "1", Color: shardColors[0], Slots: "0-16383", SlotCount: 16384, ranges: [][2]int{{0, 16383}}}}
		v.SlotMap = slotMap(v.Shards)
		return v, nil
	}
	v.Cluster = true
	shards, nodes, err := clusterState(ctx, s.conn)
	if err != nil {
		v.Problems = append(v.Problems, "CLUSTER SHARDS: "+errText(err))
	}
	v.Shards = shards
	v.Nodes = nodes
	d.fillNodes(ctx, s, v.Nodes)
	v.SlotMap = slotMap(v.Shards)
	return v, nil
}

func health(in info) string {
	if in.get("raft_halted_shards") != "" && in.get("raft_halted_shards") != "0" {
		return "halted"
	}
	return "online"
}

// topology is the part of CLUSTER TOPOLOGY's JSON the dashboard shows.
type topology struct {
	Epoch int64 `json:"epoch"`
	Nodes []struct {
		ID        uint64            `json:"id"`
		Raft      string            `json:"raft"`
		Client    string            `json:"client"`
		Endpoints map[string]string `json:"endpoints"`
	} `json:"nodes"`
	Shards []struct {
		ID            uint64   `json:"id"`
		Replicas      []uint64 `json:"replicas"`
		Term          uint64   `json:"term"`
		CurrentLeader uint64   `json:"current_leader"`
		SlotCount     int      `json:"slot_count"`
	} `json:"shards"`
	Slots []struct {
		Start int    `json:"start"`
		End   int    `json:"end"`
		Shard uint64 `json:"shard"`
	} `json:"slots"`
	Migrations []struct {
		ID    uint64 `json:"id"`
		Slots []int  `json:"slots"`
		To    uint64 `json:"to"`
	} `json:"migrations"`
	Myself uint64 `json:"myself"`
}

func readTopology(ctx context.Context, conn Conn) (*topology, error) {
	r, err := conn.Do(ctx, "CLUSTER", "TOPOLOGY")
	if err != nil {
		return nil, err
	}
	var t topology
	if err := json.Unmarshal([]byte(str(r)), &t); err != nil {
		return nil, fmt.Errorf("CLUSTER TOPOLOGY: %w", err)
	}
	return &t, nil
}

// clusterState reads the cluster directory (CLUSTER TOPOLOGY): each
// shard's slot ranges, leader and replicas, each node with its role per
// shard; health comes from CLUSTER SHARDS (a node is online when any of
// its shard endpoints is).
func clusterState(ctx context.Context, conn Conn) ([]shardRow, []nodeRow, error) {
	t, err := readTopology(ctx, conn)
	if err != nil {
		return nil, nil, err
	}
	healthy := map[string]string{}
	if r, err := conn.Do(ctx, "CLUSTER", "SHARDS"); err == nil {
		for _, sh := range list(r) {
			for _, n := range list(pairs(sh)["nodes"]) {
				nm := pairs(n)
				addr := str(nm["ip"]) + ":" + str(nm["port"])
				healthy[addr] = str(nm["health"])
			}
		}
	}
	clientOf := map[uint64]string{}
	var nodes []nodeRow
	for _, n := range t.Nodes {
		clientOf[n.ID] = n.Client
		h := "unknown"
		for _, ep := range n.Endpoints {
			switch healthy[ep] {
			case "online":
				h = "online"
			case "":
			default:
				if h != "online" {
					h = healthy[ep]
				}
			}
		}
		row := nodeRow{ID: strconv.FormatUint(n.ID, 10), Addr: n.Client, Health: h, Self: n.ID == t.Myself}
		var roles []string
		for _, sh := range t.Shards {
			for _, r := range sh.Replicas {
				if r == n.ID {
					role := "follower"
					if sh.CurrentLeader == n.ID {
						role = "leader"
					}
					roles = append(roles, fmt.Sprintf("%d:%s", sh.ID, role))
				}
			}
		}
		row.Shards = strings.Join(roles, ", ")
		nodes = append(nodes, row)
	}
	migrating := map[int]bool{}
	for _, m := range t.Migrations {
		for _, sl := range m.Slots {
			migrating[sl] = true
		}
	}
	var shards []shardRow
	for i, sh := range t.Shards {
		row := shardRow{ID: strconv.FormatUint(sh.ID, 10), Color: shardColors[i%len(shardColors)], SlotCount: sh.SlotCount,
			Leader: clientOf[sh.CurrentLeader], Term: sh.Term}
		var parts []string
		for _, r := range t.Slots {
			if r.Shard != sh.ID {
				continue
			}
			row.ranges = append(row.ranges, [2]int{r.Start, r.End})
			if r.Start == r.End {
				parts = append(parts, strconv.Itoa(r.Start))
			} else {
				parts = append(parts, fmt.Sprintf("%d-%d", r.Start, r.End))
			}
		}
		row.Slots = strings.Join(parts, " ")
		for _, r := range sh.Replicas {
			row.Nodes = append(row.Nodes, strconv.FormatUint(r, 10))
		}
		shards = append(shards, row)
	}
	if len(migrating) > 0 {
		mig := shardRow{ID: "migrating", Color: "#d62728"}
		for sl := range migrating {
			mig.ranges = append(mig.ranges, [2]int{sl, sl})
		}
		shards = append(shards, mig)
	}
	return shards, nodes, nil
}

// fillNodes asks every node, as the signed-in user, for its version and
// uptime (INFO server), in parallel with a short timeout: a node that
// does not answer is shown unreachable.
func (d *Dashboard) fillNodes(ctx context.Context, s *session, nodes []nodeRow) {
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func(n *nodeRow) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 250*time.Millisecond)
			defer cancel()
			conn, err := d.peer(ctx, s, n.Addr)
			var r any
			if err == nil {
				r, err = conn.Do(ctx, "INFO", "server")
			}
			if err != nil {
				n.Health, n.Version, n.Uptime = "unreachable", "?", "?"
				return
			}
			in := parseInfo(str(r))
			up, _ := strconv.ParseInt(in.get("uptime_in_seconds"), 10, 64)
			n.Version, n.Uptime = in.get("cairn_version"), humanDuration(up)
		}(&nodes[i])
	}
	wg.Wait()
}

// peer returns the session's connection to another node of the cluster,
// signed in as the same user. A new connection is opened in the
// background with its own timeout (peerDialTimeout): a caller whose
// deadline is shorter (a page asking every node with a 250 ms budget)
// gives up waiting, but the connection is kept for the next refresh
// once open, so a slow handshake (TLS on a loaded node) does not make
// the node look unreachable on every refresh.
func (d *Dashboard) peer(ctx context.Context, s *session, addr string) (Conn, error) {
	pd, ok := d.cfg.Dialer.(PeerDialer)
	if !ok {
		return nil, fmt.Errorf("no peer dialer")
	}
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil, errSessionClosed
	}
	if c := s.peers[addr]; c != nil {
		s.mu.Unlock()
		return c, nil
	}
	dl := s.dialing[addr]
	if dl == nil {
		dl = &peerDial{done: make(chan struct{})}
		if s.dialing == nil {
			s.dialing = map[string]*peerDial{}
		}
		s.dialing[addr] = dl
		go func() {
			dctx, cancel := context.WithTimeout(context.Background(), peerDialTimeout)
			c, err := pd.DialAddr(dctx, addr, s.user, s.pass)
			cancel()
			s.mu.Lock()
			delete(s.dialing, addr)
			if err == nil && s.closing {
				c.Close()
				c, err = nil, errSessionClosed
			}
			if err == nil {
				if s.peers == nil {
					s.peers = map[string]Conn{}
				}
				s.peers[addr] = c
			}
			dl.c, dl.err = c, err
			s.mu.Unlock()
			close(dl.done)
		}()
	}
	s.mu.Unlock()
	select {
	case <-dl.done:
		return dl.c, dl.err
	case <-ctx.Done():
		return nil, fmt.Errorf("connecting to %s: %w", addr, ctx.Err())
	}
}

// peerDialTimeout bounds opening a connection to another node.
const peerDialTimeout = 5 * time.Second

// peerDial is a peer connection being opened; done is closed with c or
// err set.
type peerDial struct {
	done chan struct{}
	c    Conn
	err  error
}

var errSessionClosed = errors.New("the session has ended")

// slotMap draws the 16384 slots as a 128×128 grid, each row of slots one
// line of the SVG, coloured by the shard that owns them.
func slotMap(shards []shardRow) template.HTML {
	var b strings.Builder
	b.WriteString(`<svg class="slotmap" viewBox="0 0 128 128" width="384" height="384" role="img" aria-label="slot map"><rect width="128" height="128" fill="#ddd"/>`)
	for _, sh := range shards {
		for _, r := range sh.ranges {
			for a := r[0]; a <= r[1]; {
				row, col := a/128, a%128
				end := min(r[1], row*128+127)
				fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="1" fill="%s"><title>shard %s: slots %d-%d</title></rect>`,
					col, row, end-a+1, sh.Color, template.HTMLEscapeString(sh.ID), a, end)
				a = end + 1
			}
		}
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

type shardView struct {
	Raft    []kv
	Shards  []kv
	Cluster []shardRow
	// Node is this node's figures that are not per shard: the fsync
	// probe's latency quantiles and last value.
	Node []kv
	// Local are this node's shard replicas (INFO raft's raft_shard_<id>
	// lines), each with every replica of the shard and its state.
	Local []shardDetail
}

// shardDetail is one shard replica of this node.
type shardDetail struct {
	ID, Role, Leader, Term    string
	CommitIndex, AppliedIndex uint64
	SnapshotIndex             uint64
	SnapshotAge               string
	CommitP50, CommitP99      string
	Halted                    bool
	Replicas                  []replicaState
}

// replicaState is one replica of a shard as its own node reports it
// (INFO raft on that node, as the signed-in user).
type replicaState struct {
	Node, Addr, Role, State string
	Applied                 uint64
	// Behind is how many entries it has yet to apply compared with this
	// node's commit index of the shard (-1: unknown).
	Behind int64
	// Percent is Applied over this node's commit index (100 when in
	// sync; meaningless when Behind is -1).
	Percent int
	Self    bool
}

// raftShards reads INFO raft's raft_shard_<id>:k=v,... lines.
func raftShards(in info) map[string]map[string]string {
	out := map[string]map[string]string{}
	for k, v := range in.Fields["raft"] {
		id, ok := strings.CutPrefix(k, "raft_shard_")
		if !ok || id == "id" {
			continue
		}
		m := map[string]string{}
		for _, part := range strings.Split(v, ",") {
			if a, b, ok := strings.Cut(part, "="); ok {
				m[a] = b
			}
		}
		out[id] = m
	}
	return out
}

func usecText(v string) string {
	if v == "" || v == "0" {
		return "-"
	}
	return "≤ " + v + " µs"
}

func shardData(d *Dashboard, c *gin.Context) (any, error) {
	s := sess(c)
	ctx := c.Request.Context()
	r, err := s.conn.Do(ctx, "INFO", "everything")
	if err != nil {
		return shardView{}, err
	}
	in := parseInfo(str(r))
	v := shardView{Raft: in.section("raft"), Shards: in.section("shards")}
	v.Node = []kv{
		{"Fsync p50 (since start)", usecText(in.get("raft_fsync_p50_usec"))},
		{"Fsync p99 (since start)", usecText(in.get("raft_fsync_p99_usec"))},
		{"Fsync probe (last)", in.get("raft_fsync_probe_usec") + " µs"},
		{"Commit latency (last write)", in.get("raft_last_commit_latency_usec") + " µs"},
	}
	local := raftShards(in)
	var t *topology
	if in.get("cluster_enabled") == "1" {
		v.Cluster, _, _ = clusterState(ctx, s.conn)
		t, _ = readTopology(ctx, s.conn)
	}
	ids := make([]string, 0, len(local))
	for id := range local {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return toInt(ids[i]) < toInt(ids[j]) })
	peerInfo := d.peerRaft(ctx, s, t)
	for _, id := range ids {
		m := local[id]
		sd := shardDetail{ID: id, Role: m["role"], Leader: m["leader"], Term: m["term"],
			CommitIndex: uint64(toInt(m["commit_index"])), AppliedIndex: uint64(toInt(m["applied_index"])),
			SnapshotIndex: uint64(toInt(m["snapshot_index"])),
			CommitP50:     usecText(m["commit_p50_usec"]), CommitP99: usecText(m["commit_p99_usec"]), Halted: m["halted"] == "1"}
		if age := toInt(m["snapshot_age_sec"]); m["snapshot_age_sec"] == "-1" {
			sd.SnapshotAge = "none since start"
		} else {
			sd.SnapshotAge = humanDuration(age)
		}
		sd.Replicas = replicasOf(id, m, t, peerInfo)
		v.Local = append(v.Local, sd)
	}
	return v, nil
}

// replicasOf lists shard id's replicas: outside cluster mode only this
// node's; in cluster mode every node the directory names, with what
// that node's INFO raft says of its replica.
func replicasOf(id string, self map[string]string, t *topology, peers map[uint64]peerRaft) (out []replicaState) {
	commit := toInt(self["commit_index"])
	state := func(m map[string]string) string {
		switch {
		case m["halted"] == "1":
			return "halted"
		case m["role"] == "leader":
			return "leader"
		}
		return "following"
	}
	defer func() {
		for i := range out {
			if r := &out[i]; r.Behind >= 0 && commit > 0 {
				r.Percent = int(min(int64(r.Applied)*100/commit, 100))
			} else if r.Behind == 0 {
				r.Percent = 100
			}
		}
	}()
	if t == nil {
		return []replicaState{{Node: "this node", Role: self["role"], State: state(self),
			Applied: uint64(toInt(self["applied_index"])), Behind: max(commit-toInt(self["applied_index"]), 0), Self: true}}
	}
	for _, sh := range t.Shards {
		if strconv.FormatUint(sh.ID, 10) != id {
			continue
		}
		for _, nid := range sh.Replicas {
			rs := replicaState{Node: strconv.FormatUint(nid, 10), Behind: -1, Self: nid == t.Myself, State: "unreachable", Role: "?"}
			p, ok := peers[nid]
			rs.Addr = p.addr
			if ok && p.err == "" {
				if m, ok := p.shards[id]; ok {
					rs.Role, rs.State = m["role"], state(m)
					rs.Applied = uint64(toInt(m["applied_index"]))
					rs.Behind = max(commit-toInt(m["applied_index"]), 0)
				} else {
					rs.State = "not started on its node"
				}
			} else if ok {
				rs.State = "unreachable: " + p.err
			}
			out = append(out, rs)
		}
	}
	return out
}

// peerRaft is one node's INFO raft shard lines.
type peerRaft struct {
	addr, err string
	shards    map[string]map[string]string
}

// peerRaft asks every node of the directory for INFO raft, in parallel
// with a short timeout, as the signed-in user.
func (d *Dashboard) peerRaft(ctx context.Context, s *session, t *topology) map[uint64]peerRaft {
	out := map[uint64]peerRaft{}
	if t == nil {
		return out
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, n := range t.Nodes {
		wg.Add(1)
		go func(id uint64, addr string, self bool) {
			defer wg.Done()
			ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			var conn Conn = s.conn
			var err error
			if !self {
				conn, err = d.peer(ctx, s, addr)
			}
			var r any
			if err == nil {
				r, err = conn.Do(ctx, "INFO", "raft")
			}
			p := peerRaft{addr: addr}
			if err != nil {
				p.err = errText(err)
			} else {
				p.shards = raftShards(parseInfo(str(r)))
			}
			mu.Lock()
			out[id] = p
			mu.Unlock()
		}(n.ID, n.Client, n.ID == t.Myself)
	}
	wg.Wait()
	return out
}

// series is one chart: one or more lines of samples drawn as SVG
// polylines on a common scale.
type series struct {
	Name, Unit, Last, Max string
	Lines                 []line
}

// line is one polyline of a chart; Class (l0, l1, l2) picks its colour.
type line struct {
	Label, Class, Points, Last string
}

type chartsView struct {
	Samples int
	Span    string
	Charts  []series
}

type lineDef struct {
	label string
	get   func(sample) float64
}

func chartsData(d *Dashboard, c *gin.Context) (any, error) {
	pts := d.history.points()
	v := chartsView{Samples: len(pts)}
	if len(pts) > 1 {
		v.Span = pts[len(pts)-1].T.Sub(pts[0].T).Round(time.Second).String()
	}
	add := func(name, unit string, fmtv func(float64) string, defs ...lineDef) {
		sr := series{Name: name, Unit: unit}
		var maxv float64
		for _, p := range pts {
			for _, ld := range defs {
				maxv = max(maxv, ld.get(p))
			}
		}
		for i, ld := range defs {
			var b strings.Builder
			for j, p := range pts {
				x := 0.0
				if len(pts) > 1 {
					x = float64(j) * 600 / float64(len(pts)-1)
				}
				y := 100.0
				if maxv > 0 {
					y = 100 - ld.get(p)/maxv*95
				}
				fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
			}
			ln := line{Label: ld.label, Class: fmt.Sprintf("l%d", i), Points: b.String()}
			if len(pts) > 0 {
				ln.Last = fmtv(ld.get(pts[len(pts)-1]))
			}
			sr.Lines = append(sr.Lines, ln)
		}
		if len(sr.Lines) == 1 {
			sr.Last = sr.Lines[0].Last
		}
		sr.Max = fmtv(maxv)
		v.Charts = append(v.Charts, sr)
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
	one := func(get func(sample) float64) lineDef { return lineDef{"", get} }
	add("Operations by command class", "ops/s", num,
		lineDef{"read", func(s sample) float64 { return s.ReadOps }},
		lineDef{"write", func(s sample) float64 { return s.WriteOps }},
		lineDef{"other", func(s sample) float64 { return s.OtherOps }})
	add("Command latency, all commands", "µs", num,
		lineDef{"p50", func(s sample) float64 { return s.P50Usec }},
		lineDef{"p99", func(s sample) float64 { return s.P99Usec }})
	add("Write latency", "µs", num,
		lineDef{"p50", func(s sample) float64 { return s.WriteP50Usec }},
		lineDef{"p99", func(s sample) float64 { return s.WriteP99Usec }})
	add("Read latency", "µs", num,
		lineDef{"p50", func(s sample) float64 { return s.ReadP50Usec }},
		lineDef{"p99", func(s sample) float64 { return s.ReadP99Usec }})
	add("Operations (total_commands_processed)", "ops/s", num, one(func(s sample) float64 { return s.OpsPerSec }))
	add("Error replies", "errors/s", num, one(func(s sample) float64 { return s.ErrorsPerSec }))
	add("Raft commit latency (last)", "µs", num, one(func(s sample) float64 { return s.CommitLatency }))
	add("Fsync probe (last)", "µs", num, one(func(s sample) float64 { return s.FsyncUsec }))
	add("Memory used", "", humanBytes, one(func(s sample) float64 { return s.MemoryBytes }))
	add("Clients", "connections", num, one(func(s sample) float64 { return s.Clients }))
	add("Keys", "keys", num, one(func(s sample) float64 { return s.Keys }))
	add("Region lag", "s", num, one(func(s sample) float64 { return s.RegionLagSec }))
	return v, nil
}

func (d *Dashboard) apiHistory(c *gin.Context) {
	c.JSON(200, gin.H{"every_ms": d.cfg.SampleEvery.Milliseconds(), "samples": d.history.points()})
}

type slowEntry struct {
	ID, When, Micros, Command, Client string
}

type latencyEvent struct {
	Event, When, Latest, Max string
}

type slowlogView struct {
	Slow       []slowEntry
	SlowErr    string
	Latency    []latencyEvent
	LatencyErr string
}

func slowlogData(d *Dashboard, c *gin.Context) (any, error) {
	conn := sess(c).conn
	ctx := c.Request.Context()
	var v slowlogView
	// A user who may read the latency events but not the slow log (or
	// the reverse) still sees the other half.
	r, err := conn.Do(ctx, "SLOWLOG", "GET", 128)
	if err != nil {
		if !isRedisError(err) {
			return v, err
		}
		v.SlowErr = errText(err)
	}
	for _, e := range list(r) {
		f := list(e)
		if len(f) < 4 {
			continue
		}
		var args []string
		for _, a := range list(f[3]) {
			args = append(args, str(a))
		}
		se := slowEntry{ID: str(f[0]), When: time.Unix(toInt(f[1]), 0).UTC().Format("2006-01-02 15:04:05"),
			Micros: str(f[2]), Command: strings.Join(args, " ")}
		if len(f) > 4 {
			se.Client = str(f[4])
		}
		v.Slow = append(v.Slow, se)
	}
	if r, err := conn.Do(ctx, "LATENCY", "LATEST"); err != nil {
		v.LatencyErr = errText(err)
	} else {
		for _, e := range list(r) {
			f := list(e)
			if len(f) < 4 {
				continue
			}
			v.Latency = append(v.Latency, latencyEvent{Event: str(f[0]),
				When: time.Unix(toInt(f[1]), 0).UTC().Format("15:04:05"), Latest: str(f[2]), Max: str(f[3])})
		}
	}
	return v, nil
}

type usersView struct {
	Users    []string
	UsersErr string
	Log      [][]kv
	LogErr   string
	WhoAmI   string
}

func usersData(d *Dashboard, c *gin.Context) (any, error) {
	s := sess(c)
	ctx := c.Request.Context()
	v := usersView{WhoAmI: s.user}
	if r, err := s.conn.Do(ctx, "ACL", "LIST"); err != nil {
		v.UsersErr = errText(err)
	} else {
		for _, u := range list(r) {
			v.Users = append(v.Users, str(u))
		}
	}
	if r, err := s.conn.Do(ctx, "ACL", "LOG", 50); err != nil {
		v.LogErr = errText(err)
	} else {
		for _, e := range list(r) {
			var row []kv
			flat := list(e)
			for i := 0; i+1 < len(flat); i += 2 {
				row = append(row, kv{str(flat[i]), str(flat[i+1])})
			}
			v.Log = append(v.Log, row)
		}
	}
	return v, nil
}
