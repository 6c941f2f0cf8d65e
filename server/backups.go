package server

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/backup"
	"github.com/cairndb/cairn/server/cluster/control"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// Backups (package backup): the node's backup store, the daily schedule
// and the log archive, wired to the node's shard (single-node mode) or to
// every shard of the cluster's directory (cluster mode: each shard from
// this node's replica if it hosts one, else from its leader's node; the
// directory is recorded next to them). The log archive follows the
// node's shard while it leads it (single-node mode), or every shard this
// node hosts a replica of (cluster mode: from the replica's own committed
// log, so every node archives every shard it hosts and a restore merges
// the nodes' archives, see backup.ReplayArchives). With
// --encryption-key-file every backup file and archived segment is
// encrypted with the node's keys.

// SnapshotFormat is the snapshot stream header backups record.
const SnapshotFormat = "CAIRNSM6"

// shardSource adapts a shard to backup.Source and backup.LogSource; a
// replica (cluster mode) is archived whether it leads or not.
type shardSource struct {
	s       *shard.Shard
	replica bool
}

func (ss shardSource) ID() uint64      { return ss.s.ID() }
func (ss shardSource) Slots() [][2]int { return [][2]int{{0, 16383}} } // single-node: every slot
func (ss shardSource) Archive() bool   { return ss.replica || ss.s.IsLeader() }

func (ss shardSource) WriteSnapshot(w io.Writer) (backup.Point, error) {
	p, err := ss.s.WriteBackup(w)
	return backup.Point{Index: p.Index, Time: p.Time}, err
}

func (ss shardSource) ReadCommitted(from uint64, max int) ([]backup.Entry, error) {
	ents, err := ss.s.ReadCommitted(from, max)
	if err != nil {
		if errors.Is(err, shard.ErrCompacted) {
			return nil, fmt.Errorf("%w: %v", backup.ErrCompacted, err)
		}
		return nil, err
	}
	out := make([]backup.Entry, len(ents))
	for i, e := range ents {
		out[i] = backup.Entry{Index: e.Index, Data: e.Data}
	}
	return out, nil
}

func (ss shardSource) FirstIndex() (uint64, error) {
	first, _, err := ss.s.LogRange()
	return first, err
}

// clusterSource adapts one shard of the cluster directory to
// backup.Source.
type clusterSource struct {
	c     *control.Plane
	id    uint64
	slots [][2]int
}

func (cs clusterSource) ID() uint64      { return cs.id }
func (cs clusterSource) Slots() [][2]int { return cs.slots }

func (cs clusterSource) WriteSnapshot(w io.Writer) (backup.Point, error) {
	p, err := cs.c.WriteShardBackup(cs.id, w)
	return backup.Point{Index: p.Index, Time: p.Time}, err
}

// logSources are the shards the log archive follows: the node's shard,
// or every shard replica this node hosts.
func (n *Node) logSources() []backup.LogSource {
	if n.cluster == nil {
		return []backup.LogSource{shardSource{s: n.shard}}
	}
	var out []backup.LogSource
	for _, s := range n.cluster.LocalReplicas() {
		out = append(out, shardSource{s: s, replica: true})
	}
	return out
}

// backupSources are the shards a backup takes: the node's shard, or every
// shard of the cluster's directory.
func (n *Node) backupSources() []backup.Source {
	if n.cluster == nil {
		return []backup.Source{shardSource{s: n.shard}}
	}
	var out []backup.Source
	for _, bs := range n.cluster.BackupShards() {
		out = append(out, clusterSource{c: n.cluster, id: bs.ID, slots: bs.Slots})
	}
	return out
}

// loader returns a backup.Loader that decodes a snapshot stream with a
// digester (shard.NewDigester: every section decoded as a load would, the
// keyspace's items digested one by one rather than built into a scratch
// keyspace) with this node's command table and Wasm runtime, and reports
// the index, state digest and key count a full load would.
func (n *Node) loader() backup.Loader {
	return func(r io.Reader) (backup.Loaded, error) {
		off := shard.NewDigester(Commands(n.cfg.ExtraCommands), n.modules, n.log)
		defer off.Close()
		if err := off.Load(r); err != nil {
			return backup.Loaded{}, err
		}
		return backup.Loaded{Index: off.Applied(), Digest: off.Digest(), Keys: off.Keys()}, nil
	}
}

// startBackups starts the backup store, schedule and log archive the
// configuration asks for.
func (n *Node) startBackups() error {
	cfg := &n.cfg
	if cfg.BackupDir == "" {
		return nil
	}
	n.backups = &backup.Store{Dir: cfg.BackupDir, Load: n.loader(), Mode: "single", SnapshotFormat: SnapshotFormat, Log: n.log, RaftAddr: cfg.RaftAddr, Keys: n.keys,
		CPUShare: cfg.BackupCPUShare}
	if n.cluster != nil {
		n.backups.Mode, n.backups.Node, n.backups.Directory = "cluster", n.cluster.NodeID(), n.cluster.DirectoryJSON
	}
	if cfg.LogArchive {
		n.archiver = backup.StartArchiver(cfg.BackupDir, n.keys, n.logSources, cfg.archiveInterval, n.log)
	}
	if cfg.BackupWindow != "" || cfg.BackupRetentionDays > 0 {
		sc := &backup.Schedule{Store: n.backups, RetentionDays: cfg.BackupRetentionDays, Log: n.log, Interval: cfg.backupCheckInterval,
			Sources: n.backupSources}
		if n.cluster != nil {
			// One scheduled backup per window for the whole cluster.
			sc.Elected = n.cluster.DirectoryLeader
		}
		if cfg.BackupWindow != "" {
			w, err := backup.ParseWindow(cfg.BackupWindow)
			if err != nil {
				return err
			}
			sc.Window = &w
		}
		sc.Start()
		n.schedule = sc
	}
	return nil
}

// stopBackups stops the schedule and the archiver (after a last round, so
// everything applied is archived).
func (n *Node) stopBackups() {
	if n.schedule != nil {
		n.schedule.Close()
	}
	if n.archiver != nil {
		n.archiver.Sync()
		n.archiver.Close()
	}
}

// ArchiveSync archives everything committed so far (tests).
func (n *Node) ArchiveSync() {
	if n.archiver != nil {
		n.archiver.Sync()
	}
}

// BackupSchedule is the node's backup schedule (nil without one), for
// tests.
func (n *Node) BackupSchedule() *backup.Schedule { return n.schedule }

// Backup implements session.BackupBackend: the BACKUP command.
func (b *backend) Backup(args [][]byte) reply.Value {
	if b.backups == nil {
		return reply.Error("ERR backups are not configured: start the server with --backup-dir")
	}
	st := b.backups
	switch sub := strings.ToLower(string(args[1])); sub {
	case "create":
		name := ""
		if len(args) == 3 {
			name = string(args[2])
		}
		m, err := st.Create(name, (*Node)(b).backupSources(), false)
		if err != nil {
			return backupError(err, name)
		}
		return reply.BulkString(m.Name)
	case "list":
		all, err := st.List()
		if err != nil {
			return reply.Error("ERR " + err.Error())
		}
		out := make([]reply.Value, len(all))
		for i, m := range all {
			out[i] = manifestReply(m, false)
		}
		return reply.Array(out...)
	case "info":
		m, err := st.Info(string(args[2]), false)
		if err != nil {
			return backupError(err, string(args[2]))
		}
		return manifestReply(m, true)
	case "delete":
		if err := st.Delete(string(args[2])); err != nil {
			return backupError(err, string(args[2]))
		}
		return reply.OK
	}
	return reply.Error(fmt.Sprintf("ERR unknown subcommand '%s'. Try BACKUP HELP.", args[1]))
}

// backupError turns a backup error into one error line.
func backupError(err error, name string) reply.Value {
	switch {
	case errors.Is(err, backup.ErrNotFound):
		return reply.Error(fmt.Sprintf("ERR no such backup '%s'", name))
	case errors.Is(err, backup.ErrBadName):
		return reply.Error("ERR " + err.Error())
	}
	return reply.Error("ERR " + strings.ReplaceAll(err.Error(), "\n", " "))
}

// manifestReply is one backup as BACKUP LIST (and, with shards, INFO)
// shows it.
func manifestReply(m *backup.Manifest, shards bool) reply.Value {
	var size int64
	keys := 0
	for _, s := range m.Shards {
		size += s.Size
		keys += s.Keys
	}
	kv := []reply.Value{
		reply.BulkString("name"), reply.BulkString(m.Name),
		reply.BulkString("created"), reply.BulkString(m.Created.Format(time.RFC3339)),
		reply.BulkString("status"), reply.BulkString("complete"),
		reply.BulkString("scheduled"), reply.Int(boolInt(m.Scheduled)),
		reply.BulkString("keys"), reply.Int(int64(keys)),
		reply.BulkString("size"), reply.Int(size),
	}
	if !shards {
		return reply.Map(kv...)
	}
	kv[5] = reply.BulkString("verified")
	kv = append(kv,
		reply.BulkString("format"), reply.Int(int64(m.Format)),
		reply.BulkString("mode"), reply.BulkString(m.Mode),
		reply.BulkString("duration"), reply.BulkString(m.Duration),
		reply.BulkString("encrypted"), reply.Int(boolInt(m.Encrypted)),
	)
	sh := make([]reply.Value, len(m.Shards))
	for i, s := range m.Shards {
		slots := make([]reply.Value, len(s.Slots))
		for j, r := range s.Slots {
			slots[j] = reply.BulkString(strconv.Itoa(r[0]) + "-" + strconv.Itoa(r[1]))
		}
		sh[i] = reply.Map(
			reply.BulkString("shard"), reply.Int(int64(s.ID)),
			reply.BulkString("log_index"), reply.Int(int64(s.Index)),
			reply.BulkString("time"), reply.BulkString(time.UnixMilli(s.Time).UTC().Format(time.RFC3339Nano)),
			reply.BulkString("slots"), reply.Array(slots...),
			reply.BulkString("digest"), reply.BulkString(s.Digest),
			reply.BulkString("keys"), reply.Int(int64(s.Keys)),
			reply.BulkString("file"), reply.BulkString(s.File),
			reply.BulkString("size"), reply.Int(s.Size),
			reply.BulkString("sha256"), reply.BulkString(s.SHA256),
		)
	}
	kv = append(kv, reply.BulkString("shards"), reply.Array(sh...))
	return reply.Map(kv...)
}

// BackupInfo implements session.BackupBackend: INFO's backups section.
func (b *backend) BackupInfo() [][2]string {
	if b.backups == nil {
		return nil
	}
	out := [][2]string{{"backup_dir", b.cfg.BackupDir}}
	all, err := b.backups.List()
	out = append(out, [2]string{"backups", strconv.Itoa(len(all))})
	if err != nil {
		out = append(out, [2]string{"backup_list_error", strings.ReplaceAll(err.Error(), "\r\n", " ")})
	}
	if len(all) > 0 {
		last := all[len(all)-1]
		out = append(out, [2]string{"last_backup", last.Name}, [2]string{"last_backup_time", strconv.FormatInt(last.Created.Unix(), 10)})
	}
	out = append(out, [2]string{"backup_in_progress", strconv.FormatInt(boolInt(b.backups.Busy()), 10)})
	if b.cfg.BackupWindow != "" {
		out = append(out, [2]string{"backup_window", b.cfg.BackupWindow})
	}
	out = append(out, [2]string{"backup_retention_days", strconv.Itoa(b.cfg.BackupRetentionDays)})
	if b.archiver == nil {
		return append(out, [2]string{"log_archive", "no"})
	}
	out = append(out, [2]string{"log_archive", "yes"})
	for _, st := range b.archiver.Status() {
		v := fmt.Sprintf("last_index=%d,last_time_ms=%d,gaps=%d", st.Last, st.LastTime, st.Gaps)
		if st.Err != "" {
			v += ",last_error=" + strings.NewReplacer(",", ";", "\r", " ", "\n", " ").Replace(st.Err)
		}
		out = append(out, [2]string{"log_archive_shard_" + strconv.FormatUint(st.Shard, 10), v})
	}
	return out
}

// DirectoryLeader tells whether this node leads the cluster directory
// (false outside cluster mode), for tests.
func (n *Node) DirectoryLeader() bool { return n.cluster != nil && n.cluster.DirectoryLeader() }

// BackupChunksServed is the number of backup chunks this node has served
// to other nodes (CLUSTER BACKUPSHARD READ), for tests.
func (n *Node) BackupChunksServed() int64 {
	if n.cluster == nil {
		return 0
	}
	return n.cluster.BackupChunksServed()
}
