package session

import (
	"errors"
	"log/slog"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/pubsub"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// param is one CONFIG parameter.
type param struct {
	name    string
	mutable bool
	// replicated parameters live in the replicated state
	// (keyspace.Config): CONFIG GET reads the backend's, CONFIG SET
	// proposes a Config log entry. canon is their keyspace.Config name.
	replicated bool
	canon      string
	// parse validates a value and returns its canonical form; nil for
	// immutable parameters.
	parse func(v string) (string, error)
	// apply makes a node-local value take effect.
	apply func(s *Server, v string)
	// file tells that CONFIG REWRITE writes it (main.go's config file
	// accepts it).
	file bool
	// tls parameters are checked together by Config.TLS (tls.go).
	tls bool
}

// params holds the current CONFIG values of node-local parameters.
type params struct {
	mu     sync.RWMutex
	values map[string]string
	defs   []*param
	byName map[string]*param

	// hot values, read on every request without the lock
	pass      atomicString
	protected atomic.Bool // protected-mode (protected.go)
	maxBulk   atomicInt
	maxConns  atomicInt

	slowlogThreshold atomicInt // usec; -1 disables
	slowlogMax       atomicInt
	latencyThreshold atomicInt // ms; 0 disables
	timeout          atomicInt // seconds; 0 disables
	keepAlive        atomicInt // seconds; 0 disables
	hz               atomicInt
}

var (
	errNotInt      = errors.New("argument couldn't be parsed into an integer")
	errNotifyFlags = errors.New(pubsub.ErrNotifyFlags)
	errNotMemory   = errors.New("argument must be a memory value")
)

func parseMemory(v string) (string, error) {
	n, ok := memToBytes(v)
	if !ok {
		return "", errNotMemory
	}
	return strconv.FormatInt(n, 10), nil
}

// parseMemoryRange is a memory value (1kb, 2mb...) within [min, max].
func parseMemoryRange(min, max int64) func(string) (string, error) {
	return func(v string) (string, error) {
		n, ok := memToBytes(v)
		if !ok {
			return "", errNotMemory
		}
		if n < min || n > max {
			return "", errors.New("argument must be between " + itoa(min) + " and " + itoa(max) + " inclusive")
		}
		return itoa(n), nil
	}
}

func memToBytes(v string) (int64, bool) {
	l := strings.ToLower(v)
	mul := int64(1)
	for _, u := range []struct {
		suf string
		m   int64
	}{{"kb", 1024}, {"mb", 1 << 20}, {"gb", 1 << 30}, {"k", 1000}, {"m", 1000000}, {"g", 1000000000}, {"b", 1}} {
		if strings.HasSuffix(l, u.suf) {
			l, mul = strings.TrimSuffix(l, u.suf), u.m
			break
		}
	}
	n, err := strconv.ParseInt(l, 10, 64)
	if err != nil || n < 0 {
		return 0, false
	}
	return n * mul, true
}

func parseIntParam(min, max int64) func(string) (string, error) {
	return func(v string) (string, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return "", errNotInt
		}
		if n < min || n > max {
			return "", errors.New("argument must be between " + itoa(min) + " and " + itoa(max) + " inclusive")
		}
		return strconv.FormatInt(n, 10), nil
	}
}

func parseEnum(opts ...string) func(string) (string, error) {
	return func(v string) (string, error) {
		for _, o := range opts {
			if strings.EqualFold(v, o) {
				return o, nil
			}
		}
		return "", errors.New("argument(s) must be one of the following: " + strings.Join(opts, ", "))
	}
}

func anyString(v string) (string, error) { return v, nil }

// parseBool is a Redis boolean parameter: yes or no, any case.
func parseBool(v string) (string, error) {
	switch strings.ToLower(v) {
	case "yes":
		return "yes", nil
	case "no":
		return "no", nil
	}
	return "", errors.New("argument must be 'yes' or 'no'")
}

func newParams(s *Server) *params {
	cfg := s.cfg
	p := &params{values: map[string]string{}, byName: map[string]*param{}}
	def := func(name, value string, parse func(string) (string, error), apply func(*Server, string)) *param {
		d := &param{name: name, mutable: parse != nil, parse: parse, apply: apply}
		p.defs = append(p.defs, d)
		p.byName[name] = d
		p.values[name] = value
		return d
	}
	// Replicated parameters (keyspace.Config): their values are the
	// backend's; an alias is listed under its own name, as Redis does.
	for _, kp := range keyspace.ConfigParams {
		parse := parseIntParam(kp.Min, kp.Max)
		if kp.Memory {
			parse = parseMemoryRange(kp.Min, kp.Max)
		}
		if kp.Bool {
			parse = parseBool
		}
		for _, n := range []string{kp.Name, kp.Alias} {
			if n != "" {
				d := def(n, "", parse, nil)
				d.replicated, d.canon = true, kp.Name
			}
		}
	}
	for _, n := range []string{keyspace.ParamMaxMemoryPolicy, keyspace.ParamNotify} {
		parse := notifyMaskParam
		if n == keyspace.ParamMaxMemoryPolicy {
			parse = parseEnum("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction")
		}
		d := def(n, "", parse, nil)
		d.replicated, d.canon = true, n
	}
	// proto-max-bulk-len is replicated (what commands may build) and also
	// this node's protocol reader limit for new connections.
	p.byName["proto-max-bulk-len"].apply = func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.maxBulk.Store(n)
	}
	p.byName["proto-max-bulk-len"].file = true

	// Node-local parameters.
	def("requirepass", cfg.RequirePass, anyString, func(s *Server, v string) { s.params.pass.Store(v) }).file = true
	def("protected-mode", yesNo(cfg.ProtectedMode), parseBool, func(s *Server, v string) { s.params.protected.Store(v == "yes") }).file = true
	def("maxclients", strconv.Itoa(cfg.MaxClients), parseIntParam(1, 1<<31-1), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.maxConns.Store(n)
	}).file = true
	def("port", strconv.Itoa(cfg.Port), nil, nil)
	def("bind", cfg.Bind, nil, nil)
	def("dir", cfg.Dir, nil, nil)
	def("databases", "1", nil, nil)
	def("appendonly", "yes", nil, nil)
	def("appendfsync", "always", nil, nil)
	def("save", "", nil, nil)
	def("cluster-enabled", "no", nil, nil)
	def("snapshot-entries", strconv.FormatUint(cfg.SnapshotConfig, 10), nil, nil)
	def("timeout", "0", parseIntParam(0, 1<<31-1), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.timeout.Store(n)
	}).file = true
	def("hz", "10", parseIntParam(1, 500), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.hz.Store(n)
	}).file = true
	def("slowlog-log-slower-than", "10000", parseIntParam(-1, 1<<62), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.slowlogThreshold.Store(n)
	}).file = true
	def("slowlog-max-len", "128", parseIntParam(0, 1<<62), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.slowlogMax.Store(n)
	}).file = true
	def("latency-monitor-threshold", "0", parseIntParam(0, 1<<62), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.latencyThreshold.Store(n)
	}).file = true
	def("loglevel", levelName(s.logLevel.Level()), parseEnum("debug", "verbose", "notice", "warning", "nothing"), func(s *Server, v string) {
		l, _ := ParseLogLevel(v)
		s.logLevel.Set(l)
	}).file = true
	def("tcp-keepalive", "300", parseIntParam(0, 1<<31-1), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.keepAlive.Store(n)
	}).file = true
	// maxmemory-samples only tunes the leader's eviction sampling, whose
	// picks go through the log (Evict entries): node-local.
	def("maxmemory-samples", "5", parseIntParam(1, 1<<31-1), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		shard.SetMaxmemorySamples(n)
	}).file = true
	def("tracking-table-max-keys", itoa(defaultTrackingMaxKeys), parseIntParam(0, 1<<63-1), trackingMaxKeysParam).file = true
	defTLSParams(s, def)
	s.trk.maxKeys.Store(defaultTrackingMaxKeys)
	p.pass.Store(cfg.RequirePass)
	p.protected.Store(cfg.ProtectedMode)
	p.maxBulk.Store(cfg.ProtoMaxBulkLen)
	p.maxConns.Store(int64(cfg.MaxClients))
	p.slowlogThreshold.Store(10000)
	p.slowlogMax.Store(128)
	p.keepAlive.Store(300)
	p.hz.Store(10)
	return p
}

// ValidateParam tells whether name is a node-local parameter that can be
// given at start (config file) with this value.
func ValidateParam(name, value string) error {
	d := (&Server{}).fileParams()[name]
	if d == nil {
		return errors.New("unknown parameter " + strconv.Quote(name))
	}
	_, err := d.parse(value)
	return err
}

// FileParams lists the node-local parameters a config file may set (and
// CONFIG REWRITE writes) beyond main.go's own settings.
func FileParams() []string {
	var out []string
	for n := range (&Server{}).fileParams() {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func (s *Server) fileParams() map[string]*param {
	if s.logLevel == nil {
		s.logLevel = new(slog.LevelVar)
	}
	out := map[string]*param{}
	for _, d := range newParams(s).defs {
		if d.file {
			out[d.name] = d
		}
	}
	return out
}

func (p *params) requirePass() string    { return p.pass.Load() }
func (p *params) protoMaxBulkLen() int64 { return p.maxBulk.Load() }
func (p *params) maxClients() int        { return int(p.maxConns.Load()) }

// get returns name/value pairs matching any of the glob patterns.
func (p *params) get(s *Server, patterns [][]byte) reply.Value {
	seen := map[string]bool{}
	var names []string
	repl := false
	for _, pat := range patterns {
		for _, d := range p.defs {
			if !seen[d.name] && glob.Match(pat, []byte(d.name), true) {
				seen[d.name] = true
				names = append(names, d.name)
				repl = repl || d.replicated
			}
		}
	}
	sort.Strings(names)
	var cfg keyspace.Config
	if repl {
		cfg = s.backend.Config()
	}
	p.mu.RLock()
	defer p.mu.RUnlock()
	kv := make([]reply.Value, 0, 2*len(names))
	for _, n := range names {
		v := p.values[n]
		if d := p.byName[n]; d.replicated {
			v, _ = cfg.Get(d.canon)
		}
		kv = append(kv, reply.BulkString(n), reply.BulkString(v))
	}
	return reply.Map(kv...)
}

// set applies name/value pairs atomically: all are validated first; the
// replicated ones are committed through the log before the node-local
// ones change.
func (p *params) set(s *Server, args [][]byte) reply.Value {
	if len(args)%2 != 0 || len(args) == 0 {
		return reply.Error("ERR wrong number of arguments for 'config|set' command")
	}
	type change struct {
		d *param
		v string
	}
	var changes []change
	var repl [][2]string
	tlsChanges, tlsFirst := map[string]string{}, ""
	seen := map[string]bool{}
	for i := 0; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		d := p.byName[name]
		if d == nil {
			return reply.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(args[i]) + "'")
		}
		// As Redis, a name and its alias may both be given (the last
		// wins): duplicates are by the name given.
		key := name
		if seen[key] {
			return reply.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - duplicate parameter")
		}
		seen[key] = true
		if !d.mutable {
			return reply.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config")
		}
		v, err := d.parse(string(args[i+1]))
		if err != nil {
			return reply.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + err.Error())
		}
		changes = append(changes, change{d, v})
		if d.tls {
			if tlsFirst == "" {
				tlsFirst = name
			}
			tlsChanges[name] = v
		}
		if d.replicated {
			repl = append(repl, [2]string{d.canon, v})
		}
	}
	// TLS files are loaded and checked before anything changes.
	tlsCommit, msg := s.prepareTLS(tlsChanges, tlsFirst)
	if msg != "" {
		return reply.Error(msg)
	}
	// requirepass is the default user's password (Redis's
	// ACLUpdateDefaultUserPassword): it changes the replicated users, in
	// the same log entry as the other replicated parameters.
	aclChanged := false
	for _, ch := range changes {
		if ch.d.name == "requirepass" {
			if !aclChanged {
				s.aclChange.Lock()
				defer s.aclChange.Unlock()
				s.refreshACL(nil)
			}
			aclChanged = true
			st := s.users.Load()
			repl = append(repl, aclPairs(st.text, st.set.WithDefaultPassword(ch.v))...)
		}
	}
	if len(repl) > 0 {
		if err := s.backend.SetConfig(repl); err != nil {
			return s.backend.ErrorReply(err)
		}
	}
	tlsCommit()
	if aclChanged {
		s.refreshACL(nil)
	}
	p.mu.Lock()
	for _, ch := range changes {
		if !ch.d.replicated {
			p.values[ch.d.name] = ch.v
		}
	}
	p.mu.Unlock()
	for _, ch := range changes {
		if ch.d.apply != nil {
			ch.d.apply(s, ch.v)
		}
	}
	return reply.OK
}
