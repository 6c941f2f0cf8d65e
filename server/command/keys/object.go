package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errNoLFU  = command.Msg("ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
	errLFUSet = command.Msg("ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.")
)

// Redis's shared integer objects (OBJ_SHARED_INTEGERS): strings holding
// 0..9999 are one shared object whose refcount is OBJ_SHARED_REFCOUNT.
const (
	sharedIntegers = 10000
	sharedRefcount = 2147483647
)

// embstrLimit is OBJ_ENCODING_EMBSTR_SIZE_LIMIT.
const embstrLimit = 44

// StringEncoding returns the encoding OBJECT ENCODING reports for a string
// item: "int" for the canonical decimal form of an int64, "embstr" up to 44
// bytes, "raw" beyond, and "raw" for any string modified in place.
func StringEncoding(it *keyspace.Item) string {
	if it.Raw {
		return "raw"
	}
	if _, ok := intValue(it.Str); ok {
		return "int"
	}
	if len(it.Str) <= embstrLimit {
		return "embstr"
	}
	return "raw"
}

// intValue parses a string value that Redis would store int-encoded.
func intValue(s []byte) (int64, bool) {
	if len(s) > 20 {
		return 0, false
	}
	v, err := command.ParseInt(s)
	return v, err == nil
}

func encoding(it *keyspace.Item) string {
	if it.Obj != nil {
		return it.Obj.Encoding()
	}
	return StringEncoding(it)
}

// objectEncoding is OBJECT ENCODING key.
func objectEncoding(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[2], c.Now)
	if it == nil {
		return reply.Nil, nil
	}
	return reply.BulkString(encoding(it)), nil
}

// objectRefcount is OBJECT REFCOUNT key: 1, or Redis's shared-object
// refcount for strings holding a small integer.
func objectRefcount(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[2], c.Now)
	if it == nil {
		return reply.Nil, nil
	}
	if it.Obj == nil && !it.Raw {
		if v, ok := intValue(it.Str); ok && v >= 0 && v < sharedIntegers {
			return reply.Int(sharedRefcount), nil
		}
	}
	return reply.Int(1), nil
}

// objectIdletime is OBJECT IDLETIME key: seconds since the last access.
func objectIdletime(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[2], c.Now)
	if it == nil {
		return reply.Nil, nil
	}
	if c.DB.Cfg.MaxMemoryPolicy.IsLFU() {
		return reply.Value{}, errLFUSet
	}
	return reply.Int(it.IdleSeconds(c.Now)), nil
}

// objectFreq is OBJECT FREQ key: the key's LFU access counter (decayed to
// now) under an LFU maxmemory-policy, Redis's error under any other. The
// counter is the serving node's: reads update it where they run.
func objectFreq(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[2], c.Now)
	if it == nil {
		return reply.Nil, nil
	}
	if !c.DB.Cfg.MaxMemoryPolicy.IsLFU() {
		return reply.Value{}, errNoLFU
	}
	return reply.Int(int64(it.Freq(c.Now, &c.DB.Cfg))), nil
}

var objectHelpLines = []string{
	"OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
	"ENCODING <key>",
	"    Return the kind of internal representation used in order to store the value",
	"    associated with a <key>.",
	"FREQ <key>",
	"    Return the access frequency index of the <key>. The returned integer is",
	"    proportional to the logarithm of the recent access frequency of the key.",
	"IDLETIME <key>",
	"    Return the idle time of the <key>, that is the approximated number of",
	"    seconds elapsed since the last access to the key.",
	"REFCOUNT <key>",
	"    Return the number of references of the value associated with the specified",
	"    <key>.",
	"HELP",
	"    Prints this help.",
}

// objectHelp is OBJECT HELP.
func objectHelp(c *command.Ctx, args [][]byte) (reply.Value, error) {
	lines := make([]reply.Value, len(objectHelpLines))
	for i, l := range objectHelpLines {
		lines[i] = reply.Status(l)
	}
	return reply.Array(lines...), nil
}
