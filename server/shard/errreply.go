package shard

import (
	"errors"

	"github.com/cairndb/cairn/server/reply"
)

// ReadTimeoutReply is the reply to a read whose linearizability barrier
// timed out (ErrReadTimeout).
const ReadTimeoutReply = "TRYAGAIN read not confirmed by the Raft log in time; retry"

// ErrorReply turns an error of this package (timeout, no leader, closed,
// out of space, halted, feature gated) into the Redis error reply a client
// gets; other errors become "ERR <text>". The session layer and the
// cluster control plane both answer with it.
func ErrorReply(err error) reply.Value {
	switch {
	case errors.Is(err, ErrTimeout):
		// Not TRYAGAIN: cluster clients retry that automatically, and a
		// retried write whose first attempt did apply would apply twice.
		return reply.Error("UNCERTAIN write not confirmed by the Raft log in time; it may or may not have been applied")
	case errors.Is(err, ErrReadTimeout):
		// A read changed nothing: TRYAGAIN, which cluster clients
		// (go-redis, redis-py) retry by themselves.
		return reply.Error(ReadTimeoutReply)
	case errors.Is(err, ErrNotLeader):
		return reply.Error("CLUSTERDOWN no Raft leader for this shard, try again")
	case errors.Is(err, ErrClosed):
		return reply.Error("ERR server is shutting down")
	case errors.Is(err, ErrNoSpace):
		// Redis answers MISCONF when it cannot persist writes.
		return reply.Error("MISCONF " + err.Error())
	case errors.Is(err, ErrHalted):
		return reply.Error("HALTED " + err.Error() + " (see INFO raft)")
	case errors.Is(err, ErrFeatureGated):
		return reply.Error("ERR " + err.Error())
	}
	return reply.Error("ERR " + err.Error())
}
