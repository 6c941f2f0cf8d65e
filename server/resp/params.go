package resp

import (
	"errors"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/pubsub"
	"github.com/cairndb/cairn/server/reply"
)

// param is one CONFIG parameter.
type param struct {
	name    string
	alias   string
	mutable bool
	// set validates and applies a value; nil for immutable parameters.
	parse func(v string) (string, error)
	apply func(s *Server, v string)
}

// params holds the current CONFIG values.
type params struct {
	mu     sync.RWMutex
	values map[string]string
	defs   []*param
	byName map[string]*param

	// hot values, read on every request without the lock
	pass     atomicString
	maxBulk  atomicInt
	maxConns atomicInt

	slowlogThreshold atomicInt // usec; -1 disables
	slowlogMax       atomicInt
	latencyThreshold atomicInt // ms; 0 disables
}

var (
	errNotInt      = errors.New("argument couldn't be parsed into an integer")
	errNotifyFlags = errors.New(pubsub.ErrNotifyFlags)
)

func parseMemory(v string) (string, error) {
	n, ok := memToBytes(v)
	if !ok {
		return "", errors.New("argument must be a memory value")
	}
	return strconv.FormatInt(n, 10), nil
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
		return v, nil
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

func newParams(s *Server) *params {
	cfg := s.cfg
	p := &params{values: map[string]string{}, byName: map[string]*param{}}
	def := func(name, value string, parse func(string) (string, error), apply func(*Server, string)) {
		d := &param{name: name, mutable: parse != nil, parse: parse, apply: apply}
		p.defs = append(p.defs, d)
		p.byName[name] = d
		p.values[name] = value
	}
	def("requirepass", cfg.RequirePass, anyString, func(s *Server, v string) { s.params.pass.Store(v) })
	def("proto-max-bulk-len", itoa(cfg.ProtoMaxBulkLen), func(v string) (string, error) {
		n, ok := memToBytes(v)
		if !ok {
			return "", errors.New("argument must be a memory value")
		}
		if n < 1<<20 {
			return "", errors.New("argument must be between 1048576 and 9223372036854775807 inclusive")
		}
		return itoa(n), nil
	}, func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.maxBulk.Store(n)
		s.backend.SetProtoMaxBulkLen(n)
	})
	def("maxclients", strconv.Itoa(cfg.MaxClients), parseIntParam(1, 1<<31-1), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.maxConns.Store(n)
	})
	def("port", strconv.Itoa(cfg.Port), nil, nil)
	def("bind", cfg.Bind, nil, nil)
	def("dir", cfg.Dir, nil, nil)
	def("databases", "1", nil, nil)
	def("appendonly", "yes", nil, nil)
	def("appendfsync", "always", nil, nil)
	def("save", "", nil, nil)
	def("cluster-enabled", "no", nil, nil)
	def("hash-max-listpack-entries", "128", nil, nil)
	def("hash-max-listpack-value", "64", nil, nil)
	def("hash-max-ziplist-entries", "128", nil, nil)
	def("hash-max-ziplist-value", "64", nil, nil)
	def("snapshot-entries", strconv.FormatUint(cfg.SnapshotConfig, 10), nil, nil)
	def("timeout", "0", parseIntParam(0, 1<<31-1), nil)
	def("hz", "10", parseIntParam(1, 500), nil)
	def("maxmemory", "0", parseMemory, nil)
	def("maxmemory-policy", "noeviction", parseEnum("volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl", "allkeys-lru", "allkeys-lfu", "allkeys-random", "noeviction"), nil)
	def("notify-keyspace-events", "", notifyMaskParam, func(s *Server, v string) {
		m, _ := pubsub.ParseNotifyFlags(v)
		s.notify.Store(m)
		s.backend.SetNotifyMask(pubsub.RecordMask(m))
	})
	def("slowlog-log-slower-than", "10000", parseIntParam(-1, 1<<62), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.slowlogThreshold.Store(n)
	})
	def("slowlog-max-len", "128", parseIntParam(0, 1<<62), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.slowlogMax.Store(n)
	})
	def("latency-monitor-threshold", "0", parseIntParam(0, 1<<62), func(s *Server, v string) {
		n, _ := strconv.ParseInt(v, 10, 64)
		s.params.latencyThreshold.Store(n)
	})
	def("loglevel", "notice", parseEnum("debug", "verbose", "notice", "warning", "nothing"), nil)
	def("tcp-keepalive", "300", parseIntParam(0, 1<<31-1), nil)
	def("tracking-table-max-keys", itoa(defaultTrackingMaxKeys), parseIntParam(0, 1<<63-1), trackingMaxKeysParam)
	s.trk.maxKeys.Store(defaultTrackingMaxKeys)
	p.pass.Store(cfg.RequirePass)
	p.maxBulk.Store(cfg.ProtoMaxBulkLen)
	p.maxConns.Store(int64(cfg.MaxClients))
	p.slowlogThreshold.Store(10000)
	p.slowlogMax.Store(128)
	return p
}

func (p *params) requirePass() string    { return p.pass.Load() }
func (p *params) protoMaxBulkLen() int64 { return p.maxBulk.Load() }
func (p *params) maxClients() int        { return int(p.maxConns.Load()) }

// get returns name/value pairs matching any of the glob patterns.
func (p *params) get(patterns [][]byte) reply.Value {
	p.mu.RLock()
	defer p.mu.RUnlock()
	seen := map[string]bool{}
	var names []string
	for _, pat := range patterns {
		for _, d := range p.defs {
			if !seen[d.name] && glob.Match(pat, []byte(d.name), true) {
				seen[d.name] = true
				names = append(names, d.name)
			}
		}
	}
	sort.Strings(names)
	kv := make([]reply.Value, 0, 2*len(names))
	for _, n := range names {
		kv = append(kv, reply.BulkString(n), reply.BulkString(p.values[n]))
	}
	return reply.Map(kv...)
}

// set applies name/value pairs atomically: all are validated first.
func (p *params) set(s *Server, args [][]byte) reply.Value {
	if len(args)%2 != 0 || len(args) == 0 {
		return reply.Error("ERR wrong number of arguments for 'config|set' command")
	}
	type change struct {
		d *param
		v string
	}
	var changes []change
	seen := map[string]bool{}
	for i := 0; i < len(args); i += 2 {
		name := strings.ToLower(string(args[i]))
		d := p.byName[name]
		if d == nil {
			return reply.Error("ERR Unknown option or number of arguments for CONFIG SET - '" + string(args[i]) + "'")
		}
		if seen[name] {
			return reply.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - duplicate parameter")
		}
		seen[name] = true
		if !d.mutable {
			return reply.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - can't set immutable config")
		}
		v, err := d.parse(string(args[i+1]))
		if err != nil {
			return reply.Error("ERR CONFIG SET failed (possibly related to argument '" + name + "') - " + err.Error())
		}
		changes = append(changes, change{d, v})
	}
	p.mu.Lock()
	for _, ch := range changes {
		p.values[ch.d.name] = ch.v
	}
	p.mu.Unlock()
	for _, ch := range changes {
		if ch.d.apply != nil {
			ch.d.apply(s, ch.v)
		}
	}
	return reply.OK
}

// rewrite writes the current values to the config file.
func (p *params) rewrite(path string) error {
	if path == "" {
		return errors.New("The server is running without a config file")
	}
	p.mu.RLock()
	var b strings.Builder
	for _, d := range p.defs {
		if d.mutable {
			b.WriteString(d.name + " " + strconv.Quote(p.values[d.name]) + "\n")
		}
	}
	p.mu.RUnlock()
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
