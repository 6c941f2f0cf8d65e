package control

import (
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/session"
	"github.com/cairndb/cairn/server/shard"
)

type donePending struct {
	vals []reply.Value
	err  error
}

func (d donePending) Wait() ([]reply.Value, error) { return d.vals, d.err }

// TestMultiPendingPartialFailure: a keyless write fanned out to several
// shards reports a failure on any of them, naming how many failed.
func TestMultiPendingPartialFailure(t *testing.T) {
	c := &Plane{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	ok := donePending{vals: []reply.Value{reply.Status("OK")}}
	cmds := [][][]byte{{[]byte("flushall")}}

	m := multiPending{c: c, sids: []uint64{1, 4}, ps: []session.Pending{ok, ok}, cmds: cmds}
	if vals, err := m.Wait(); err != nil || len(vals) != 1 {
		t.Fatalf("all shards applied: %v, %v", vals, err)
	}

	m.ps = []session.Pending{ok, donePending{err: shard.ErrNotLeader}}
	_, err := m.Wait()
	got := string(shard.ErrorReply(err).Str)
	want := "ERR FLUSHALL failed on 1 of 2 shards of this node, the others applied it (shard 4: CLUSTERDOWN no Raft leader for this shard, try again)"
	if got != want {
		t.Fatalf("one shard failed:\n got %s\nwant %s", got, want)
	}

	m.ps = []session.Pending{donePending{err: shard.ErrTimeout}, donePending{err: shard.ErrTimeout}}
	if _, err := m.Wait(); !errors.Is(err, shard.ErrTimeout) || !strings.HasPrefix(string(shard.ErrorReply(err).Str), "UNCERTAIN") {
		t.Fatalf("every shard failed: %v", err)
	}
}

// TestFTReadTimeoutRetried: a shard read that timed out is recognised
// (ftTry retries it, a remote node passes it through), nothing else is.
func TestFTReadTimeoutRetried(t *testing.T) {
	if !isReadTimeout(shard.ErrorReply(shard.ErrReadTimeout)) {
		t.Fatal("the read timeout reply is not recognised")
	}
	for _, v := range []reply.Value{errDown, shard.ErrorReply(shard.ErrTimeout), reply.BulkString(shard.ReadTimeoutReply)} {
		if isReadTimeout(v) {
			t.Fatalf("%v taken for a read timeout", v)
		}
	}
}
