package regions

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Promotion.
//
// Planned (Promote): the secondary asks the primary over an authenticated
// link to fence (reqFence): the primary refuses writes from then on,
// stops its own expiry/eviction/clock proposals, waits until every write
// it accepted before is applied (so every acknowledged write is in its
// log) and answers its applied index per shard. The secondary drains its
// lag to those positions, becomes primary, and tells the old primary to
// follow it (reqFollow: its link address and, per shard, its own applied
// index at the switch). The old primary records that position as its
// ship position for the new primary's log (a Shipped entry carrying only
// that index) and becomes a secondary pulling from there.
//
// Forced (PromoteForce): the secondary becomes primary at once and
// reports the source position it reached per shard; whatever the old
// primary committed after those positions is not here.

// ShardPosition is a shard's position in a log.
type ShardPosition struct {
	Shard uint64
	Index uint64
}

const (
	reqFence  = 2
	reqFollow = 3
)

// errPromote wraps a failed planned promotion.
var errPromote = errors.New("regions: promotion failed")

// promoting is the role while a promotion stops the pullers.
const promoting Role = "promoting"

// stopPulls stops shipping into this region and waits until no puller
// is left (none is in the middle of shipping a batch).
func (m *Manager) stopPulls() {
	m.mu.Lock()
	m.role.Store(promoting)
	m.mu.Unlock()
	m.pullWG.Wait()
}

// setRole changes the role and tells the node.
func (m *Manager) setRole(r Role) {
	m.role.Store(r)
	if m.cfg.OnRole != nil {
		m.cfg.OnRole(r)
	}
}

// PromoteForce makes this secondary region the primary at once and
// returns the source position each shard reached.
func (m *Manager) PromoteForce() ([]ShardPosition, error) {
	if m.Role() != Secondary {
		return nil, errors.New("ERR this region is already the primary")
	}
	if m.clustered() {
		return m.promoteForceCluster()
	}
	m.stopPulls()
	var out []ShardPosition
	for _, id := range m.cfg.Shards() {
		if d := m.cfg.Dest(id); d != nil {
			idx, _ := d.Position(id)
			out = append(out, ShardPosition{id, idx})
		}
	}
	// The old primary, when it is back, is told to rejoin as a secondary
	// and discard what it wrote after these positions (rejoin.go).
	m.mu.Lock()
	m.reclaim, m.reclaimPos = append([]string(nil), m.cfg.Primary...), out
	m.mu.Unlock()
	m.setRole(Primary)
	m.startReclaim()
	return out, nil
}

// Promote runs a planned switchover (see above) and returns the source
// position each shard drained to.
func (m *Manager) Promote(ctx context.Context) ([]ShardPosition, error) {
	if m.Role() != Secondary {
		return nil, errors.New("ERR this region is already the primary")
	}
	if m.clustered() {
		return m.promoteCluster(ctx)
	}
	var lastErr error
	for _, addr := range m.cfg.Primary {
		out, err := m.promoteVia(ctx, addr)
		if err == nil {
			return out, nil
		}
		lastErr = err
	}
	return nil, fmt.Errorf("%w: %v", errPromote, lastErr)
}

func (m *Manager) promoteVia(ctx context.Context, addr string) ([]ShardPosition, error) {
	dl, ok := ctx.Deadline()
	if !ok {
		dl = time.Now().Add(30 * time.Second)
	}
	// 1. Fence the primary; learn its final positions.
	c, br, fence, err := m.fenceNode(addr, dl)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// 2. Drain: the pullers run until this region holds every position.
	for _, p := range fence {
		d := m.cfg.Dest(p.Shard)
		if d == nil {
			return nil, fmt.Errorf("no replica of shard %d here", p.Shard)
		}
		for {
			if idx, _ := d.Position(p.Shard); idx >= p.Index {
				break
			}
			if time.Now().After(dl) {
				return nil, fmt.Errorf("shard %d did not drain to %d in time", p.Shard, p.Index)
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(2 * time.Millisecond):
			}
		}
	}
	// 3. Become the primary, then tell the old one where to follow from.
	m.stopPulls()
	m.setRole(Primary)
	var follow []ShardPosition
	for _, p := range fence {
		follow = append(follow, ShardPosition{p.Shard, m.cfg.Dest(p.Shard).AppliedIndex()})
	}
	if err := sendFollow(c, br, m.selfAddr(c), follow); err != nil {
		return fence, err
	}
	return fence, nil
}

// fenceNode dials a primary node and fences it (reqFence); the
// connection stays open for the follow request.
func (m *Manager) fenceNode(addr string, dl time.Time) (net.Conn, *bufio.Reader, []ShardPosition, error) {
	c, err := m.cfg.Dial(addr)
	if err != nil {
		return nil, nil, nil, err
	}
	if err := clientHandshake(c, m.cfg.Secret); err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	c.SetDeadline(dl.Add(10 * time.Second))
	br := bufio.NewReader(c)
	if _, err := c.Write(binary.AppendUvarint(nil, reqFence)); err != nil {
		c.Close()
		return nil, nil, nil, err
	}
	fence, err := readPositions(br)
	if err != nil {
		c.Close()
		return nil, nil, nil, fmt.Errorf("fence: %w", err)
	}
	return c, br, fence, nil
}

// selfAddr is this node's link address as the other end of c reaches it.
func (m *Manager) selfAddr(c net.Conn) string {
	if m.cfg.Announce != "" {
		return m.cfg.Announce
	}
	self := m.Addr()
	if m.cfg.SelfAddr != "" {
		self = m.cfg.SelfAddr
	}
	if h, port, err := net.SplitHostPort(self); err == nil {
		if ip := net.ParseIP(h); ip == nil || ip.IsUnspecified() {
			if la, ok := c.LocalAddr().(*net.TCPAddr); ok {
				self = net.JoinHostPort(la.IP.String(), port)
			}
		}
	}
	return self
}

// sendFollow tells a fenced old primary node to follow addrs (comma
// separated link addresses of the new primary) from the given positions
// of the new primary's logs.
func sendFollow(c net.Conn, br *bufio.Reader, addrs string, follow []ShardPosition) error {
	req := binary.AppendUvarint(nil, reqFollow)
	req = binary.AppendUvarint(req, uint64(len(addrs)))
	req = append(req, addrs...)
	req = appendPositions(req, follow)
	if _, err := c.Write(req); err != nil {
		return fmt.Errorf("promoted, but the old primary was not told to follow: %w", err)
	}
	ack, err := br.ReadByte()
	if err != nil || ack != 1 {
		return fmt.Errorf("promoted, but the old primary did not start following (%v)", err)
	}
	return nil
}

func appendPositions(dst []byte, ps []ShardPosition) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(ps)))
	for _, p := range ps {
		dst = binary.AppendUvarint(dst, p.Shard)
		dst = binary.AppendUvarint(dst, p.Index)
	}
	return dst
}

func readPositions(br *bufio.Reader) ([]ShardPosition, error) {
	n, err := binary.ReadUvarint(br)
	if err != nil {
		return nil, err
	}
	if n > 1<<16 {
		return nil, errors.New("too many shards")
	}
	out := make([]ShardPosition, n)
	for i := range out {
		if out[i].Shard, err = binary.ReadUvarint(br); err != nil {
			return nil, err
		}
		if out[i].Index, err = binary.ReadUvarint(br); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// serveFence runs the primary's side of a planned promotion on an
// authenticated link.
func (m *Manager) serveFence(c net.Conn, br *bufio.Reader) error {
	if m.Role() != Primary {
		return errors.New("regions: fence asked of a region that is not the primary")
	}
	c.SetDeadline(time.Now().Add(60 * time.Second))
	if m.cfg.Fence == nil {
		return errors.New("regions: this node cannot fence")
	}
	if err := m.cfg.Fence(); err != nil {
		return err
	}
	var pos []ShardPosition
	for _, id := range m.cfg.Shards() {
		if s := m.cfg.Source(id); s != nil {
			pos = append(pos, ShardPosition{id, s.AppliedIndex()})
		}
	}
	if _, err := c.Write(appendPositions(nil, pos)); err != nil {
		return err
	}
	// Wait for the new primary's follow request.
	kind, err := binary.ReadUvarint(br)
	if err != nil {
		return fmt.Errorf("fenced, no follow request: %w", err)
	}
	if kind != reqFollow {
		return fmt.Errorf("regions: unexpected request %d after fence", kind)
	}
	addr, err := readBytes(br)
	if err != nil {
		return err
	}
	follow, err := readPositions(br)
	if err != nil {
		return err
	}
	// Record where to follow the new primary's log from, then follow it.
	// In a region of several nodes each shard's leader records it and
	// the other replicas see it applied.
	for _, p := range follow {
		d := m.cfg.Dest(p.Shard)
		if d == nil {
			continue
		}
		if !m.clustered() || d.IsLeader() {
			if err := d.Ship(p.Shard, []Entry{{Index: p.Index}}); err != nil {
				c.Write([]byte{0})
				return fmt.Errorf("record follow position of shard %d: %w", p.Shard, err)
			}
		}
		deadline := time.Now().Add(10 * time.Second)
		for {
			idx, _ := d.Position(p.Shard)
			if idx == p.Index {
				break
			}
			if idx > p.Index || time.Now().After(deadline) {
				c.Write([]byte{0})
				return fmt.Errorf("shard %d: ship position %d is not the new primary's %d (a log from an earlier promotion, or no leader recorded it); rejoining needs a rebuild, not supported yet", p.Shard, idx, p.Index)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	m.cfg.Logger.Warn("region demoted to secondary by a planned promotion", "region", m.cfg.Name, "new_primary", string(addr))
	m.mu.Lock()
	m.cfg.Primary = splitAddrs(string(addr))
	m.mu.Unlock()
	m.setRole(Secondary)
	m.startPulls()
	_, err = c.Write([]byte{1})
	return err
}

func formatPositions(ps []ShardPosition) string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += ","
		}
		s += strconv.FormatUint(p.Shard, 10) + ":" + strconv.FormatUint(p.Index, 10)
	}
	return s
}

func splitAddrs(v string) []string {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a != "" {
			out = append(out, a)
		}
	}
	return out
}
