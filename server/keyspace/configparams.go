package keyspace

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cespare/xxhash/v2"
)

// ConfigParam describes one replicated CONFIG parameter: its Redis name,
// its pre-7.0 alias (if any) and where it lives in Config.
type ConfigParam struct {
	Name  string
	Alias string
	// Memory tells that CONFIG SET accepts memory units (1kb, 2mb).
	Memory bool
	// Bool tells that the value is yes or no (stored as 1 or 0).
	Bool bool
	// Min and Max bound integer values (Redis's ranges).
	Min, Max int64
	field    func(c *Config) *int64
}

const maxInt64 = 1<<63 - 1

// ConfigParams lists the replicated parameters, in the order snapshots and
// Config entries write them. maxmemory-policy and notify-keyspace-events
// are strings and handled separately (see ConfigNames).
var ConfigParams = []ConfigParam{
	{Name: "proto-max-bulk-len", Memory: true, Min: 1 << 20, Max: maxInt64, field: func(c *Config) *int64 { return &c.ProtoMaxBulkLen }},
	{Name: "hash-max-listpack-entries", Alias: "hash-max-ziplist-entries", Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.HashMaxListpackEntries }},
	{Name: "hash-max-listpack-value", Alias: "hash-max-ziplist-value", Memory: true, Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.HashMaxListpackValue }},
	{Name: "set-max-intset-entries", Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.SetMaxIntsetEntries }},
	{Name: "zset-max-listpack-entries", Alias: "zset-max-ziplist-entries", Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.ZSetMaxListpackEntries }},
	{Name: "zset-max-listpack-value", Alias: "zset-max-ziplist-value", Memory: true, Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.ZSetMaxListpackValue }},
	{Name: "list-max-listpack-size", Alias: "list-max-ziplist-size", Min: -1 << 31, Max: 1<<31 - 1, field: func(c *Config) *int64 { return &c.ListMaxListpackSize }},
	{Name: "list-compress-depth", Min: 0, Max: 1<<31 - 1, field: func(c *Config) *int64 { return &c.ListCompressDepth }},
	{Name: "stream-node-max-bytes", Memory: true, Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.StreamNodeMaxBytes }},
	{Name: "stream-node-max-entries", Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.StreamNodeMaxEntries }},
	{Name: "maxmemory", Memory: true, Min: 0, Max: maxInt64, field: func(c *Config) *int64 { return &c.MaxMemory }},
	// Config section version 2 adds the parameters below.
	{Name: "lfu-log-factor", Min: 0, Max: 1<<31 - 1, field: func(c *Config) *int64 { return &c.LFULogFactor }},
	{Name: "lfu-decay-time", Min: 0, Max: 1<<31 - 1, field: func(c *Config) *int64 { return &c.LFUDecayTime }},
	{Name: "lazyfree-lazy-user-del", Bool: true, Min: 0, Max: 1, field: func(c *Config) *int64 { return &c.LazyfreeLazyUserDel }},
	{Name: "lazyfree-lazy-user-flush", Bool: true, Min: 0, Max: 1, field: func(c *Config) *int64 { return &c.LazyfreeLazyUserFlush }},
}

// configV1Params is how many of ConfigParams config section version 1
// knows.
const configV1Params = 11

// String-valued replicated parameters.
const (
	ParamMaxMemoryPolicy = "maxmemory-policy"
	ParamNotify          = "notify-keyspace-events"
	// ParamACL carries Config.ACLUsers (config section version 3). It is
	// not a CONFIG parameter: ACL SETUSER, DELUSER and LOAD change it.
	ParamACL = "acl-users"
	// ParamACLSeed sets ACLUsers only while it is empty: a node seeds
	// the users given at start (requirepass, aclfile) with it, so a
	// replica that has not replayed its log yet cannot overwrite them.
	// It is never stored under its own name (not in ConfigNames).
	ParamACLSeed = "acl-users-seed"
	// ParamACLExpect makes a change of the users conditional: Set fails
	// with ErrACLChanged unless ACLUsersDigest(ACLUsers) is the value,
	// so a change computed from a stale view of the users is refused
	// (the proposer reads them again and retries) instead of silently
	// undoing a concurrent change. Never stored.
	ParamACLExpect = "acl-users-expect"
)

// ErrACLChanged is returned by Set for ParamACLExpect when the users
// changed since the proposer read them.
var ErrACLChanged = errors.New("the ACL users changed concurrently")

// ACLUsersDigest is the digest ParamACLExpect compares.
func ACLUsersDigest(text string) string { return strconv.FormatUint(xxhash.Sum64String(text), 16) }

// maxACLUsersLen bounds the ACL users text in a config section.
const maxACLUsersLen = 64 << 20

// ConfigNames returns the canonical names of every replicated parameter.
func ConfigNames() []string {
	out := make([]string, 0, len(ConfigParams)+2)
	for _, p := range ConfigParams {
		out = append(out, p.Name)
	}
	return append(out, ParamMaxMemoryPolicy, ParamNotify, ParamACL)
}

// CanonicalConfigName maps a parameter name or alias (lower case) to its
// canonical name; ok is false for a parameter that is not replicated.
func CanonicalConfigName(name string) (string, bool) {
	for _, p := range ConfigParams {
		if p.Name == name || (p.Alias != "" && p.Alias == name) {
			return p.Name, true
		}
	}
	if name == ParamMaxMemoryPolicy || name == ParamNotify || name == ParamACL || name == ParamACLSeed || name == ParamACLExpect {
		return name, true
	}
	return "", false
}

func findParam(name string) *ConfigParam {
	for i := range ConfigParams {
		if ConfigParams[i].Name == name {
			return &ConfigParams[i]
		}
	}
	return nil
}

// Get returns the canonical value of a replicated parameter (canonical
// name), as CONFIG GET prints it.
func (c *Config) Get(name string) (string, bool) {
	switch name {
	case ParamMaxMemoryPolicy:
		return c.MaxMemoryPolicy.String(), true
	case ParamNotify:
		return c.NotifyKeyspaceEvents, true
	case ParamACL:
		return c.ACLUsers, true
	}
	p := findParam(name)
	if p == nil {
		return "", false
	}
	if p.Bool {
		if *p.field(c) != 0 {
			return "yes", true
		}
		return "no", true
	}
	return strconv.FormatInt(*p.field(c), 10), true
}

// Set sets a replicated parameter from its canonical value (what Get
// returns; integers in decimal). It is what apply runs, so it must accept
// exactly what it accepts on every replica: it validates the value and
// changes nothing when it fails. notify-keyspace-events is stored as given;
// the caller validates it (the flag parser lives in package pubsub).
func (c *Config) Set(name, value string) error {
	switch name {
	case ParamMaxMemoryPolicy:
		p, ok := ParseEvictionPolicy(value)
		if !ok {
			return errors.New("bad maxmemory-policy " + strconv.Quote(value))
		}
		c.MaxMemoryPolicy = p
		return nil
	case ParamNotify:
		c.NotifyKeyspaceEvents = value
		return nil
	case ParamACL:
		// Validated by the proposer (package acl parses it); stored
		// as given.
		c.ACLUsers = value
		return nil
	case ParamACLSeed:
		if c.ACLUsers == "" {
			c.ACLUsers = value
		}
		return nil
	case ParamACLExpect:
		if ACLUsersDigest(c.ACLUsers) != value {
			return ErrACLChanged
		}
		return nil
	}
	p := findParam(name)
	if p == nil {
		return errors.New("unknown replicated parameter " + strconv.Quote(name))
	}
	if p.Bool {
		switch value {
		case "yes":
			*p.field(c) = 1
		case "no":
			*p.field(c) = 0
		default:
			return errors.New("bad value " + strconv.Quote(value) + " for " + name)
		}
		return nil
	}
	n, err := strconv.ParseInt(value, 10, 64)
	if err != nil || n < p.Min || n > p.Max {
		return errors.New("bad value " + strconv.Quote(value) + " for " + name)
	}
	*p.field(c) = n
	return nil
}

// configSectionVersion is the version byte of an encoded Config. Version
// 1 has the first configV1Params parameters of ConfigParams and the string
// ones; version 2 adds lfu-log-factor, lfu-decay-time,
// lazyfree-lazy-user-del and lazyfree-lazy-user-flush; version 3 adds
// acl-users (ParamACL, the ACL users). A reader accepts
// every version up to its own; a newer one is ErrConfigVersion (the
// replica stops: it cannot reproduce the writer's behaviour).
const configSectionVersion = 3

// ErrConfigVersion is returned by ReadConfig for a config section newer
// than this binary's.
var ErrConfigVersion = errors.New("config section version is newer than this binary's")

// AppendConfig appends the snapshot encoding of c: a version byte, then
// the parameters as (name, value) pairs, so a later version can add
// parameters and still read this one.
func AppendConfig(dst []byte, c *Config) []byte {
	dst = append(dst, configSectionVersion)
	names := ConfigNames()
	dst = binary.AppendUvarint(dst, uint64(len(names)))
	for _, n := range names {
		v, _ := c.Get(n)
		dst = binary.AppendUvarint(dst, uint64(len(n)))
		dst = append(dst, n...)
		dst = binary.AppendUvarint(dst, uint64(len(v)))
		dst = append(dst, v...)
	}
	return dst
}

// ReadConfig reads what AppendConfig wrote. Parameters missing from the
// encoding keep their defaults; an unknown one is an error (the snapshot
// comes from a newer version whose behaviour this one cannot reproduce).
func ReadConfig(r io.ByteReader) (Config, error) {
	c := DefaultConfig()
	v, err := r.ReadByte()
	if err != nil {
		return c, err
	}
	if v > configSectionVersion {
		return c, fmt.Errorf("%w: %d", ErrConfigVersion, v)
	}
	if v == 0 {
		return c, errors.New("bad config section version 0")
	}
	n, err := binary.ReadUvarint(r)
	if err != nil {
		return c, err
	}
	if n > 1024 {
		return c, errors.New("config section too long")
	}
	str := func() (string, error) {
		l, err := binary.ReadUvarint(r)
		if err != nil {
			return "", err
		}
		if l > maxACLUsersLen {
			return "", errors.New("config value too long")
		}
		b := make([]byte, l)
		for i := range b {
			if b[i], err = r.ReadByte(); err != nil {
				return "", err
			}
		}
		return string(b), nil
	}
	for range n {
		name, err := str()
		if err != nil {
			return c, err
		}
		val, err := str()
		if err != nil {
			return c, err
		}
		if v == 1 && !inV1(name) {
			return c, errors.New("parameter " + strconv.Quote(name) + " in a version 1 config section")
		}
		if v < 3 && name == ParamACL {
			return c, errors.New("parameter " + strconv.Quote(name) + " in a version 2 config section")
		}
		if err := c.Set(name, val); err != nil {
			return c, err
		}
	}
	return c, nil
}

// inV1 tells whether config section version 1 has the parameter.
func inV1(name string) bool {
	if name == ParamMaxMemoryPolicy || name == ParamNotify {
		return true
	}
	for _, p := range ConfigParams[:configV1Params] {
		if p.Name == name {
			return true
		}
	}
	return false
}

// ListMaxListpackBytes is the byte limit of one list listpack (quicklist
// node) for a negative list-max-listpack-size: -1 4 KB ... -5 64 KB, as
// Redis's optimization_level; a value below -5 counts as -5. For a
// positive size (a count of entries) it returns 0.
func (c *Config) ListMaxListpackBytes() int {
	s := c.ListMaxListpackSize
	if s >= 0 {
		return 0
	}
	if s < -5 {
		s = -5
	}
	return 4096 << (-s - 1)
}

// StateDigest hashes everything apply must make identical on every
// replica: the content (Digest), each value's encoding (OBJECT ENCODING)
// and the replicated configuration.
func (db *DB) StateDigest() uint64 {
	d := xxhash.New()
	var buf []byte
	buf = binary.AppendUvarint(buf, db.Digest())
	buf = AppendConfig(buf, &db.Cfg)
	d.Write(buf)
	db.tree.Scan(func(it *Item) bool {
		if it.Obj != nil {
			d.WriteString(it.Obj.Encoding())
		}
		return true
	})
	return d.Sum64()
}
