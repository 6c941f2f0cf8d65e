package cluster

import (
	"errors"
	"maps"

	"github.com/cairndb/cairn/server/keyspace"
)

// configSet merges changed replicated parameters into the directory's
// configuration and returns the new ConfigEpoch. Values are validated as
// every shard's apply will validate them, so a change the directory
// accepts is one every shard accepts.
func (t *Topology) configSet(change map[string]string) (uint64, error) {
	if len(change) == 0 {
		return 0, errors.New("config-set needs parameters")
	}
	cfg := t.KeyspaceConfig()
	// The condition of an ACL change is checked first and not stored.
	if exp, ok := change[keyspace.ParamACLExpect]; ok {
		if err := cfg.Set(keyspace.ParamACLExpect, exp); err != nil {
			return 0, err
		}
		change = maps.Clone(change)
		delete(change, keyspace.ParamACLExpect)
	}
	for name, v := range change {
		if err := cfg.Set(name, v); err != nil {
			return 0, err
		}
	}
	if t.Config == nil {
		t.Config = map[string]string{}
	}
	for name, v := range change {
		t.Config[name] = v
	}
	t.ConfigEpoch++
	return t.ConfigEpoch, nil
}

// KeyspaceConfig returns the directory's replicated configuration over
// Redis's defaults.
func (t *Topology) KeyspaceConfig() keyspace.Config {
	cfg := keyspace.DefaultConfig()
	for name, v := range t.Config {
		cfg.Set(name, v) // validated when it was set
	}
	return cfg
}
