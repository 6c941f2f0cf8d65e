//go:build wasip1

// Command guest is Cairn's Lua 5.1 interpreter (github.com/yuin/gopher-lua)
// as a Cairn module: EVAL and friends run a script through it inside the
// same Wasm sandbox as FCALL's modules (fuel, memory limit, no clock, file
// or socket). The Makefile builds it with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o modules/lua/wasm/lua.wasm ./modules/lua/guest
//
// and package lua embeds the result.
//
// The interpreter state (libraries, the redis table) is created during
// initialization, so it is part of the snapshot every call starts from:
// a call only compiles and runs the script. Input: the keys are KEYS;
// the arguments are the script's SHA1 (hex), its source, then ARGV.
package main

import (
	"bytes"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"math"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"unsafe"

	"github.com/cairndb/cairn/modules/sdk/go/cairn"
	lua "github.com/yuin/gopher-lua"
)

// L is the interpreter, created at initialization.
var L *lua.LState

// sha is the running script's SHA1, for error messages.
var sha string

func init() {
	L = lua.NewState(lua.Options{SkipOpenLibs: true, CallStackSize: 200, RegistrySize: 1024 * 4, RegistryMaxSize: 1024 * 1024})
	for _, lib := range []struct {
		name string
		open lua.LGFunction
	}{{lua.BaseLibName, lua.OpenBase}, {lua.TabLibName, lua.OpenTable}, {lua.StringLibName, lua.OpenString}, {lua.MathLibName, lua.OpenMath}} {
		L.Push(L.NewFunction(lib.open))
		L.Push(lua.LString(lib.name))
		L.Call(1, 0)
	}
	// Nothing that reaches files or loads modules (the sandbox would refuse
	// them anyway: the host gives no preopened directory).
	for _, name := range []string{"dofile", "loadfile", "require", "module"} {
		L.SetGlobal(name, lua.LNil)
	}
	// tostring formats numbers as Lua 5.1 does ("%.14g": inf, -0, 1e+15),
	// not as gopher-lua does.
	baseToString := L.GetGlobal("tostring").(*lua.LFunction)
	L.SetGlobal("tostring", L.NewFunction(func(L *lua.LState) int {
		if n, ok := L.Get(1).(lua.LNumber); ok && L.GetTop() == 1 {
			L.Push(lua.LString(fmtG14(float64(n))))
			return 1
		}
		top := L.GetTop()
		L.Push(baseToString)
		for i := 1; i <= top; i++ {
			L.Push(L.Get(i))
		}
		L.Call(top, 1)
		return 1
	}))
	// The libraries Redis bundles for scripts.
	openCJSON(L)
	openCMsgpack(L)
	openBit(L)
	openStruct(L)
	math := L.GetGlobal("math").(*lua.LTable)
	L.SetField(math, "random", L.NewFunction(mathRandom))
	L.SetField(math, "randomseed", L.NewFunction(mathRandomseed))

	redis := L.NewTable()
	L.SetFuncs(redis, map[string]lua.LGFunction{
		"call":         func(L *lua.LState) int { return redisCall(L, true) },
		"pcall":        func(L *lua.LState) int { return redisCall(L, false) },
		"error_reply":  errorReply,
		"status_reply": statusReply,
		"sha1hex":      sha1hex,
		"log":          func(*lua.LState) int { return 0 },
		"setresp":      setresp,
	})
	for i, n := range []string{"LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"} {
		L.SetField(redis, n, lua.LNumber(i))
	}
	L.SetGlobal("redis", redis)
	// Redis's rule: a script may neither create globals nor read undefined
	// ones.
	mt := L.NewTable()
	L.SetField(mt, "__newindex", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Attempt to modify a readonly table")
		return 0
	}))
	L.SetField(mt, "__index", L.NewFunction(func(L *lua.LState) int {
		L.RaiseError("Script attempted to access nonexistent global variable '%s'", L.CheckString(2))
		return 0
	}))
	L.SetMetatable(L.G.Global, mt)
	settleHeap()
}

// settleHeap collects the garbage of initialization and turns the
// proportional GC off in favour of a memory limit, so that a call — which
// starts from this state every time — does not pay for a collection of
// the whole interpreter heap (millions of instructions, hence fuel) unless
// it allocates enough to approach the limit. Collections stay
// deterministic: they depend on the allocations only.
func settleHeap() {
	runtime.GC()
	debug.SetGCPercent(-1)
	debug.SetMemoryLimit(gcMemoryLimit)
	// The SDK's cairn.settle export warms the allocator after this.
}

// warmAllocator allocates one pointer-free and one pointer-holding object
// of every small size after a script is compiled (as the SDK's
// cairn.settle does after initialization), so that the allocator holds a
// span with free room for each small size class in the state calls start
// from. Otherwise the first allocation of a size class in every call —
// which starts from that state again — takes a span from the heap's
// central lists, the larger part of a short script's cost. The objects
// are garbage at once.
func warmAllocator() {
	for size := 8; size <= 2048; size += 8 {
		warmSink = make([]byte, size)
		warmPtrSink = make([]*byte, size/8)
	}
	warmSink, warmPtrSink = nil, nil
}

var (
	warmSink    []byte
	warmPtrSink []*byte
)

// gcMemoryLimit is the heap size at which a call's allocations start
// collections: well under the sandbox's memory limit (lua.Limits).
const gcMemoryLimit = 20 << 20

//go:wasmexport fcall:eval
func eval() { run() }

//go:wasmexport fcall:eval_ro:no-writes
func evalRO() { run() }

// compile only compiles the script (SCRIPT LOAD): the reply is null, or
// the compilation error.
//
//go:wasmexport fcall:compile:no-writes
func compile() {
	_, args := cairn.Input()
	if len(args) < 2 {
		cairn.Reply(cairn.ErrorReply("ERR bad Lua call input"))
		return
	}
	if _, err := L.Load(strings.NewReader(string(args[1])), "user_script"); err != nil {
		cairn.Reply(compileError(err))
	}
}

// compileError is the error line of a script that does not compile.
func compileError(err error) []byte {
	msg := err.Error()
	if i := strings.IndexByte(msg, '\n'); i >= 0 {
		msg = msg[:i]
	}
	return errLine("ERR Error compiling script (new function): " + msg)
}

// prepared is the script compiled by prepare: nil in the
// post-initialization state.
var prepared *lua.LFunction

// prepare compiles the script (arguments: SHA1, source) and keeps it in
// prepared; the host makes the resulting state the one every call of the
// script (run_prepared) starts from. The reply is null, or the
// compilation error.
//
//go:wasmexport fcall:prepare:no-writes
func prepare() {
	_, args := cairn.Input()
	if fn := compileScript(args); fn != nil {
		prepared = fn
		warmAllocator()
	}
}

//go:wasmexport fcall:run_prepared
func runPrepared() { runPreparedCall() }

//go:wasmexport fcall:run_prepared_ro:no-writes
func runPreparedRO() { runPreparedCall() }

// runPreparedCall runs the prepared script with the call's KEYS and ARGV.
func runPreparedCall() {
	keys, args := cairn.Input()
	runScript(nil, keys, args)
}

// run compiles and runs the script of the call and sets the reply.
func run() {
	keys, args := cairn.Input()
	if fn := compileScript(args); fn != nil {
		runScript(fn, keys, args)
	}
}

// compileScript compiles the call's script (args: SHA1, source); on failure it
// sets the error reply and returns nil.
func compileScript(args [][]byte) *lua.LFunction {
	if len(args) < 2 {
		cairn.Reply(cairn.ErrorReply("ERR bad Lua call input"))
		return nil
	}
	fn, err := L.Load(strings.NewReader(string(args[1])), "user_script")
	if err != nil {
		cairn.Reply(compileError(err))
		return nil
	}
	return fn
}

// runScript runs fn, or the prepared script when fn is nil, with the
// call's KEYS and ARGV, and sets the reply.
func runScript(fn *lua.LFunction, keys, args [][]byte) {
	if len(args) < 2 {
		cairn.Reply(cairn.ErrorReply("ERR bad Lua call input"))
		return
	}
	if fn == nil {
		if fn = prepared; fn == nil {
			cairn.Reply(cairn.ErrorReply("ERR no prepared script"))
			return
		}
	}
	sha = string(args[0])
	// math.random's sequence starts from the log entry's seed (WASI
	// random_get is seeded with it), so every replica draws the same
	// numbers.
	var seed [4]byte
	randomGet(unsafe.Pointer(&seed[0]), 4)
	rand48Seed(int32(binary.LittleEndian.Uint32(seed[:])))
	// KEYS and ARGV (raw sets: the globals table refuses new names).
	L.G.Global.RawSetString("KEYS", strTable(keys))
	L.G.Global.RawSetString("ARGV", strTable(args[2:]))
	L.Push(fn)
	if err := L.PCall(0, 1, nil); err != nil {
		cairn.Reply(errLine(scriptError(err)))
		return
	}
	v := L.Get(-1)
	L.Pop(1)
	cairn.Reply(toRESP(nil, v, 0))
}

// strTable is a Lua array of strings.
func strTable(b [][]byte) *lua.LTable {
	t := L.CreateTable(len(b), 0)
	for _, s := range b {
		t.Append(lua.LString(s))
	}
	return t
}

// scriptError is the error line of a script that raised an error: a
// table's err field as is (redis.call's errors, error_reply), a string
// with ERR in front, followed by Redis's "script: <sha>, on
// @user_script:<line>." locator.
func scriptError(err error) string {
	ae, ok := err.(*lua.ApiError)
	if !ok {
		return "ERR " + err.Error()
	}
	where := ""
	msg := ""
	if t, ok := ae.Object.(*lua.LTable); ok {
		if e, ok := t.RawGetString("err").(lua.LString); ok {
			msg = strings.TrimPrefix(string(e), "-")
		} else {
			msg = "ERR Error running script, error object is a table"
		}
		if w, ok := t.RawGetString("where").(lua.LString); ok {
			where = string(w)
		}
	} else {
		s := ae.Object.String()
		msg = "ERR " + s
		if strings.HasPrefix(s, "user_script:") {
			if i := strings.Index(s[len("user_script:"):], ":"); i >= 0 {
				where = s[:len("user_script:")+i]
			}
		}
	}
	if where == "" {
		where = "user_script:1"
	}
	return msg + " script: " + sha + ", on @" + where + "."
}

// errLine is a RESP error line, newlines replaced by spaces.
func errLine(s string) []byte {
	return []byte("-" + strings.NewReplacer("\r", " ", "\n", " ").Replace(s) + "\r\n")
}

// redisCall is redis.call (raise) and redis.pcall (return the error table).
func redisCall(L *lua.LState, raise bool) int {
	n := L.GetTop()
	fail := func(msg string) int {
		t := L.NewTable()
		t.RawSetString("err", lua.LString(msg))
		if raise {
			t.RawSetString("where", lua.LString(strings.TrimSuffix(L.Where(1), ":")))
			L.Error(t, 0)
		}
		L.Push(t)
		return 1
	}
	if n == 0 {
		return fail("ERR Please specify at least one argument for this redis lib call")
	}
	args := make([][]byte, n)
	for i := 1; i <= n; i++ {
		switch v := L.Get(i).(type) {
		case lua.LString:
			args[i-1] = []byte(v)
		case lua.LNumber:
			args[i-1] = []byte(numberString(float64(v)))
		default:
			return fail("ERR Lua redis lib command arguments must be strings or integers")
		}
	}
	if len(args[0]) > 0 && args[0][0] == 0 {
		return fail("ERR Unknown Redis command called from script")
	}
	r, err := cairn.PCall(args...)
	if err != nil {
		return fail(err.Error())
	}
	v, _, ok := fromRESP(L, r, 0)
	if !ok {
		return fail("ERR reply from the server could not be read")
	}
	if t, ok := v.(*lua.LTable); ok && raise {
		if e, ok := t.RawGetString("err").(lua.LString); ok && t.Len() == 0 {
			return fail(string(e))
		}
	}
	L.Push(v)
	return 1
}

// numberString formats a number argument as Lua 5.1 does (%.14g).
func numberString(f float64) string {
	if f == float64(int64(f)) && f > -1e15 && f < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', 14, 64)
}

func errorReply(L *lua.LState) int {
	t := L.NewTable()
	s := L.CheckString(1)
	if !strings.HasPrefix(s, "-") {
		s = "-" + s
	}
	t.RawSetString("err", lua.LString(s))
	L.Push(t)
	return 1
}

func statusReply(L *lua.LState) int {
	t := L.NewTable()
	t.RawSetString("ok", lua.LString(L.CheckString(1)))
	L.Push(t)
	return 1
}

func sha1hex(L *lua.LState) int {
	if L.GetTop() != 1 {
		L.RaiseError("wrong number of arguments")
	}
	s := sha1.Sum([]byte(L.ToString(1)))
	L.Push(lua.LString(hex.EncodeToString(s[:])))
	return 1
}

// resp is the protocol of the replies redis.call converts (redis.setresp):
// 2 at the start of every call (it starts from the initialized state).
var resp = 2

// setrespCmd is the host's protocol switch (package function's
// setrespCmd); scripts cannot send it (redisCall refuses NUL-led names).
const setrespCmd = "\x00setresp"

func setresp(L *lua.LState) int {
	if L.GetTop() != 1 {
		raiseErr(L, "ERR redis.setresp() requires one argument.")
	}
	v := 0.0
	switch n := L.Get(1).(type) {
	case lua.LNumber:
		v = float64(n)
	case lua.LString:
		if f, k := strtod(strings.TrimSpace(string(n))); k > 0 && k == len(strings.TrimSpace(string(n))) {
			v = f
		}
	}
	if v != 2 && v != 3 {
		raiseErr(L, "ERR RESP version must be 2 or 3.")
	}
	if int(v) != resp {
		if _, err := cairn.PCall([]byte(setrespCmd), []byte(strconv.Itoa(int(v)))); err != nil {
			raiseErr(L, err.Error())
		}
		resp = int(v)
	}
	return 0
}

// raiseErr raises a Redis error (an error table, as redis.call's) at the
// script's current line.
func raiseErr(L *lua.LState, msg string) {
	t := L.NewTable()
	t.RawSetString("err", lua.LString(msg))
	t.RawSetString("where", lua.LString(strings.TrimSuffix(L.Where(1), ":")))
	L.Error(t, 0)
}

// fromRESP converts one reply the host sent into a Lua value with
// Redis's rules. In RESP2 (the default): integer -> number, bulk ->
// string, null -> false, array -> table, status -> {ok=...}, error ->
// {err=...} (RESP3 types, which a RESP2 host does not send, as their RESP2
// forms). After redis.setresp(3): null -> nil, boolean -> boolean, double
// -> {double=n}, big number -> {big_number=s}, verbatim ->
// {verbatim_string={format=f, string=s}}, map -> {map={k=v...}}, set ->
// {set={e=true...}}; attributes are skipped.
func fromRESP(L *lua.LState, b []byte, depth int) (lua.LValue, []byte, bool) {
	i := bytes.Index(b, []byte("\r\n"))
	if len(b) == 0 || i < 0 || depth > 200 {
		return nil, nil, false
	}
	typ, text, rest := b[0], string(b[1:i]), b[i+2:]
	r3 := resp == 3
	field := func(name string, v lua.LValue) *lua.LTable {
		t := L.CreateTable(0, 1)
		t.RawSetString(name, v)
		return t
	}
	switch typ {
	case '+':
		return field("ok", lua.LString(text)), rest, true
	case '-':
		return field("err", lua.LString(text)), rest, true
	case ':':
		n, err := strconv.ParseInt(text, 10, 64)
		return lua.LNumber(n), rest, err == nil
	case ',':
		if r3 {
			f, n := strtod(text)
			return field("double", lua.LNumber(f)), rest, n == len(text)
		}
		return lua.LString(text), rest, true
	case '(':
		if r3 {
			return field("big_number", lua.LString(text)), rest, true
		}
		return lua.LString(text), rest, true
	case '#':
		if r3 {
			return lua.LBool(text == "t"), rest, true
		}
		if text == "t" {
			return lua.LNumber(1), rest, true
		}
		return lua.LNumber(0), rest, true
	case '_':
		if r3 {
			return lua.LNil, rest, true
		}
		return lua.LFalse, rest, true
	case '$', '=', '!':
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, nil, false
		}
		if n < 0 {
			if r3 {
				return lua.LNil, rest, true
			}
			return lua.LFalse, rest, true
		}
		if n+2 > len(rest) {
			return nil, nil, false
		}
		s := string(rest[:n])
		rest = rest[n+2:]
		switch typ {
		case '=':
			format := ""
			if len(s) >= 4 {
				format, s = s[:3], s[4:]
			}
			if r3 {
				v := L.CreateTable(0, 2)
				v.RawSetString("format", lua.LString(format))
				v.RawSetString("string", lua.LString(s))
				return field("verbatim_string", v), rest, true
			}
		case '!':
			return field("err", lua.LString(s)), rest, true
		}
		return lua.LString(s), rest, true
	case '*', '~', '%', '>':
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, nil, false
		}
		if n < 0 {
			if r3 {
				return lua.LNil, rest, true
			}
			return lua.LFalse, rest, true
		}
		if n > len(rest) {
			return nil, nil, false
		}
		if r3 && (typ == '%' || typ == '~') {
			t := L.CreateTable(0, n)
			for j := 0; j < n; j++ {
				var k, v lua.LValue = nil, lua.LTrue
				var ok bool
				if k, rest, ok = fromRESP(L, rest, depth+1); !ok {
					return nil, nil, false
				}
				if typ == '%' {
					if v, rest, ok = fromRESP(L, rest, depth+1); !ok {
						return nil, nil, false
					}
				}
				if k != lua.LNil {
					t.RawSet(k, v)
				}
			}
			if typ == '%' {
				return field("map", t), rest, true
			}
			return field("set", t), rest, true
		}
		if typ == '%' {
			n *= 2
		}
		t := L.CreateTable(n, 0)
		for j := 0; j < n; j++ {
			var v lua.LValue
			var ok bool
			if v, rest, ok = fromRESP(L, rest, depth+1); !ok {
				return nil, nil, false
			}
			t.RawSetInt(j+1, v)
		}
		return t, rest, true
	case '|':
		n, err := strconv.Atoi(text)
		if err != nil {
			return nil, nil, false
		}
		for j := 0; j < 2*n; j++ {
			var ok bool
			if _, rest, ok = fromRESP(L, rest, depth+1); !ok {
				return nil, nil, false
			}
		}
		return fromRESP(L, rest, depth+1)
	}
	return nil, nil, false
}

// toRESP appends the reply for a script's return value with Redis's
// rules: number -> integer (truncated), string -> bulk, true -> 1
// (RESP3 after redis.setresp(3): true), false -> null (RESP3: false), nil
// -> null, {err=...} -> error, {ok=...} -> status, {double=n} -> double,
// {big_number=s} -> big number, {map={...}} -> map, {set={...}} -> set,
// {verbatim_string={format=f, string=s}} -> verbatim string, other tables
// -> array up to the first nil. The RESP3 types reach a RESP2 client in
// their RESP2 forms (the server downgrades them, as Redis does).
func toRESP(dst []byte, v lua.LValue, depth int) []byte {
	switch v := v.(type) {
	case lua.LString:
		return appendBulk(dst, string(v))
	case lua.LNumber:
		dst = append(dst, ':')
		dst = strconv.AppendInt(dst, int64(float64(v)), 10)
		return append(dst, "\r\n"...)
	case lua.LBool:
		switch {
		case resp == 3 && bool(v):
			return append(dst, "#t\r\n"...)
		case resp == 3:
			return append(dst, "#f\r\n"...)
		case bool(v):
			return append(dst, ":1\r\n"...)
		}
		return append(dst, "$-1\r\n"...)
	case *lua.LTable:
		if e, ok := v.RawGetString("err").(lua.LString); ok {
			return append(dst, errLine(strings.TrimPrefix(string(e), "-"))...)
		}
		if s, ok := v.RawGetString("ok").(lua.LString); ok {
			return append(dst, "+"+strings.NewReplacer("\r", " ", "\n", " ").Replace(string(s))+"\r\n"...)
		}
		if d, ok := v.RawGetString("double").(lua.LNumber); ok {
			return append(dst, ","+fmtDouble(float64(d))+"\r\n"...)
		}
		if s, ok := v.RawGetString("big_number").(lua.LString); ok {
			return append(dst, "("+strings.NewReplacer("\r", " ", "\n", " ").Replace(string(s))+"\r\n"...)
		}
		if depth > 100 {
			return append(dst, "-ERR reached lua stack limit\r\n"...)
		}
		if m, ok := v.RawGetString("map").(*lua.LTable); ok {
			n := 0
			for k, _ := m.Next(lua.LNil); k != lua.LNil; k, _ = m.Next(k) {
				n++
			}
			dst = append(dst, '%')
			dst = strconv.AppendInt(dst, int64(n), 10)
			dst = append(dst, "\r\n"...)
			for k, e := m.Next(lua.LNil); k != lua.LNil; k, e = m.Next(k) {
				dst = toRESP(dst, k, depth+1)
				dst = toRESP(dst, e, depth+1)
			}
			return dst
		}
		if m, ok := v.RawGetString("set").(*lua.LTable); ok {
			n := 0
			for k, _ := m.Next(lua.LNil); k != lua.LNil; k, _ = m.Next(k) {
				n++
			}
			dst = append(dst, '~')
			dst = strconv.AppendInt(dst, int64(n), 10)
			dst = append(dst, "\r\n"...)
			for k, _ := m.Next(lua.LNil); k != lua.LNil; k, _ = m.Next(k) {
				dst = toRESP(dst, k, depth+1)
			}
			return dst
		}
		if vs, ok := v.RawGetString("verbatim_string").(*lua.LTable); ok {
			f, ok1 := vs.RawGetString("format").(lua.LString)
			s, ok2 := vs.RawGetString("string").(lua.LString)
			if ok1 && ok2 && len(f) == 3 {
				payload := string(f) + ":" + string(s)
				dst = append(dst, '=')
				dst = strconv.AppendInt(dst, int64(len(payload)), 10)
				dst = append(dst, "\r\n"...)
				dst = append(dst, payload...)
				return append(dst, "\r\n"...)
			}
		}
		n := 0
		for v.RawGetInt(n+1) != lua.LNil {
			n++
		}
		dst = append(dst, '*')
		dst = strconv.AppendInt(dst, int64(n), 10)
		dst = append(dst, "\r\n"...)
		for j := 1; j <= n; j++ {
			dst = toRESP(dst, v.RawGetInt(j), depth+1)
		}
		return dst
	}
	return append(dst, "$-1\r\n"...)
}

func appendBulk(dst []byte, s string) []byte {
	dst = append(dst, '$')
	dst = strconv.AppendInt(dst, int64(len(s)), 10)
	dst = append(dst, "\r\n"...)
	dst = append(dst, s...)
	return append(dst, "\r\n"...)
}

// fmtDouble formats a double reply as Redis 7.0 does ("%.17g"; inf, -inf,
// nan).
func fmtDouble(f float64) string {
	switch {
	case math.IsInf(f, 1):
		return "inf"
	case math.IsInf(f, -1):
		return "-inf"
	case math.IsNaN(f):
		return "nan"
	}
	return strconv.FormatFloat(f, 'g', 17, 64)
}

// randomGet is WASI random_get: the host's stream seeded from the log
// entry's seed.
//
//go:wasmimport wasi_snapshot_preview1 random_get
func randomGet(buf unsafe.Pointer, n uint32) uint32

// Redis's math.random generator: rand48 (x' = a*x + c mod 2^48) with
// Redis's scaling. Redis 7 lets the sequence run on across scripts;
// Cairn starts it from the entry's seed for each script instead, so it is
// the same on every replica.
var rand48 uint64

func rand48Seed(seed int32) { rand48 = uint64(uint32(seed))<<16 | 0x330E }

func lrand48() int32 {
	rand48 = (0x5DEECE66D*rand48 + 0xB) & (1<<48 - 1)
	return int32(rand48 >> 17)
}

const lrand48Max = 1<<31 - 1

func mathRandom(L *lua.LState) int {
	r := float64(lrand48()%lrand48Max) / float64(lrand48Max)
	switch L.GetTop() {
	case 0:
		L.Push(lua.LNumber(r))
	case 1:
		u := L.CheckInt(1)
		if u < 1 {
			L.ArgError(1, "interval is empty")
		}
		L.Push(lua.LNumber(float64(int64(r*float64(u))) + 1))
	case 2:
		l, u := L.CheckInt(1), L.CheckInt(2)
		if l > u {
			L.ArgError(2, "interval is empty")
		}
		L.Push(lua.LNumber(float64(int64(r*float64(u-l+1))) + float64(l)))
	default:
		L.RaiseError("wrong number of arguments")
	}
	return 1
}

func mathRandomseed(L *lua.LState) int {
	rand48Seed(int32(L.CheckInt(1)))
	return 0
}

func main() {}
