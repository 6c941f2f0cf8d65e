package keyspace

import (
	"math/rand/v2"
	"sync/atomic"
)

// Counter is an int64 counter that readers on several cores can bump
// without fighting over one cache line: additions land on one of a few
// padded stripes, and Load sums them.
type Counter struct {
	stripes [8]struct {
		n atomic.Int64
		_ [56]byte
	}
}

// Add adds d.
func (c *Counter) Add(d int64) { c.stripes[rand.Uint32()&7].n.Add(d) }

// Load returns the sum.
func (c *Counter) Load() int64 {
	var s int64
	for i := range c.stripes {
		s += c.stripes[i].n.Load()
	}
	return s
}
