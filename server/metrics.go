package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"syscall"
	"time"

	"github.com/cairndb/cairn/regions"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/telemetry"
)

// startHTTP starts the metrics provider and the node's HTTP listener
// (Config.HTTPPort) with GET /metrics. The listener owns a ServeMux that
// other HTTP features (the dashboard) mount on with HandleHTTP. A failure
// to bind the default port (Config.HTTPOptional) is logged, not fatal.
// Without a listener the provider still runs when an OTLP endpoint is set.
func (n *Node) startHTTP() error {
	cfg := n.cfg
	var ln net.Listener
	if port := max(cfg.HTTPPort, 0); cfg.HTTPPort != 0 { // -1: a free port
		var err error
		if port > 65535 {
			err = fmt.Errorf("http port %d out of range", port)
		} else if ln, err = net.Listen("tcp", net.JoinHostPort(cfg.Bind, strconv.Itoa(port))); err != nil {
			err = fmt.Errorf("http listener: %w", err)
		}
		if err != nil {
			if !cfg.HTTPOptional {
				return err
			}
			n.log.Warn("no HTTP listener (metrics) on the default port; set --http-port", "err", err)
		}
	}
	if ln == nil && cfg.OTLPEndpoint == "" {
		return nil
	}
	tel, err := telemetry.New(telemetry.Config{
		Source:       (*metricsSource)(n),
		OTLPEndpoint: cfg.OTLPEndpoint,
		Instance:     n.Addr(),
		Logger:       n.log,
	})
	if err != nil {
		if ln != nil {
			ln.Close()
		}
		return err
	}
	n.tel = tel
	if ln == nil {
		return nil
	}
	n.mux = http.NewServeMux()
	n.mux.Handle("GET /metrics", tel.Handler())
	if n.httpsOn() {
		ln = tls.NewListener(ln, n.tls.HTTPSConfig())
	}
	n.httpLn = ln
	n.httpSrv = &http.Server{Handler: n.mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := n.httpSrv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			n.log.Error("HTTP listener stopped", "err", err)
		}
	}()
	return nil
}

// stopHTTP stops the HTTP listener, then the metrics provider (which
// pushes to the OTLP endpoint a last time).
func (n *Node) stopHTTP() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if n.httpSrv != nil {
		n.httpSrv.Shutdown(ctx)
	}
	if n.tel == nil {
		return
	}
	if err := n.tel.Shutdown(ctx); err != nil {
		n.log.Warn("metrics shutdown", "err", err)
	}
}

// httpsOn tells whether the HTTP listener serves HTTPS (Config.HTTPTLS).
func (n *Node) httpsOn() bool {
	switch n.cfg.HTTPTLS {
	case "no":
		return false
	}
	return n.tls != nil && n.tls.HasCertificate()
}

// HTTPS reports whether the HTTP listener serves HTTPS.
func (n *Node) HTTPS() bool { return n.httpLn != nil && n.httpsOn() }

// HTTPAddr returns the address of the HTTP listener, "" if the node has
// none.
func (n *Node) HTTPAddr() string {
	if n.httpLn == nil {
		return ""
	}
	return n.httpLn.Addr().String()
}

// Telemetry returns the node's metrics provider (nil when it has neither
// an HTTP listener nor an OTLP endpoint).
func (n *Node) Telemetry() *telemetry.Telemetry { return n.tel }

// HandleHTTP mounts h on the HTTP listener (a ServeMux pattern such as
// "GET /ui/"). It reports false when the node has no HTTP listener.
func (n *Node) HandleHTTP(pattern string, h http.Handler) bool {
	if n.mux == nil {
		return false
	}
	n.mux.Handle(pattern, h)
	return true
}

// metricsSource adapts the node to telemetry.Source: it reads the
// counters the session layer and the shards keep for INFO.
type metricsSource Node

func (m *metricsSource) Node() telemetry.Node {
	b := (*backend)(m)
	ss := m.srv.Stats()
	st := b.Status()
	mem := b.Memory()
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return telemetry.Node{
		CPUUser:             time.Duration(ru.Utime.Nano()),
		CPUSystem:           time.Duration(ru.Stime.Nano()),
		ClientsConnected:    int64(ss.Clients),
		ConnectionsReceived: ss.ConnectionsReceived,
		ConnectionsRejected: ss.ConnectionsRejected,
		CommandsProcessed:   ss.Commands,
		ErrorReplies:        ss.ErrorReplies,
		NetOutputBytes:      ss.NetOutBytes,
		KeyspaceHits:        st.Hits,
		KeyspaceMisses:      st.Misses,
		KeysExpired:         st.ExpiredKeys,
		KeysEvicted:         mem.EvictedKeys,
		Keys:                st.Keys,
		Expires:             st.Expires,
		MemoryUsed:          max(mem.Used, 0),
		MemoryRSS:           int64(session.RSS()),
		MaxMemory:           mem.Max,
	}
}

func (m *metricsSource) Commands(fn func(telemetry.Command)) {
	m.srv.CommandStats(func(c session.CommandStat) {
		kind := ""
		switch {
		case c.Write && c.Data:
			kind = "write"
		case c.Data:
			kind = "read"
		}
		fn(telemetry.Command{Name: c.Name, Kind: kind, Calls: c.Calls, Rejected: c.Rejected, Failed: c.Failed,
			Latency: telemetry.Histogram{Counts: c.Latency, Sum: time.Duration(c.Nsec)}})
	})
}

func (m *metricsSource) Shards(fn func(telemetry.Shard)) {
	for _, s := range (*backend)(m).shards() {
		sm := s.Metrics()
		var ixs []telemetry.Index
		for _, ix := range sm.Indexes {
			ixs = append(ixs, telemetry.Index{Name: ix.Name, Docs: ix.Docs, Bytes: ix.VectorBytes, Failures: ix.Failures})
		}
		fn(telemetry.Shard{ID: sm.ShardID, Replica: sm.ReplicaID, Leader: sm.IsLeader, Term: sm.Term,
			Applied: sm.Applied, LeaderChanges: sm.LeaderChanges,
			Commit:    telemetry.Histogram{Counts: sm.Commit, Sum: sm.CommitSum},
			Snapshot:  telemetry.Histogram{Counts: sm.Snapshot, Sum: sm.SnapshotSum},
			Indexes:   ixs,
			Libraries: int64(sm.Libraries), Calls: sm.Calls, CallsRO: sm.CallsRO, Fuel: sm.Fuel})
	}
}

// Backups implements telemetry.BackupSource.
func (m *metricsSource) Backups() (telemetry.Backups, bool) {
	if m.backups == nil {
		return telemetry.Backups{}, false
	}
	st := m.backups.Stats()
	return telemetry.Backups{Completed: st.Completed, Failed: st.Failed, LastSuccess: st.LastSuccess, LastSize: st.LastSize,
		Duration: telemetry.Histogram{Counts: st.Durations, Sum: st.DurationSum}}, true
}

func (m *metricsSource) Fsync() telemetry.Histogram {
	c, sum := m.host.FsyncLatency()
	return telemetry.Histogram{Counts: c, Sum: sum}
}

// Region implements telemetry.RegionSource: the shards this node pulls
// (a secondary's shards it leads), read locally (no round trip to the
// region's other nodes while a scrape waits).
func (m *metricsSource) Region() (telemetry.Region, bool) {
	if m.regions == nil {
		return telemetry.Region{}, false
	}
	r := telemetry.Region{Name: m.cfg.Region, Role: string(m.regions.Role())}
	if m.regions.Role() != regions.Secondary {
		return r, true
	}
	for _, l := range m.regions.Lag() {
		if !l.Leader {
			continue
		}
		r.Shards = append(r.Shards, telemetry.RegionShard{ID: l.Shard, Lag: time.Duration(l.Ms) * time.Millisecond,
			LagEntries: l.Entries, LinkUp: l.Connected, Snapshots: l.Snapshots})
	}
	return r, true
}
