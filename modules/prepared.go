package modules

import (
	"context"
	"errors"
	"fmt"
	"sync"
)

// Prepared is a library whose calls start from the state one call — the
// preparation — left on top of the post-initialization state, instead of
// from the post-initialization state itself. The Lua interpreter uses it
// to compile a script once, so that a call of the script only runs it.
//
// The starting state is a function of the library, the preparation's
// function and its input only (the preparation makes no host calls and
// sees the input's time and seed), so it is the same on every replica and
// whichever calls ran before; a Prepared can be dropped and made again at
// any time without changing any outcome.
type Prepared struct {
	lib  *Library
	prep Function
	in   Call

	mu     sync.Mutex
	free   []*instance
	closed bool
}

// maxPreparedIdle bounds the idle instances a Prepared keeps (the apply
// path needs one; concurrent read-only calls more): each holds its own
// copy of the prepared memory image. Beyond it, a released instance is
// closed.
const maxPreparedIdle = 8

// ErrPrepareFailed is returned by Prepare when the preparation traps,
// runs out of fuel or replies with an error: an outcome of the guest,
// the same on every replica. The error wraps the call's error or carries
// the error reply.
var ErrPrepareFailed = errors.New("ERR preparation failed")

// refusingHost is the Host of a preparation: it has none.
type refusingHost struct{}

func (refusingHost) Call([][]byte) ([]byte, error) {
	return nil, errors.New("ERR commands are not available while preparing")
}

// Prepare runs fn with input c (on the call budget, without a host: a
// command fails) on a clean instance and returns a Prepared whose calls
// start from the state it left. It fails with ErrPrepareFailed when the
// guest traps, runs out of fuel or replies with a RESP error, or when the
// module cannot be reset to a new state (it mutates tables): properties of
// the module and input, the same on every replica. It fails with another
// error when no instance can be had (as Call would).
func (l *Library) Prepare(ctx context.Context, fn string, c Call) (*Prepared, error) {
	f, ok := l.Function(fn)
	if !ok {
		return nil, ErrUnknownFunction
	}
	if l.reinstantiate {
		return nil, fmt.Errorf("%w: the module mutates tables or drops data segments, so its instances cannot be reset to a new state", ErrPrepareFailed)
	}
	p := &Prepared{lib: l, prep: f, in: c}
	in, err := p.instantiate(ctx)
	if err != nil {
		return nil, err
	}
	p.free = append(p.free, in)
	return p, nil
}

// instantiate prepares a new instance: a clean one of the library, the
// preparation run on it, its state made the snapshot.
func (p *Prepared) instantiate(ctx context.Context) (*instance, error) {
	in, err := p.lib.acquire(ctx)
	if err != nil {
		return nil, err
	}
	res, err, keep := in.run(ctx, refusingHost{}, p.prep, p.in)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPrepareFailed, err)
	}
	if len(res.Reply) > 0 && res.Reply[0] == '-' {
		p.lib.release(in)
		return nil, fmt.Errorf("%w: %s", ErrPrepareFailed, firstLine(string(res.Reply[1:])))
	}
	if !keep {
		return nil, ErrPrepareFailed
	}
	in.resnapshot()
	return in, nil
}

// Call runs function fn of the library with input c against host, from
// the prepared state. See Library.Call.
func (p *Prepared) Call(ctx context.Context, host Host, fn string, c Call) (Result, error) {
	f, ok := p.lib.Function(fn)
	if !ok {
		return Result{}, ErrUnknownFunction
	}
	in, err := p.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	res, err, keep := in.run(ctx, host, f, c)
	if keep {
		p.release(ctx, in)
	}
	return res, err
}

// acquire returns an instance in the prepared state: a pooled one reset,
// or a new one.
func (p *Prepared) acquire(ctx context.Context) (*instance, error) {
	for {
		p.mu.Lock()
		var in *instance
		if n := len(p.free); n > 0 {
			in = p.free[n-1]
			p.free = p.free[:n-1]
		}
		p.mu.Unlock()
		if in == nil {
			return p.instantiate(ctx)
		}
		if !in.dirty || in.reset() {
			return in, nil
		}
		_ = in.mod.Close(ctx)
	}
}

// release returns an instance to the pool (to be reset before reuse), or
// closes it when the Prepared was closed meanwhile.
func (p *Prepared) release(ctx context.Context, in *instance) {
	in.dirty = true
	p.mu.Lock()
	if !p.closed && len(p.free) < maxPreparedIdle {
		p.free = append(p.free, in)
		in = nil
	}
	p.mu.Unlock()
	if in != nil {
		_ = in.mod.Close(ctx)
	}
}

// Close releases the pooled instances; calls still running close theirs
// when they end. The Library stays usable.
func (p *Prepared) Close(ctx context.Context) {
	p.mu.Lock()
	free := p.free
	p.free, p.closed = nil, true
	p.mu.Unlock()
	for _, in := range free {
		_ = in.mod.Close(ctx)
	}
}
