package regions

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
)

// startPulls starts one puller per shard this node holds that has none
// (shards started later get theirs from watch).
func (m *Manager) startPulls() {
	for _, id := range m.cfg.Shards() {
		m.mu.Lock()
		if m.closed || m.Role() != Secondary {
			m.mu.Unlock()
			return
		}
		ps := m.pulls[id]
		if ps == nil {
			ps = &pullState{}
			ps.since.Store(time.Now().UnixMilli())
			m.pulls[id] = ps
		}
		if ps.running {
			m.mu.Unlock()
			continue
		}
		ps.running = true
		m.wg.Add(1)
		m.pullWG.Add(1)
		m.mu.Unlock()
		go m.pull(id, ps)
	}
}

// pull feeds shard id from the primary while this node leads it and the
// region is a secondary. Whichever replica leads pulls; each start
// resumes from the shard's replicated position, so a restart or a leader
// change neither loses nor repeats an entry (a repeat would be skipped at
// apply anyway).
func (m *Manager) pull(id uint64, ps *pullState) {
	defer m.wg.Done()
	defer m.pullWG.Done()
	defer func() {
		m.mu.Lock()
		ps.running = false
		m.mu.Unlock()
	}()
	next := 0 // which primary address to try
	backoff := 50 * time.Millisecond
	for !m.stopping() && m.Role() == Secondary {
		dst := m.cfg.Dest(id)
		if dst == nil || !dst.IsLeader() {
			ps.connected.Store(false)
			if !m.sleep(50 * time.Millisecond) {
				return
			}
			continue
		}
		m.mu.Lock()
		addr := m.cfg.Primary[next%len(m.cfg.Primary)]
		m.mu.Unlock()
		err := m.pullFrom(addr, id, dst, ps)
		wasUp := ps.connected.Swap(false)
		if m.stopping() {
			return
		}
		if err != nil {
			pos, _ := dst.Position(id)
			// Logged when the link goes down, and when the reason it
			// stays down changes (not at every retry).
			if prev, _ := ps.lastErr.Load().(string); wasUp || prev != err.Error() {
				m.cfg.Logger.Warn("region link down", "region", m.cfg.Name, "shard", id, "primary", addr, "log_index", pos, "err", err)
			}
			ps.lastErr.Store(err.Error())
			var le *linkError
			if !errors.As(err, &le) || le.code != errCodeCompacted {
				next++ // try the next primary node
			}
			if !m.sleep(backoff) {
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 50 * time.Millisecond
	}
}

// pullFrom runs one link: dial, authenticate, ask for the entries after
// the shard's position, and ship each batch into the shard's log.
func (m *Manager) pullFrom(addr string, id uint64, dst DestLog, ps *pullState) error {
	c, err := m.cfg.Dial(addr)
	if err != nil {
		return err
	}
	if !m.track(c, true) {
		c.Close()
		return nil
	}
	defer m.track(c, false)
	defer c.Close()
	if err := clientHandshake(c, m.cfg.Secret); err != nil {
		return err
	}
	pos, _ := dst.Position(id)
	rebuild := m.rebuilding(id)
	from := pos + 1
	if rebuild {
		from = 0 // a snapshot first (rejoin.go)
	}
	req := binary.AppendUvarint(nil, reqShip)
	req = binary.AppendUvarint(req, id)
	req = binary.AppendUvarint(req, from)
	if _, err := c.Write(req); err != nil {
		return err
	}
	ps.connected.Store(true)
	if prev, ok := ps.lastErr.Load().(string); !ok || prev != "" {
		m.cfg.Logger.Info("region link up", "region", m.cfg.Name, "shard", id, "primary", addr, "log_index", pos, "rebuild", rebuild)
	}
	ps.lastErr.Store("")
	frames := make(chan frame, 64)
	done := make(chan struct{})
	defer close(done)
	go readFrames(c, frames, done)
	var lastShip time.Time
	var held *frame // read ahead by coalesce, not mergeable
	for !m.stopping() && m.Role() == Secondary {
		var f frame
		if held != nil {
			f, held = *held, nil
		} else {
			select {
			case f = <-frames:
			case <-m.quit:
				return nil
			}
		}
		if f.err != nil {
			return f.err
		}
		b := &f.b
		if m.Role() != Secondary {
			return nil // promoted meanwhile: ship nothing more
		}
		ps.heardFrom(b)
		if b.snap != nil {
			// Snapshot catch-up: the chunks go through this shard's log;
			// the last one installs the snapshot (DestLog.ShipSnapshot).
			if err := dst.ShipSnapshot(id, *b.snap); err != nil {
				return err
			}
			if b.snap.Last {
				if got, _ := dst.Position(id); got != b.snap.Index {
					// The install was skipped: this shard's position for
					// the source is already past the snapshot (a log of
					// an earlier promotion). Not rebuilt: say so.
					return fmt.Errorf("regions: the primary's snapshot at %d was not installed (this shard's position is %d): rebuild this node from scratch", b.snap.Index, got)
				}
				pos = b.snap.Index
				if rebuild {
					rebuild = false
					m.rebuilt(id)
				}
			}
			continue
		}
		if rebuild {
			return errors.New("regions: entries before the rebuild snapshot")
		}
		if len(b.ents) == 0 {
			if !dst.IsLeader() {
				return nil
			}
			continue
		}
		if b.ents[0].Index > pos+1 {
			return errors.New("regions: link skipped entries")
		}
		if wait := m.cfg.ShipEvery - time.Since(lastShip); wait > 0 {
			if !m.sleep(wait) {
				return nil
			}
		}
		ents, next, err := coalesce(b.ents, frames, ps)
		if err != nil {
			return err
		}
		held = next
		lastShip = time.Now()
		if err := dst.Ship(id, ents); err != nil {
			return err // e.g. no longer the leader: the next one resumes
		}
		pos = ents[len(ents)-1].Index
	}
	return nil
}

// frame is one link frame as readFrames passes it on, or the error that
// ended the link.
type frame struct {
	b   batch
	err error
}

// readFrames reads c's frames into out until a read fails (the failure is
// the last thing sent) or done closes. The reads go on while the
// previous entries are being proposed, so what arrives meanwhile is there
// to coalesce. A primary sends at least a heartbeat every 100 ms: a
// silence of 5 s ends the link.
func readFrames(c net.Conn, out chan<- frame, done <-chan struct{}) {
	br := bufio.NewReaderSize(c, 1<<20)
	for {
		var f frame
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		f.err = readFrame(br, &f.b)
		select {
		case out <- f:
		case <-done:
			return
		}
		if f.err != nil {
			return
		}
	}
}

// heardFrom records the source's position a frame carries, and when it
// arrived.
func (ps *pullState) heardFrom(b *batch) {
	ps.srcApplied.Store(b.applied)
	ps.srcClock.Store(b.clock)
	ps.heard.Store(time.Now().UnixMilli())
}

// Bounds of what coalesce gathers into one proposal.
const (
	coalesceEntries = 4096
	coalesceBytes   = 1 << 20
)

// coalesce returns ents followed by those of the batch frames already
// received behind them, so that one proposal into the shard's log (one
// Raft round, one fsync on each destination replica) carries what
// arrived while the previous one was in flight, not one proposal per
// frame. It stops when nothing more has arrived, at the bounds above, and
// at a frame that is not entries or a heartbeat (a snapshot chunk, an
// error), which it returns for the caller to handle next. Heartbeats
// update the source's position as the loop does.
func coalesce(ents []Entry, frames <-chan frame, ps *pullState) ([]Entry, *frame, error) {
	size := 0
	for _, e := range ents {
		size += len(e.Data)
	}
	for len(ents) < coalesceEntries && size < coalesceBytes {
		var f frame
		select {
		case f = <-frames:
		default:
			return ents, nil, nil
		}
		if f.err != nil || f.b.snap != nil {
			return ents, &f, nil
		}
		ps.heardFrom(&f.b)
		if len(f.b.ents) == 0 {
			continue
		}
		if f.b.ents[0].Index != ents[len(ents)-1].Index+1 {
			return nil, nil, errors.New("regions: link skipped entries")
		}
		for _, e := range f.b.ents {
			size += len(e.Data)
		}
		ents = append(ents, f.b.ents...)
	}
	return ents, nil, nil
}

// ShardLag is one shard's shipping state on a secondary.
type ShardLag struct {
	Shard uint64
	// Applied is the last source index applied here; SourceApplied the
	// primary's applied index as last heard.
	Applied, SourceApplied uint64
	// Entries is SourceApplied - Applied (0 when ahead of the news).
	Entries uint64
	// Ms is how long ago (by this node's clock) the newest applied entry
	// was committed in the primary (its entry time); 0 when caught up.
	// While the link is down it is at least the time since the primary
	// was last heard from.
	Ms int64
	// Connected: this node leads the shard and its link is up.
	Connected bool
	// Leader: this node leads the shard (only the leader pulls).
	Leader bool
	// Err is the last link error ("" if none since the link came up).
	Err string
	// Snapshots counts the source snapshots this replica installed since
	// it started (snapshot catch-up, rebuilds).
	Snapshots uint64
	// LogApplied is this replica's applied index of its own shard log.
	LogApplied uint64
}

// Lag returns the per-shard shipping state (a secondary's; a primary
// has none).
func (m *Manager) Lag() []ShardLag {
	now := time.Now().UnixMilli()
	var out []ShardLag
	for _, id := range m.cfg.Shards() {
		m.mu.Lock()
		ps := m.pulls[id]
		m.mu.Unlock()
		dst := m.cfg.Dest(id)
		if ps == nil || dst == nil {
			continue
		}
		idx, t := dst.Position(id)
		l := ShardLag{Shard: id, Applied: idx, SourceApplied: ps.srcApplied.Load(), Connected: ps.connected.Load(), Leader: dst.IsLeader(), Snapshots: dst.SnapshotsInstalled(), LogApplied: dst.AppliedIndex()}
		if l.SourceApplied > l.Applied {
			l.Entries = l.SourceApplied - l.Applied
		}
		if l.Entries > 0 || (!l.Connected && l.SourceApplied == 0) {
			if t == 0 {
				t = ps.since.Load()
			}
			l.Ms = max(now-t, 0)
		}
		if !l.Connected && l.Leader {
			// Cut off from the primary: what it committed since is
			// unknown, so the lag is at least the time since it was last
			// heard from.
			h := ps.heard.Load()
			if h == 0 {
				h = ps.since.Load()
			}
			l.Ms = max(l.Ms, now-h)
		}
		if s, ok := ps.lastErr.Load().(string); ok {
			l.Err = s
		}
		out = append(out, l)
	}
	return out
}

// Status is the manager's state for INFO and REGION INFO.
type Status struct {
	Name string
	Role Role
	// LagMs and LagEntries are the largest over shards.
	LagMs      int64
	LagEntries uint64
	Shards     []ShardLag
	// LayoutErr, on a secondary's node that mirrors the primary's layout
	// (its directory leader), is why the last attempt failed ("" if it
	// did not).
	LayoutErr string
}

// Status returns the region status.
func (m *Manager) Status() Status {
	st := Status{Name: m.cfg.Name, Role: m.Role()}
	if st.Role == Secondary {
		st.LayoutErr, _ = m.layoutErr.Load().(string)
		st.Shards = m.Lag()
		if m.clustered() {
			// Each shard as its leader (the puller, on whichever node of
			// the region) reports it; the peers' reports are reused for
			// peerCacheFor (a read checked against --max-staleness-ms
			// does not cost a round trip each).
			st.Shards = regionLag(append(m.peerLags(), st.Shards))
		}
		for _, l := range st.Shards {
			st.LagMs = max(st.LagMs, l.Ms)
			st.LagEntries = max(st.LagEntries, l.Entries)
		}
	}
	return st
}
