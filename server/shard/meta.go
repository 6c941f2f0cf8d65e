package shard

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/client"
	sm "github.com/lni/dragonboat/v4/statemachine"
)

// MetaMachine is a small replicated state machine (the cluster's
// directory). Apply must be deterministic; Save and Load are its snapshot.
type MetaMachine interface {
	Apply(cmd []byte) []byte
	Save(w io.Writer) error
	Load(r io.Reader) error
}

// Meta is this host's replica of a MetaMachine group.
type Meta struct {
	host      *Host
	shardID   uint64
	replicaID uint64
	session   *client.Session // no-op session, for reads
	mu        sync.Mutex      // one proposal at a time on cs
	cs        *client.Session
}

type metaSM struct{ m MetaMachine }

func (w *metaSM) Update(e sm.Entry) (sm.Result, error) {
	return sm.Result{Value: 1, Data: w.m.Apply(e.Cmd)}, nil
}
func (w *metaSM) Lookup(interface{}) (interface{}, error) { return nil, nil }
func (w *metaSM) SaveSnapshot(wr io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	if h, ok := w.m.(interface{ Halted() string }); ok && h.Halted() != "" {
		// A halted directory must not snapshot past the op it could not
		// apply; Dragonboat treats this as a skipped snapshot.
		return sm.ErrSnapshotAborted
	}
	return w.m.Save(wr)
}
func (w *metaSM) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	return w.m.Load(r)
}
func (w *metaSM) Close() error { return nil }

// MetaOptions configures a meta replica.
type MetaOptions struct {
	ShardID, ReplicaID uint64
	// Members bootstraps a new group (ignored on restart).
	Members map[uint64]string
	// Join starts a replica added to an existing group.
	Join bool
	// NonVoting joins as a non-voting member.
	NonVoting bool
	// ElectionRTT, HeartbeatRTT: defaults 20 and 2.
	ElectionRTT, HeartbeatRTT uint64
}

// StartMeta starts (or restarts) this host's replica of a meta group.
func (h *Host) StartMeta(opts MetaOptions, m MetaMachine) (*Meta, error) {
	if opts.ElectionRTT == 0 {
		opts.ElectionRTT = DefaultElectionRTT
	}
	if opts.HeartbeatRTT == 0 {
		opts.HeartbeatRTT = DefaultHeartbeatRTT
	}
	rc := groupConfig(opts.ShardID, opts.ReplicaID, opts.ElectionRTT, opts.HeartbeatRTT)
	rc.SnapshotEntries = 1000
	rc.CompactionOverhead = 100
	rc.IsNonVoting = opts.NonVoting
	members := map[uint64]dragonboat.Target{}
	for id, addr := range opts.Members {
		members[id] = addr
	}
	create := func(uint64, uint64) sm.IStateMachine { return &metaSM{m: m} }
	if err := h.nh.StartReplica(members, opts.Join, create, rc); err != nil {
		return nil, fmt.Errorf("start meta group: %w", err)
	}
	return &Meta{host: h, shardID: opts.ShardID, replicaID: opts.ReplicaID, session: h.nh.GetNoOPSession(opts.ShardID)}, nil
}

// Propose commits cmd to the meta log and returns Apply's result. It
// retries through leader changes; a client session makes the retries
// exactly-once (Dragonboat drops a duplicate of an applied proposal), so
// non-idempotent changes (a new shard, a migration) never apply twice.
func (m *Meta) Propose(ctx context.Context, cmd []byte) ([]byte, error) {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	var last error
	for ctx.Err() == nil {
		if m.cs == nil {
			actx, cancel := context.WithTimeout(ctx, 2*time.Second)
			cs, err := m.host.nh.SyncGetSession(actx, m.shardID)
			cancel()
			if err != nil {
				last = err
				m.pause(ctx)
				continue
			}
			m.cs = cs
		}
		actx, cancel := context.WithTimeout(ctx, 2*time.Second)
		r, err := m.host.nh.SyncPropose(actx, m.cs, cmd)
		cancel()
		if err == nil {
			m.cs.ProposalCompleted()
			return r.Data, nil
		}
		last = err
		if errors.Is(err, dragonboat.ErrRejected) {
			// The session is unknown to the group (expired): start over.
			m.cs = nil
			continue
		}
		if !errors.Is(err, dragonboat.ErrShardNotReady) && !errors.Is(err, dragonboat.ErrSystemBusy) &&
			!errors.Is(err, dragonboat.ErrTimeout) && !errors.Is(err, context.DeadlineExceeded) {
			break
		}
		m.pause(ctx)
	}
	// The last attempt may still apply later; a fresh session keeps the
	// next proposal from being mistaken for it.
	m.cs = nil
	return nil, mapErr(last)
}

func (m *Meta) pause(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-time.After(20 * time.Millisecond):
	}
}

// Sync waits until this replica has applied everything committed before
// the call (a ReadIndex round), so a following local read is linearizable.
func (m *Meta) Sync(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
	}
	_, err := m.host.nh.SyncRead(ctx, m.shardID, nil)
	return mapErr(err)
}

// Leader returns the meta group's leader, if known.
func (m *Meta) Leader() (uint64, bool) {
	id, _, ok, err := m.host.nh.GetLeaderID(m.shardID)
	return id, ok && err == nil
}

// IsLeader tells whether this replica leads the meta group.
func (m *Meta) IsLeader() bool {
	id, ok := m.Leader()
	return ok && id == m.replicaID
}

// Members returns the meta group's voting and non-voting members.
func (m *Meta) Members(ctx context.Context) (voting, nonVoting map[uint64]string, err error) {
	mem, err := m.host.nh.SyncGetShardMembership(ctx, m.shardID)
	if err != nil {
		return nil, nil, mapErr(err)
	}
	return mem.Nodes, mem.NonVotings, nil
}

// AddMember adds a voting (or non-voting) member.
func (m *Meta) AddMember(ctx context.Context, id uint64, addr string, nonVoting bool) error {
	if nonVoting {
		return mapErr(m.host.nh.SyncRequestAddNonVoting(ctx, m.shardID, id, addr, 0))
	}
	return mapErr(m.host.nh.SyncRequestAddReplica(ctx, m.shardID, id, addr, 0))
}

// RemoveMember removes a member.
func (m *Meta) RemoveMember(ctx context.Context, id uint64) error {
	return mapErr(m.host.nh.SyncRequestDeleteReplica(ctx, m.shardID, id, 0))
}
