package regions

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"slices"
	"strings"
	"sync"
	"time"
)

// Regions of several nodes (cluster mode).
//
// Each region is a cluster of its own. Shipping is per shard, as in a
// single-node region: whichever node leads a destination shard pulls it
// (startPulls runs a puller for every shard the node holds, and starts
// pullers for shards that appear later); any node of the primary region
// that holds a replica of the source shard serves the link.
//
// What must be region-wide is coordinated between the nodes of a region
// over their region links (reqPeer, Config.Peers):
//
//   - lag: a node reports, per shard, what the shard's leader (the
//     puller, on whichever node) reports; INFO on any node shows the
//     whole region;
//   - promotion: the node running REGION PROMOTE fences every node of the
//     primary region, drains every shard, stops every puller of its
//     region, flips every node of its region to primary and tells every
//     old primary node to follow (promote.go, below);
//   - layout: the secondary's directory leader follows the primary's slot
//     layout (reqLayout, Config.Layout / Config.Mirror).

const (
	reqPeer   = 5
	reqLayout = 6

	peerQuery   = 0 // report this node's shipping state
	peerStop    = 1 // stop pulling (a promotion), then report
	peerPrimary = 2 // become the primary (after peerStop)
	peerResume  = 3 // a promotion failed before the flip: pull again
	// peerAnnounce: the node's link address for other regions
	// (Config.Announce), "" when it announces none.
	peerAnnounce = 4
	// peerFence, peerRejoin: an old primary region rejoining after a
	// forced promotion (rejoin.go): fence, then list the divergent tail
	// and follow the new primary (payload: addresses, positions).
	peerFence  = 5
	peerRejoin = 6
	// peerReclaim: after a forced promotion, the old primary's addresses
	// and the positions reached (payload), so that every node of the new
	// primary region, not only the one that ran the promotion, asks the
	// old primary to rejoin (rejoin.go) and keeps asking after a restart.
	peerReclaim = 7
)

// peerTimeout bounds one peer request.
const peerTimeout = 2 * time.Second

// peers returns the link addresses of the other nodes of this region.
func (m *Manager) peers() []string {
	if m.cfg.Peers == nil {
		return nil
	}
	self := m.Addr()
	var out []string
	for _, a := range m.cfg.Peers() {
		if a != "" && a != self && a != m.cfg.SelfAddr {
			out = append(out, a)
		}
	}
	return out
}

// clustered tells whether this region has several nodes.
func (m *Manager) clustered() bool { return m.cfg.Peers != nil }

func appendLags(dst []byte, ls []ShardLag) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ls)))
	for _, l := range ls {
		dst = binary.AppendUvarint(dst, l.Shard)
		dst = binary.AppendUvarint(dst, l.Applied)
		dst = binary.AppendUvarint(dst, l.SourceApplied)
		dst = binary.AppendUvarint(dst, l.Entries)
		dst = binary.AppendVarint(dst, l.Ms)
		var f byte
		if l.Connected {
			f |= 1
		}
		if l.Leader {
			f |= 2
		}
		dst = append(dst, f)
		dst = binary.AppendUvarint(dst, l.Snapshots)
		dst = binary.AppendUvarint(dst, l.LogApplied)
		dst = binary.AppendUvarint(dst, uint64(len(l.Err)))
		dst = append(dst, l.Err...)
	}
	return dst
}

func readLags(br *bufio.Reader) ([]ShardLag, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > 1<<16 {
		return nil, errors.New("regions: too many shards")
	}
	out := make([]ShardLag, n)
	for i := range out {
		l := &out[i]
		for _, p := range []*uint64{&l.Shard, &l.Applied, &l.SourceApplied, &l.Entries} {
			if *p, err = binary.ReadUvarint(br); err != nil {
				return nil, err
			}
		}
		if l.Ms, err = binary.ReadVarint(br); err != nil {
			return nil, err
		}
		f, err := br.ReadByte()
		if err != nil {
			return nil, err
		}
		l.Connected, l.Leader = f&1 != 0, f&2 != 0
		if l.Snapshots, err = binary.ReadUvarint(br); err != nil {
			return nil, err
		}
		if l.LogApplied, err = binary.ReadUvarint(br); err != nil {
			return nil, err
		}
		e, err := readBytes(br)
		if err != nil {
			return nil, err
		}
		l.Err = string(e)
	}
	return out, nil
}

// servePeer answers another node of this region.
func (m *Manager) servePeer(c net.Conn, br *bufio.Reader) error {
	c.SetDeadline(time.Now().Add(30 * time.Second))
	op, err := br.ReadByte()
	if err != nil {
		return err
	}
	fail := func(msg string) error {
		c.Write(append(binary.AppendUvarint([]byte{0}, uint64(len(msg))), msg...))
		return errors.New(msg)
	}
	switch op {
	case peerQuery:
	case peerStop:
		if r := m.Role(); r != Secondary && r != promoting {
			return fail("this node is not a secondary (role " + string(r) + ")")
		}
		m.stopPulls()
	case peerPrimary:
		if m.Role() == Primary {
			break
		}
		m.stopPulls()
		m.cfg.Logger.Warn("region promoted to primary (asked by another node of the region)", "region", m.cfg.Name)
		m.setRole(Primary)
	case peerResume:
		if m.Role() == promoting {
			m.setRole(Secondary)
			m.startPulls()
		}
	case peerAnnounce:
		_, err := c.Write(append(binary.AppendUvarint([]byte{1}, uint64(len(m.cfg.Announce))), m.cfg.Announce...))
		return err
	case peerFence:
		switch m.Role() {
		case Secondary:
		case Primary:
			if m.cfg.Fence == nil {
				return fail("this node cannot fence")
			}
			if err := m.cfg.Fence(); err != nil {
				return fail("fence: " + err.Error())
			}
			m.noteFenceBase()
		default:
			return fail("a promotion is in progress here")
		}
	case peerReclaim:
		addrs, err := readBytes(br)
		if err != nil {
			return err
		}
		pos, err := readPositions(br)
		if err != nil {
			return err
		}
		if m.Role() != Primary {
			return fail("this node is not the primary (role " + string(m.Role()) + ")")
		}
		m.mu.Lock()
		had := len(m.reclaim) > 0
		m.reclaim, m.reclaimPos = splitAddrs(string(addrs)), pos
		m.mu.Unlock()
		m.stateChanged()
		if !had {
			m.startReclaim()
		}
	case peerRejoin:
		addr, err := readBytes(br)
		if err != nil {
			return err
		}
		pos, err := readPositions(br)
		if err != nil {
			return err
		}
		if err := m.rejoinLocal(string(addr), pos); err != nil {
			return fail(err.Error())
		}
	default:
		return fail(fmt.Sprintf("unknown peer request %d", op))
	}
	_, err = c.Write(appendLags([]byte{1}, m.Lag()))
	return err
}

// askPeer sends one peer request and returns the peer's shipping state.
func (m *Manager) askPeer(addr string, op byte, payload []byte) ([]ShardLag, error) {
	var out []ShardLag
	err := m.peerCall(addr, op, payload, func(br *bufio.Reader) (err error) {
		out, err = readLags(br)
		return err
	})
	return out, err
}

// peerCall sends one peer request (op, then payload) and reads a
// successful answer with read.
func (m *Manager) peerCall(addr string, op byte, payload []byte, read func(*bufio.Reader) error) error {
	c, err := m.cfg.Dial(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := clientHandshake(c, m.cfg.Secret); err != nil {
		return err
	}
	d := peerTimeout
	if op != peerQuery && op != peerAnnounce {
		d = 35 * time.Second // a stop waits for a batch in flight, a fence for writes
	}
	c.SetDeadline(time.Now().Add(d))
	req := binary.AppendUvarint(nil, reqPeer)
	req = append(req, op)
	if _, err := c.Write(append(req, payload...)); err != nil {
		return err
	}
	br := bufio.NewReader(c)
	ok, err := br.ReadByte()
	if err != nil {
		return err
	}
	if ok != 1 {
		msg, _ := readBytes(br)
		return fmt.Errorf("region peer %s: %s", addr, msg)
	}
	return read(br)
}

// regionAddrs returns the link addresses other regions reach this
// region's nodes at, as a comma-separated list: this node's as the
// other end of c reaches it (selfAddr), then each peer's announced one
// (peerAnnounce), or the peer's address as listed when it announces
// none or does not answer.
func (m *Manager) regionAddrs(c net.Conn) string {
	ps := m.peers()
	out := make([]string, len(ps))
	var wg sync.WaitGroup
	for i, a := range ps {
		out[i] = a
		wg.Add(1)
		go func() {
			defer wg.Done()
			m.peerCall(a, peerAnnounce, nil, func(br *bufio.Reader) error {
				b, err := readBytes(br)
				if err == nil && len(b) > 0 {
					out[i] = string(b)
				}
				return err
			})
		}()
	}
	wg.Wait()
	// Once each: a node may list itself among its peers under another
	// address than its listener's (a wildcard listener, 127.0.0.1 in
	// --region-peers), which then announces the same as this one.
	addrs := []string{m.selfAddr(c)}
	for _, a := range out {
		if !slices.Contains(addrs, a) {
			addrs = append(addrs, a)
		}
	}
	return strings.Join(addrs, ",")
}

// askPeers sends op to every peer at once; errs lists the failures.
func (m *Manager) askPeers(op byte) (lags [][]ShardLag, errs []error) {
	return m.askPeersWith(op, nil)
}

// askPeersWith sends op and its payload to every peer at once.
func (m *Manager) askPeersWith(op byte, payload []byte) (lags [][]ShardLag, errs []error) {
	ps := m.peers()
	lags = make([][]ShardLag, len(ps))
	es := make([]error, len(ps))
	var wg sync.WaitGroup
	for i, a := range ps {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lags[i], es[i] = m.askPeer(a, op, payload)
		}()
	}
	wg.Wait()
	for i, e := range es {
		if e != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ps[i], e))
		}
	}
	return lags, errs
}

// peerCacheFor is how long the peers' shipping reports are reused for
// Status.
const peerCacheFor = 100 * time.Millisecond

// peerLags returns the peers' shipping reports, at most peerCacheFor old.
func (m *Manager) peerLags() [][]ShardLag {
	m.peerMu.Lock()
	defer m.peerMu.Unlock()
	if time.Since(m.peerAt) > peerCacheFor {
		m.peerCache, _ = m.askPeers(peerQuery)
		m.peerAt = time.Now()
	}
	return m.peerCache
}

// regionLag merges this node's and its peers' shipping state: per shard
// the leader's report (the puller's), else the most advanced one.
func regionLag(all [][]ShardLag) []ShardLag {
	best := map[uint64]ShardLag{}
	var order []uint64
	for _, ls := range all {
		for _, l := range ls {
			b, seen := best[l.Shard]
			if !seen {
				order = append(order, l.Shard)
			}
			switch {
			case !seen, l.Leader && !b.Leader, l.Leader == b.Leader && l.Applied > b.Applied:
				best[l.Shard] = l
			}
		}
	}
	out := make([]ShardLag, 0, len(order))
	for _, id := range sortIDs(order) {
		out = append(out, best[id])
	}
	return out
}

func sortIDs(ids []uint64) []uint64 {
	for i := 1; i < len(ids); i++ {
		for j := i; j > 0 && ids[j] < ids[j-1]; j-- {
			ids[j], ids[j-1] = ids[j-1], ids[j]
		}
	}
	return ids
}

// maxBy returns, per shard, the largest f over every report.
func maxBy(all [][]ShardLag, f func(ShardLag) uint64) map[uint64]uint64 {
	out := map[uint64]uint64{}
	for _, ls := range all {
		for _, l := range ls {
			out[l.Shard] = max(out[l.Shard], f(l))
		}
	}
	return out
}

// promoteCluster is a planned switchover of a region of several nodes
// (see promote.go for the single-node one; the steps are the same, run
// on every node of both regions).
func (m *Manager) promoteCluster(ctx context.Context) ([]ShardPosition, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	// 1. Fence every node of the primary region: none accepts a write
	// from then on, and each reports its applied index per shard.
	primaries := m.Primaries()
	type fenced struct {
		c  net.Conn
		br *bufio.Reader
	}
	var links []fenced
	defer func() {
		for _, f := range links {
			f.c.Close()
		}
	}()
	target := map[uint64]uint64{}
	for _, addr := range primaries {
		c, br, pos, err := m.fenceNode(addr, dl)
		if err != nil {
			return nil, fmt.Errorf("%w: fence %s: %v (every node of the primary region must answer; REGION PROMOTE FORCE if it is lost)", errPromote, addr, err)
		}
		links = append(links, fenced{c, br})
		for _, p := range pos {
			target[p.Shard] = max(target[p.Shard], p.Index)
		}
	}
	// 2. Drain: every shard of this region reaches those positions.
	for {
		all, errs := m.askPeers(peerQuery)
		if len(errs) > 0 {
			return nil, fmt.Errorf("%w: %v", errPromote, errs[0])
		}
		have := maxBy(append(all, m.Lag()), func(l ShardLag) uint64 { return l.Applied })
		done := true
		for id, idx := range target {
			if have[id] < idx {
				done = false
			}
		}
		if done {
			break
		}
		if time.Now().After(dl) {
			return nil, fmt.Errorf("%w: the shards did not drain to %v in time (have %v)", errPromote, target, have)
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	// 3. Stop every puller of this region; their reports give, per
	// shard, the index of this region's own log the shipping reached.
	m.stopPulls()
	all, errs := m.askPeers(peerStop)
	if len(errs) > 0 {
		m.askPeers(peerResume)
		m.setRole(Secondary)
		m.startPulls()
		return nil, fmt.Errorf("%w: stop the pullers: %v", errPromote, errs[0])
	}
	all = append(all, m.Lag())
	logAt := maxBy(all, func(l ShardLag) uint64 { return l.LogApplied })
	// 4. Every node of this region becomes primary.
	m.setRole(Primary)
	if _, errs := m.askPeers(peerPrimary); len(errs) > 0 {
		m.cfg.Logger.Error("region promotion: a node of this region did not take the primary role", "err", errs[0])
	}
	// 5. Every old primary node follows this region from those indexes.
	var follow []ShardPosition
	for id := range target {
		follow = append(follow, ShardPosition{id, logAt[id]})
	}
	sortPositions(follow)
	addrs := m.regionAddrs(links[0].c)
	// All at once: each node waits until every shard's position is
	// recorded, and each shard's leader (on one of them) records it.
	ferrs := make([]error, len(links))
	var wg sync.WaitGroup
	for i, f := range links {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ferrs[i] = sendFollow(f.c, f.br, addrs, follow)
		}()
	}
	wg.Wait()
	ferr := errors.Join(ferrs...)
	out := make([]ShardPosition, 0, len(target))
	for id, idx := range target {
		out = append(out, ShardPosition{id, idx})
	}
	sortPositions(out)
	if ferr != nil {
		return out, fmt.Errorf("promoted, but an old primary node did not start following: %w", ferr)
	}
	return out, nil
}

func sortPositions(ps []ShardPosition) {
	for i := 1; i < len(ps); i++ {
		for j := i; j > 0 && ps[j].Shard < ps[j-1].Shard; j-- {
			ps[j], ps[j-1] = ps[j-1], ps[j]
		}
	}
}

// promoteForceCluster makes every node of this region primary at once
// and reports, per shard, the source position the region reached.
func (m *Manager) promoteForceCluster() ([]ShardPosition, error) {
	m.stopPulls()
	all, errs := m.askPeers(peerStop)
	if len(errs) > 0 {
		m.askPeers(peerResume)
		m.setRole(Secondary)
		m.startPulls()
		return nil, fmt.Errorf("ERR every node of this region must answer a forced promotion: %v", errs[0])
	}
	all = append(all, m.Lag())
	reached := maxBy(all, func(l ShardLag) uint64 { return l.Applied })
	out := make([]ShardPosition, 0, len(reached))
	for id, idx := range reached {
		out = append(out, ShardPosition{id, idx})
	}
	sortPositions(out)
	// The old primary region, when it is back, is told to rejoin as a
	// secondary and to discard what it wrote after these positions
	// (rejoin.go); this node asks it, and keeps asking after a restart
	// (region.state).
	m.mu.Lock()
	m.reclaim, m.reclaimPos = append([]string(nil), m.cfg.Primary...), out
	old := strings.Join(m.reclaim, ",")
	m.mu.Unlock()
	m.setRole(Primary)
	if _, errs := m.askPeers(peerPrimary); len(errs) > 0 {
		m.cfg.Logger.Error("forced promotion: a node of this region did not take the primary role", "err", errs[0])
	}
	// Every node asks the old primary to rejoin, so it is asked even if
	// this node is down when the old primary comes back.
	payload := binary.AppendUvarint(nil, uint64(len(old)))
	payload = append(payload, old...)
	payload = appendPositions(payload, out)
	if _, errs := m.askPeersWith(peerReclaim, payload); len(errs) > 0 {
		m.cfg.Logger.Warn("forced promotion: a node of this region will not ask the old primary to rejoin; this node does", "err", errs[0])
	}
	m.cfg.Logger.Warn("region promoted by force: the old primary's writes after these positions are not here; "+
		"the old primary region is told to rejoin as a secondary when it is reachable",
		"region", m.cfg.Name, "positions", formatPositions(out))
	m.startReclaim()
	return out, nil
}

// serveLayout answers a secondary's request for this region's layout.
func (m *Manager) serveLayout(c net.Conn) error {
	if m.cfg.Layout == nil {
		c.Write([]byte{0})
		return errors.New("regions: no layout here")
	}
	b := m.cfg.Layout()
	out := binary.AppendUvarint([]byte{1}, uint64(len(b)))
	_, err := c.Write(append(out, b...))
	return err
}

// fetchLayout asks a primary node for its layout.
func (m *Manager) fetchLayout(addr string) ([]byte, error) {
	c, err := m.cfg.Dial(addr)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	if err := clientHandshake(c, m.cfg.Secret); err != nil {
		return nil, err
	}
	c.SetDeadline(time.Now().Add(peerTimeout))
	if _, err := c.Write(binary.AppendUvarint(nil, reqLayout)); err != nil {
		return nil, err
	}
	br := bufio.NewReader(c)
	ok, err := br.ReadByte()
	if err != nil {
		return nil, err
	}
	if ok != 1 {
		return nil, errors.New("regions: the primary has no layout")
	}
	return readBytes(br)
}

// layoutEvery is how often a secondary's directory leader compares its
// layout with the primary's.
const layoutEvery = 200 * time.Millisecond

// watch runs for the manager's life: on a secondary it starts pullers
// for shards that appear and, on the directory leader, mirrors the
// primary's layout.
func (m *Manager) watch() {
	defer m.wg.Done()
	next := 0
	for m.sleep(layoutEvery) {
		if m.Role() != Secondary {
			continue
		}
		m.startPulls()
		m.checkRebuilt()
		if m.cfg.Mirror == nil || (m.cfg.MirrorDue != nil && !m.cfg.MirrorDue()) {
			continue
		}
		ps := m.Primaries()
		if len(ps) == 0 {
			continue
		}
		addr := ps[next%len(ps)]
		b, err := m.fetchLayout(addr)
		if err != nil {
			next++
			m.cfg.Logger.Debug("region layout", "addr", addr, "err", err)
			continue
		}
		err = m.cfg.Mirror(b)
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if old, _ := m.layoutErr.Swap(msg).(string); old != msg {
			if msg != "" {
				m.cfg.Logger.Error("region layout: could not follow the primary's (INFO regions region_layout_error)", "err", err)
			} else if old != "" {
				m.cfg.Logger.Info("region layout: follows the primary's again")
			}
		}
	}
}
