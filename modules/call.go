package modules

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
)

// Call is the input of one function call: what the log entry carries.
type Call struct {
	// Keys are the declared keys (FCALL's numkeys arguments).
	Keys [][]byte
	// Args are the remaining arguments.
	Args [][]byte
	// Time is the log entry's time in Unix nanoseconds: the only clock the
	// guest sees (WASI clock_time_get, every clock id).
	Time int64
	// Seed is the log entry's seed: WASI random_get returns the splitmix64
	// stream started from it.
	Seed uint64
}

// Result is the outcome of a successful call.
type Result struct {
	// Reply is the RESP-encoded reply the guest set with result, or a RESP
	// null ("_\r\n" is RESP3-only, so "$-1\r\n") when it set none.
	Reply []byte
	// FuelUsed is the fuel the call consumed.
	FuelUsed int64
	// Output is what the guest wrote to stdout and stderr, up to
	// MaxOutputBytes.
	Output []byte
}

// Call errors. A failed call's error message is the Redis error line to
// reply with; its writes already made through the Host stay applied.
var (
	// ErrUnknownFunction is returned for a function the library lacks.
	ErrUnknownFunction = errors.New("ERR Function not found")
	// ErrFuelExhausted is returned when a call runs out of fuel.
	ErrFuelExhausted = errors.New("ERR Function ran out of fuel")
	// ErrCallDepth is returned when guest calls nest deeper than MaxDepth.
	ErrCallDepth = errors.New("ERR Function exceeded the maximum call depth")
	// ErrTrap is returned when the guest traps (unreachable, out-of-bounds
	// access, division by zero, ...).
	ErrTrap = errors.New("ERR Function trapped")
	// ErrExit is returned when the guest calls WASI proc_exit.
	ErrExit = errors.New("ERR Function exited")
	// ErrBadReply is returned when the guest sets a reply that is not one
	// well-formed RESP value or exceeds MaxReplyBytes.
	ErrBadReply = errors.New("ERR Function returned an invalid reply")
)

// nullReply is the reply of a function that set none.
var nullReply = []byte("$-1\r\n")

// Call runs function fn with input c against host. It is safe for
// concurrent use (read-only calls on the read path); calls on one replica's
// apply path are sequential. The outcome depends only on the library, fn,
// c and the Host's replies: never on timing, the engine or earlier calls.
func (l *Library) Call(ctx context.Context, host Host, fn string, c Call) (Result, error) {
	f, ok := l.Function(fn)
	if !ok {
		return Result{}, ErrUnknownFunction
	}
	in, err := l.acquire(ctx)
	if err != nil {
		return Result{}, err
	}
	res, err, keep := in.run(ctx, host, f, c)
	if keep {
		l.release(in)
	}
	return res, err
}

// run runs f on in with input c against host. keep reports whether the
// instance may be reused (after a reset); when it is false the instance
// has been closed (a trap discards it).
func (in *instance) run(ctx context.Context, host Host, f Function, c Call) (res Result, err error, keep bool) {
	l := in.lib
	in.begin(host, c, l.Limits.Fuel)
	callErr := in.call(f.export)
	res = Result{FuelUsed: l.Limits.Fuel - int64(in.fuel.Get())}
	if in.abort == nil && callErr != nil {
		in.abort = in.classify(callErr)
	}
	if len(in.out) > 0 {
		res.Output = append([]byte(nil), in.out...)
	}
	if in.abort != nil {
		err := in.abort
		in.end()
		_ = in.mod.Close(ctx) // a trap discards the instance
		if res.FuelUsed > l.Limits.Fuel {
			res.FuelUsed = l.Limits.Fuel
		}
		return res, err, false
	}
	if in.hasResult {
		res.Reply = append([]byte(nil), in.result...)
	} else {
		res.Reply = nullReply
	}
	in.end()
	return res, nil, true
}

// instance is one instantiation of a library with its post-initialization
// snapshot and the state of the call it is running.
type instance struct {
	lib     *Library
	mod     api.Module
	ctx     context.Context
	mem     api.Memory
	fuel    api.MutableGlobal
	depth   api.MutableGlobal
	globals []api.MutableGlobal
	fns     map[string]api.Function

	snapMem     []byte     // nil when cow holds the snapshot
	cow         *cowMemory // copy-on-write memory, or nil
	snapGlobals []uint64
	dirty       bool
	// noFault: the last call ran on one thread that took no page fault
	// (copy-on-write memory only; see cowMemory.reset).
	noFault bool

	// The write tracker (instrument.go, trackShift), when the library has
	// it: its globals, the ranges host functions wrote in this call, and
	// whether the last reset found more pages than the tracker holds.
	tracked            bool
	trackLast, trackN  api.MutableGlobal
	trackPages         []api.MutableGlobal
	hostWrites         []memRange
	hostWritesOverflow bool
	trackOverflowed    bool

	// Per-call state, valid between begin and end.
	host      Host
	input     []byte
	reply     []byte
	result    []byte
	hasResult bool
	out       []byte
	now       int64
	rng       uint64
	abort     error
}

// memRange is a byte range [start, end) of guest memory.
type memRange struct{ start, end uint64 }

// initTime is the clock during instantiation, in Unix nanoseconds: a
// fixed non-zero value (Go's runtime refuses a zero monotonic clock).
const initTime = 1_000_000_000

// ctxKey is the context key under which host functions find the instance.
type ctxKey struct{}

// instantiate creates an instance, runs its initialization on time
// initTime and seed 0, and snapshots its memory and globals.
func (l *Library) instantiate(ctx context.Context) (*instance, error) {
	in := &instance{lib: l, fns: map[string]api.Function{}, now: initTime}
	in.ctx = context.WithValue(context.Background(), ctxKey{}, in)
	ictx := in.ctx
	if l.cow {
		ictx = experimental.WithMemoryAllocator(ictx, experimental.MemoryAllocatorFunc(
			func(cap, max uint64) experimental.LinearMemory {
				m, err := newCOWMemory(max)
				if err != nil {
					return &sliceMemory{}
				}
				in.cow = m
				return m
			}))
	}
	mod, err := l.rt.rt.InstantiateModule(ictx, l.compiled,
		wazero.NewModuleConfig().WithName("").WithStartFunctions())
	if err != nil {
		return nil, fmt.Errorf("%w: %s", ErrInitFailed, firstLine(err.Error()))
	}
	in.mod = mod
	in.fuel = mod.ExportedGlobal(exportFuel).(api.MutableGlobal)
	in.depth = mod.ExportedGlobal(exportDepth).(api.MutableGlobal)
	// The start function (moved to an export by the rewriter), then a WASI
	// reactor's _initialize, then the module's own settle export (ABI.md),
	// on the initialization budget.
	for _, name := range []string{exportStart, "_initialize", exportSettle} {
		f := mod.ExportedFunction(name)
		if f == nil {
			continue
		}
		if d := f.Definition(); name == exportSettle && (len(d.ParamTypes()) != 0 || len(d.ResultTypes()) != 0) {
			continue
		}
		if _, err := f.Call(in.ctx); err != nil {
			cause := in.abort
			if cause == nil {
				cause = in.classify(err)
			}
			_ = mod.Close(ctx)
			msg := strings.TrimPrefix(cause.Error(), "ERR ")
			if errors.Is(cause, ErrFuelExhausted) {
				msg = fmt.Sprintf("ran out of fuel (budget %d)", l.Limits.InitFuel)
			}
			if len(in.out) > 0 {
				msg += " (output: " + strings.TrimSpace(string(in.out)) + ")"
			}
			return nil, fmt.Errorf("%w: %s: %s", ErrInitFailed, name, msg)
		}
	}
	for _, name := range l.globalExports {
		g := mod.ExportedGlobal(name).(api.MutableGlobal)
		in.globals = append(in.globals, g)
		in.snapGlobals = append(in.snapGlobals, g.Get())
	}
	if l.tracked {
		in.trackLast = mod.ExportedGlobal(exportTrackLast).(api.MutableGlobal)
		in.trackN = mod.ExportedGlobal(exportTrackN).(api.MutableGlobal)
		for i := range trackSlots {
			in.trackPages = append(in.trackPages, mod.ExportedGlobal(fmt.Sprintf("%s%d", exportTrackPage, i)).(api.MutableGlobal))
		}
		in.tracked = true
		in.clearTrack()
	}
	if l.hasMemory { // mod.Memory() is a non-nil interface even without one
		in.mem = mod.Memory()
		buf, _ := in.mem.Read(0, in.mem.Size())
		in.snapMem = append([]byte(nil), buf...)
		if in.cow != nil {
			if in.cow.seal(len(buf)) == nil {
				in.snapMem = nil
			} else {
				in.cow = nil // keep resetting by copy
			}
		}
	}
	for _, f := range l.Functions {
		in.fns[f.export] = mod.ExportedFunction(f.export)
	}
	return in, nil
}

// acquire returns a clean instance: a pooled one reset to the snapshot, or
// a new one.
func (l *Library) acquire(ctx context.Context) (*instance, error) {
	for {
		l.mu.Lock()
		var in *instance
		if n := len(l.free); n > 0 {
			in = l.free[n-1]
			l.free = l.free[:n-1]
		}
		l.mu.Unlock()
		if in == nil {
			return l.instantiate(ctx)
		}
		if !in.dirty {
			return in, nil
		}
		if in.reset() {
			return in, nil
		}
		_ = in.mod.Close(ctx)
	}
}

// sliceMemory is a plain Go-heap linear memory, used when a copy-on-write
// reservation cannot be made.
type sliceMemory struct{ buf []byte }

// Reallocate implements experimental.LinearMemory.
func (m *sliceMemory) Reallocate(size uint64) []byte {
	if size > uint64(cap(m.buf)) {
		nb := make([]byte, size, size+size/2)
		copy(nb, m.buf)
		m.buf = nb
	}
	m.buf = m.buf[:size]
	return m.buf
}

// Free implements experimental.LinearMemory.
func (m *sliceMemory) Free() { m.buf = nil }

// cowMinBytes, when not negative, is the initial memory size from which
// instances reset by copy-on-write rather than by copying the snapshot
// (tests set it to force one way). Negative (the default) chooses by what
// the kernel offers, see cowThreshold.
var cowMinBytes = -1

// cowThreshold is the initial memory size from which instances reset by
// copy-on-write. Copying the snapshot costs about 1 µs per 64 KiB Wasm
// page. Where the kernel answers PAGEMAP_SCAN, copy-on-write costs a
// page-map scan after a call that took a page fault and otherwise two
// getrusage calls (cowMemory.reset), plus the pages written, so it wins
// from one page on (BenchmarkCallIncr, one page: 2.4 µs a call by copy,
// 1.3 by copy-on-write, load ~4). Reading the page map entry by entry
// costs about 2.2 µs of system calls and page faults, so without the scan
// it wins from three pages on (measured before the fault check:
// BenchmarkCallCIncr, the C example's five pages, 5.8 µs a call by copy,
// 4.3 µs by copy-on-write; BenchmarkCallTrivial, one page, 1.0 and 2.4).
func cowThreshold() int {
	if cowMinBytes >= 0 {
		return cowMinBytes
	}
	if pagemapScanWorks() {
		return 0
	}
	return 3 << 16
}

// release returns an instance to the pool, to be reset before reuse.
func (l *Library) release(in *instance) {
	in.dirty = true
	l.mu.Lock()
	l.free = append(l.free, in)
	l.mu.Unlock()
}

// reset restores memory and globals to the post-initialization snapshot.
// It reports false when the instance cannot be reset (memory grew, or the
// module mutates tables or drops data segments) and must be replaced.
func (in *instance) reset() bool {
	if in.lib.reinstantiate {
		return false
	}
	if in.tracked && in.resetTracked() {
		for i, g := range in.globals {
			g.Set(in.snapGlobals[i])
		}
		in.dirty = false
		return true
	}
	in.clearTrack()
	if in.snapMem == nil && in.cow != nil {
		ok := in.cow.reset(in.noFault)
		in.noFault = false
		if !ok {
			return false
		}
	} else if in.mem != nil {
		buf, ok := in.mem.Read(0, in.mem.Size())
		if !ok || len(buf) != len(in.snapMem) {
			return false
		}
		copy(buf, in.snapMem)
	}
	for i, g := range in.globals {
		g.Set(in.snapGlobals[i])
	}
	in.dirty = false
	return true
}

// resetTracked restores the pages the write tracker recorded, from the
// snapshot, and reports true; or reports false, changing nothing, when
// the tracker overflowed or the memory grew (the caller then resets the
// whole memory).
func (in *instance) resetTracked() bool {
	n := uint32(in.trackN.Get())
	in.trackOverflowed = n > trackSlots || in.hostWritesOverflow
	if in.trackOverflowed || in.mem == nil {
		return false
	}
	var snap, buf []byte
	if in.snapMem != nil {
		snap = in.snapMem
		b, ok := in.mem.Read(0, in.mem.Size())
		if !ok || len(b) != len(snap) {
			return false
		}
		buf = b
	} else if in.cow != nil {
		var ok bool
		if snap, buf, ok = in.cow.views(); !ok {
			return false
		}
		// Pages may have become private since the last page-map read:
		// the next fault-checked reset must read it again.
		in.cow.forget()
	} else {
		return false
	}
	size := uint64(len(buf))
	for i := range n {
		lo := uint64(uint32(in.trackPages[i].Get())) << trackShift
		if lo < size {
			hi := min(lo+1<<trackShift+trackSlack, size)
			copy(buf[lo:hi], snap[lo:hi])
		}
	}
	for _, r := range in.hostWrites {
		if lo, hi := r.start, min(r.end, size); lo < hi {
			copy(buf[lo:hi], snap[lo:hi])
		}
	}
	in.clearTrack()
	return true
}

// clearTrack empties the write tracker: no page recorded, none last.
func (in *instance) clearTrack() {
	if !in.tracked {
		return
	}
	in.trackN.Set(0)
	in.trackLast.Set(api.EncodeI32(-1))
	in.hostWrites = in.hostWrites[:0]
	in.hostWritesOverflow = false
}

// resnapshot makes the instance's current memory and globals its
// snapshot: later resets return to this state. Memory resets by copy when
// the copy-on-write snapshot cannot be remade (the contents are the same
// either way).
func (in *instance) resnapshot() {
	for i, g := range in.globals {
		in.snapGlobals[i] = g.Get()
	}
	in.dirty = false
	in.clearTrack()
	if in.mem == nil {
		return
	}
	if in.cow != nil && in.snapMem == nil && in.cow.reseal() == nil {
		return
	}
	buf, _ := in.mem.Read(0, in.mem.Size())
	in.snapMem = append([]byte(nil), buf...)
}

// begin sets up the per-call state.
func (in *instance) begin(host Host, c Call, fuel int64) {
	in.host = host
	in.now = c.Time
	in.rng = c.Seed
	in.abort = nil
	in.result = in.result[:0]
	in.hasResult = false
	in.reply = in.reply[:0]
	in.out = in.out[:0]
	in.fuel.Set(uint64(fuel))
	in.depth.Set(0)
	// Input: numkeys, count, then (length, bytes) per key and argument.
	b := in.input[:0]
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Keys)))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(c.Keys)+len(c.Args)))
	for _, k := range c.Keys {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(k)))
		b = append(b, k...)
	}
	for _, a := range c.Args {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(a)))
		b = append(b, a...)
	}
	in.input = b
}

// end clears references the instance must not keep between calls.
func (in *instance) end() { in.host = nil }

// call invokes the export. With a copy-on-write memory it runs on one
// locked thread and records whether that thread took a page fault: every
// write to the memory happens during the call, on this goroutine (the
// guest's code and the host functions it calls), so without a fault no
// page stopped being the snapshot's and the next reset needs no page-map
// read (cowMemory.reset).
func (in *instance) call(export string) error {
	fn := in.fns[export]
	if in.cow == nil || in.snapMem != nil || (in.tracked && !in.trackOverflowed) {
		// Without a copy-on-write memory, or with the write tracker (the
		// fault check is only worth its two system calls when the last
		// call wrote more pages than the tracker holds).
		_, err := fn.Call(in.ctx)
		return err
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	f0 := threadFaults()
	_, err := fn.Call(in.ctx)
	in.noFault = f0 >= 0 && threadFaults() == f0
	return err
}

// classify turns a wazero call error into the call's error, from the
// injected counters rather than the message text, so every engine and
// every run agrees.
func (in *instance) classify(err error) error {
	if int64(in.fuel.Get()) < 0 {
		return ErrFuelExhausted
	}
	if uint32(in.depth.Get()) > in.lib.Limits.MaxDepth {
		return ErrCallDepth
	}
	return fmt.Errorf("%w: %s", ErrTrap, trapMessage(err))
}

// trapMessage is wazero's trap description without the stack trace.
func trapMessage(err error) string {
	msg := firstLine(err.Error())
	const prefix = "wasm error: "
	if len(msg) > len(prefix) && msg[:len(prefix)] == prefix {
		msg = msg[len(prefix):]
	}
	return msg
}
