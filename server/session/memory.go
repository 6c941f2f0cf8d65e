package session

// MemoryInfo is the backend's maxmemory picture for INFO.
type MemoryInfo struct {
	// Used is the accounted size of the dataset (keys, values, expiry
	// index, per-key overhead) in bytes: the number maxmemory limits.
	// It is deterministic, the same on every replica.
	Used int64
	// Max is maxmemory (0: none); Policy maxmemory-policy.
	Max    int64
	Policy string
	// EvictedKeys counts keys evicted by maxmemory-policy.
	EvictedKeys int64
	// GuardLimit is the process memory guard (0: disabled): over it the
	// leader refuses writes that may grow memory.
	GuardLimit int64
}

// MemoryBackend is implemented by backends that enforce maxmemory.
type MemoryBackend interface {
	// Memory returns the figures INFO reports.
	Memory() MemoryInfo
	// OverMemory tells whether a write that may grow memory would be
	// refused on the route now (MULTI refuses queued commands then, as
	// Redis does).
	OverMemory(target Route) bool
}

// memory returns the backend's memory figures (zero if it has none).
func (s *Server) memory() MemoryInfo {
	if mb, ok := s.backend.(MemoryBackend); ok {
		return mb.Memory()
	}
	return MemoryInfo{Policy: "noeviction"}
}

// overMemory tells whether the route refuses memory-growing writes now.
func (s *Server) overMemory(target Route) bool {
	mb, ok := s.backend.(MemoryBackend)
	return ok && mb.OverMemory(target)
}
