package web

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
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
// signed in as the same user.
func (d *Dashboard) peer(ctx context.Context, s *session, addr string) (Conn, error) {
	s.mu.Lock()
	if s.peers == nil {
		s.peers = map[string]Conn{}
	}
	c := s.peers[addr]
	s.mu.Unlock()
	if c != nil {
		return c, nil
	}
	dialer := d.cfg.Dialer
	pd, ok := dialer.(PeerDialer)
	if !ok {
		return nil, fmt.Errorf("no peer dialer")
	}
	c, err := pd.DialAddr(ctx, addr, s.user, s.pass)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	if old := s.peers[addr]; old != nil {
		s.mu.Unlock()
		c.Close()
		return old, nil
	}
	s.peers[addr] = c
	s.mu.Unlock()
	return c, nil
}

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
	if in.get("cluster_enabled") == "1" {
		v.Cluster, _, _ = clusterState(ctx, s.conn)
	}
	return v, nil
}

// series is one chart: its samples drawn as an SVG polyline.
type series struct {
	Name, Unit, Last, Max string
	Points                string
}

type chartsView struct {
	Samples int
	Span    string
	Charts  []series
}

func chartsData(d *Dashboard, c *gin.Context) (any, error) {
	pts := d.history.points()
	v := chartsView{Samples: len(pts)}
	if len(pts) > 1 {
		v.Span = pts[len(pts)-1].T.Sub(pts[0].T).Round(time.Second).String()
	}
	add := func(name, unit string, get func(sample) float64, fmtv func(float64) string) {
		sr := series{Name: name, Unit: unit}
		var maxv float64
		for _, p := range pts {
			maxv = max(maxv, get(p))
		}
		var b strings.Builder
		for i, p := range pts {
			x := 0.0
			if len(pts) > 1 {
				x = float64(i) * 600 / float64(len(pts)-1)
			}
			y := 100.0
			if maxv > 0 {
				y = 100 - get(p)/maxv*95
			}
			fmt.Fprintf(&b, "%.1f,%.1f ", x, y)
		}
		sr.Points = b.String()
		if len(pts) > 0 {
			sr.Last = fmtv(get(pts[len(pts)-1]))
		}
		sr.Max = fmtv(maxv)
		v.Charts = append(v.Charts, sr)
	}
	num := func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) }
	add("Operations", "ops/s", func(s sample) float64 { return s.OpsPerSec }, num)
	add("Error replies", "errors/s", func(s sample) float64 { return s.ErrorsPerSec }, num)
	add("Raft commit latency", "µs", func(s sample) float64 { return s.CommitLatency }, num)
	add("Fsync probe", "µs", func(s sample) float64 { return s.FsyncUsec }, num)
	add("Memory used", "", func(s sample) float64 { return s.MemoryBytes }, humanBytes)
	add("Clients", "connections", func(s sample) float64 { return s.Clients }, num)
	add("Keys", "keys", func(s sample) float64 { return s.Keys }, num)
	add("Region lag", "s", func(s sample) float64 { return s.RegionLagSec }, num)
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
