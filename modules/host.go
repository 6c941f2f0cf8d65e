package modules

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
)

// Host module names.
const (
	cairnModule = "cairn"
	wasiModule  = "wasi_snapshot_preview1"
)

// WASI errno values the subset returns.
const (
	errnoSuccess = 0
	errnoBadf    = 8
	errnoInval   = 28
)

// hostFunc is one host function: its signature and implementation.
type hostFunc struct {
	module, name string
	typ          funcType
	fn           func(in *instance, mod api.Module, stack []uint64)
}

var (
	i32 = []byte{valI32}
)

// sig builds a funcType from parameter and result types.
func sig(params, results []byte) funcType { return funcType{params: params, results: results} }

// hostFuncs is the complete set of functions a module may import.
var hostFuncs = []hostFunc{
	// cairn: the Cairn ABI (see ABI.md).
	{cairnModule, "input_size", sig(nil, i32), hostInputSize},
	{cairnModule, "input_read", sig([]byte{valI32, valI32}, i32), hostInputRead},
	{cairnModule, "call", sig([]byte{valI32, valI32}, i32), func(in *instance, mod api.Module, s []uint64) { hostCall(in, mod, s, true) }},
	{cairnModule, "pcall", sig([]byte{valI32, valI32}, i32), func(in *instance, mod api.Module, s []uint64) { hostCall(in, mod, s, false) }},
	{cairnModule, "reply_read", sig([]byte{valI32, valI32}, i32), hostReplyRead},
	{cairnModule, "result", sig([]byte{valI32, valI32}, nil), hostResult},
	// wasi_snapshot_preview1: the deterministic subset.
	{wasiModule, "args_sizes_get", sig([]byte{valI32, valI32}, i32), wasiZeroSizes},
	{wasiModule, "args_get", sig([]byte{valI32, valI32}, i32), wasiNothing},
	{wasiModule, "environ_sizes_get", sig([]byte{valI32, valI32}, i32), wasiZeroSizes},
	{wasiModule, "environ_get", sig([]byte{valI32, valI32}, i32), wasiNothing},
	{wasiModule, "clock_res_get", sig([]byte{valI32, valI32}, i32), wasiClockRes},
	{wasiModule, "clock_time_get", sig([]byte{valI32, valI64, valI32}, i32), wasiClockTime},
	{wasiModule, "random_get", sig([]byte{valI32, valI32}, i32), wasiRandom},
	{wasiModule, "fd_write", sig([]byte{valI32, valI32, valI32, valI32}, i32), wasiFdWrite},
	{wasiModule, "poll_oneoff", sig([]byte{valI32, valI32, valI32, valI32}, i32), wasiPollOneoff},
	{wasiModule, "sched_yield", sig(nil, i32), wasiNothing},
	{wasiModule, "proc_exit", sig(i32, nil), wasiProcExit},
}

// deniedFuncs are WASI file-system functions that fail on every call
// (EBADF: there is no open or preopened file). User modules may not import
// them (importing one refuses the module); only Cairn's own internal
// modules may (the Lua interpreter, whose Go standard library references
// them), so that such a module instantiates yet reaches no file.
var deniedFuncs = func() []hostFunc {
	i := func(n int) []byte { return []byte(strings.Repeat(string(rune(valI32)), n)) }
	deny := func(in *instance, mod api.Module, s []uint64) { s[0] = errnoBadf }
	return []hostFunc{
		{wasiModule, "fd_close", sig(i(1), i32), deny},
		{wasiModule, "fd_read", sig(i(4), i32), deny},
		{wasiModule, "fd_seek", sig([]byte{valI32, valI64, valI32, valI32}, i32), deny},
		{wasiModule, "fd_filestat_get", sig(i(2), i32), deny},
		{wasiModule, "fd_fdstat_get", sig(i(2), i32), deny},
		{wasiModule, "fd_fdstat_set_flags", sig(i(2), i32), deny},
		{wasiModule, "fd_prestat_get", sig(i(2), i32), deny},
		{wasiModule, "fd_prestat_dir_name", sig(i(3), i32), deny},
		{wasiModule, "path_filestat_get", sig(i(5), i32), deny},
		{wasiModule, "path_remove_directory", sig(i(3), i32), deny},
		{wasiModule, "path_rename", sig(i(6), i32), deny},
		{wasiModule, "path_unlink_file", sig(i(3), i32), deny},
		{wasiModule, "path_open", sig([]byte{valI32, valI32, valI32, valI32, valI32, valI64, valI64, valI32, valI32}, i32), deny},
	}
}()

// allowedImports maps "module.name" to the signature a module must import
// it with.
var allowedImports = importMap(hostFuncs)

// internalImports is allowedImports plus deniedFuncs: what Cairn's own
// modules may import.
var internalImports = importMap(append(append([]hostFunc(nil), hostFuncs...), deniedFuncs...))

func importMap(fs []hostFunc) map[string]funcType {
	m := map[string]funcType{}
	for _, h := range fs {
		m[h.module+"."+h.name] = h.typ
	}
	return m
}

// apiTypes converts binary value types to wazero's.
func apiTypes(v []byte) []api.ValueType {
	out := make([]api.ValueType, len(v))
	for i, t := range v {
		out[i] = api.ValueType(t)
	}
	return out
}

// instantiateHost instantiates the cairn and WASI host modules in rt.
func instantiateHost(ctx context.Context, rt wazero.Runtime) error {
	for _, module := range []string{cairnModule, wasiModule} {
		b := rt.NewHostModuleBuilder(module)
		for _, h := range append(append([]hostFunc(nil), hostFuncs...), deniedFuncs...) {
			if h.module != module {
				continue
			}
			fn := h.fn
			b.NewFunctionBuilder().WithGoModuleFunction(api.GoModuleFunc(func(ctx context.Context, mod api.Module, stack []uint64) {
				in := ctx.Value(ctxKey{}).(*instance)
				fn(in, mod, stack)
			}), apiTypes(h.typ.params), apiTypes(h.typ.results)).Export(h.name)
		}
		if _, err := b.Instantiate(ctx); err != nil {
			return fmt.Errorf("instantiate host module %s: %w", module, err)
		}
	}
	return nil
}

// fail aborts the guest with err: the call's error is err (not a trap).
func (in *instance) fail(err error) {
	if in.abort == nil {
		in.abort = err
	}
	panic(err)
}

// charge subtracts n fuel, aborting the call when the budget is spent.
func (in *instance) charge(mod api.Module, n int64) {
	if in.fuel == nil { // during instantiation
		in.fuel = mod.ExportedGlobal(exportFuel).(api.MutableGlobal)
	}
	v := int64(in.fuel.Get()) - n
	in.fuel.Set(uint64(v))
	if v < 0 {
		in.fail(ErrFuelExhausted)
	}
}

// memory returns the guest's memory or traps when it has none.
func (in *instance) memory(mod api.Module) api.Memory {
	if !in.lib.hasMemory {
		in.fail(fmt.Errorf("%w: host call needs a memory and the module has none", ErrTrap))
	}
	return mod.Memory()
}

// read returns guest memory [ptr, ptr+n) or traps.
func (in *instance) read(mod api.Module, ptr, n uint32) []byte {
	b, ok := in.memory(mod).Read(ptr, n)
	if !ok {
		in.fail(fmt.Errorf("%w: out of bounds memory access in host call", ErrTrap))
	}
	return b
}

// write returns guest memory [ptr, ptr+n) for the host to write, or
// traps; the write tracker's reset restores the range (instance.reset).
func (in *instance) write(mod api.Module, ptr, n uint32) []byte {
	b := in.read(mod, ptr, n)
	in.hostWrote(ptr, n)
	return b
}

// hostWrote records that a host function wrote [ptr, ptr+n).
func (in *instance) hostWrote(ptr, n uint32) {
	if !in.tracked || n == 0 {
		return
	}
	if len(in.hostWrites) >= maxHostWrites {
		in.hostWritesOverflow = true
		return
	}
	in.hostWrites = append(in.hostWrites, memRange{uint64(ptr), uint64(ptr) + uint64(n)})
}

// maxHostWrites bounds the host writes recorded for one call; past it the
// reset restores the whole memory.
const maxHostWrites = 64

// hostInputSize returns the size of the encoded input.
func hostInputSize(in *instance, mod api.Module, s []uint64) {
	in.charge(mod, in.lib.Limits.HostCallFuel)
	s[0] = uint64(len(in.input))
}

// hostInputRead copies the input into [ptr, ptr+len) and returns the bytes
// copied.
func hostInputRead(in *instance, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	n = min(n, uint32(len(in.input)))
	in.charge(mod, in.lib.Limits.HostCallFuel+int64(n))
	copy(in.write(mod, ptr, n), in.input)
	s[0] = uint64(n)
}

// hostReplyRead copies the last call's reply into [ptr, ptr+len) and
// returns the bytes copied.
func hostReplyRead(in *instance, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	n = min(n, uint32(len(in.reply)))
	in.charge(mod, in.lib.Limits.HostCallFuel+int64(n))
	copy(in.write(mod, ptr, n), in.reply)
	s[0] = uint64(n)
}

// hostResult sets the function's reply from [ptr, ptr+len).
func hostResult(in *instance, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	in.charge(mod, in.lib.Limits.HostCallFuel+int64(n))
	if int(n) > in.lib.Limits.MaxReplyBytes {
		in.fail(fmt.Errorf("%w: %d bytes, limit %d", ErrBadReply, n, in.lib.Limits.MaxReplyBytes))
	}
	b := in.read(mod, ptr, n)
	if end, err := respValue(b, 0, 0); err != nil || end != len(b) {
		in.fail(ErrBadReply)
	}
	in.result = append(in.result[:0], b...)
	in.hasResult = true
}

// errNoHost is returned when a module calls Cairn outside a call (during
// its initialization).
var errNoHost = errors.New("ERR Commands are not available during module initialization")

// hostCall runs the command encoded at [ptr, ptr+len) through the Host.
// The reply (or, for pcall, the RESP error line) becomes the last reply;
// its size is returned. With abort set (call), a command error ends the
// function with that error instead.
func hostCall(in *instance, mod api.Module, s []uint64, abort bool) {
	ptr, n := uint32(s[0]), uint32(s[1])
	in.charge(mod, in.lib.Limits.HostCallFuel+int64(n))
	if in.host == nil {
		in.fail(errNoHost)
	}
	args, err := decodeArgs(in.read(mod, ptr, n))
	if err != nil {
		in.fail(fmt.Errorf("%w: %v", ErrTrap, err))
	}
	reply, err := in.host.Call(args)
	if err != nil {
		if abort {
			in.fail(err)
		}
		reply = append(append([]byte("-"), err.Error()...), "\r\n"...)
	}
	in.charge(mod, int64(len(reply)))
	in.reply = append(in.reply[:0], reply...)
	s[0] = uint64(len(in.reply))
}

// decodeArgs decodes a command: a little-endian u32 count, then per
// argument a u32 length and the bytes. The arguments share one fresh
// allocation.
func decodeArgs(b []byte) ([][]byte, error) {
	if len(b) < 4 {
		return nil, errors.New("command buffer too short")
	}
	count := binary.LittleEndian.Uint32(b)
	if count == 0 {
		return nil, errors.New("empty command")
	}
	if uint64(count)*4 > uint64(len(b)) {
		return nil, errors.New("command count exceeds buffer")
	}
	data := append([]byte(nil), b[4:]...)
	args := make([][]byte, count)
	off := 0
	for i := range args {
		if len(data)-off < 4 {
			return nil, errors.New("truncated command")
		}
		l := int(binary.LittleEndian.Uint32(data[off:]))
		off += 4
		if l > len(data)-off {
			return nil, errors.New("truncated command")
		}
		args[i] = data[off : off+l : off+l]
		off += l
	}
	if off != len(data) {
		return nil, errors.New("trailing bytes after command")
	}
	return args, nil
}

// putU32 writes v at ptr in guest memory or traps.
func (in *instance) putU32(mod api.Module, ptr, v uint32) {
	if !in.memory(mod).WriteUint32Le(ptr, v) {
		in.fail(fmt.Errorf("%w: out of bounds memory access in host call", ErrTrap))
	}
	in.hostWrote(ptr, 4)
}

// putU64 writes v at ptr in guest memory or traps.
func (in *instance) putU64(mod api.Module, ptr uint32, v uint64) {
	if !in.memory(mod).WriteUint64Le(ptr, v) {
		in.fail(fmt.Errorf("%w: out of bounds memory access in host call", ErrTrap))
	}
	in.hostWrote(ptr, 8)
}

// wasiZeroSizes answers args_sizes_get and environ_sizes_get: no
// arguments, no environment.
func wasiZeroSizes(in *instance, mod api.Module, s []uint64) {
	in.charge(mod, in.lib.Limits.HostCallFuel)
	in.putU32(mod, uint32(s[0]), 0)
	in.putU32(mod, uint32(s[1]), 0)
	s[0] = errnoSuccess
}

// wasiNothing answers args_get, environ_get and sched_yield.
func wasiNothing(in *instance, mod api.Module, s []uint64) {
	in.charge(mod, in.lib.Limits.HostCallFuel)
	s[0] = errnoSuccess
}

// wasiClockRes reports a 1 ns resolution for every clock.
func wasiClockRes(in *instance, mod api.Module, s []uint64) {
	in.charge(mod, in.lib.Limits.HostCallFuel)
	in.putU64(mod, uint32(s[1]), 1)
	s[0] = errnoSuccess
}

// wasiClockTime returns the entry's time for every clock id, so realtime
// and monotonic clocks both stand still during a call.
func wasiClockTime(in *instance, mod api.Module, s []uint64) {
	in.charge(mod, in.lib.Limits.HostCallFuel)
	if uint32(s[0]) > 3 {
		s[0] = errnoInval
		return
	}
	in.putU64(mod, uint32(s[2]), uint64(in.now))
	s[0] = errnoSuccess
}

// splitmix64 advances the state and returns the next value of the
// SplitMix64 sequence (Steele, Lea, Flood 2014).
func splitmix64(state *uint64) uint64 {
	*state += 0x9E3779B97F4A7C15
	z := *state
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9
	z = (z ^ (z >> 27)) * 0x94D049BB133111EB
	return z ^ (z >> 31)
}

// wasiRandom fills the buffer from the entry-seeded generator.
func wasiRandom(in *instance, mod api.Module, s []uint64) {
	ptr, n := uint32(s[0]), uint32(s[1])
	in.charge(mod, in.lib.Limits.HostCallFuel+int64(n))
	b := in.write(mod, ptr, n)
	for i := 0; i < len(b); i += 8 {
		var w [8]byte
		binary.LittleEndian.PutUint64(w[:], splitmix64(&in.rng))
		copy(b[i:], w[:])
	}
	s[0] = errnoSuccess
}

// wasiFdWrite captures writes to stdout and stderr (up to MaxOutputBytes;
// the rest is discarded but reported written). Other descriptors do not
// exist.
func wasiFdWrite(in *instance, mod api.Module, s []uint64) {
	fd, iovs, niovs, nwritten := uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3])
	in.charge(mod, in.lib.Limits.HostCallFuel)
	if fd != 1 && fd != 2 {
		s[0] = errnoBadf
		return
	}
	if niovs > 1024 {
		s[0] = errnoInval
		return
	}
	iov := in.read(mod, iovs, niovs*8)
	var total uint32
	for i := uint32(0); i < niovs; i++ {
		p := binary.LittleEndian.Uint32(iov[i*8:])
		l := binary.LittleEndian.Uint32(iov[i*8+4:])
		in.charge(mod, int64(l))
		b := in.read(mod, p, l)
		if room := in.lib.Limits.MaxOutputBytes - len(in.out); room > 0 {
			in.out = append(in.out, b[:min(len(b), room)]...)
		}
		total += l
	}
	in.putU32(mod, nwritten, total)
	s[0] = errnoSuccess
}

// wasiPollOneoff completes every subscription at once: clock
// subscriptions fire immediately (time does not pass inside a call), and
// descriptor subscriptions fail with EBADF. It never blocks.
func wasiPollOneoff(in *instance, mod api.Module, s []uint64) {
	subs, events, n, nevents := uint32(s[0]), uint32(s[1]), uint32(s[2]), uint32(s[3])
	in.charge(mod, in.lib.Limits.HostCallFuel+int64(n)*48)
	if n == 0 || n > 1024 {
		s[0] = errnoInval
		return
	}
	sub := in.read(mod, subs, n*48)
	ev := in.write(mod, events, n*32)
	for i := uint32(0); i < n; i++ {
		si, ei := sub[i*48:i*48+48], ev[i*32:i*32+32]
		clear(ei)
		copy(ei[0:8], si[0:8]) // userdata
		tag := si[8]
		ei[10] = tag
		if tag != 0 {
			binary.LittleEndian.PutUint16(ei[8:], errnoBadf)
		}
	}
	in.putU32(mod, nevents, n)
	s[0] = errnoSuccess
}

// wasiProcExit ends the call with ErrExit.
func wasiProcExit(in *instance, mod api.Module, s []uint64) {
	in.fail(fmt.Errorf("%w with code %d", ErrExit, uint32(s[0])))
}
