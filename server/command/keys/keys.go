package keys

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// keysCmd is KEYS pattern: every live key matching the glob pattern.
func keysCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	pat := args[1]
	all := len(pat) == 1 && pat[0] == '*'
	out := []reply.Value{}
	c.DB.Scan(0, func(it *keyspace.Item) bool {
		if it.Expired(c.Now) {
			return true
		}
		if all || glob.Match(pat, []byte(it.Key), false) {
			out = append(out, reply.BulkString(it.Key))
		}
		return true
	})
	return reply.Array(out...), nil
}
