package session

import (
	"sync"

	"github.com/cairndb/cairn/server/keyspace"
)

// memConfig is a replicated configuration held in memory, for test
// backends (SetConfig applies at once, as a one-replica log would).
type memConfig struct {
	mu  sync.Mutex
	cfg keyspace.Config
}

func newMemConfig() *memConfig { return &memConfig{cfg: keyspace.DefaultConfig()} }

func (m *memConfig) Config() keyspace.Config {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.cfg
}

func (m *memConfig) SetConfig(pairs [][2]string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.cfg
	for _, p := range pairs {
		if err := c.Set(p[0], p[1]); err != nil {
			return err
		}
	}
	m.cfg = c
	return nil
}
