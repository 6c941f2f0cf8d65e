// Package commandtest runs commands against a keyspace the way the server
// does, without Raft: write commands are encoded as a log entry, decoded and
// applied with the entry's time and seed, so handlers that keep a reference
// to their arguments are caught.
package commandtest

import (
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Harness holds a keyspace, a command table and a fake clock.
type Harness struct {
	T     testing.TB
	Table *command.Table
	DB    *keyspace.DB
	// Now is the clock in Unix milliseconds; tests move it forward.
	Now  int64
	Seed uint64
	// NotifyMask is the Ctx.NotifyMask commands run with (class bits of
	// command.ClassBit); Events are the keyspace events the last command
	// raised.
	NotifyMask uint32
	Events     []command.Event
}

// New returns a harness over an empty keyspace at a fixed time.
func New(t testing.TB, families ...[]*command.Spec) *Harness {
	return &Harness{T: t, Table: command.NewTable(families...), DB: keyspace.New(), Now: 1700000000000, Seed: 1}
}

// Do runs one command and returns its reply.
func (h *Harness) Do(args ...string) reply.Value {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return h.DoBytes(argv)
}

// DoBytes is Do with byte-slice arguments.
func (h *Harness) DoBytes(argv [][]byte) reply.Value {
	h.Events = nil
	s, err := h.Table.Resolve(argv)
	if err != nil {
		return command.ErrorReply(err)
	}
	if s.Run == nil {
		h.T.Fatalf("%s has no handler", s.Name)
	}
	if !s.IsWrite() {
		c := command.Ctx{DB: h.DB, Now: h.Now, Seed: h.Seed, ProtoMaxBulkLen: 512 << 20, NotifyMask: h.NotifyMask}
		v := command.Exec(s, &c, argv)
		h.Events = c.Events
		return v
	}
	// Round-trip through the log codec and scribble over the buffer after
	// apply, as a reused network or log buffer would.
	buf := entry.Append(nil, &entry.Entry{Kind: entry.Commands, Time: h.Now, Seed: h.Seed, Cmds: [][][]byte{argv}})
	var e entry.Entry
	if err := entry.Decode(buf, &e); err != nil {
		h.T.Fatal(err)
	}
	h.Seed++
	c := command.Ctx{DB: h.DB, Now: e.Time, Seed: e.Seed, ProtoMaxBulkLen: 512 << 20, NotifyMask: h.NotifyMask}
	v := h.Table.Apply(&c, e.Cmds[0])
	h.Events = c.Events
	// Detach the reply from the buffer before scribbling.
	v, _, err = reply.Decode(reply.Append(nil, v))
	if err != nil {
		h.T.Fatal(err)
	}
	for i := range buf {
		buf[i] = 'X'
	}
	return v
}

// Check runs a command and fails the test unless the reply's String form
// equals want.
func (h *Harness) Check(want string, args ...string) {
	h.T.Helper()
	if got := h.Do(args...).String(); got != want {
		h.T.Errorf("%q: got %s, want %s", args, got, want)
	}
}
