package keyspace

// Config is the part of the keyspace's behaviour that users change with
// CONFIG SET and that changes what apply does. It is replicated state: a
// change is a log entry that every replica applies at the same index, and
// snapshots carry it. It is never set from a node-local flag or clock.
//
// Sizes are bytes, counts are elements; the field comments give Redis 7.0's
// parameter name and default.
type Config struct {
	// ProtoMaxBulkLen caps strings built by APPEND, SETRANGE, SETBIT...
	// (proto-max-bulk-len, 512mb).
	ProtoMaxBulkLen int64

	// Encoding thresholds (OBJECT ENCODING).
	HashMaxListpackEntries int64 // hash-max-listpack-entries (hash-max-ziplist-entries), 128
	HashMaxListpackValue   int64 // hash-max-listpack-value (hash-max-ziplist-value), 64
	SetMaxIntsetEntries    int64 // set-max-intset-entries, 512
	ZSetMaxListpackEntries int64 // zset-max-listpack-entries (zset-max-ziplist-entries), 128
	ZSetMaxListpackValue   int64 // zset-max-listpack-value (zset-max-ziplist-value), 64
	ListMaxListpackSize    int64 // list-max-listpack-size (list-max-ziplist-size), -2
	ListCompressDepth      int64 // list-compress-depth, 0
	StreamNodeMaxBytes     int64 // stream-node-max-bytes, 4096
	StreamNodeMaxEntries   int64 // stream-node-max-entries, 100

	// MaxMemory is the limit on UsedMemory in bytes; 0 means none
	// (maxmemory, 0).
	MaxMemory int64
	// MaxMemoryPolicy is what happens when a write would exceed MaxMemory
	// (maxmemory-policy, noeviction).
	MaxMemoryPolicy EvictionPolicy

	// LFU tuning (lfu.go): lfu-log-factor (10) and lfu-decay-time
	// (minutes, 1).
	LFULogFactor int64
	LFUDecayTime int64

	// LazyfreeLazyUserDel makes DEL free as UNLINK does and
	// LazyfreeLazyUserFlush makes FLUSHALL/FLUSHDB without a mode free as
	// ASYNC does (lazyfree-lazy-user-del, lazyfree-lazy-user-flush, no).
	// They change what apply counts in lazyfreed_objects, so they are
	// replicated. 1 is yes, 0 no.
	LazyfreeLazyUserDel   int64
	LazyfreeLazyUserFlush int64

	// NotifyKeyspaceEvents is the notify-keyspace-events flag string as
	// CONFIG GET prints it ("").
	NotifyKeyspaceEvents string

	// ACLUsers are the ACL users in aclfile format (package acl's
	// Set.Text); "" means Redis's initial users (only the default user,
	// with no password). They do not change what apply does, but every
	// node must know the same users, so they travel with the replicated
	// configuration (parameter ParamACL, never shown by CONFIG GET).
	ACLUsers string
}

// EvictionPolicy is a maxmemory-policy.
type EvictionPolicy uint8

// Eviction policies, as Redis names them.
const (
	NoEviction EvictionPolicy = iota
	AllKeysLRU
	AllKeysLFU
	AllKeysRandom
	VolatileLRU
	VolatileLFU
	VolatileRandom
	VolatileTTL
)

var policyNames = [...]string{"noeviction", "allkeys-lru", "allkeys-lfu", "allkeys-random", "volatile-lru", "volatile-lfu", "volatile-random", "volatile-ttl"}

// String returns the policy's Redis name.
func (p EvictionPolicy) String() string {
	if int(p) < len(policyNames) {
		return policyNames[p]
	}
	return "unknown"
}

// ParseEvictionPolicy returns the policy named s (lower case).
func ParseEvictionPolicy(s string) (EvictionPolicy, bool) {
	for i, n := range policyNames {
		if n == s {
			return EvictionPolicy(i), true
		}
	}
	return 0, false
}

// DefaultConfig returns Redis 7.0's defaults.
func DefaultConfig() Config {
	return Config{
		ProtoMaxBulkLen:        512 << 20,
		HashMaxListpackEntries: 128,
		HashMaxListpackValue:   64,
		SetMaxIntsetEntries:    512,
		ZSetMaxListpackEntries: 128,
		ZSetMaxListpackValue:   64,
		ListMaxListpackSize:    -2,
		ListCompressDepth:      0,
		StreamNodeMaxBytes:     4096,
		StreamNodeMaxEntries:   100,
		MaxMemory:              0,
		MaxMemoryPolicy:        NoEviction,
		LFULogFactor:           10,
		LFUDecayTime:           1,
	}
}
