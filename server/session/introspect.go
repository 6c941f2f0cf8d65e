package session

import (
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// SLOWLOG, LATENCY, MONITOR, WAIT and WAITAOF.
//
// Durations are measured by this node around the command: for writes that
// is proposal to applied reply (the Raft commit included, which is what a
// client waits for), for reads the execution under the read lock. Blocking
// commands are not recorded: their time is mostly spent waiting.

// slowEntry is one SLOWLOG entry.
type slowEntry struct {
	id       int64
	unix     int64
	usec     int64
	args     []string
	addr     string
	name     string
	received time.Time
}

type slowlog struct {
	mu      sync.Mutex
	entries []slowEntry // newest last
	nextID  int64
}

// slowlogArgs keeps what Redis keeps: at most 32 arguments (the last one
// says how many more there were), each at most 128 bytes.
func slowlogArgs(args [][]byte) []string {
	n := min(len(args), 32)
	out := make([]string, 0, n)
	for i := 0; i < n; i++ {
		if i == 31 && len(args) > 32 {
			out = append(out, "... ("+strconv.Itoa(len(args)-31)+" more arguments)")
			break
		}
		a := args[i]
		if len(a) > 128 {
			out = append(out, string(a[:128])+"... ("+strconv.Itoa(len(a)-128)+" more bytes)")
		} else {
			out = append(out, string(a))
		}
	}
	return out
}

// redact hides passwords from MONITOR and SLOWLOG, as Redis does.
func redact(args [][]byte) [][]byte {
	name := args[0]
	switch {
	case command.EqualFold(name, "auth"):
		out := [][]byte{args[0]}
		for range args[1:] {
			out = append(out, []byte("(redacted)"))
		}
		return out
	case command.EqualFold(name, "hello"):
		out := append([][]byte(nil), args...)
		for i := 2; i+2 < len(out); i++ {
			if command.EqualFold(out[i], "auth") {
				out[i+1], out[i+2] = []byte("(redacted)"), []byte("(redacted)")
			}
		}
		return out
	case command.EqualFold(name, "config") && len(args) > 3 && command.EqualFold(args[1], "set"):
		out := append([][]byte(nil), args...)
		for i := 2; i+1 < len(out); i += 2 {
			if command.EqualFold(out[i], "requirepass") || command.EqualFold(out[i], "masterauth") {
				out[i+1] = []byte("(redacted)")
			}
		}
		return out
	}
	return args
}

// observe records a finished command in SLOWLOG and the latency monitor
// (its counters and histogram: client.countCall).
func (s *Server) observe(c *client, spec *command.Spec, args [][]byte, usec int64) {
	if spec.Flags&command.SkipSlowlog == 0 {
		if th := s.params.slowlogThreshold.Load(); th >= 0 && usec >= th {
			maxLen := s.params.slowlogMax.Load()
			s.slow.mu.Lock()
			c.mu.Lock()
			name := c.name
			c.mu.Unlock()
			s.slow.entries = append(s.slow.entries, slowEntry{id: s.slow.nextID, unix: time.Now().Unix(), usec: usec, args: slowlogArgs(redact(args)), addr: c.addr, name: name})
			s.slow.nextID++
			if over := int64(len(s.slow.entries)) - maxLen; over > 0 {
				s.slow.entries = append(s.slow.entries[:0], s.slow.entries[over:]...)
			}
			s.slow.mu.Unlock()
		}
	}
	if th := s.params.latencyThreshold.Load(); th > 0 && usec/1000 >= th {
		event := "command"
		if spec.Flags&command.Fast != 0 {
			event = "fast-command"
		}
		s.latency.add(event, time.Now().Unix(), usec/1000)
	}
}

func slowlogCmd(s *Server, _ *client, args [][]byte) reply.Value {
	switch strings.ToLower(string(args[1])) {
	case "get":
		count := int64(10)
		if len(args) > 3 {
			return reply.Error("ERR unknown subcommand or wrong number of arguments for 'get'. Try SLOWLOG HELP.")
		}
		if len(args) == 3 {
			n, err := command.ParseInt(args[2])
			if err != nil || n < -1 {
				return reply.Error("ERR count should be greater than or equal to -1")
			}
			count = n
		}
		s.slow.mu.Lock()
		defer s.slow.mu.Unlock()
		if count == -1 || count > int64(len(s.slow.entries)) {
			count = int64(len(s.slow.entries))
		}
		out := make([]reply.Value, 0, count)
		for i := len(s.slow.entries) - 1; i >= 0 && int64(len(out)) < count; i-- {
			e := s.slow.entries[i]
			as := make([]reply.Value, len(e.args))
			for j, a := range e.args {
				as[j] = reply.BulkString(a)
			}
			out = append(out, reply.Array(reply.Int(e.id), reply.Int(e.unix), reply.Int(e.usec), reply.Array(as...), reply.BulkString(e.addr), reply.BulkString(e.name)))
		}
		return reply.Array(out...)
	case "len":
		if len(args) != 2 {
			break
		}
		s.slow.mu.Lock()
		defer s.slow.mu.Unlock()
		return reply.Int(int64(len(s.slow.entries)))
	case "reset":
		if len(args) != 2 {
			break
		}
		s.slow.mu.Lock()
		s.slow.entries = nil
		s.slow.mu.Unlock()
		return reply.OK
	case "help":
		if len(args) != 2 {
			break
		}
		return helpReply("SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"GET [<count>]",
			"    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
			"    Entries are made of:",
			"    id, timestamp, time in microseconds, arguments array, client IP and port,",
			"    client name",
			"LEN",
			"    Return the length of the slowlog.",
			"RESET",
			"    Reset the slowlog.",
			"HELP",
			"    Prints this help.")
	}
	return reply.Error("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try SLOWLOG HELP.")
}

// latencyMonitor keeps, per event, one sample per second (the worst in
// that second) for the last 160 seconds, and the all-time maximum.
type latencyMonitor struct {
	mu     sync.Mutex
	events map[string]*latencyEvent
}

type latencySample struct{ unix, ms int64 }

type latencyEvent struct {
	samples []latencySample // oldest first, at most 160
	max     int64
}

func (l *latencyMonitor) add(event string, unix, ms int64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.events == nil {
		l.events = map[string]*latencyEvent{}
	}
	e := l.events[event]
	if e == nil {
		e = &latencyEvent{}
		l.events[event] = e
	}
	e.max = max(e.max, ms)
	if n := len(e.samples); n > 0 && e.samples[n-1].unix == unix {
		e.samples[n-1].ms = max(e.samples[n-1].ms, ms)
		return
	}
	e.samples = append(e.samples, latencySample{unix, ms})
	if len(e.samples) > 160 {
		e.samples = append(e.samples[:0], e.samples[1:]...)
	}
}

func (l *latencyMonitor) names() []string {
	var out []string
	for n := range l.events {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func latencyCmd(s *Server, _ *client, args [][]byte) reply.Value {
	l := &s.latency
	sub := strings.ToLower(string(args[1]))
	switch {
	case sub == "latest" && len(args) == 2:
		l.mu.Lock()
		defer l.mu.Unlock()
		var out []reply.Value
		for _, n := range l.names() {
			e := l.events[n]
			last := e.samples[len(e.samples)-1]
			out = append(out, reply.Array(reply.BulkString(n), reply.Int(last.unix), reply.Int(last.ms), reply.Int(e.max)))
		}
		return reply.Array(out...)
	case sub == "history" && len(args) == 3:
		l.mu.Lock()
		defer l.mu.Unlock()
		e := l.events[string(args[2])]
		if e == nil {
			return reply.Array()
		}
		out := make([]reply.Value, len(e.samples))
		for i, sm := range e.samples {
			out[i] = reply.Array(reply.Int(sm.unix), reply.Int(sm.ms))
		}
		return reply.Array(out...)
	case sub == "reset":
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(args) == 2 {
			n := len(l.events)
			l.events = nil
			return reply.Int(int64(n))
		}
		n := 0
		for _, a := range args[2:] {
			if _, ok := l.events[string(a)]; ok {
				delete(l.events, string(a))
				n++
			}
		}
		return reply.Int(int64(n))
	case sub == "graph" && len(args) == 3:
		l.mu.Lock()
		defer l.mu.Unlock()
		e := l.events[string(args[2])]
		if e == nil {
			return reply.Error("ERR No samples available for event '" + string(args[2]) + "'")
		}
		return reply.Value{Kind: reply.KindVerbatim, Str: []byte(latencyGraph(string(args[2]), e))}
	case sub == "doctor" && len(args) == 2:
		return reply.Value{Kind: reply.KindVerbatim, Str: []byte(s.latencyDoctor())}
	case sub == "histogram":
		return s.latencyHistogram(args[2:])
	case sub == "help" && len(args) == 2:
		return helpReply("LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
			"DOCTOR",
			"    Return a human readable latency analysis report.",
			"GRAPH <event>",
			"    Return an ASCII latency graph for the <event> class.",
			"HISTORY <event>",
			"    Return time-latency samples for the <event> class.",
			"LATEST",
			"    Return the latest latency samples for all events.",
			"RESET [<event> ...]",
			"    Reset latency data of one or more <event> classes.",
			"    (default: reset all data for all event classes)",
			"HISTOGRAM [COMMAND ...]",
			"    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
			"    If no commands are specified then all histograms are replied.",
			"HELP",
			"    Prints this help.")
	}
	return reply.Error("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try LATENCY HELP.")
}

// latencyGraph draws the samples as columns of '#', newest right, as a
// plain-text chart (Redis draws a similar sparkline).
func latencyGraph(event string, e *latencyEvent) string {
	var b strings.Builder
	b.WriteString(event + " - high " + strconv.FormatInt(e.max, 10) + " ms, low ")
	low := e.max
	for _, sm := range e.samples {
		low = min(low, sm.ms)
	}
	b.WriteString(strconv.FormatInt(low, 10) + " ms (all time high " + strconv.FormatInt(e.max, 10) + " ms)\n")
	b.WriteString(strings.Repeat("-", 80) + "\n")
	const rows = 4
	for r := rows; r >= 1; r-- {
		for _, sm := range e.samples {
			if e.max > 0 && sm.ms*rows >= int64(r)*e.max {
				b.WriteByte('#')
			} else {
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	return b.String()
}

func (s *Server) latencyDoctor() string {
	if s.params.latencyThreshold.Load() == 0 {
		return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n"
	}
	l := &s.latency
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.events) == 0 {
		return "Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sleep better than you do.\n"
	}
	var b strings.Builder
	b.WriteString("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n")
	for i, n := range l.names() {
		e := l.events[n]
		var sum int64
		for _, sm := range e.samples {
			sum += sm.ms
		}
		b.WriteString(strconv.Itoa(i+1) + ". " + n + ": " + strconv.Itoa(len(e.samples)) + " latency spikes (average " +
			strconv.FormatInt(sum/int64(len(e.samples)), 10) + "ms, worst all time " + strconv.FormatInt(e.max, 10) + "ms).\n")
	}
	b.WriteString("\nI have a few advices for you:\n\n")
	b.WriteString("- Writes in Cairn wait for a quorum fsync of the Raft log: check disk latency (INFO raft: raft_fsync_probe_usec) and the network between replicas.\n")
	b.WriteString("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n")
	return b.String()
}

// latencyHistogram answers LATENCY HISTOGRAM: per command, the number of
// calls and a cumulative distribution over power-of-two microsecond
// buckets (only buckets that hold calls are listed).
func (s *Server) latencyHistogram(names [][]byte) reply.Value {
	var specs []*command.Spec
	if len(names) == 0 {
		for sp := range s.cmdStats {
			specs = append(specs, sp)
		}
	} else {
		for _, n := range names {
			if sp := s.table.Lookup(n); sp != nil {
				specs = append(specs, sp)
			}
		}
	}
	sort.Slice(specs, func(i, j int) bool { return specs[i].Name < specs[j].Name })
	var out []reply.Value
	seen := map[*command.Spec]bool{}
	for _, sp := range specs {
		st := s.cmdStats[sp]
		if st == nil || seen[sp] || st.calls.Load() == 0 {
			continue
		}
		seen[sp] = true
		var cum int64
		var buckets []reply.Value
		for i := range st.hist {
			n := st.hist[i].Load()
			if n == 0 {
				continue
			}
			cum += n
			buckets = append(buckets, reply.Int(int64(1)<<i), reply.Int(cum))
		}
		out = append(out, reply.BulkString(sp.Name), reply.Map(
			reply.BulkString("calls"), reply.Int(st.calls.Load()),
			reply.BulkString("histogram_usec"), reply.Map(buckets...)))
	}
	return reply.Map(out...)
}

// monitors holds the connections running MONITOR.
type monitors struct {
	mu sync.Mutex
	cs map[*client]struct{}
	n  atomic.Int32
}

func monitorCmd(s *Server, c *client, _ [][]byte) reply.Value {
	if c.monitor {
		return reply.OK
	}
	// Register (count included: dispatch reads the count without the
	// lock to skip feeding when nobody monitors) before the OK is queued,
	// and queue the OK under the monitors' lock so no fed line can
	// overtake it: a command sent by another client after this client
	// read OK is always fed (Redis does both in one step too).
	c.reply(reply.OK)
	c.enterPush()
	c.monitor = true
	c.monitorA.Store(true)
	s.monitors.mu.Lock()
	if s.monitors.cs == nil {
		s.monitors.cs = map[*client]struct{}{}
	}
	s.monitors.cs[c] = struct{}{}
	s.monitors.n.Add(1)
	c.flush() // in push mode: queues the OK (never blocks on the socket)
	s.monitors.mu.Unlock()
	return noReply
}

func (s *Server) stopMonitor(c *client) {
	if !c.monitor {
		return
	}
	s.monitors.mu.Lock()
	delete(s.monitors.cs, c)
	s.monitors.n.Add(-1)
	s.monitors.mu.Unlock()
	c.monitor = false
	c.monitorA.Store(false) // CLIENT LIST flag O
}

// feedMonitors sends a command to every MONITOR connection in Redis's
// format: +<unix time> [0 <client address>] "arg" "arg" ...
func (s *Server) feedMonitors(c *client, args [][]byte) {
	b := make([]byte, 0, 64)
	b = append(b, '+')
	now := time.Now()
	b = strconv.AppendInt(b, now.Unix(), 10)
	b = append(b, '.')
	us := strconv.Itoa(now.Nanosecond() / 1000)
	b = append(b, strings.Repeat("0", 6-len(us))+us...)
	b = append(b, " [0 "...)
	b = append(b, c.addr...)
	b = append(b, ']')
	for _, a := range redact(args) {
		b = append(b, ' ')
		b = appendRepr(b, a)
	}
	b = append(b, "\r\n"...)
	s.monitors.mu.Lock()
	defer s.monitors.mu.Unlock()
	for m := range s.monitors.cs {
		if m != c {
			m.enqueue(b)
		}
	}
}

// appendRepr quotes a string as Redis's sdscatrepr.
func appendRepr(b, s []byte) []byte {
	b = append(b, '"')
	for _, ch := range s {
		switch ch {
		case '\\', '"':
			b = append(b, '\\', ch)
		case '\n':
			b = append(b, `\n`...)
		case '\r':
			b = append(b, `\r`...)
		case '\t':
			b = append(b, `\t`...)
		case '\a':
			b = append(b, `\a`...)
		case '\b':
			b = append(b, `\b`...)
		default:
			if ch >= 0x20 && ch < 0x7f {
				b = append(b, ch)
			} else {
				const hex = "0123456789abcdef"
				b = append(b, '\\', 'x', hex[ch>>4], hex[ch&15])
			}
		}
	}
	return append(b, '"')
}

// waitCmd answers WAIT numreplicas timeout. Under Raft a write is
// acknowledged only once a quorum of its shard's replicas has it in the
// log, so the count of replicas holding it is known at once: the quorum
// minus this one. Waiting cannot raise it, so WAIT never blocks.
func waitCmd(s *Server, c *client, args [][]byte) reply.Value {
	if _, err := command.ParseInt(args[1]); err != nil {
		return reply.Error("ERR value is not an integer or out of range")
	}
	t, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Error("ERR timeout is not an integer or out of range")
	}
	if t < 0 {
		return reply.Error("ERR timeout is negative")
	}
	return reply.Int(int64(c.be.AckedReplicas(c.lastRoute)))
}

// waitAOFCmd answers WAITAOF numlocal numreplicas timeout: every
// acknowledged write is already fsynced to the Raft log here and on a
// quorum of replicas.
func waitAOFCmd(s *Server, c *client, args [][]byte) reply.Value {
	for i := 1; i <= 2; i++ {
		n, err := command.ParseInt(args[i])
		if err != nil {
			return reply.Error("ERR value is not an integer or out of range")
		}
		if n < 0 {
			return reply.Error("ERR value is out of range, must be positive")
		}
	}
	t, err := command.ParseInt(args[3])
	if err != nil {
		return reply.Error("ERR timeout is not an integer or out of range")
	}
	if t < 0 {
		return reply.Error("ERR timeout is negative")
	}
	return reply.Array(reply.Int(1), reply.Int(int64(c.be.AckedReplicas(c.lastRoute))))
}

// clientUnblock answers CLIENT UNBLOCK id [TIMEOUT|ERROR].
func clientUnblock(s *Server, _ *client, args [][]byte) reply.Value {
	id, err := command.ParseInt(args[2])
	if err != nil {
		return reply.Error("ERR value is not an integer or out of range")
	}
	asErr := false
	if len(args) == 4 {
		switch {
		case command.EqualFold(args[3], "timeout"):
		case command.EqualFold(args[3], "error"):
			asErr = true
		default:
			return reply.Error("ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR")
		}
	} else if len(args) > 4 {
		return reply.Error("ERR syntax error")
	}
	s.mu.Lock()
	c := s.clients[id]
	s.mu.Unlock()
	if c == nil || !c.blockedNow.Load() {
		return reply.Int(0)
	}
	c.unblockErr.Store(asErr)
	select {
	case c.unblock <- struct{}{}:
	default:
	}
	return reply.Int(1)
}
