package shard

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cespare/xxhash/v2"
	sm "github.com/lni/dragonboat/v4/statemachine"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/pubsub"
	"github.com/cairndb/cairn/server/reply"
)

// The replicated configuration (keyspace.Config, db.Cfg) changes only by
// an entry.Config log entry, applied by every replica at the same index,
// and is carried by snapshots. See DESIGN.md, "Replicated configuration".

// epochParam is the pseudo-parameter of a Config entry that names the
// version of the cluster directory's configuration it carries.
const epochParam = "#epoch"

// ConfigPair is one (canonical name, canonical value) parameter.
type ConfigPair struct{ Name, Value string }

// checkConfig applies pairs to a copy of cfg and returns it, with the
// epoch the pairs carry (epoch if none); nothing changes on error.
func checkConfig(cfg keyspace.Config, epoch uint64, pairs []ConfigPair) (keyspace.Config, uint64, error) {
	for _, p := range pairs {
		if p.Name == epochParam {
			n, err := strconv.ParseUint(p.Value, 10, 64)
			if err != nil {
				return cfg, epoch, errors.New("bad config epoch")
			}
			epoch = n
			continue
		}
		if p.Name == keyspace.ParamNotify {
			if _, ok := pubsub.ParseNotifyFlags(p.Value); !ok {
				return cfg, epoch, errors.New(pubsub.ErrNotifyFlags)
			}
		}
		if err := cfg.Set(p.Name, p.Value); err != nil {
			return cfg, epoch, err
		}
	}
	return cfg, epoch, nil
}

// applyConfig applies an entry.Config. An entry carrying an older
// directory epoch than the one applied is stale (a reconciler that read an
// older directory) and changes nothing.
func (s *stateMachine) applyConfig(e *entry.Entry) sm.Result {
	pairs := make([]ConfigPair, 0, len(e.Cmds))
	for _, cmd := range e.Cmds {
		if len(cmd) != 2 {
			return sm.Result{Data: reply.Append(nil, reply.Error("ERR corrupt config entry"))}
		}
		pairs = append(pairs, ConfigPair{string(cmd[0]), string(cmd[1])})
	}
	cfg, epoch, err := checkConfig(s.db.Cfg, s.cfgEpoch, pairs)
	if err != nil {
		return sm.Result{Data: reply.Append(nil, reply.Error("ERR "+err.Error()))}
	}
	if epoch < s.cfgEpoch {
		return sm.Result{Value: 0, Data: reply.Append(nil, reply.OK)}
	}
	s.db.Cfg, s.cfgEpoch = cfg, epoch
	s.configChanged()
	return sm.Result{Value: 1, Data: reply.Append(nil, reply.OK)}
}

// configChanged refreshes what is derived from db.Cfg. Called with the
// write lock held (or before the shard runs).
func (s *stateMachine) configChanged() {
	m, _ := pubsub.ParseNotifyFlags(s.db.Cfg.NotifyKeyspaceEvents)
	s.notifyFlags.Store(m)
	s.notifyMask.Store(pubsub.RecordMask(m))
}

// initConfig sets the configuration a new replica starts from: the
// defaults plus Options.InitialConfig (the same on every replica).
func (s *stateMachine) initConfig() error {
	cfg, epoch, err := checkConfig(keyspace.DefaultConfig(), 0, s.opts.InitialConfig)
	if err != nil {
		return fmt.Errorf("initial config: %w", err)
	}
	s.db.Cfg, s.cfgEpoch = cfg, epoch
	s.configChanged()
	return nil
}

// appendConfigSection is the snapshot's configuration: the epoch, then
// keyspace.AppendConfig (itself versioned).
func appendConfigSection(dst []byte, cfg *keyspace.Config, epoch uint64) []byte {
	dst = binary.AppendUvarint(dst, epoch)
	return keyspace.AppendConfig(dst, cfg)
}

type byteReader interface {
	io.Reader
	io.ByteReader
}

func readConfigSection(r byteReader) (keyspace.Config, uint64, error) {
	epoch, err := binary.ReadUvarint(r)
	if err != nil {
		return keyspace.Config{}, 0, err
	}
	cfg, err := keyspace.ReadConfig(r)
	return cfg, epoch, err
}

// ProposeConfig proposes a change of the replicated configuration and
// waits until it is applied. epoch is the cluster directory's config
// version (0 on a single node).
func (s *Shard) ProposeConfig(pairs []ConfigPair, epoch uint64) error {
	cmds := make([][][]byte, 0, len(pairs)+1)
	if epoch > 0 {
		cmds = append(cmds, [][]byte{[]byte(epochParam), []byte(strconv.FormatUint(epoch, 10))})
	}
	for _, p := range pairs {
		cmds = append(cmds, [][]byte{[]byte(p.Name), []byte(p.Value)})
	}
	out, err := s.Propose(entry.Config, cmds).Wait()
	if err != nil {
		return err
	}
	if len(out) == 1 && out[0].Kind == reply.KindError {
		return errors.New(string(out[0].Str))
	}
	return nil
}

// Config returns the applied replicated configuration and the directory
// config epoch it carries.
func (s *Shard) Config() (keyspace.Config, uint64) {
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	return s.sm.db.Cfg, s.sm.cfgEpoch
}

// NotifyFlags returns the applied notify-keyspace-events as a pubsub mask
// (classes, K, E).
func (s *Shard) NotifyFlags() uint32 { return s.sm.notifyFlags.Load() }

// StateDigest returns the applied index and the state digest at it:
// keyspace.DB.StateDigest, mixed with the FT registry's digest when there
// are indexes and with the function libraries' when there are some.
func (s *Shard) StateDigest() (applied, digest uint64) {
	s.sm.mu.RLock()
	defer s.sm.mu.RUnlock()
	return s.sm.applied.Load(), s.sm.stateDigest()
}

// stateDigest is StateDigest's digest; the caller holds the lock.
func (s *stateMachine) stateDigest() uint64 {
	d := s.db.StateDigest()
	if s.digestOnly {
		d = s.dbDigest
	}
	if s.ft.Len() > 0 {
		d = xxhash.Sum64(binary.LittleEndian.AppendUint64(binary.LittleEndian.AppendUint64(nil, d), s.ft.Digest()))
	}
	if g := s.libs.Load(); g != nil && len(g.List("")) > 0 {
		// The function libraries are replicated state too.
		d = d*0x9e3779b97f4a7c15 ^ g.Digest()
	}
	return d
}
