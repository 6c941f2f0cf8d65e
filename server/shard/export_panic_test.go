package shard

import (
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// NewTestSMOpts is NewTestSM with options: Logger, and Cluster with
// InitialSlots for a cluster shard's state machine (slot checks, SlotOp
// entries).
func NewTestSMOpts(table *command.Table, opts Options) *TestSM {
	opts.setDefaults()
	s := &stateMachine{db: keyspace.New(), table: table, opts: opts}
	if opts.Cluster {
		s.slots = initialSlots(opts.InitialSlots)
	}
	if err := s.initConfig(); err != nil {
		panic(err)
	}
	return &TestSM{s}
}

// Panics returns how many panics the state machine recovered.
func (t *TestSM) Panics() int64 { return t.s.panics.Load() }

// Read runs a read-only command as Shard.ReadAt does, at now (Unix ms).
func (t *TestSM) Read(now int64, spec *command.Spec, args [][]byte) reply.Value {
	sh := &Shard{sm: t.s}
	return sh.ReadAt(time.UnixMilli(now), spec, args)
}
