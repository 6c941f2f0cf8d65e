package shard

import (
	"time"

	"github.com/lni/dragonboat/v4"
)

// readIndex starts a ReadIndex round unless the host is closing: like
// Propose, Dragonboat's ReadIndex uses the engine NodeHost.Close sets to
// nil (see Host.closeMu).
func (h *Host) readIndex(shardID uint64, timeout time.Duration) (*dragonboat.RequestState, error) {
	h.closeMu.RLock()
	defer h.closeMu.RUnlock()
	if h.closing {
		return nil, ErrClosed
	}
	return h.nh.ReadIndex(shardID, timeout)
}
