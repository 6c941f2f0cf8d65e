package session

import "github.com/cairndb/cairn/server/command"

// Stats are the connection layer's counters, read by the node's metrics
// (the same figures INFO clients and stats report).
type Stats struct {
	// Clients is the number of connected clients.
	Clients int
	// ConnectionsReceived, ConnectionsRejected, Commands, ErrorReplies
	// and NetOutBytes are INFO's total_connections_received,
	// rejected_connections, total_commands_processed,
	// total_error_replies and total_net_output_bytes.
	ConnectionsReceived, ConnectionsRejected int64
	Commands, ErrorReplies, NetOutBytes      int64
}

// Stats returns the connection layer's counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	n := len(s.clients)
	s.mu.Unlock()
	return Stats{
		Clients:             n,
		ConnectionsReceived: s.stats.connections.Load(),
		ConnectionsRejected: s.stats.rejectedConns.Load(),
		Commands:            s.stats.commands.Load(),
		ErrorReplies:        s.stats.errors.Load(),
		NetOutBytes:         s.stats.netOut.Load(),
	}
}

// CommandStat is one command's counters (INFO commandstats).
type CommandStat struct {
	// Name is the command's name, "parent|sub" for a subcommand.
	Name string
	// Write tells a write command from a read or connection command;
	// Data a command that runs against the keyspace (reads and writes)
	// from one the connection layer serves (PING, CLIENT, CONFIG ...).
	Write, Data bool
	// Calls, Rejected and Failed are INFO's calls, rejected_calls and
	// failed_calls; Usec is the total time of the calls in µs (INFO's
	// usec) and Nsec the same in ns (calls under 1µs count there).
	Calls, Rejected, Failed, Usec, Nsec int64
	// Latency counts calls by duration: bucket i holds the calls whose
	// whole microseconds have bit length i (0: under 1µs; i: [2^(i-1),
	// 2^i) µs), the last bucket also everything longer — the layout of
	// shard.Latency.
	Latency []uint64
}

// CommandStats calls fn for every command that was called or rejected
// since the start (or CONFIG RESETSTAT). It reads the counters the
// dispatcher keeps for INFO anyway, so metrics add nothing to a command's
// path.
func (s *Server) CommandStats(fn func(CommandStat)) {
	for sp, c := range s.cmdStats {
		calls, rejected := c.calls.Load(), c.rejected.Load()
		if calls+rejected == 0 {
			continue
		}
		st := CommandStat{Name: sp.Name, Write: sp.IsWrite(), Data: sp.Flags&command.Conn == 0, Calls: calls, Rejected: rejected,
			Failed: c.failed.Load(), Usec: c.usec.Load(), Nsec: c.nsec.Load(), Latency: make([]uint64, len(c.hist))}
		for i := range c.hist {
			st.Latency[i] = uint64(c.hist[i].Load())
		}
		fn(st)
	}
}

// RSS returns the process's resident set size in bytes (INFO
// used_memory_rss).
func RSS() uint64 { return rssBytes() }
