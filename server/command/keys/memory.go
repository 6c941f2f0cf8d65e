package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// MemoryUsage is MEMORY USAGE key [SAMPLES count]: the bytes the key, its
// value and its expiry take in Cairn's memory accounting (the figure
// maxmemory and used_memory_dataset count), or nil for a missing key.
// Cairn's per-key sizes are maintained exactly, so SAMPLES (Redis samples
// the elements of large aggregates) is validated as Redis validates it and
// changes nothing. The options are checked before the key is looked up.
func MemoryUsage(c *command.Ctx, args [][]byte) (reply.Value, error) {
	for j := 3; j < len(args); j++ {
		if !command.EqualFold(args[j], "samples") || j+1 >= len(args) {
			return reply.Value{}, command.ErrSyntax
		}
		n, err := command.ParseInt(args[j+1])
		if err != nil {
			return reply.Value{}, command.ErrNotInt
		}
		if n < 0 {
			return reply.Value{}, command.ErrSyntax
		}
		j++
	}
	it := c.DB.Exists(args[2], c.Now)
	if it == nil {
		return reply.Nil, nil
	}
	return reply.Int(it.MemSize()), nil
}
