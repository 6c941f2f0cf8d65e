package session

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/cairndb/cairn/server/reply"
)

var infoSections = []string{"server", "clients", "memory", "persistence", "stats", "replication", "cpu", "raft", "commandstats", "errorstats", "cluster", "regions", "backups", "keyspace"}

// defaultSections are printed by a bare INFO (Redis leaves out
// commandstats and latencystats there).
var defaultSections = map[string]bool{"server": true, "clients": true, "memory": true, "persistence": true, "stats": true, "replication": true, "cpu": true, "raft": true, "keyspace": true, "errorstats": true, "cluster": true, "regions": true, "backups": true}

func info(s *Server, c *client, args [][]byte) reply.Value {
	want := map[string]bool{}
	if len(args) == 1 {
		want = defaultSections
	}
	for _, a := range args[1:] {
		switch sec := strings.ToLower(string(a)); sec {
		case "all", "everything":
			for _, n := range infoSections {
				want[n] = true
			}
		case "default":
			for n := range defaultSections {
				want[n] = true
			}
		default:
			want[sec] = true
		}
	}
	var b strings.Builder
	st := c.be.Status()
	for _, sec := range infoSections {
		if !want[sec] {
			continue
		}
		// Cairn's own sections, left out where they do not apply.
		var extra [][2]string
		switch sec {
		case "regions":
			if rb, ok := s.backend.(RegionBackend); ok {
				extra = rb.RegionInfo()
			}
		case "backups":
			if bb, ok := s.backend.(BackupBackend); ok {
				extra = bb.BackupInfo()
			}
		}
		if extra == nil && (sec == "regions" || sec == "backups") {
			continue
		}
		if b.Len() > 0 {
			b.WriteString("\r\n")
		}
		if extra != nil {
			b.WriteString("# " + strings.ToUpper(sec[:1]) + sec[1:] + "\r\n")
			for _, p := range extra {
				kv(&b, p[0], p[1])
			}
			continue
		}
		s.writeSection(&b, sec, st)
	}
	return reply.Value{Kind: reply.KindVerbatim, Str: []byte(b.String())}
}

func kv(b *strings.Builder, k string, v any) { fmt.Fprintf(b, "%s:%v\r\n", k, v) }

func (s *Server) writeSection(b *strings.Builder, sec string, st Status) {
	now := time.Now()
	switch sec {
	case "server":
		b.WriteString("# Server\r\n")
		kv(b, "redis_version", s.cfg.Version)
		kv(b, "cairn_version", "0.1.0")
		kv(b, "redis_mode", "standalone")
		kv(b, "os", runtime.GOOS+" "+runtime.GOARCH)
		kv(b, "arch_bits", 64)
		kv(b, "go_version", runtime.Version())
		kv(b, "process_id", os.Getpid())
		kv(b, "run_id", s.cfg.RunID)
		kv(b, "tcp_port", s.cfg.Port)
		kv(b, "server_time_usec", now.UnixMicro())
		up := int64(now.Sub(s.start) / time.Second)
		kv(b, "uptime_in_seconds", up)
		kv(b, "uptime_in_days", up/86400)
		kv(b, "hz", 10)
		kv(b, "executable", executable())
		kv(b, "config_file", s.cfg.ConfigFile)
	case "clients":
		s.mu.Lock()
		n := len(s.clients)
		s.mu.Unlock()
		b.WriteString("# Clients\r\n")
		kv(b, "connected_clients", n)
		kv(b, "maxclients", s.params.maxClients())
		kv(b, "blocked_clients", s.blocked.n.Load())
		kv(b, "tracking_clients", s.trk.n.Load())
		s.watches.mu.Lock()
		wk := len(s.watches.keys)
		s.watches.mu.Unlock()
		kv(b, "watching_clients", s.watchingClients())
		kv(b, "total_watched_keys", wk)
		kv(b, "pubsub_clients", s.pubsubClients())
	case "memory":
		var m runtime.MemStats
		runtime.ReadMemStats(&m)
		rss := rssBytes()
		mi := s.memory()
		used := uint64(max(mi.Used, 0))
		peak := s.memPeak.Load()
		for used > peak && !s.memPeak.CompareAndSwap(peak, used) {
			peak = s.memPeak.Load()
		}
		peak = max(peak, used)
		b.WriteString("# Memory\r\n")
		// used_memory is the accounted dataset size that maxmemory
		// limits (the same on every replica); the process's own memory
		// is used_memory_rss and used_memory_go_heap.
		kv(b, "used_memory", used)
		kv(b, "used_memory_human", human(used))
		kv(b, "used_memory_rss", rss)
		kv(b, "used_memory_rss_human", human(rss))
		kv(b, "used_memory_peak", peak)
		kv(b, "used_memory_peak_human", human(peak))
		kv(b, "used_memory_dataset", used)
		kv(b, "used_memory_go_heap", m.HeapAlloc)
		kv(b, "used_memory_go_heap_human", human(m.HeapAlloc))
		kv(b, "total_system_memory", totalMemory())
		kv(b, "maxmemory", mi.Max)
		kv(b, "maxmemory_human", human(uint64(max(mi.Max, 0))))
		kv(b, "maxmemory_policy", mi.Policy)
		kv(b, "memory_guard_limit", mi.GuardLimit)
		if m.HeapAlloc > 0 {
			kv(b, "mem_fragmentation_ratio", fmt.Sprintf("%.2f", float64(rss)/float64(m.HeapAlloc)))
		}
		kv(b, "mem_allocator", "go")
		kv(b, "lazyfree_pending_objects", st.LazyfreePending)
		kv(b, "lazyfreed_objects", st.Lazyfreed)
		kv(b, "gc_cycles", m.NumGC)
	case "persistence":
		b.WriteString("# Persistence\r\n")
		kv(b, "loading", 0)
		kv(b, "rdb_changes_since_last_save", st.Dirty)
		kv(b, "rdb_bgsave_in_progress", boolInt(st.SnapshotInProgress))
		kv(b, "rdb_last_save_time", st.LastSaveUnix)
		kv(b, "rdb_last_bgsave_status", map[bool]string{false: "ok", true: "err"}[st.SnapshotFailed])
		kv(b, "aof_enabled", 1)
		kv(b, "aof_rewrite_in_progress", 0)
		kv(b, "aof_last_write_status", "ok")
		kv(b, "durability", "raft")
	case "stats":
		b.WriteString("# Stats\r\n")
		kv(b, "total_connections_received", s.stats.connections.Load())
		kv(b, "total_commands_processed", s.stats.commands.Load())
		kv(b, "instantaneous_ops_per_sec", s.opsPerSec())
		kv(b, "total_net_output_bytes", s.stats.netOut.Load())
		kv(b, "rejected_connections", s.stats.rejectedConns.Load())
		kv(b, "expired_keys", st.ExpiredKeys)
		kv(b, "evicted_keys", s.memory().EvictedKeys)
		kv(b, "keyspace_hits", st.Hits)
		kv(b, "keyspace_misses", st.Misses)
		kv(b, "pubsub_channels", 0)
		kv(b, "pubsub_patterns", 0)
		_, tkeys, titems, tprefixes := s.trackingStats()
		kv(b, "tracking_total_keys", tkeys)
		kv(b, "tracking_total_items", titems)
		kv(b, "tracking_total_prefixes", tprefixes)
		kv(b, "total_error_replies", s.stats.errors.Load())
	case "replication":
		b.WriteString("# Replication\r\n")
		if st.MasterAddr != "" {
			// A cluster endpoint of a shard replica this node does not lead.
			host, port, _ := net.SplitHostPort(st.MasterAddr)
			kv(b, "role", "slave")
			kv(b, "master_host", host)
			kv(b, "master_port", port)
			kv(b, "master_link_status", "up")
			kv(b, "slave_repl_offset", st.AppliedIndex)
			kv(b, "slave_read_only", 1)
		} else {
			kv(b, "role", "master")
		}
		kv(b, "connected_slaves", st.Replicas)
		kv(b, "master_repl_offset", st.AppliedIndex)
	case "cpu":
		var ru syscall.Rusage
		syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		b.WriteString("# CPU\r\n")
		kv(b, "used_cpu_sys", fmt.Sprintf("%.6f", tvSec(ru.Stime)))
		kv(b, "used_cpu_user", fmt.Sprintf("%.6f", tvSec(ru.Utime)))
	case "cluster":
		b.WriteString("# Cluster\r\n")
		enabled := 0
		if s.backend.ClusterEnabled() {
			enabled = 1
		}
		kv(b, "cluster_enabled", enabled)
	case "raft":
		b.WriteString("# Raft\r\n")
		kv(b, "raft_shard_id", st.ShardID)
		kv(b, "raft_replica_id", st.ReplicaID)
		kv(b, "raft_address", st.RaftAddr)
		kv(b, "raft_role", map[bool]string{true: "leader", false: "follower"}[st.IsLeader])
		kv(b, "raft_leader_id", st.LeaderID)
		kv(b, "raft_term", st.Term)
		kv(b, "raft_commit_index", max(st.LastLogIndex, st.AppliedIndex))
		kv(b, "raft_applied_index", st.AppliedIndex)
		kv(b, "raft_last_log_index", st.LastLogIndex)
		kv(b, "raft_snapshot_index", st.SnapshotIndex)
		kv(b, "raft_snapshot_entries", st.SnapshotEntries)
		kv(b, "raft_snapshot_in_progress", boolInt(st.SnapshotInProgress))
		kv(b, "raft_last_commit_latency_usec", st.LastCommit.Microseconds())
		kv(b, "raft_fsync_probe_usec", st.LastFsync.Microseconds())
		kv(b, "raft_data_dir", st.DataDir)
		kv(b, "raft_clock_ms", st.ClockMs)
		kv(b, "raft_clock_clamped_entries", st.ClockClamped)
		kv(b, "raft_fsync_p50_usec", st.FsyncP50.Microseconds())
		kv(b, "raft_fsync_p99_usec", st.FsyncP99.Microseconds())
		kv(b, "raft_halted_shards", len(st.Halted))
		for i, h := range st.Halted {
			kv(b, fmt.Sprint("raft_halted_", i), strings.ReplaceAll(h, "\r\n", " "))
		}
		now := time.Now().Unix()
		for _, sh := range st.Shards {
			age := int64(-1)
			if sh.LastSnapshotUnix > 0 {
				age = max(now-sh.LastSnapshotUnix, 0)
			}
			fmt.Fprintf(b, "raft_shard_%d:replica=%d,role=%s,leader=%d,term=%d,commit_index=%d,applied_index=%d,snapshot_index=%d,snapshot_age_sec=%d,commit_p50_usec=%d,commit_p99_usec=%d,halted=%d\r\n",
				sh.ID, sh.ReplicaID, map[bool]string{true: "leader", false: "follower"}[sh.IsLeader], sh.LeaderID, sh.Term,
				sh.CommitIndex, sh.AppliedIndex, sh.SnapshotIndex, age, sh.CommitP50.Microseconds(), sh.CommitP99.Microseconds(), boolInt(sh.Halted))
		}
	case "commandstats":
		b.WriteString("# Commandstats\r\n")
		var names []string
		bySpec := map[string]*cmdStat{}
		for sp, c := range s.cmdStats {
			if c.calls.Load()+c.rejected.Load() > 0 {
				names = append(names, sp.Name)
				bySpec[sp.Name] = c
			}
		}
		sort.Strings(names)
		for _, n := range names {
			c := bySpec[n]
			calls, usec := c.calls.Load(), c.usec.Load()
			per := 0.0
			if calls > 0 {
				per = float64(usec) / float64(calls)
			}
			fmt.Fprintf(b, "cmdstat_%s:calls=%d,usec=%d,usec_per_call=%.2f,rejected_calls=%d,failed_calls=%d\r\n",
				n, calls, usec, per, c.rejected.Load(), c.failed.Load())
		}
	case "errorstats":
		b.WriteString("# Errorstats\r\n")
	case "keyspace":
		b.WriteString("# Keyspace\r\n")
		if st.Keys > 0 {
			fmt.Fprintf(b, "db0:keys=%d,expires=%d,avg_ttl=0\r\n", st.Keys, st.Expires)
		}
	}
}

func (s *Server) opsPerSec() int64 {
	return s.opsRate.Load()
}

// sampleOps updates instantaneous_ops_per_sec once a second.
func (s *Server) sampleOps(stop <-chan struct{}) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	last := s.stats.commands.Load()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		n := s.stats.commands.Load()
		s.opsRate.Store(n - last)
		last = n
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func tvSec(tv syscall.Timeval) float64 { return float64(tv.Sec) + float64(tv.Usec)/1e6 }

func human(n uint64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.2fG", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.2fM", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.2fK", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%dB", n)
}

func executable() string {
	p, _ := os.Executable()
	return p
}

// rssBytes reads the resident set size from /proc.
func rssBytes() uint64 {
	b, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, rss uint64
	fmt.Sscanf(string(b), "%d %d", &size, &rss)
	return rss * uint64(os.Getpagesize())
}

func totalMemory() uint64 {
	var si syscall.Sysinfo_t
	if syscall.Sysinfo(&si) != nil {
		return 0
	}
	return si.Totalram * uint64(si.Unit)
}
