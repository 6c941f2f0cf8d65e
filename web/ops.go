package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

// job is a long operation (a slot move, a rebalance) the dashboard runs
// for a user in the background: the command blocks until it is done, so
// the page shows it running, then done (100%) or failed with the error.
type job struct {
	ID      int       `json:"id"`
	User    string    `json:"user"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Ended   time.Time `json:"ended,omitzero"`
	State   string    `json:"state"` // running, done, failed
	Result  string    `json:"result"`
	Percent int       `json:"percent"`
	// move is the slot range and target of a CLUSTER MOVESLOTS job, whose
	// progress is the share of the range the target already owns.
	move *moveReq
	// catchUp is the shard and node of a CLUSTER ADDREPLICA job: the
	// new replica catching up, polled until it is in sync
	// (followCatchUp).
	catchUp *replicaReq
	// Applied is the new replica's applied index; Target the shard
	// leader's commit index when the replica was added (in sync once
	// Applied reaches it); LeaderCommit the leader's commit index now.
	// Detail says the same in words, or what is awaited.
	Applied      uint64 `json:"applied,omitempty"`
	Target       uint64 `json:"target,omitempty"`
	LeaderCommit uint64 `json:"leader_commit,omitempty"`
	Detail       string `json:"detail,omitempty"`
}

type jobs struct {
	mu   sync.Mutex
	next int
	list []*job // newest last, at most 50
}

func (j *jobs) snapshot() []job {
	j.mu.Lock()
	defer j.mu.Unlock()
	out := make([]job, 0, len(j.list))
	for i := len(j.list) - 1; i >= 0; i-- {
		out = append(out, *j.list[i])
	}
	return out
}

// backupRow is one backup as BACKUP LIST shows it.
type backupRow struct {
	Name, Created, Status, Size string
	Keys                        int64
	Scheduled                   bool
}

type opsView struct {
	Backups   []backupRow
	BackupErr string
	// BackupInfo is INFO backups without the per-shard archive lines:
	// the directory, count, last backup, one in progress, window and
	// retention.
	BackupInfo []kv
	// BackupRunning is INFO backups' backup_in_progress (a backup the
	// schedule or another client started).
	BackupRunning bool
	Cluster       bool
	Shards        []string
	Regions       []kv
	RegionErr     string
	// Loss is the promotion report built from REGION INFO (nil when
	// REGION INFO is refused or the node has no regions).
	Loss *lossReport
	Jobs []job
	// ClusterShards and ClusterNodes are the directory (CLUSTER
	// TOPOLOGY), for the add/remove-replica forms.
	ClusterShards []shardRow
	ClusterNodes  []nodeRow
}

func opsData(d *Dashboard, c *gin.Context) (any, error) {
	conn := sess(c).conn
	ctx := c.Request.Context()
	var v opsView
	if r, err := conn.Do(ctx, "BACKUP", "LIST"); err != nil {
		v.BackupErr = errText(err)
	} else {
		for _, b := range list(r) {
			m := pairs(b)
			v.Backups = append(v.Backups, backupRow{Name: str(m["name"]), Created: str(m["created"]), Status: str(m["status"]),
				Keys: toInt(m["keys"]), Size: humanBytes(float64(toInt(m["size"]))), Scheduled: toInt(m["scheduled"]) == 1})
		}
		if in, err := conn.Do(ctx, "INFO", "backups"); err == nil {
			for _, e := range parseInfo(str(in)).section("backups") {
				if !strings.HasPrefix(e.K, "log_archive_shard_") {
					v.BackupInfo = append(v.BackupInfo, e)
				}
				if e.K == "backup_in_progress" && e.V == "1" {
					v.BackupRunning = true
				}
			}
		}
	}
	if in, err := conn.Do(ctx, "INFO", "cluster"); err == nil && parseInfo(str(in)).get("cluster_enabled") == "1" {
		v.Cluster = true
	}
	if v.Cluster {
		v.ClusterShards, v.ClusterNodes, _ = clusterState(ctx, conn)
	}
	if r, err := conn.Do(ctx, "REGION", "INFO"); err != nil {
		v.RegionErr = errText(err)
	} else {
		v.Loss = newLossReport(r)
		v.Regions = []kv{{"Region", v.Loss.Region}, {"Role", v.Loss.Role},
			{"Lag", fmt.Sprintf("%d ms, %d entries", v.Loss.LagMs, v.Loss.LagEntries)}}
	}
	v.Jobs = d.jobs.snapshot()
	progress(ctx, conn, v.Jobs)
	return v, nil
}

// opsHandler serves the operations: backups, slot moves, promotion.
type opsHandler struct{ d *Dashboard }

type backupReq struct {
	Name string   `json:"name"` // the backup's name; empty: the node names it
	Args []string `json:"args"` // extra BACKUP CREATE arguments
}

// backup sends BACKUP CREATE [args...]; the node's error is shown as is
// when it has no backups.
func (h opsHandler) backup(c *gin.Context) {
	var req backupReq
	_ = c.ShouldBindJSON(&req)
	args := []any{"BACKUP", "CREATE"}
	if req.Name != "" {
		args = append(args, req.Name)
	}
	for _, a := range req.Args {
		args = append(args, a)
	}
	if v, ok := h.d.act(c, args...); ok {
		c.JSON(http.StatusOK, gin.H{"reply": v, "text": str(v)})
	}
}

type moveReq struct {
	Shard int `json:"shard"`
	Start int `json:"start"`
	End   int `json:"end"`
}

// moveSlots starts CLUSTER MOVESLOTS shard start end as a background job.
func (h opsHandler) moveSlots(c *gin.Context) {
	var req moveReq
	if err := c.ShouldBindJSON(&req); err != nil || req.Shard < 1 || req.Start < 0 || req.End > 16383 || req.Start > req.End {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON {\"shard\":N, \"start\":0..16383, \"end\":start..16383}"})
		return
	}
	h.start(c, &req, "CLUSTER", "MOVESLOTS", strconv.Itoa(req.Shard), strconv.Itoa(req.Start), strconv.Itoa(req.End))
}

// rebalance starts CLUSTER REBALANCE as a background job.
func (h opsHandler) rebalance(c *gin.Context) {
	h.start(c, nil, "CLUSTER", "REBALANCE")
}

type promoteReq struct {
	Force bool `json:"force"`
	// MaxLoss, with Force, is the number of entries the loss report the
	// user confirmed said may be lost: when the report now says more,
	// the promotion is not sent (409) and the new report is returned.
	// Nil: no check (scripts that read the report themselves).
	MaxLoss *int64 `json:"max_loss"`
}

// promote sends REGION PROMOTE [FORCE]. The page shows the loss report
// (GET /api/ops/promote/report) and asks for confirmation first.
func (h opsHandler) promote(c *gin.Context) {
	var req promoteReq
	if c.Request.ContentLength != 0 {
		if err := c.ShouldBindJSON(&req); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON {\"force\":bool, \"max_loss\":N}"})
			return
		}
	}
	args := []any{"REGION", "PROMOTE"}
	if req.Force {
		args = append(args, "FORCE")
		if req.MaxLoss != nil {
			s := sess(c)
			if ok, why := h.d.can(c.Request.Context(), s, "REGION", "PROMOTE", "FORCE"); !ok {
				c.JSON(http.StatusForbidden, gin.H{"error": "NOPERM " + why})
				return
			}
			r, ok := h.d.query(c, "REGION", "INFO")
			if !ok {
				return
			}
			if rep := newLossReport(r); rep.ForcedLoss > *req.MaxLoss {
				c.JSON(http.StatusConflict, gin.H{"error": fmt.Sprintf("the loss report changed: %d entries may now be lost (you confirmed %d); review it and confirm again",
					rep.ForcedLoss, *req.MaxLoss), "report": rep})
				return
			}
		}
	}
	if v, ok := h.d.act(c, args...); ok {
		var reached []string
		for _, p := range list(v) {
			m := pairs(p)
			reached = append(reached, fmt.Sprintf("shard %s at source index %s", str(m["shard"]), str(m["source_index"])))
		}
		text := str(v)
		if len(reached) > 0 {
			text = "promoted; " + strings.Join(reached, ", ")
		}
		c.JSON(http.StatusOK, gin.H{"reply": v, "text": text})
	}
}

// lossReport is what a promotion of this region would lose, from REGION
// INFO's per-shard positions: a planned promotion waits until this
// region has applied everything the primary committed, so it loses
// nothing (and fails when the primary cannot be reached); a forced one
// loses every entry the primary committed that is not here yet.
type lossReport struct {
	Region     string      `json:"region"`
	Role       string      `json:"role"`
	LagMs      int64       `json:"lag_ms"`
	LagEntries int64       `json:"lag_entries"`
	Shards     []lossShard `json:"shards"`
	// ForcedLoss is the number of entries known to be committed at the
	// primary and missing here (the sum of the shards' lag_entries);
	// Unknown says a link is down, so the primary may have committed
	// more since this region last heard from it.
	ForcedLoss int64 `json:"forced_loss_entries"`
	Unknown    bool  `json:"unknown_beyond"`
	// Planned and Forced are the report in words, as the confirmation
	// shows it.
	Planned string `json:"planned"`
	Forced  string `json:"forced"`
}

type lossShard struct {
	Shard         int64  `json:"shard"`
	Applied       int64  `json:"applied"`
	SourceApplied int64  `json:"source_applied"`
	LagEntries    int64  `json:"lag_entries"`
	LagMs         int64  `json:"lag_ms"`
	Connected     bool   `json:"connected"`
	LastError     string `json:"last_error,omitempty"`
}

func newLossReport(r any) *lossReport {
	m := pairs(r)
	rep := &lossReport{Region: str(m["region"]), Role: str(m["role"]), LagMs: toInt(m["lag_ms"]), LagEntries: toInt(m["lag_entries"])}
	var words []string
	for _, e := range list(m["shards"]) {
		sm := pairs(e)
		sh := lossShard{Shard: toInt(sm["shard"]), Applied: toInt(sm["applied"]), SourceApplied: toInt(sm["source_applied"]),
			LagEntries: toInt(sm["lag_entries"]), LagMs: toInt(sm["lag_ms"]), Connected: toInt(sm["connected"]) == 1,
			LastError: str(sm["last_error"])}
		rep.Shards = append(rep.Shards, sh)
		rep.ForcedLoss += max(sh.LagEntries, 0)
		w := fmt.Sprintf("shard %d: %s (here %d, primary %d when last heard, %d ms behind)", sh.Shard, entries(max(sh.LagEntries, 0)), sh.Applied, sh.SourceApplied, sh.LagMs)
		if !sh.Connected {
			rep.Unknown = true
			w += ", link DOWN: the primary may have committed more since"
			if sh.LastError != "" {
				w += " (" + sh.LastError + ")"
			}
		}
		words = append(words, w)
	}
	switch {
	case rep.Role == "primary":
		rep.Planned = "this region is already the primary: there is nothing to promote"
		rep.Forced = rep.Planned
	default:
		rep.Planned = "planned promotion: waits until this region has applied everything the primary committed, then switches roles; no write is lost (it fails if the primary cannot be reached)"
		rep.Forced = fmt.Sprintf("FORCED promotion of region %s: %s of the old primary may be lost", rep.Region, entries(rep.ForcedLoss, "committed"))
		if rep.Unknown {
			rep.Forced += " at least"
		}
		if len(words) > 0 {
			rep.Forced += " — " + strings.Join(words, "; ")
		}
		rep.Forced += ". The old primary writes what it loses to region-discarded-*.txt when it rejoins."
	}
	return rep
}

// entries is "1 entry" or "n entries", with adjectives before the noun.
func entries(n int64, adj ...string) string {
	noun := "entries"
	if n == 1 {
		noun = "entry"
	}
	return strings.Join(append(append([]string{strconv.FormatInt(n, 10)}, adj...), noun), " ")
}

// promoteReport answers the loss report of a promotion (REGION INFO).
func (h opsHandler) promoteReport(c *gin.Context) {
	r, ok := h.d.query(c, "REGION", "INFO")
	if !ok {
		return
	}
	c.JSON(http.StatusOK, newLossReport(r))
}

type replicaReq struct {
	Shard int `json:"shard"`
	Node  int `json:"node"`
}

// addReplica sends CLUSTER ADDREPLICA shard node: the directory adds the
// node to the shard's Raft group, and the new replica catches up by
// snapshot. The reply names a job whose progress is that catch-up
// (followCatchUp), shown on the operations page.
func (h opsHandler) addReplica(c *gin.Context) { h.replica(c, "ADDREPLICA") }

// removeReplica sends CLUSTER DELREPLICA shard node.
func (h opsHandler) removeReplica(c *gin.Context) { h.replica(c, "DELREPLICA") }

func (h opsHandler) replica(c *gin.Context, sub string) {
	var req replicaReq
	if err := c.ShouldBindJSON(&req); err != nil || req.Shard < 1 || req.Node < 1 {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON {\"shard\":N, \"node\":M} (numbers from the directory, ≥ 1)"})
		return
	}
	v, ok := h.d.act(c, "CLUSTER", sub, strconv.Itoa(req.Shard), strconv.Itoa(req.Node))
	if !ok {
		return
	}
	text := fmt.Sprintf("%s: shard %d, node %d", str(v), req.Shard, req.Node)
	if sub != "ADDREPLICA" {
		c.JSON(http.StatusOK, gin.H{"reply": v, "text": text})
		return
	}
	s := sess(c)
	j := h.d.jobs.add(&job{User: s.user, Command: fmt.Sprintf("CLUSTER ADDREPLICA %d %d", req.Shard, req.Node), Started: time.Now(),
		State: "running", Result: str(v), Detail: "waiting for the new replica to start", catchUp: &req})
	h.d.done.Add(1)
	go h.d.followCatchUp(s, j, catchUpEvery, catchUpLimit)
	c.JSON(http.StatusOK, gin.H{"reply": v, "job": j, "text": fmt.Sprintf("%s; job %d follows the new replica catching up", text, j.ID)})
}

// How often a new replica's catch-up is polled, and for how long at most.
const (
	catchUpEvery = 500 * time.Millisecond
	catchUpLimit = 30 * time.Minute
)

// add appends j with the next ID and returns a copy of it.
func (js *jobs) add(j *job) job {
	js.mu.Lock()
	defer js.mu.Unlock()
	js.next++
	j.ID = js.next
	js.list = append(js.list, j)
	if len(js.list) > 50 {
		js.list = js.list[1:]
	}
	return *j
}

// update changes job id under the lock (nothing if it was dropped).
func (js *jobs) update(id int, f func(*job)) {
	js.mu.Lock()
	defer js.mu.Unlock()
	for _, j := range js.list {
		if j.ID == id {
			f(j)
			return
		}
	}
}

// followCatchUp polls a replica added by CLUSTER ADDREPLICA, as the user
// who added it, until it has applied everything the shard's leader had
// committed when it was added (the target): the percent is its applied
// index over that target. It ends failed when the replica is removed,
// the user's session ends, the dashboard closes, or limit passes.
func (d *Dashboard) followCatchUp(s *session, snap job, every, limit time.Duration) {
	defer d.done.Done()
	req := *snap.catchUp
	deadline := time.Now().Add(limit)
	t := time.NewTicker(every)
	defer t.Stop()
	var target uint64
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := d.catchUpState(ctx, s, req.Shard, req.Node)
		cancel()
		state, detail := "running", ""
		switch {
		case err != nil:
			detail = "waiting: " + errText(err)
		case st.gone:
			state, detail = "failed", fmt.Sprintf("node %d no longer holds a replica of shard %d", req.Node, req.Shard)
		default:
			if target == 0 {
				target = st.leaderCommit
			}
			switch {
			case !st.started:
				detail = fmt.Sprintf("the replica has not started on node %d yet (leader commit %d)", req.Node, st.leaderCommit)
			case st.applied >= target && st.following:
				state = "done"
				detail = fmt.Sprintf("in sync: applied %d, leader commit %d", st.applied, st.leaderCommit)
			default:
				detail = fmt.Sprintf("applied %d of %d (leader commit now %d, %d behind)", st.applied, target, st.leaderCommit,
					int64(st.leaderCommit)-int64(min(st.applied, st.leaderCommit)))
			}
		}
		if state == "running" && time.Now().After(deadline) {
			state, detail = "failed", fmt.Sprintf("not in sync after %v: %s", limit, detail)
		}
		s.mu.Lock()
		closing := s.closing
		s.mu.Unlock()
		if state == "running" && closing {
			state, detail = "failed", "the session that added the replica ended: "+detail
		}
		d.jobs.update(snap.ID, func(j *job) {
			j.Detail, j.Target, j.LeaderCommit = detail, target, st.leaderCommit
			if st.started {
				j.Applied = st.applied
			}
			if target > 0 {
				j.Percent = int(min(j.Applied*100/target, 100))
			}
			if state != "running" {
				j.State, j.Ended = state, time.Now()
				if state == "done" {
					j.Percent = 100
				}
			}
		})
		if state != "running" {
			d.log.Info("dashboard replica catch-up", "user", s.user, "cmd", snap.Command, "job", snap.ID, "state", state, "detail", detail)
			return
		}
		select {
		case <-d.stop:
			return
		case <-t.C:
		}
	}
}

// catchUp is what the cluster says of a new replica.
type catchUp struct {
	gone         bool // the directory no longer lists the node in the shard
	started      bool // the node reports its replica (INFO raft)
	following    bool // ... which knows a leader and is not halted
	applied      uint64
	leaderCommit uint64
}

// catchUpState reads the directory, then INFO raft of the shard's leader
// and of the new replica's node, as the signed-in user.
func (d *Dashboard) catchUpState(ctx context.Context, s *session, shard, node int) (catchUp, error) {
	var st catchUp
	t, err := readTopology(ctx, s.conn)
	if err != nil {
		return st, err
	}
	addr := map[uint64]string{}
	for _, n := range t.Nodes {
		addr[n.ID] = n.Client
	}
	var leader uint64
	found, holds := false, false
	for _, sh := range t.Shards {
		if sh.ID != uint64(shard) {
			continue
		}
		found, leader = true, sh.CurrentLeader
		for _, r := range sh.Replicas {
			holds = holds || r == uint64(node)
		}
	}
	if !found || !holds {
		st.gone = true
		return st, nil
	}
	id := strconv.Itoa(shard)
	raftOf := func(n uint64) (map[string]string, error) {
		var conn Conn = s.conn
		if n != t.Myself {
			var err error
			if conn, err = d.peer(ctx, s, addr[n]); err != nil {
				return nil, fmt.Errorf("node %d (%s): %w", n, addr[n], err)
			}
		}
		r, err := conn.Do(ctx, "INFO", "raft")
		if err != nil {
			return nil, fmt.Errorf("node %d (%s): %w", n, addr[n], err)
		}
		return raftShards(parseInfo(str(r)))[id], nil
	}
	if leader == 0 {
		return st, fmt.Errorf("shard %d has no leader", shard)
	}
	lm, err := raftOf(leader)
	if err != nil {
		return st, err
	}
	if lm == nil {
		return st, fmt.Errorf("the leader's node %d does not report shard %d", leader, shard)
	}
	st.leaderCommit = uint64(toInt(lm["commit_index"]))
	nm, err := raftOf(uint64(node))
	if err != nil || nm == nil {
		return st, err // nm nil: not started yet
	}
	st.started = true
	st.applied = uint64(toInt(nm["applied_index"]))
	st.following = nm["halted"] != "1" && toInt(nm["leader"]) != 0
	return st, nil
}

func (h opsHandler) jobs(c *gin.Context) {
	js := h.d.jobs.snapshot()
	progress(c.Request.Context(), sess(c).conn, js)
	c.JSON(http.StatusOK, gin.H{"jobs": js})
}

// progress fills the percent of running slot moves from the cluster
// directory (CLUSTER TOPOLOGY): the share of the moved range that the
// target shard owns by now.
func progress(ctx context.Context, conn Conn, js []job) {
	var t *topology
	for i := range js {
		j := &js[i]
		if j.State != "running" || j.move == nil {
			continue
		}
		if t == nil {
			var err error
			if t, err = readTopology(ctx, conn); err != nil {
				return
			}
		}
		owned := 0
		for _, r := range t.Slots {
			if r.Shard != uint64(j.move.Shard) {
				continue
			}
			lo, hi := max(r.Start, j.move.Start), min(r.End, j.move.End)
			if lo <= hi {
				owned += hi - lo + 1
			}
		}
		j.Percent = owned * 100 / (j.move.End - j.move.Start + 1)
	}
}

// start checks the user may run args, then runs it in the background as
// that user and answers 202 with the job.
func (h opsHandler) start(c *gin.Context, move *moveReq, args ...string) {
	s := sess(c)
	if ok, why := h.d.can(c.Request.Context(), s, args...); !ok {
		h.d.log.Info("dashboard action denied", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(args), "why", why)
		c.JSON(http.StatusForbidden, gin.H{"error": "NOPERM " + why})
		return
	}
	j := &job{User: s.user, Command: auditCmd(args), Started: time.Now(), State: "running", move: move}
	snap := h.d.jobs.add(j)
	remote := c.ClientIP()
	h.d.log.Info("dashboard action started", "user", s.user, "remote", remote, "cmd", j.Command, "job", j.ID)
	anyArgs := make([]any, len(args))
	for i, a := range args {
		anyArgs[i] = a
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Hour)
		defer cancel()
		v, err := s.conn.Do(ctx, anyArgs...)
		h.d.jobs.mu.Lock()
		defer h.d.jobs.mu.Unlock()
		j.Ended = time.Now()
		if err != nil {
			j.State, j.Result = "failed", errText(err)
		} else {
			j.State, j.Result, j.Percent = "done", str(v), 100
		}
		h.d.log.Info("dashboard action", "user", s.user, "remote", remote, "cmd", j.Command, "job", j.ID, "state", j.State, "result", j.Result)
	}()
	c.JSON(http.StatusAccepted, gin.H{"job": snap, "text": fmt.Sprintf("job %d started", snap.ID)})
}
