package clustertest

// The workload: concurrent clients doing register and append operations
// while a nemesis injects faults.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/slot"
)

// go-redis logs every failed dial; under a nemesis that is noise.
type quietLogger struct{}

func (quietLogger) Printf(context.Context, string, ...any) {}

func init() { redis.SetLogger(quietLogger{}) }

// ambiguousError marks a write whose outcome the client cannot know (it
// may have been applied). It deliberately wraps nothing, so go-redis's
// ClusterClient does not retry it: a blind retry of a write that was
// applied would apply it twice.
type ambiguousError struct{ msg string }

func (e *ambiguousError) Error() string { return "ambiguous: " + e.msg }

// definiteRefusal tells whether a server error means the command was not
// applied: a redirect, the cluster being down for the slot, a slot being
// moved. Cairn's TRYAGAIN for a proposal timeout says "it may or may not
// have been applied", so it is not a refusal.
func definiteRefusal(err error) bool {
	if err == nil {
		return false
	}
	var amb *ambiguousError
	if errors.As(err, &amb) {
		return false
	}
	s := err.Error()
	switch {
	case strings.HasPrefix(s, "MOVED "), strings.HasPrefix(s, "ASK "),
		strings.HasPrefix(s, "CLUSTERDOWN "), strings.HasPrefix(s, "CROSSSLOT "):
		return true
	case strings.HasPrefix(s, "TRYAGAIN "):
		return !strings.Contains(s, "may or may not")
	}
	return false
}

// notSent tells whether a client error means the command never left the
// client (a failed dial), so retrying it is safe.
func notSent(err error) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "dial"
}

// writeHook turns every write error that is neither a definite refusal nor
// a failed dial into an ambiguousError, which go-redis does not retry.
type writeHook struct{}

func (writeHook) DialHook(next redis.DialHook) redis.DialHook { return next }

func (writeHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return next
}

func (writeHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		err := next(ctx, cmd)
		if err == nil || err == redis.Nil || definiteRefusal(err) || notSent(err) {
			return err
		}
		switch strings.ToLower(cmd.Name()) {
		case "set", "append", "hset":
			amb := &ambiguousError{msg: err.Error()}
			cmd.SetErr(amb)
			return amb
		}
		return err
	}
}

// classify maps a write's error to its outcome. An error that surfaces
// through the workload's clients is either ambiguous (marked so by
// writeHook, or a sticky client's timeout) or final: a definite refusal,
// or a failed dial (the command never left the client; go-redis returns
// early, ambiguous, failures at once).
func classify(err error) outcome {
	switch {
	case err == nil:
		return outOK
	case definiteRefusal(err), notSent(err):
		return outRefused
	}
	return outUnknown
}

// workloadOptions shape a workload.
type workloadOptions struct {
	RegKeys, AppKeys []string
	// ClusterClients use go-redis's ClusterClient; StickyClients send each
	// operation to a node picked at random and follow at most one MOVED,
	// so they keep talking to a node that believes it leads.
	ClusterClients, StickyClients int
	Seed                          uint64
	OpTimeout                     time.Duration
}

// counters are a run's figures.
type counters struct {
	ops, acked, refused, unknown, readsFailed atomic.Int64
}

func (c *counters) String() string {
	return fmt.Sprintf("ops %d, acknowledged %d, refused %d, unknown outcome %d, failed reads %d",
		c.ops.Load(), c.acked.Load(), c.refused.Load(), c.unknown.Load(), c.readsFailed.Load())
}

// workload runs the clients until stopped.
type workload struct {
	c    *Cluster
	o    workloadOptions
	rec  *recorder
	cnt  counters
	quit chan struct{}
	wg   sync.WaitGroup
}

// workloadClient builds a go-redis cluster client for the workload: short
// timeouts, no blind retries of writes.
func workloadClient(c *Cluster) *redis.ClusterClient {
	return c.Client(func(o *redis.ClusterOptions) {
		o.DialTimeout = 500 * time.Millisecond
		o.ReadTimeout = 2 * time.Second
		o.WriteTimeout = time.Second
		o.MaxRetries = -1
		o.MaxRedirects = 8
		o.MinRetryBackoff = 20 * time.Millisecond
		o.MaxRetryBackoff = 200 * time.Millisecond
		o.PoolSize = 2
		o.NewClient = func(opt *redis.Options) *redis.Client {
			cl := redis.NewClient(opt)
			cl.AddHook(writeHook{})
			return cl
		}
	})
}

func startWorkload(c *Cluster, o workloadOptions) *workload {
	if o.OpTimeout == 0 {
		o.OpTimeout = 3 * time.Second
	}
	w := &workload{c: c, o: o, rec: newRecorder(), quit: make(chan struct{})}
	id := 0
	for range o.ClusterClients {
		cl := workloadClient(c)
		w.spawn(id, func(ctx context.Context, cmd redis.Cmder) string {
			cl.Process(ctx, cmd)
			return ""
		})
		id++
	}
	if o.StickyClients > 0 {
		sc := newStickyClients(c)
		for range o.StickyClients {
			rng := rand.New(rand.NewPCG(o.Seed, uint64(id)+1000))
			var mu sync.Mutex
			w.spawn(id, func(ctx context.Context, cmd redis.Cmder) string {
				mu.Lock()
				i := 1 + rng.IntN(c.Len())
				mu.Unlock()
				return sc.do(ctx, i, cmd)
			})
			id++
		}
	}
	return w
}

// spawn starts client id; do runs one command and returns the node it
// ended on ("" if unknown).
func (w *workload) spawn(id int, do func(ctx context.Context, cmd redis.Cmder) string) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		rng := rand.New(rand.NewPCG(w.o.Seed, uint64(id)))
		seq := 0
		for {
			select {
			case <-w.quit:
				return
			default:
			}
			seq++
			w.cnt.ops.Add(1)
			ctx, cancel := context.WithTimeout(context.Background(), w.o.OpTimeout)
			p := rng.Float64()
			var ok bool
			switch {
			case len(w.o.AppKeys) == 0 && len(w.o.RegKeys) == 0:
				cancel()
				return
			case len(w.o.AppKeys) == 0 || (len(w.o.RegKeys) > 0 && p < 0.7):
				key := w.o.RegKeys[rng.IntN(len(w.o.RegKeys))]
				ok = w.regOp(ctx, id, seq, key, rng.IntN(2) == 0, do)
			default:
				key := w.o.AppKeys[rng.IntN(len(w.o.AppKeys))]
				ok = w.appendOp(ctx, id, seq, key, rng.IntN(4) != 0, do)
			}
			cancel()
			if !ok {
				// Back off a little after a failure, as a client would,
				// rather than spin on a node that is down.
				time.Sleep(time.Duration(10+rng.IntN(40)) * time.Millisecond)
			}
		}
	}()
}

// regOp runs one register operation and tells whether it succeeded.
func (w *workload) regOp(ctx context.Context, id, seq int, key string, write bool, do func(context.Context, redis.Cmder) string) bool {
	op := regOp{Client: id, Key: key, Write: write}
	var err error
	if write {
		op.Value = fmt.Sprintf("c%d-%d", id, seq)
		cmd := redis.NewStatusCmd(ctx, "set", key, op.Value)
		op.Call = w.rec.now()
		op.Node = do(ctx, cmd)
		op.Ret = w.rec.now()
		err = cmd.Err()
	} else {
		cmd := redis.NewStringCmd(ctx, "get", key)
		op.Call = w.rec.now()
		op.Node = do(ctx, cmd)
		op.Ret = w.rec.now()
		op.Value, err = cmd.Result()
		if err == redis.Nil {
			op.Value, err = "", nil
		}
	}
	op.Out = classify(err)
	if err != nil {
		op.Err = err.Error()
	}
	w.count(write, op.Out)
	w.rec.addReg(op)
	return op.Out == outOK
}

// appendOp runs one APPEND (or a GET of an append key) and tells whether
// it succeeded.
func (w *workload) appendOp(ctx context.Context, id, seq int, key string, write bool, do func(context.Context, redis.Cmder) string) bool {
	if !write {
		cmd := redis.NewStringCmd(ctx, "get", key)
		call := w.rec.now()
		do(ctx, cmd)
		ret := w.rec.now()
		v, err := cmd.Result()
		if err == redis.Nil {
			v, err = "", nil
		}
		w.count(false, classify(err))
		if err == nil {
			w.rec.addAppendRead(appendRead{Client: id, Key: key, Value: v, Call: call, Ret: ret})
		}
		return err == nil
	}
	op := appendOp{Client: id, Seq: seq, Key: key, Token: fmt.Sprintf("c%d-%d", id, seq)}
	cmd := redis.NewIntCmd(ctx, "append", key, op.Token+",")
	op.Call = w.rec.now()
	do(ctx, cmd)
	op.Ret = w.rec.now()
	err := cmd.Err()
	op.Out = classify(err)
	if err != nil {
		op.Err = err.Error()
	}
	w.count(true, op.Out)
	w.rec.addAppend(op)
	return op.Out == outOK
}

func (w *workload) count(write bool, o outcome) {
	switch {
	case o == outOK:
		w.cnt.acked.Add(1)
	case !write:
		w.cnt.readsFailed.Add(1)
	case o == outRefused:
		w.cnt.refused.Add(1)
	default:
		w.cnt.unknown.Add(1)
	}
}

// stop stops the clients and waits for their last operations.
func (w *workload) stop() {
	select {
	case <-w.quit:
	default:
		close(w.quit)
	}
	w.wg.Wait()
}

// stickyClients hold one plain client per node.
type stickyClients struct {
	c  *Cluster
	mu sync.Mutex
	by map[string]*redis.Client
}

func newStickyClients(c *Cluster) *stickyClients {
	return &stickyClients{c: c, by: map[string]*redis.Client{}}
}

func (s *stickyClients) get(addr string) *redis.Client {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.by[addr]
	if !ok {
		cl = redis.NewClient(&redis.Options{
			Addr: addr, DialTimeout: 500 * time.Millisecond, ReadTimeout: 2 * time.Second,
			WriteTimeout: time.Second, MaxRetries: -1, PoolSize: 4,
		})
		s.by[addr] = cl
		s.c.t.Cleanup(func() { cl.Close() })
	}
	return cl
}

// do sends cmd to node i and follows one MOVED. Errors stay in cmd; a
// write error that is not a definite refusal is made ambiguous.
func (s *stickyClients) do(ctx context.Context, i int, cmd redis.Cmder) string {
	addr := s.c.Addr(i)
	s.get(addr).Process(ctx, cmd)
	if err := cmd.Err(); err != nil && strings.HasPrefix(err.Error(), "MOVED ") {
		if f := strings.Fields(err.Error()); len(f) == 3 {
			addr = f[2]
			cmd.SetErr(nil)
			s.get(addr).Process(ctx, cmd)
		}
	}
	return addr
}

// spreadKeys returns n key names whose slots fall in n equal slices of
// the slot space, so they spread over the shards.
func spreadKeys(prefix string, n int) []string {
	var keys []string
	for b := range n {
		lo, hi := b*16384/n, (b+1)*16384/n
		for j := 0; ; j++ {
			k := fmt.Sprintf("%s%d-%d", prefix, b, j)
			if s := int(slot.OfString(k)); s >= lo && s < hi {
				keys = append(keys, k)
				break
			}
		}
	}
	return keys
}
