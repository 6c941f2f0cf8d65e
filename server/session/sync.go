package session

import (
	"bytes"
	"io"
	"strings"

	"github.com/cairndb/cairn/server/reply"
)

// rdbWriter is implemented by a backend that can write its keyspace as a
// Redis RDB file from one point-in-time view (SYNC).
type rdbWriter interface {
	WriteRDB(w io.Writer) error
}

// syncCmd is SYNC, as `redis-cli --rdb FILE` sends it: the reply is the
// whole keyspace as a Redis 7.0 RDB file in one bulk string, then the
// connection closes. Cairn sends no replication stream after it, so a
// Redis replica (which announced itself with REPLCONF listening-port) is
// refused rather than left believing it follows.
func syncCmd(_ *Server, c *client, _ [][]byte) reply.Value {
	if c.replica {
		return reply.Error("ERR Cairn does not serve Redis replicas; SYNC only sends a copy of the data (redis-cli --rdb)")
	}
	w, ok := c.be.(rdbWriter)
	if !ok {
		return reply.Error("ERR SYNC is not supported on this endpoint")
	}
	var buf bytes.Buffer
	if err := w.WriteRDB(&buf); err != nil {
		return reply.Error("ERR " + err.Error())
	}
	c.closing = true
	return reply.Bulk(buf.Bytes())
}

// replconfCmd is REPLCONF: accepted and ignored (redis-cli --rdb sends
// "capa eof" and "rdb-only 1" before SYNC), except that listening-port
// marks the connection as a Redis replica, which SYNC refuses.
func replconfCmd(_ *Server, c *client, args [][]byte) reply.Value {
	if len(args)%2 == 0 {
		return reply.Error("ERR syntax error")
	}
	for i := 1; i < len(args); i += 2 {
		if strings.EqualFold(string(args[i]), "listening-port") {
			c.replica = true
		}
	}
	return reply.OK
}
