package telemetry

import (
	"context"
	"errors"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// Attribute keys. db.operation.name is the OpenTelemetry semantic
// convention for a database operation's name.
const (
	attrOperation = attribute.Key("db.operation.name")
	attrShard     = attribute.Key("cairn.shard.id")
	attrReplica   = attribute.Key("cairn.replica.id")
	attrKind      = attribute.Key("cairn.request.kind")
	attrDB        = attribute.Key("db")
	attrCPUMode   = attribute.Key("cpu.mode")
	attrIndex     = attribute.Key("cairn.search.index")
	attrRegion    = attribute.Key("cairn.region.name")
	attrRole      = attribute.Key("cairn.region.role")
)

// register creates the observable instruments and the one callback that
// reads src for all of them at each collection.
func register(m metric.Meter, src Source) (metric.Registration, error) {
	var errs []error
	counter := func(name, unit, desc string) metric.Int64ObservableCounter {
		c, err := m.Int64ObservableCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return c
	}
	gauge := func(name, unit, desc string) metric.Int64ObservableGauge {
		g, err := m.Int64ObservableGauge(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return g
	}
	updown := func(name, unit, desc string) metric.Int64ObservableUpDownCounter {
		u, err := m.Int64ObservableUpDownCounter(name, metric.WithUnit(unit), metric.WithDescription(desc))
		errs = append(errs, err)
		return u
	}
	var (
		clients    = updown("redis.clients.connected", "{client}", "Client connections.")
		received   = counter("redis.connections.received", "{connection}", "Connections accepted.")
		rejected   = counter("redis.connections.rejected", "{connection}", "Connections refused (maxclients).")
		processed  = counter("redis.commands.processed", "{command}", "Commands processed.")
		errReplies = counter("redis.errors.replies", "{reply}", "Error replies sent.")
		netOut     = counter("redis.net.output", "By", "Bytes written to clients.")
		hits       = counter("redis.keyspace.hits", "{hit}", "Key lookups that found their key.")
		misses     = counter("redis.keyspace.misses", "{miss}", "Key lookups that missed.")
		expired    = counter("redis.keys.expired", "{event}", "Keys removed by expiry.")
		evicted    = counter("redis.keys.evicted", "{event}", "Keys evicted by maxmemory-policy.")
		keys       = updown("redis.db.keys", "{key}", "Keys in the shards this node serves.")
		expires    = updown("redis.db.expires", "{key}", "Keys with a TTL in the shards this node serves.")
		memUsed    = gauge("redis.memory.used", "By", "Accounted dataset size (used_memory, what maxmemory limits).")
		memRSS     = gauge("redis.memory.rss", "By", "Resident set size of the process.")
		maxMem     = gauge("redis.maxmemory", "By", "maxmemory (0: no limit).")
		cmdCalls   = counter("redis.cmd.calls", "{call}", "Calls per command.")
		cmdRej     = counter("redis.cmd.rejected", "{call}", "Calls per command refused before running (arity, ACL, MOVED ...).")
		cmdFail    = counter("redis.cmd.failed", "{call}", "Calls per command that replied with an error.")
		isLeader   = gauge("cairn.raft.leader", "", "1 if this replica leads the shard, else 0.")
		term       = gauge("cairn.raft.term", "{term}", "Raft term of the shard.")
		applied    = gauge("cairn.raft.applied_index", "{entry}", "Last log index the replica applied.")
		leaderChg  = counter("cairn.raft.leader.changes", "{election}", "Leaders elected in the shard since the node started.")
		ftDocs     = updown("cairn.search.documents", "{document}", "Documents in the FT index (num_docs).")
		ftSize     = gauge("cairn.search.index.size", "By", "Memory of the FT index's vector graphs (vector_index_sz_mb).")
		ftFailures = counter("cairn.search.indexing_failures", "{document}", "Hashes the FT index could not index (hash_indexing_failures).")
		fnLibs     = updown("cairn.functions.libraries", "{library}", "Function libraries loaded in the shard.")
		fnCalls    = counter("cairn.functions.calls", "{call}", "Function calls (FCALL, FCALL_RO) this replica ran.")
		fnFuel     = counter("cairn.functions.fuel", "{fuel}", "Fuel consumed by this replica's function calls.")
		bkDone     = counter("cairn.backup.completed", "{backup}", "Backups this node took and verified since it started (BACKUP CREATE, the schedule).")
		bkFailed   = counter("cairn.backup.failed", "{backup}", "Backups this node failed to take since it started.")
		bkLast     = gauge("cairn.backup.last_success.time", "s", "When the last backup completed (Unix time, seconds; absent before the first).")
		bkSize     = gauge("cairn.backup.size", "By", "Size of the last completed backup (every file's plaintext).")
		rgRole     = gauge("cairn.region.role", "", "1, with the region's name and role (primary, secondary) as attributes.")
		rgLagN     = gauge("cairn.region.lag.entries", "{entry}", "Log entries a secondary region's shard is behind the primary (this node's pulled shards).")
		rgLinkUp   = gauge("cairn.region.link.up", "", "1 if the shard's link to the primary region is up, else 0 (this node's pulled shards).")
		rgSnaps    = counter("cairn.region.snapshots", "{snapshot}", "Primary snapshots the shard installed to catch up since the node started.")
	)
	rgLag, err := m.Float64ObservableGauge("cairn.region.lag", metric.WithUnit("s"),
		metric.WithDescription("How far behind the primary region a secondary's shard is in time (REGION INFO lag_ms; this node's pulled shards)."))
	errs = append(errs, err)
	cpu, err := m.Float64ObservableCounter("process.cpu.time", metric.WithUnit("s"), metric.WithDescription("CPU time of the process, by mode (user, system)."))
	errs = append(errs, err)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	db0 := metric.WithAttributes(attrDB.String("0"))
	cpuUser := metric.WithAttributes(attrCPUMode.String("user"))
	cpuSystem := metric.WithAttributes(attrCPUMode.String("system"))
	fcall, fcallRO := attrOperation.String("fcall"), attrOperation.String("fcall_ro")
	return m.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		n := src.Node()
		o.ObserveInt64(clients, n.ClientsConnected)
		o.ObserveInt64(received, n.ConnectionsReceived)
		o.ObserveInt64(rejected, n.ConnectionsRejected)
		o.ObserveInt64(processed, n.CommandsProcessed)
		o.ObserveInt64(errReplies, n.ErrorReplies)
		o.ObserveInt64(netOut, n.NetOutputBytes)
		o.ObserveInt64(hits, n.KeyspaceHits)
		o.ObserveInt64(misses, n.KeyspaceMisses)
		o.ObserveInt64(expired, n.KeysExpired)
		o.ObserveInt64(evicted, n.KeysEvicted)
		o.ObserveInt64(keys, n.Keys, db0)
		o.ObserveInt64(expires, n.Expires, db0)
		o.ObserveInt64(memUsed, n.MemoryUsed)
		o.ObserveInt64(memRSS, n.MemoryRSS)
		o.ObserveInt64(maxMem, n.MaxMemory)
		o.ObserveFloat64(cpu, n.CPUUser.Seconds(), cpuUser)
		o.ObserveFloat64(cpu, n.CPUSystem.Seconds(), cpuSystem)
		if bs, ok := src.(BackupSource); ok {
			if b, ok := bs.Backups(); ok {
				o.ObserveInt64(bkDone, b.Completed)
				o.ObserveInt64(bkFailed, b.Failed)
				if !b.LastSuccess.IsZero() {
					o.ObserveInt64(bkLast, b.LastSuccess.Unix())
					o.ObserveInt64(bkSize, b.LastSize)
				}
			}
		}
		if rs, ok := src.(RegionSource); ok {
			if r, ok := rs.Region(); ok {
				region := attrRegion.String(r.Name)
				o.ObserveInt64(rgRole, 1, metric.WithAttributes(region, attrRole.String(r.Role)))
				for _, sh := range r.Shards {
					at := metric.WithAttributes(region, attrShard.Int64(int64(sh.ID)))
					o.ObserveFloat64(rgLag, sh.Lag.Seconds(), at)
					o.ObserveInt64(rgLagN, int64(sh.LagEntries), at)
					up := int64(0)
					if sh.LinkUp {
						up = 1
					}
					o.ObserveInt64(rgLinkUp, up, at)
					o.ObserveInt64(rgSnaps, int64(sh.Snapshots), at)
				}
			}
		}
		src.Commands(func(c Command) {
			op := metric.WithAttributes(attrOperation.String(c.Name))
			o.ObserveInt64(cmdCalls, c.Calls, op)
			o.ObserveInt64(cmdRej, c.Rejected, op)
			o.ObserveInt64(cmdFail, c.Failed, op)
		})
		src.Shards(func(s Shard) {
			at := metric.WithAttributes(attrShard.Int64(int64(s.ID)), attrReplica.Int64(int64(s.Replica)))
			l := int64(0)
			if s.Leader {
				l = 1
			}
			o.ObserveInt64(isLeader, l, at)
			o.ObserveInt64(term, int64(s.Term), at)
			o.ObserveInt64(applied, int64(s.Applied), at)
			o.ObserveInt64(leaderChg, int64(s.LeaderChanges), at)
			o.ObserveInt64(fnLibs, s.Libraries, at)
			sh, rep := attrShard.Int64(int64(s.ID)), attrReplica.Int64(int64(s.Replica))
			o.ObserveInt64(fnCalls, s.Calls, metric.WithAttributes(sh, rep, fcall))
			o.ObserveInt64(fnCalls, s.CallsRO, metric.WithAttributes(sh, rep, fcallRO))
			o.ObserveInt64(fnFuel, s.Fuel, at)
			for _, ix := range s.Indexes {
				ia := metric.WithAttributes(sh, rep, attrIndex.String(ix.Name))
				o.ObserveInt64(ftDocs, ix.Docs, ia)
				o.ObserveInt64(ftSize, ix.Bytes, ia)
				o.ObserveInt64(ftFailures, ix.Failures, ia)
			}
		})
		return nil
	}, clients, received, rejected, processed, errReplies, netOut, hits, misses, expired, evicted,
		keys, expires, memUsed, memRSS, maxMem, cpu, cmdCalls, cmdRej, cmdFail, isLeader, term, applied, leaderChg,
		ftDocs, ftSize, ftFailures, fnLibs, fnCalls, fnFuel, bkDone, bkFailed, bkLast, bkSize,
		rgRole, rgLag, rgLagN, rgLinkUp, rgSnaps)
}
