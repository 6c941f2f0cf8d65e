// Package command is Cairn's command model: each command is a Spec (name,
// arity, flags, key positions, ACL categories, handler) in a family's spec
// table. The dispatcher, not the handler, checks arity, and COMMAND output is
// generated from the same tables.
//
// Handlers return values and never touch a connection. Write handlers run
// inside Raft apply on every replica: their only clock is Ctx.Now (the
// leader's timestamp stored in the log entry) and their only randomness is
// Ctx.Rand (seeded from the entry). Read handlers run on the serving node
// under the keyspace read lock.
package command

import (
	"math/rand/v2"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
)

// Flag describes a command, as in COMMAND INFO.
type Flag uint32

// Command flags. Write commands go through the Raft log; ReadOnly commands
// are served from the applied state; Conn commands act on the connection
// or server and are run by the session layer.
const (
	Write Flag = 1 << iota
	ReadOnly
	DenyOOM
	Admin
	PubSub
	NoScript
	Blocking
	Loading
	Stale
	SkipMonitor
	SkipSlowlog
	Fast
	NoAuth
	MayReplicate
	NoMulti
	AllowBusy
	Conn // run by the connection layer, not by a family handler
)

var flagNames = []string{
	"write", "readonly", "denyoom", "admin", "pubsub", "noscript", "blocking",
	"loading", "stale", "skip_monitor", "skip_slowlog", "fast", "no_auth",
	"may_replicate", "no_multi", "allow_busy",
}

// Names returns the flag names COMMAND INFO prints.
func (f Flag) Names() []string {
	var out []string
	for i, n := range flagNames {
		if f&(1<<i) != 0 {
			out = append(out, n)
		}
	}
	return out
}

// Handler runs one command. args[0] is the command name. A handler either
// returns a reply or an error; errors are turned into Redis error replies by
// ErrorReply, the one translation table.
type Handler func(c *Ctx, args [][]byte) (reply.Value, error)

// Spec is one command.
type Spec struct {
	Name  string // lower case, as COMMAND prints it
	Arity int    // Redis arity: N exact, -N at least N, counting the name
	Flags Flag
	// Key positions: first key, last key (negative counts from the end),
	// step. All zero for commands without keys.
	FirstKey, LastKey, Step int
	// KeysFunc overrides the positions for commands whose keys are not at
	// fixed positions (e.g. counted by a numkeys argument).
	KeysFunc func(args [][]byte) []int
	ACL      []string // ACL categories without '@', e.g. "string", "fast"
	Group    string   // COMMAND DOCS group: "string", "generic", "hash", ...
	Summary  string
	Since    string
	// Format is the log-entry format version (entry.Version) that
	// introduced the command; 0 means 1. A leader refuses to propose it
	// while the cluster version is lower, since older nodes would halt
	// on it (shard.ErrFeatureGated).
	Format uint8
	// Complexity is the time complexity COMMAND DOCS prints.
	Complexity string
	// Run is the handler. Write commands' handlers run at apply time.
	Run Handler
	// Block is set on commands that may block (BLPOP, XREAD ... BLOCK).
	Block *BlockSpec
	// Sub holds subcommands (OBJECT ENCODING, CLIENT ID ...), named
	// "object|encoding" as COMMAND prints them.
	Sub []*Spec
}

// IsWrite tells whether the command goes through the log.
func (s *Spec) IsWrite() bool { return s.Flags&Write != 0 }

// Keys returns the indexes of the key arguments in args.
func (s *Spec) Keys(args [][]byte) []int {
	if s.KeysFunc != nil {
		return s.KeysFunc(args)
	}
	return s.AppendKeys(nil, args)
}

// AppendKeys appends the key positions of a command without a KeysFunc
// (FirstKey, LastKey, Step) to dst: Keys into a caller's buffer.
func (s *Spec) AppendKeys(dst []int, args [][]byte) []int {
	if s.FirstKey <= 0 || s.FirstKey >= len(args) {
		return dst
	}
	last := s.LastKey
	if last < 0 {
		last = len(args) + last
	}
	if last >= len(args) {
		last = len(args) - 1
	}
	step := max(s.Step, 1)
	for i := s.FirstKey; i <= last; i += step {
		dst = append(dst, i)
	}
	return dst
}

// Ctx is what a handler may use.
type Ctx struct {
	DB *keyspace.DB
	// Now is Unix milliseconds: the entry's leader time for writes, the
	// serving node's clock for reads.
	Now int64
	// Seed is the entry's random seed; Rand derives a generator from it.
	Seed uint64
	// ProtoMaxBulkLen caps the size of strings built by SETRANGE, APPEND
	// and friends (proto-max-bulk-len).
	ProtoMaxBulkLen int64
	// Dirty counts the changes a handler made (rdb_changes_since_last_save).
	Dirty int64

	// NoBlock is set when blocking is not allowed (inside MULTI/EXEC): a
	// blocking command whose keys are not ready returns its timeout reply
	// at once instead of Blocked.
	NoBlock bool
	// BlockArgs may be set by a read-only blocking handler (XREAD) that
	// returns Blocked: the arguments to run when the client is woken, with
	// "$" resolved to the ids it saw.
	BlockArgs [][]byte
	// NotifyMask selects the keyspace-notification classes recorded in
	// Events (bits from ClassBit); zero records none.
	NotifyMask uint32
	// Events are the keyspace notifications the command raised.
	Events []Event
	// Search is the keyspace's FT index registry (nil where there is
	// none, e.g. in bare handler tests). Writes change it at apply time;
	// reads query it under the read lock.
	Search *search.Registry

	// Funcs is the shard's set of function libraries (FUNCTION, FCALL),
	// replicated state like the keyspace; nil where none is available.
	Funcs *modules.Registry
	// Table resolves the commands a function runs through call/pcall.
	Table *Table
	// Cluster is set on a cluster-mode shard: the keys a function touches
	// must share a slot, and no-cluster functions are refused.
	Cluster bool
	// Memory, if set, tells whether used memory is over maxmemory at
	// apply time (FCALL refuses writing functions without allow-oom then).
	Memory interface{ OutOfMemory() bool }
	// InFunction is set while a function's commands run (FCALL inside a
	// function is refused).
	InFunction bool

	rng *rand.Rand
}

// Event is one keyspace notification raised at apply time ("lpush" on key
// "mylist", class 'l').
type Event struct {
	Class byte
	Name  string
	Key   string
}

// Keyspace-notification classes, as notify-keyspace-events letters.
const (
	ClassGeneric = 'g'
	ClassString  = '$'
	ClassList    = 'l'
	ClassSet     = 's'
	ClassHash    = 'h'
	ClassZSet    = 'z'
	ClassExpired = 'x'
	ClassEvicted = 'e'
	ClassStream  = 't'
	ClassKeyMiss = 'm'
	ClassNew     = 'n'
	ClassModule  = 'd'
)

// ClassBit returns the NotifyMask bit of a class letter (0 if unknown).
func ClassBit(class byte) uint32 {
	const letters = "g$lshzxetmnd"
	for i := 0; i < len(letters); i++ {
		if letters[i] == class {
			return 1 << i
		}
	}
	return 0
}

// Notify records a keyspace notification, as Redis's notifyKeyspaceEvent:
// write handlers call it after each change, with Redis's event names.
func (c *Ctx) Notify(class byte, name string, key []byte) {
	if c.NotifyMask == 0 || c.NotifyMask&ClassBit(class) == 0 {
		return
	}
	c.Events = append(c.Events, Event{Class: class, Name: name, Key: string(key)})
}

// BlockSpec describes how a blocking command blocks.
type BlockSpec struct {
	// Timeout returns the command's timeout in milliseconds (0 waits
	// forever; negative means this call does not block, e.g. XREAD
	// without BLOCK). It runs only after the handler accepted args.
	Timeout func(args [][]byte) int64
	// TimeoutReply is the reply when the timeout expires (a null array
	// for BLPOP, a null bulk for BLMOVE).
	TimeoutReply reply.Value
}

// Blocked is what a blocking command's handler returns when none of its
// keys is ready and c.NoBlock is false: nothing was changed, and the
// connection layer parks the client and runs the command again (through
// the log for writes) when one of its keys changes, or answers
// Block.TimeoutReply when the timeout expires.
var Blocked = reply.Error("CAIRNBLOCKED")

// IsBlocked tells whether v is the Blocked reply.
func IsBlocked(v reply.Value) bool {
	return v.Kind == reply.KindError && string(v.Str) == "CAIRNBLOCKED"
}

// Rand returns the command's deterministic random generator.
func (c *Ctx) Rand() *rand.Rand {
	if c.rng == nil {
		c.rng = rand.New(rand.NewPCG(c.Seed, uint64(c.Now)))
	}
	return c.rng
}

// WithFormat sets Format to format on every spec of a family and on its
// subcommands, and returns the specs (for a family's Specs table).
func WithFormat(format uint8, specs []*Spec) []*Spec {
	for _, s := range specs {
		s.Format = format
		for _, sub := range s.Sub {
			sub.Format = format
		}
	}
	return specs
}
