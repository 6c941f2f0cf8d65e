package regions

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Rejoin after a forced promotion.
//
// A region promoted with PromoteForce remembers the old primary's link
// addresses and, per shard, the old primary's log position it had
// reached (Reclaim). Until the old primary answers, it dials it every
// reclaimEvery and asks it to rejoin (reqRejoin: the new primary's link
// address and those positions). The old primary, if it still believes
// it is the primary:
//
//  1. fences itself (no write is accepted from then on, every accepted
//     write is applied);
//  2. reads its own log after each position — the divergent tail, which
//     the new primary never received — and writes what those entries
//     did (keys and commands, Config.Describe) to a file in Config.Dir,
//     logging where;
//  3. becomes a secondary of the new primary marked "rebuild": its
//     pullers ask for a snapshot first (a reqShip from index 0), whose
//     install (through its own log, entry.ShipSnapshot) replaces its whole
//     state, tail included, with the new primary's. Shipping then goes on
//     from the snapshot's index. The rebuild mark is kept in the node's
//     state (OnRole → region.state) until the install, so a restart in
//     between still rebuilds rather than applying the new primary's
//     entries over the divergent state.
//
// Nothing of the tail is merged: the operator decides from the file.

const reqRejoin = 4

// reclaimEvery is how often a forced primary tries to reach the old one.
const reclaimEvery = 500 * time.Millisecond

// Reclaim returns the old primary addresses and positions a forced
// promotion left to be told to rejoin (nil once done).
func (m *Manager) Reclaim() ([]string, []ShardPosition) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.reclaim...), append([]ShardPosition(nil), m.reclaimPos...)
}

// Rebuilding returns the shards that must be rebuilt from a snapshot of
// the primary before following it.
func (m *Manager) Rebuilding() []uint64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []uint64
	for id := range m.rebuild {
		out = append(out, id)
	}
	return sortIDs(out)
}

func (m *Manager) rebuilding(id uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rebuild[id]
}

// rebuilt clears a shard's rebuild mark and saves the node's state.
func (m *Manager) rebuilt(id uint64) {
	m.mu.Lock()
	was := m.rebuild[id]
	delete(m.rebuild, id)
	delete(m.rebuildBase, id)
	m.mu.Unlock()
	if !was {
		return
	}
	m.cfg.Logger.Warn("region rejoin: shard rebuilt from the primary's snapshot", "region", m.cfg.Name, "shard", id)
	m.stateChanged()
}

// stateChanged tells the node to save the region state.
func (m *Manager) stateChanged() {
	if m.cfg.OnRole != nil {
		m.cfg.OnRole(m.Role())
	}
}

// startReclaim runs the loop that tells the old primary to rejoin.
func (m *Manager) startReclaim() {
	m.mu.Lock()
	n := len(m.reclaim)
	m.mu.Unlock()
	if n == 0 {
		return
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		for !m.stopping() && m.Role() == Primary {
			addrs, pos := m.Reclaim()
			if len(addrs) == 0 {
				return
			}
			for _, a := range addrs {
				err := m.askRejoin(a, pos)
				if err == nil {
					m.mu.Lock()
					m.reclaim, m.reclaimPos = nil, nil
					m.mu.Unlock()
					m.cfg.Logger.Warn("region: the old primary rejoined as a secondary", "region", m.cfg.Name, "old_primary", a)
					m.stateChanged()
					return
				}
				m.cfg.Logger.Debug("region: old primary not reachable for rejoin", "addr", a, "err", err)
			}
			if !m.sleep(reclaimEvery) {
				return
			}
		}
	}()
}

// askRejoin tells the old primary at addr to rejoin this region.
func (m *Manager) askRejoin(addr string, pos []ShardPosition) error {
	c, err := m.cfg.Dial(addr)
	if err != nil {
		return err
	}
	if !m.track(c, true) {
		c.Close()
		return errors.New("closing")
	}
	defer m.track(c, false)
	defer c.Close()
	if err := clientHandshake(c, m.cfg.Secret); err != nil {
		return err
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	self := m.regionAddrs(c) // every node of this region, as the old primary reaches it
	req := binary.AppendUvarint(nil, reqRejoin)
	req = binary.AppendUvarint(req, uint64(len(self)))
	req = append(req, self...)
	req = appendPositions(req, pos)
	if _, err := c.Write(req); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	ack, err := br.ReadByte()
	if err != nil {
		return err
	}
	if ack != 1 {
		msg, _ := readBytes(br)
		return fmt.Errorf("old primary refused to rejoin: %s", msg)
	}
	return nil
}

// serveRejoin runs the old primary's side (see above).
func (m *Manager) serveRejoin(c net.Conn, br *bufio.Reader) error {
	c.SetDeadline(time.Now().Add(60 * time.Second))
	addr, err := readBytes(br)
	if err != nil {
		return err
	}
	pos, err := readPositions(br)
	if err != nil {
		return err
	}
	refuse := func(msg string) error {
		c.Write(append(binary.AppendUvarint([]byte{0}, uint64(len(msg))), msg...))
		return errors.New(msg)
	}
	if m.clustered() {
		if err := m.rejoinCluster(string(addr), pos); err != nil {
			return refuse(err.Error())
		}
	} else if err := m.rejoinLocal(string(addr), pos); err != nil {
		return refuse(err.Error())
	}
	_, err = c.Write([]byte{1})
	return err
}

// rejoinCluster runs the rejoin of an old primary region of several
// nodes, asked of any one of them: first every node fences (so no node
// accepts a write while another already lists its tail), then every
// node lists the divergent tail of the shards it holds in its own file
// and follows the new primary, its shards marked for a rebuild. Every
// node must answer; a node that does not fails the rejoin, which the new
// primary asks again (the nodes fenced so far stay read-only meanwhile:
// the region was replaced, and a write accepted now would only be
// discarded later). Nodes that rejoined already answer at once.
func (m *Manager) rejoinCluster(addr string, pos []ShardPosition) error {
	switch m.Role() {
	case Primary:
		if m.cfg.Fence == nil {
			return errors.New("this node cannot fence")
		}
		if err := m.cfg.Fence(); err != nil {
			return fmt.Errorf("fence: %w", err)
		}
		m.noteFenceBase()
	case Secondary:
	default:
		return errors.New("a promotion is in progress here")
	}
	if _, errs := m.askPeersWith(peerFence, nil); len(errs) > 0 {
		return fmt.Errorf("every node of this region must answer a rejoin; fence: %v", errors.Join(errs...))
	}
	if err := m.rejoinLocal(addr, pos); err != nil {
		return err
	}
	payload := binary.AppendUvarint(nil, uint64(len(addr)))
	payload = append(payload, addr...)
	payload = appendPositions(payload, pos)
	if _, errs := m.askPeersWith(peerRejoin, payload); len(errs) > 0 {
		return fmt.Errorf("every node of this region must answer a rejoin: %v", errors.Join(errs...))
	}
	m.cfg.Logger.Warn("region rejoin: every node of this region follows the new primary", "region", m.cfg.Name, "new_primary", addr)
	return nil
}

// rejoinLocal makes this node, fenced if it was the primary, list its
// divergent tail to a file and follow the new primary at addrs (a
// comma-separated list), its shards marked for a rebuild. A node that is
// a secondary already (rejoined earlier: an answer lost on the way)
// does nothing.
func (m *Manager) rejoinLocal(addrs string, pos []ShardPosition) error {
	// Every node of a new primary region asks (peerReclaim), possibly at
	// once: one rejoin at a time, so the tail is listed once.
	m.rejoinMu.Lock()
	defer m.rejoinMu.Unlock()
	switch m.Role() {
	case Secondary:
		return nil
	case Primary:
	default:
		return errors.New("a promotion is in progress here")
	}
	if m.cfg.Fence == nil {
		return errors.New("this node cannot fence")
	}
	if err := m.cfg.Fence(); err != nil {
		return fmt.Errorf("fence: %w", err)
	}
	// The tail is listed from this node's replicas: each must have
	// applied its whole log first (a node just restarted replays it).
	if m.cfg.Ready != nil {
		deadline := time.Now().Add(10 * time.Second)
		for {
			err := m.cfg.Ready()
			if err == nil {
				break
			}
			if time.Now().After(deadline) || m.stopping() {
				return fmt.Errorf("not ready to list the discarded writes: %w", err)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	path, n, err := m.saveDiscarded(addrs, pos)
	if err != nil {
		// Keep the tail rather than lose it unrecorded: stay fenced.
		m.cfg.Logger.Error("region rejoin: could not save the discarded writes; staying fenced (read-only) as the primary", "err", err)
		return fmt.Errorf("saving the discarded writes: %w", err)
	}
	if n > 0 {
		m.cfg.Logger.Warn("region rejoin: writes this region accepted after the new primary's forced promotion were never shipped; they are discarded and saved for the operator",
			"file", path, "entries", n, "new_primary", addrs)
	} else {
		m.cfg.Logger.Warn("region rejoin: nothing to discard", "file", path, "new_primary", addrs)
	}
	// Every shard this node holds is rebuilt from the new primary's
	// snapshot: those the new primary reached (their tails) and, in a
	// region of several nodes, any other (a shard added here since would
	// otherwise be fed the new primary's log over its own state).
	ids := map[uint64]bool{}
	for _, p := range pos {
		ids[p.Shard] = true
	}
	if m.clustered() {
		for _, id := range m.cfg.Shards() {
			ids[id] = true
		}
	}
	m.mu.Lock()
	m.cfg.Primary = splitAddrs(addrs)
	if m.rebuild == nil {
		m.rebuild = map[uint64]bool{}
	}
	if m.rebuildBase == nil {
		m.rebuildBase = map[uint64]uint64{}
	}
	for id := range ids {
		m.rebuild[id] = true
		if b, ok := m.fenceBase[id]; ok {
			m.rebuildBase[id] = b
		} else if d := m.cfg.Dest(id); d != nil {
			m.rebuildBase[id] = d.SnapshotsInstalled()
		}
	}
	m.mu.Unlock()
	m.setRole(Secondary)
	m.startPulls()
	return nil
}

// noteFenceBase records, once, each local replica's installed snapshot
// count as this node is fenced for a rejoin (see Manager.fenceBase).
func (m *Manager) noteFenceBase() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fenceBase == nil {
		m.fenceBase = map[uint64]uint64{}
	}
	for _, id := range m.cfg.Shards() {
		if _, ok := m.fenceBase[id]; ok {
			continue
		}
		if d := m.cfg.Dest(id); d != nil {
			m.fenceBase[id] = d.SnapshotsInstalled()
		}
	}
}

// checkRebuilt clears the rebuild mark of a shard whose replica here
// installed a snapshot since the mark was set in this process: in a
// region of several nodes the shard's leader (on any node) rebuilds it
// through the shard's log, so every replica installs it. A mark taken
// from the saved state (no baseline) is cleared only by this node's own
// puller (a redundant rebuild is harmless: the snapshot is the
// primary's state at or past the shard's position).
func (m *Manager) checkRebuilt() {
	m.mu.Lock()
	var done []uint64
	for id, base := range m.rebuildBase {
		if !m.rebuild[id] {
			delete(m.rebuildBase, id)
			continue
		}
		if d := m.cfg.Dest(id); d != nil && d.SnapshotsInstalled() > base {
			done = append(done, id)
		}
	}
	m.mu.Unlock()
	for _, id := range done {
		m.rebuilt(id)
	}
}

// saveDiscarded writes what this node's log holds after each position
// to a file in Config.Dir and returns its path and the number of entries
// described.
func (m *Manager) saveDiscarded(newPrimary string, pos []ShardPosition) (string, int, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "# Cairn region %s: writes discarded when rejoining as a secondary of %s at %s.\n",
		m.cfg.Name, newPrimary, time.Now().UTC().Format(time.RFC3339))
	b.WriteString("# The new primary was promoted with REGION PROMOTE FORCE; it had received this region's log up to the\n")
	b.WriteString("# positions below. Every entry after them is listed (one line per write: shard, log index, entry time,\n")
	b.WriteString("# keys, command) and is NOT in the database any more.\n")
	n := 0
	for _, p := range pos {
		fmt.Fprintf(&b, "# shard %d: the new primary holds this log up to index %d\n", p.Shard, p.Index)
		src := m.cfg.Source(p.Shard)
		if src == nil {
			fmt.Fprintf(&b, "# shard %d: no replica here\n", p.Shard)
			continue
		}
		for from := p.Index + 1; from <= src.AppliedIndex(); {
			ents, err := src.ReadCommitted(from, m.cfg.BatchEntries)
			if errors.Is(err, ErrCompacted) {
				fmt.Fprintf(&b, "# shard %d: entries from %d on were compacted into a snapshot and cannot be listed: %v\n", p.Shard, from, err)
				break
			}
			if err != nil {
				return "", 0, err
			}
			if len(ents) == 0 {
				break
			}
			for _, e := range ents {
				if e.Data == nil {
					continue
				}
				lines := []string{"(entry not decoded)"}
				if m.cfg.Describe != nil {
					lines = m.cfg.Describe(e.Data)
				}
				for _, l := range lines {
					fmt.Fprintf(&b, "shard=%d index=%d %s\n", p.Shard, e.Index, l)
				}
				if len(lines) > 0 {
					n++
				}
			}
			from = ents[len(ents)-1].Index + 1
		}
	}
	dir := m.cfg.Dir
	if dir == "" {
		dir = os.TempDir()
	}
	path := filepath.Join(dir, fmt.Sprintf("region-discarded-%s.txt", time.Now().UTC().Format("20060102T150405.000Z")))
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		return "", 0, err
	}
	return path, n, nil
}
