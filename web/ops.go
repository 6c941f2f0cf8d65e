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
	Jobs          []job
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
	if r, err := conn.Do(ctx, "REGION", "INFO"); err != nil {
		v.RegionErr = errText(err)
	} else {
		v.Regions = parseInfo("# r\n" + str(r)).section("r")
		if len(v.Regions) == 0 {
			v.Regions = []kv{{"reply", str(r)}}
		}
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
}

// promote sends REGION PROMOTE [FORCE] (the page shows REGION INFO's
// loss figures and asks for confirmation first).
func (h opsHandler) promote(c *gin.Context) {
	var req promoteReq
	_ = c.ShouldBindJSON(&req)
	args := []any{"REGION", "PROMOTE"}
	if req.Force {
		args = append(args, "FORCE")
	}
	if v, ok := h.d.act(c, args...); ok {
		c.JSON(http.StatusOK, gin.H{"reply": v, "text": str(v)})
	}
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
	h.d.jobs.mu.Lock()
	h.d.jobs.next++
	j := &job{ID: h.d.jobs.next, User: s.user, Command: auditCmd(args), Started: time.Now(), State: "running", move: move}
	h.d.jobs.list = append(h.d.jobs.list, j)
	if len(h.d.jobs.list) > 50 {
		h.d.jobs.list = h.d.jobs.list[1:]
	}
	snap := *j
	h.d.jobs.mu.Unlock()
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
