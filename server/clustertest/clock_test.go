package clustertest

// Clock skew: per-node wall-clock offsets and jumps (forward and
// backward) injected by the nemesis, and a TTL probe checking that keys
// SET with EX 100 neither vanish nor lose TTL early while leadership moves
// to and from skewed nodes.

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

const faultClock = "clock" // set a node's clock off by minutes to a day, then jump it back

// skews are the offsets the clock fault draws from.
var skews = []time.Duration{time.Hour, -time.Hour, 24 * time.Hour, -10 * time.Minute, 30 * time.Second, -5 * time.Second, 2 * time.Hour}

func (n *nemesis) clockFault() func() {
	i := n.pickNode(n.intn(2) == 0)
	prev := n.c.Skew(i)
	d := skews[n.intn(len(skews))]
	n.faults.Add(1)
	n.logf("node %d clock jumps to %+v (was %+v)", i, d, prev)
	n.c.SetSkew(i, d)
	return func() {
		n.logf("node %d clock jumps back to %+v", i, prev)
		n.c.SetSkew(i, prev)
	}
}

const (
	ttlEX  = 100 * time.Second
	ttlTol = 10 * time.Second // MaxClockStep plus slack for slew and scheduling
)

type ttlKey struct {
	key  string
	sent time.Time // the SET was sent; it applied after this
}

// ttlProbe writes keys with EX 100 and keeps checking acknowledged ones.
type ttlProbe struct {
	t      testing.TB
	cl     *redis.ClusterClient
	rng    *rand.Rand
	mu     sync.Mutex
	keys   []ttlKey
	bad    []string
	sets   atomic.Int64
	checks atomic.Int64
	stopC  chan struct{}
	wg     sync.WaitGroup
	once   sync.Once
}

func startTTLProbe(t testing.TB, c *Cluster, seed uint64) *ttlProbe {
	p := &ttlProbe{t: t, cl: c.Client(), rng: rand.New(rand.NewPCG(seed, 0x74746c)), stopC: make(chan struct{})}
	p.wg.Add(2)
	go p.writer()
	go p.checker()
	return p
}

func (p *ttlProbe) sleep(d time.Duration) bool {
	select {
	case <-p.stopC:
		return false
	case <-time.After(d):
		return true
	}
}

func (p *ttlProbe) writer() {
	defer p.wg.Done()
	for n := 0; p.sleep(150 * time.Millisecond); n++ {
		k := "ttl:" + strconv.Itoa(n)
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		sent := time.Now()
		err := p.cl.Set(ctx, k, "v", ttlEX).Err()
		cancel()
		if err == nil {
			p.sets.Add(1)
			p.mu.Lock()
			p.keys = append(p.keys, ttlKey{key: k, sent: sent})
			p.mu.Unlock()
		}
	}
}

func (p *ttlProbe) checker() {
	defer p.wg.Done()
	for p.sleep(100 * time.Millisecond) {
		p.mu.Lock()
		if len(p.keys) == 0 {
			p.mu.Unlock()
			continue
		}
		k := p.keys[p.rng.IntN(len(p.keys))]
		p.mu.Unlock()
		p.check(k)
	}
}

// check reads k's PTTL; a failed read proves nothing.
func (p *ttlProbe) check(k ttlKey) {
	start := time.Now()
	if start.Sub(k.sent) > ttlEX-ttlTol {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	left, err := p.cl.PTTL(ctx, k.key).Result()
	cancel()
	if err != nil {
		return
	}
	p.checks.Add(1)
	min := ttlEX - start.Sub(k.sent) - ttlTol
	var problem string
	switch {
	case left < 0: // -2: no such key
		problem = fmt.Sprintf("%s is gone %v after its SET EX 100 was sent (PTTL %v)", k.key, start.Sub(k.sent).Round(time.Millisecond), left)
	case left < min:
		problem = fmt.Sprintf("%s has %v left %v after its SET EX 100 was sent (want at least %v)", k.key, left, start.Sub(k.sent).Round(time.Millisecond), min.Round(time.Millisecond))
	case left > ttlEX:
		problem = fmt.Sprintf("%s has %v left, more than EX 100", k.key, left)
	}
	if problem != "" {
		p.mu.Lock()
		p.bad = append(p.bad, problem)
		p.mu.Unlock()
	}
}

// finish stops the probe, checks every acknowledged key still young enough
// once more and reports problems on t.
func (p *ttlProbe) finish() { p.once.Do(p.finish1) }

func (p *ttlProbe) finish1() {
	close(p.stopC)
	p.wg.Wait()
	p.mu.Lock()
	keys := append([]ttlKey(nil), p.keys...)
	p.mu.Unlock()
	for _, k := range keys {
		p.check(k)
	}
	p.cl.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.bad) > 0 {
		n := min(len(p.bad), 20)
		p.t.Errorf("TTL probe: %d problems (first %d):\n  %s", len(p.bad), n, joinLines(p.bad[:n]))
	}
	p.t.Logf("TTL probe: %d keys SET with EX 100 acknowledged, %d PTTL checks, %d problems", p.sets.Load(), p.checks.Load(), len(p.bad))
}

func joinLines(s []string) string {
	out := ""
	for i, l := range s {
		if i > 0 {
			out += "\n  "
		}
		out += l
	}
	return out
}

// TestClockSkew: node 1's clock is an hour ahead for the whole run, and the
// nemesis makes other clocks jump (forward and backward) while it kills
// nodes and cuts leaders off, so leadership moves to and from skewed
// nodes. Registers must stay linearizable, no acknowledged append may be
// lost, and keys SET with EX 100 must keep their TTL.
func TestClockSkew(t *testing.T) {
	runFaults(t, chaosSeed(t), runOptions{
		Duration: 8 * time.Second,
		Cluster:  Options{Nodes: 3, SnapshotEntries: 20},
		Faults:   []string{faultClock, faultKill, faultIsolateLeader, faultClock},
		Skew:     map[int]time.Duration{1: time.Hour},
		TTLProbe: true,
	})
}
