package shard

import (
	"errors"
	"fmt"
	"log"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/entry"
)

// The replicated clock (DESIGN.md, "Time").
//
// Apply: a version-2 entry's time is bounded to [last, last+MaxClockStep],
// where last is the previous applied time; this uses replicated data only.
//
// Stamping: a replica keeps an anchor, the latest applied time it has
// seen together with its monotonic clock reading at that moment, and
// extrapolates it with the monotonic clock (base). A leader of a
// multi-replica group stamps base, plus at most SlewPercent of the
// monotonic time since the last applied entry when its wall clock is ahead: its wall
// clock's absolute value moves the replicated clock only slowly, so a node
// whose clock is an hour ahead cannot make relative TTLs count from the
// future, and a cluster restarted after a long stop catches up with the
// wall clock at 1+SlewPercent/100 times real speed. A single-node shard
// (the only clock there is) stamps its wall clock (never below base).
//
// Reads run at the time an entry proposed now would be applied at, so a
// read and the next write agree on what has expired.

// MaxClockStep bounds how far one version-2 entry moves the applied clock
// ahead of the previous applied time. Part of the apply semantics of entry
// version 2: changing it needs a new entry version.
const MaxClockStep = 5 * time.Second

// SlewPercent is how much faster than real time a leader may run the
// replicated clock to catch up with its wall clock (leader-side policy,
// not apply semantics).
const SlewPercent = 10

// tickAfter: an idle leader proposes an empty entry once its stamp is this
// far ahead of the applied time, so that idle periods never need a step
// larger than MaxClockStep.
const tickAfter = 2 * time.Second

// Clock reads the wall clock; Options.Clock and HostConfig.Clock inject it.
type Clock func() time.Time

type anchor struct{ t, mono int64 } // Unix ms, monoNow ns

// replClock is one replica's view of the replicated clock. It is local
// state: it decides what this replica stamps and reads at, never what
// apply does.
type replClock struct {
	last    atomic.Int64 // applied time (mirrors stateMachine.lastTime)
	lastM   atomic.Int64 // monoNow when the last entry was applied
	anchor  atomic.Pointer[anchor]
	clamped atomic.Int64 // entries whose time apply bounded
	lastLog atomic.Int64 // monoNow of the last clamp log line
	host    *hostClock   // shared by the host's shards (nil in tests)
}

// hostClock is the newest applied time any shard of the host has seen,
// extrapolated like a replica's anchor. Every shard of the host stamps at
// least this, so the shards' clocks stay together and a key moved between
// shards (its expiry is absolute) keeps its TTL.
type hostClock struct{ anchor atomic.Pointer[anchor] }

// extrapolate returns a's time at monotonic time m (0 without an anchor).
func extrapolate(a *anchor, m int64) int64 {
	if a == nil {
		return 0
	}
	return a.t + (m-a.mono)/int64(time.Millisecond)
}

// advance moves *p to (t, m) if t is ahead of its extrapolation.
func advance(p *atomic.Pointer[anchor], t, m int64) {
	for {
		a := p.Load()
		if a != nil && extrapolate(a, m) >= t {
			return
		}
		if p.CompareAndSwap(a, &anchor{t: t, mono: m}) {
			return
		}
	}
}

// base extrapolates the applied clock to monotonic time m.
func (c *replClock) base(m int64) int64 {
	b := max(c.last.Load(), extrapolate(c.anchor.Load(), m))
	if c.host != nil {
		b = max(b, extrapolate(c.host.anchor.Load(), m))
	}
	return b
}

// observe records an applied time at monotonic time m; anchors only move
// forward.
func (c *replClock) observe(t, m int64) {
	c.last.Store(t)
	c.lastM.Store(m)
	advance(&c.anchor, t, m)
	if c.host != nil {
		advance(&c.host.anchor, t, m)
	}
}

// stamp is the time this replica, as leader, gives an entry now.
func (c *replClock) stamp(wall int64, m int64, trustWall bool) int64 {
	b := c.base(m)
	if wall <= b {
		return b
	}
	if trustWall || (c.anchor.Load() == nil && (c.host == nil || c.host.anchor.Load() == nil)) {
		// A single-node shard, or the first entry of the first group
		// on a new node: the wall clock is all there is.
		return wall
	}
	// Ahead by at most SlewPercent of the time since the last applied
	// entry: the replicated clock runs at most 1+SlewPercent/100 times
	// real time while this leader's wall clock is ahead.
	slew := int64(0)
	if lm := c.lastM.Load(); lm != 0 {
		slew = max(m-lm, 0) / int64(time.Millisecond) * SlewPercent / 100
	}
	return b + min(wall-b, slew)
}

// bound is the apply-side rule of entry version 2.
func boundTime(last, t int64) (eff int64, clamped bool) {
	if t < last {
		return last, false
	}
	if last != 0 && t > last+MaxClockStep.Milliseconds() {
		return last + MaxClockStep.Milliseconds(), true
	}
	return t, false
}

// advanceClock sets the applied time for entry e (called by Update).
func (s *stateMachine) advanceClock(e *entry.Entry, index uint64) {
	t := e.Time
	if e.Version >= 2 {
		var clamped bool
		if t, clamped = boundTime(s.lastTime, e.Time); clamped {
			s.clk.clamped.Add(1)
			if m := monoNow(); m-s.clk.lastLog.Load() > int64(time.Second) {
				s.clk.lastLog.Store(m)
				log.Printf("shard %d: entry %d time %d is %v ahead of the applied time %d; applied at %d (clock jump bounded to %v)",
					s.opts.ShardID, index, e.Time, time.Duration(e.Time-s.lastTime)*time.Millisecond, s.lastTime, t, MaxClockStep)
			}
		}
	} else if t < s.lastTime {
		t = s.lastTime
	}
	s.lastTime = t
	s.clk.observe(t, monoNow())
}

// wall reads this replica's wall clock in Unix ms.
func (s *Shard) wall() int64 {
	if s.opts.Clock != nil {
		return s.opts.Clock().UnixMilli()
	}
	return time.Now().UnixMilli()
}

// stampTime is the time the leader writes into an entry it proposes now.
func (s *Shard) stampTime() int64 {
	return s.sm.clk.stamp(s.wall(), monoNow(), s.single)
}

// Now is the replicated clock as this replica reads it: the time an entry
// proposed now would be applied at (Unix ms). Reads and active expiry use
// it, so a read and the next write agree on what has expired.
func (s *Shard) Now() int64 {
	t, _ := boundTime(s.sm.clk.last.Load(), s.stampTime())
	return t
}

// nowAt is Now read at t, a time.Now reading the caller took just before
// (the session layer's command start), so a read costs no clock reads of
// its own. The applied time still bounds it from below, as in Now.
func (s *Shard) nowAt(t time.Time) int64 {
	if s.opts.Clock != nil || t.IsZero() {
		return s.Now()
	}
	st := s.sm.clk.stamp(t.UnixMilli(), int64(t.Sub(monoBase)), s.single)
	eff, _ := boundTime(s.sm.clk.last.Load(), st)
	return eff
}

// ClockStats reports the applied time and how many entries had their time
// bounded by apply.
func (s *Shard) ClockStats() (applied int64, clamped int64) {
	return s.sm.clk.last.Load(), s.sm.clk.clamped.Load()
}

// tickLoop keeps the applied clock close to the leader's stamp while the
// shard is idle: once the stamp is tickAfter ahead of the applied time it
// proposes an empty Commands entry (which every version applies as a
// clock tick). Back to back while far behind, so a legitimate gap is
// crossed at MaxClockStep per commit.
func (s *Shard) tickLoop() {
	defer s.wg.Done()
	t := time.NewTicker(tickAfter / 4)
	defer t.Stop()
	for {
		select {
		case <-s.quit:
			return
		case <-t.C:
		}
		s.handOff()
		for range 64 {
			if !s.IsLeader() || s.passive.Load() || s.Halted() != nil || s.stampTime()-s.sm.clk.last.Load() < tickAfter.Milliseconds() {
				break
			}
			if _, err := s.propose(entry.Commands, nil, 2*time.Second).Wait(); err != nil {
				break
			}
		}
	}
}

// writeVersion is the entry version the leader writes kind at, or an
// error when the cluster version does not allow the kind (or one of cmds,
// see gateCommands) yet or this replica has halted.
func (s *Shard) writeVersion(kind entry.Kind, cmds [][][]byte) (uint8, error) {
	if err := s.Halted(); err != nil {
		return 0, err
	}
	maxv := s.sm.maxVersion()
	cv := maxv
	if s.opts.ClusterVersion != nil {
		cv = min(cv, s.opts.ClusterVersion())
	}
	v, ok := entry.WriteVersion(cv, kind)
	if !ok {
		return 0, fmt.Errorf("%w: log entry kind %d needs cluster version %d", ErrFeatureGated, kind, kindVersionOf(kind))
	}
	if cv < maxv {
		if err := s.gateCommands(cv, kind, cmds); err != nil {
			return 0, err
		}
	}
	return v, nil
}

// gateCommands refuses commands that came with an entry format newer than
// the cluster version cv (Spec.Format): during a rolling upgrade the nodes
// not yet upgraded would halt on them. writeVersion calls it only in a
// mixed-version cluster, so only that pays for the lookups.
func (s *Shard) gateCommands(cv uint8, kind entry.Kind, cmds [][][]byte) error {
	switch kind {
	case entry.Commands, entry.Multi:
	case entry.WatchedMulti:
		if len(cmds) > 0 {
			cmds = cmds[1:] // the watched keys' digests
		}
	default:
		return nil // not client commands
	}
	for _, cmd := range cmds {
		if len(cmd) == 0 {
			continue
		}
		sp := s.sm.table.Lookup(cmd[0])
		if sp == nil {
			continue
		}
		if len(sp.Sub) > 0 && len(cmd) > 1 {
			for _, sub := range sp.Sub {
				if len(sub.Name) > len(sp.Name) && command.EqualFold(cmd[1], sub.Name[len(sp.Name)+1:]) {
					sp = sub
					break
				}
			}
		}
		if f := max(sp.Format, 1); f > cv {
			return fmt.Errorf("%w: '%s' needs cluster version %d, the cluster is at %d", ErrFeatureGated, strings.ToLower(sp.Name), f, cv)
		}
	}
	return nil
}

// ErrFeatureGated is returned when a write needs a format some node of the
// cluster does not understand yet.
var ErrFeatureGated = errors.New("shard: not every node understands this yet (cluster version too low)")

func kindVersionOf(k entry.Kind) uint8 {
	v, _ := entry.KindVersion(k)
	return v
}
