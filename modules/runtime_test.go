package modules

//go:generate sh testdata/gen.sh

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fixture reads a prebuilt module from testdata.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".wasm")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// payload prefixes a module with the shebang.
func payload(name string, code []byte) []byte {
	return append([]byte("#!wasm name="+name+"\n"), code...)
}

// fakeHost is a tiny keyspace: INCR and GET on integers; every other
// command fails. It records every command it receives.
type fakeHost struct {
	kv  map[string]int64
	log []string
}

// Call implements Host.
func (h *fakeHost) Call(args [][]byte) ([]byte, error) {
	parts := make([]string, len(args))
	for i, a := range args {
		parts[i] = string(a)
	}
	h.log = append(h.log, strings.Join(parts, " "))
	if h.kv == nil {
		h.kv = map[string]int64{}
	}
	switch strings.ToUpper(parts[0]) {
	case "INCR":
		if len(args) != 2 {
			return nil, errors.New("ERR wrong number of arguments for 'incr' command")
		}
		h.kv[parts[1]]++
		return []byte(":" + strconv.FormatInt(h.kv[parts[1]], 10) + "\r\n"), nil
	}
	return nil, fmt.Errorf("ERR unknown command '%s'", parts[0])
}

// newRuntime returns a runtime closed at the end of the test.
func newRuntime(t testing.TB, cfg Config) *Runtime {
	t.Helper()
	r, err := NewRuntime(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.Close(context.Background()) })
	return r
}

// loadTest loads testdata/test.wasm as library "test".
func loadTest(t testing.TB, r *Runtime) *Library {
	t.Helper()
	lib, err := r.LoadPayload(context.Background(), payload("test", fixture(t, "test")))
	if err != nil {
		t.Fatal(err)
	}
	return lib
}

func TestParsePayload(t *testing.T) {
	cases := []struct {
		in, want string
	}{
		{"\x00asm", "ERR Missing library metadata"},
		{"#!wasm name=lib", "ERR Invalid library metadata"},
		{"#!\n", "ERR Library name was not given"},
		{"#!wasm\n", "ERR Library name was not given"},
		{"#!wasm name=a name=b\n", "ERR Invalid metadata value, name argument was given multiple times"},
		{"#!wasm nme=lib\n", "ERR Invalid metadata value given: nme=lib"},
		{"#!wasm name=bad-name\n", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
		{"#!wasm name=\n", "ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long"},
		{"#!lua name=lib\n", "ERR Engine 'lua' not found"},
	}
	for _, c := range cases {
		_, _, err := ParsePayload([]byte(c.in))
		if err == nil || err.Error() != c.want {
			t.Errorf("ParsePayload(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	name, code, err := ParsePayload([]byte("#!WASM  NAME=my_lib \n\x00asm"))
	if err != nil || name != "my_lib" || string(code) != "\x00asm" {
		t.Errorf("ParsePayload ok case = %q %q %v", name, code, err)
	}
	_, _, err = ParsePayload([]byte("#!js name=x\n"))
	if !errors.Is(err, ErrUnknownEngine) {
		t.Errorf("errors.Is(%v, ErrUnknownEngine) = false", err)
	}
}

func TestLoadRegistration(t *testing.T) {
	r := newRuntime(t, Config{})
	lib := loadTest(t, r)
	if lib.Name != "test" {
		t.Errorf("Name = %q", lib.Name)
	}
	f, ok := lib.Function("ping")
	if !ok || !reflect.DeepEqual(f.Flags.Strings(), []string{"no-writes"}) {
		t.Errorf("ping = %+v %v", f, ok)
	}
	f, ok = lib.Function("noreply")
	if !ok || !reflect.DeepEqual(f.Flags.Strings(), []string{"no-writes", "allow-stale"}) {
		t.Errorf("noreply = %+v %v", f, ok)
	}
	f, ok = lib.Function("incr")
	if !ok || f.Flags != 0 {
		t.Errorf("incr = %+v %v", f, ok)
	}
	if _, ok := lib.Function("nope"); ok {
		t.Error("Function(nope) found")
	}
	var names []string
	for _, f := range lib.Functions {
		names = append(names, f.Name)
	}
	want := []string{"badreply", "callerr", "control", "counter", "grow", "incr", "incrspin", "noreply", "out", "pcallerr", "ping", "random", "recurse", "spin", "time", "trap"}
	if !reflect.DeepEqual(names, want) {
		t.Errorf("functions = %v, want %v", names, want)
	}
}

func TestLoadErrors(t *testing.T) {
	r := newRuntime(t, Config{})
	ctx := context.Background()
	test := fixture(t, "test")
	huge := append(append([]byte(nil), test...), 0, 0x80, 0x80, 0x80, 0x08) // custom section header
	huge = append(huge, 1, 'x')
	huge = append(huge, make([]byte, 16<<20)...)
	cases := []struct {
		name string
		code []byte
		want error
		text string
	}{
		{"not wasm", []byte("hello world, not a module"), ErrNotWasm, "bad magic"},
		{"empty", nil, ErrNotWasm, ""},
		{"truncated", test[:len(test)/2], ErrNotWasm, "unexpected end"},
		{"path_open", fixture(t, "path_open"), ErrForbiddenImport, "wasi_snapshot_preview1.path_open is not available"},
		{"sock_accept", fixture(t, "sock_accept"), ErrForbiddenImport, "wasi_snapshot_preview1.sock_accept is not available"},
		{"bad signature", fixture(t, "badsig"), ErrForbiddenImport, "cairn.call has type (i32) -> (i32)"},
		{"no registration", fixture(t, "noreg"), ErrNoFunctions, ""},
		{"duplicate", fixture(t, "dup"), ErrDuplicateFunction, ""},
		{"unknown flag", fixture(t, "badflag"), ErrUnknownFlag, `"fly"`},
		{"huge", huge, ErrModuleTooLarge, ""},
		{"big memory", fixture(t, "bigmem"), ErrMemoryTooLarge, "1024 initial pages"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := r.Load(ctx, "lib", c.code, Limits{})
			if !errors.Is(err, c.want) || !strings.Contains(err.Error(), c.text) || !strings.HasPrefix(err.Error(), "ERR ") {
				t.Errorf("Load = %v, want %v containing %q", err, c.want, c.text)
			}
		})
	}
	if _, err := r.Load(ctx, "bad-name", test, Limits{}); !errors.Is(err, ErrBadLibraryName) {
		t.Errorf("Load(bad-name) = %v", err)
	}
}

// call runs fn and fails the test on error.
func call(t testing.TB, lib *Library, h Host, fn string, c Call) Result {
	t.Helper()
	res, err := lib.Call(context.Background(), h, fn, c)
	if err != nil {
		t.Fatalf("Call(%s) = %v", fn, err)
	}
	return res
}

func TestCallReplies(t *testing.T) {
	r := newRuntime(t, Config{})
	lib := loadTest(t, r)
	h := &fakeHost{}
	if got := string(call(t, lib, h, "ping", Call{}).Reply); got != "+PONG\r\n" {
		t.Errorf("ping = %q", got)
	}
	for i := 1; i <= 3; i++ {
		got := string(call(t, lib, h, "incr", Call{Keys: [][]byte{[]byte("user:42")}}).Reply)
		if want := fmt.Sprintf(":%d\r\n", i); got != want {
			t.Errorf("incr #%d = %q, want %q", i, got, want)
		}
	}
	if !reflect.DeepEqual(h.log, []string{"INCR user:42", "INCR user:42", "INCR user:42"}) {
		t.Errorf("host log = %q", h.log)
	}
	if got := string(call(t, lib, h, "pcallerr", Call{}).Reply); got != "-ERR unknown command 'NOPE'\r\n" {
		t.Errorf("pcallerr = %q", got)
	}
	_, err := lib.Call(context.Background(), h, "callerr", Call{})
	if err == nil || err.Error() != "ERR unknown command 'NOPE'" {
		t.Errorf("callerr = %v", err)
	}
	if got := string(call(t, lib, h, "noreply", Call{}).Reply); got != "$-1\r\n" {
		t.Errorf("noreply = %q", got)
	}
	if _, err := lib.Call(context.Background(), h, "badreply", Call{}); !errors.Is(err, ErrBadReply) {
		t.Errorf("badreply = %v", err)
	}
	if _, err := lib.Call(context.Background(), h, "trap", Call{}); !errors.Is(err, ErrTrap) || !strings.Contains(err.Error(), "unreachable") {
		t.Errorf("trap = %v", err)
	}
	if _, err := lib.Call(context.Background(), h, "missing", Call{}); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("missing = %v", err)
	}
	// The library still serves after every failure above.
	if got := string(call(t, lib, h, "ping", Call{}).Reply); got != "+PONG\r\n" {
		t.Errorf("ping after failures = %q", got)
	}
}

func TestInstrumentedControlFlow(t *testing.T) {
	for _, interp := range []bool{false, true} {
		r := newRuntime(t, Config{Interpreter: interp})
		lib := loadTest(t, r)
		res, err := lib.Call(context.Background(), &fakeHost{}, "control", Call{})
		if err != nil || string(res.Reply) != ":7\r\n" {
			t.Errorf("interpreter=%v: control = %q, %v; want :7", interp, res.Reply, err)
		}
	}
}

func TestFuelSpin(t *testing.T) {
	for _, interp := range []bool{false, true} {
		t.Run(fmt.Sprintf("interpreter=%v", interp), func(t *testing.T) {
			cfg := Config{Interpreter: interp}
			if interp {
				// The interpreter is ~100x slower: a smaller budget keeps
				// the test short; the compiler runs the default budget.
				cfg.Limits.Fuel = 5_000_000
			}
			r := newRuntime(t, cfg)
			lib := loadTest(t, r)
			for i := 0; i < 3; i++ {
				start := time.Now()
				res, err := lib.Call(context.Background(), &fakeHost{}, "spin", Call{})
				took := time.Since(start)
				if !errors.Is(err, ErrFuelExhausted) || err.Error() != "ERR Function ran out of fuel" {
					t.Fatalf("spin = %v", err)
				}
				if res.FuelUsed != lib.Limits.Fuel {
					t.Errorf("FuelUsed = %d, want %d", res.FuelUsed, lib.Limits.Fuel)
				}
				if !interp && took > time.Second {
					t.Errorf("spin took %v, want < 1s", took)
				}
				t.Logf("spin ended in %v", took)
			}
		})
	}
}

func TestCallDepth(t *testing.T) {
	for _, interp := range []bool{false, true} {
		r := newRuntime(t, Config{Interpreter: interp})
		lib := loadTest(t, r)
		_, err := lib.Call(context.Background(), &fakeHost{}, "recurse", Call{})
		if !errors.Is(err, ErrCallDepth) {
			t.Errorf("interpreter=%v: recurse = %v", interp, err)
		}
	}
}

func TestResetBetweenCalls(t *testing.T) {
	t.Run("copy", func(t *testing.T) { testReset(t, false) })
	t.Run("copy-on-write", func(t *testing.T) { testReset(t, true) })
}

// testReset checks that no call sees another's memory or globals, with the
// snapshot restored by copy or by copy-on-write.
func testReset(t *testing.T, cow bool) {
	forceReset(t, cow)
	r := newRuntime(t, Config{})
	lib := loadTest(t, r)
	if lib.cow != cow {
		t.Fatalf("lib.cow = %v, want %v", lib.cow, cow)
	}
	for i := 0; i < 5; i++ {
		if got := string(call(t, lib, &fakeHost{}, "counter", Call{}).Reply); got != ":1\r\n" {
			t.Fatalf("counter call %d = %q, want :1 (state leaked)", i, got)
		}
	}
	// Memory growth cannot be undone in place: the instance is replaced and
	// every call still sees one page at the start.
	for i := 0; i < 3; i++ {
		if got := string(call(t, lib, &fakeHost{}, "grow", Call{}).Reply); got != ":2\r\n" {
			t.Fatalf("grow call %d = %q, want :2 (grew from one page)", i, got)
		}
	}
	// After a trap the next call starts clean too.
	_, _ = lib.Call(context.Background(), &fakeHost{}, "trap", Call{})
	if got := string(call(t, lib, &fakeHost{}, "counter", Call{}).Reply); got != ":1\r\n" {
		t.Fatalf("counter after trap = %q", got)
	}
}

// TestResetNewPages checks that every call starts from the snapshot when
// calls write pages no call wrote before, rewrite pages written before, or
// only read a page: with copy-on-write, the reset after a call that took
// no page fault copies the pages already known to be written, and one
// after a call that wrote a new page (a fault) reads the page map again.
func TestResetNewPages(t *testing.T) {
	t.Run("copy", func(t *testing.T) { testResetNewPages(t, false) })
	t.Run("copy-on-write", func(t *testing.T) { testResetNewPages(t, true) })
}

func testResetNewPages(t *testing.T, cow bool) {
	forceReset(t, cow)
	r := newRuntime(t, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("pages", fixture(t, "pages")))
	if err != nil {
		t.Fatal(err)
	}
	if lib.cow != cow {
		t.Fatalf("lib.cow = %v, want %v", lib.cow, cow)
	}
	shortcuts := 0
	for i, fn := range []string{"r25", "w3", "w3", "w9", "w3", "r25", "w20", "w9", "w31", "w31", "w3", "w20", "r25"} {
		if got := string(call(t, lib, &fakeHost{}, fn, Call{}).Reply); got != ":0\r\n" {
			t.Fatalf("call %d (%s) = %q, want :0 (an earlier call's write leaked)", i, fn, got)
		}
		lib.mu.Lock()
		if len(lib.free) == 1 && lib.free[0].noFault {
			shortcuts++
		}
		lib.mu.Unlock()
	}
	t.Logf("%d of 13 resets without a page-map read", shortcuts)
}

// forceReset makes libraries loaded during the test reset memory by
// copy-on-write (skipping the test where there is none) or by copy.
func forceReset(t testing.TB, cow bool) {
	if cow && !cowSupported {
		t.Skip("copy-on-write reset needs Linux")
	}
	saved := cowMinBytes
	cowMinBytes = 1 << 40
	if cow {
		cowMinBytes = 0
	}
	t.Cleanup(func() { cowMinBytes = saved })
}

// bulk8 decodes the 8-byte bulk reply of time and random.
func bulk8(t *testing.T, reply []byte) uint64 {
	t.Helper()
	if len(reply) != 14 || string(reply[:4]) != "$8\r\n" {
		t.Fatalf("reply = %q", reply)
	}
	return binary.LittleEndian.Uint64(reply[4:12])
}

func TestTimeAndRandomFromEntry(t *testing.T) {
	r := newRuntime(t, Config{})
	lib := loadTest(t, r)
	entry := int64(1_700_000_000_123_456_789)
	if got := bulk8(t, call(t, lib, &fakeHost{}, "time", Call{Time: entry}).Reply); int64(got) != entry {
		t.Errorf("time = %d, want the entry's %d", got, entry)
	}
	if got := bulk8(t, call(t, lib, &fakeHost{}, "time", Call{}).Reply); got != 0 {
		t.Errorf("time with zero entry time = %d, want 0 (no real clock)", got)
	}
	a := bulk8(t, call(t, lib, &fakeHost{}, "random", Call{Seed: 42}).Reply)
	b := bulk8(t, call(t, lib, &fakeHost{}, "random", Call{Seed: 42}).Reply)
	c := bulk8(t, call(t, lib, &fakeHost{}, "random", Call{Seed: 43}).Reply)
	state := uint64(42)
	if want := splitmix64(&state); a != want || b != want {
		t.Errorf("random(seed 42) = %x, %x, want %x", a, b, want)
	}
	if c == a {
		t.Errorf("random(seed 43) = random(seed 42)")
	}
}

func TestSandboxOutput(t *testing.T) {
	r := newRuntime(t, Config{})
	lib := loadTest(t, r)
	res := call(t, lib, &fakeHost{}, "out", Call{})
	if string(res.Output) != "hello\n" {
		t.Errorf("Output = %q", res.Output)
	}
	if string(res.Reply) != ":8\r\n" { // EBADF for fd 3
		t.Errorf("fd 3 write errno reply = %q, want :8", res.Reply)
	}
}

// trace is what one replica observed for a call sequence.
type trace struct {
	replies []string
	hostLog []string
	kv      map[string]int64
}

// replay runs a fixed FCALL sequence on a fresh runtime.
func replay(t *testing.T, interp bool) trace {
	r := newRuntime(t, Config{Interpreter: interp, Limits: Limits{Fuel: 2_000_000}})
	lib := loadTest(t, r)
	h := &fakeHost{}
	seq := []struct {
		fn  string
		key string
	}{
		{"incr", "a"}, {"incr", "b"}, {"incrspin", "a"}, {"incr", "a"}, {"counter", ""},
		{"random", ""}, {"time", ""}, {"trap", ""}, {"incrspin", "b"}, {"incr", "b"},
		{"pcallerr", ""}, {"callerr", ""}, {"recurse", ""}, {"incr", "a"},
	}
	var tr trace
	for i, s := range seq {
		c := Call{Time: int64(i) * 1e9, Seed: uint64(i)}
		if s.key != "" {
			c.Keys = [][]byte{[]byte(s.key)}
		}
		res, err := lib.Call(context.Background(), h, s.fn, c)
		if err != nil {
			tr.replies = append(tr.replies, fmt.Sprintf("%s: error %v (fuel %d)", s.fn, err, res.FuelUsed))
		} else {
			tr.replies = append(tr.replies, fmt.Sprintf("%s: %q (fuel %d)", s.fn, res.Reply, res.FuelUsed))
		}
	}
	tr.hostLog, tr.kv = h.log, h.kv
	return tr
}

func TestDeterminism(t *testing.T) {
	a := replay(t, false)
	b := replay(t, false)
	c := replay(t, true)
	if !reflect.DeepEqual(a, b) {
		t.Fatalf("two compiler runtimes differ:\n%v\n%v", a, b)
	}
	if !reflect.DeepEqual(a, c) {
		t.Fatalf("compiler and interpreter differ:\n%v\n%v", a, c)
	}
	// Writes made before fuel ran out stay: incrspin on a and b each
	// incremented before spinning.
	if want := map[string]int64{"a": 4, "b": 3}; !reflect.DeepEqual(a.kv, want) {
		t.Errorf("kv = %v, want %v", a.kv, want)
	}
	if !strings.Contains(a.replies[2], "ran out of fuel") {
		t.Errorf("incrspin reply = %s", a.replies[2])
	}
	for _, r := range a.replies {
		t.Log(r)
	}
}

func BenchmarkCallTrivial(b *testing.B) {
	r := newRuntime(b, Config{})
	lib := loadTest(b, r)
	h := &fakeHost{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(ctx, h, "ping", Call{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallTrivialCOW(b *testing.B) {
	forceReset(b, true)
	r := newRuntime(b, Config{})
	lib := loadTest(b, r)
	h := &fakeHost{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(ctx, h, "ping", Call{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallTrivialCopy(b *testing.B) {
	forceReset(b, false)
	r := newRuntime(b, Config{})
	lib := loadTest(b, r)
	h := &fakeHost{}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(ctx, h, "ping", Call{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallIncr(b *testing.B) { benchIncr(b) }

// BenchmarkCallIncrCopy is BenchmarkCallIncr resetting memory by copy.
func BenchmarkCallIncrCopy(b *testing.B) {
	forceReset(b, false)
	benchIncr(b)
}

func benchIncr(b *testing.B) {
	r := newRuntime(b, Config{})
	lib := loadTest(b, r)
	h := &fakeHost{}
	ctx := context.Background()
	c := Call{Keys: [][]byte{[]byte("k")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(ctx, h, "incr", c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	r := newRuntime(b, Config{})
	code := fixture(b, "test")
	ctx := context.Background()
	for b.Loop() {
		lib, err := r.Load(ctx, "test", code, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		_ = lib.Close(ctx)
	}
}

func TestCExample(t *testing.T) {
	r := newRuntime(t, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("cincr", fixture(t, "c_incr")))
	if err != nil {
		t.Fatal(err)
	}
	h := &fakeHost{}
	if got := string(call(t, lib, h, "cping", Call{}).Reply); got != "+PONG\r\n" {
		t.Errorf("cping = %q", got)
	}
	for i := 1; i <= 2; i++ {
		got := string(call(t, lib, h, "cincr", Call{Keys: [][]byte{[]byte("c:key")}}).Reply)
		if want := fmt.Sprintf(":%d\r\n", i); got != want {
			t.Errorf("cincr = %q, want %q", got, want)
		}
	}
	if got := string(call(t, lib, h, "cincr", Call{}).Reply); !strings.HasPrefix(got, "-ERR usage") {
		t.Errorf("cincr without key = %q", got)
	}
}

func TestInitFuelAndMemoryLimit(t *testing.T) {
	r := newRuntime(t, Config{})
	start := time.Now()
	_, err := r.Load(context.Background(), "initspin", fixture(t, "initspin"), Limits{})
	if !errors.Is(err, ErrInitFailed) || !strings.Contains(err.Error(), "ran out of fuel") {
		t.Fatalf("Load(initspin) = %v, want ErrInitFailed running out of fuel", err)
	}
	t.Logf("%v after %v", err, time.Since(start))
	// With a one-page limit, memory.grow fails (-1) instead of growing.
	lib, err := r.Load(context.Background(), "test", fixture(t, "test"), Limits{MaxMemoryPages: 1})
	if err != nil {
		t.Fatal(err)
	}
	if got := string(call(t, lib, &fakeHost{}, "grow", Call{}).Reply); got != ":0\r\n" {
		t.Errorf("grow at the memory limit = %q, want :0 (memory.grow returned -1)", got)
	}
}

// TestSettle checks a module's cairn.settle export runs once, after
// _initialize, in the state every call starts from.
func TestSettle(t *testing.T) {
	r := newRuntime(t, Config{})
	lib, err := r.Load(context.Background(), "settle", fixture(t, "settle"), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		if got := string(call(t, lib, &fakeHost{}, "get", Call{}).Reply); got != ":2\r\n" {
			t.Fatalf("call %d = %q, want :2 (_initialize, then settle, once)", i, got)
		}
	}
}

// benchCIncr calls the C example's cincr (5 pages of memory), resetting
// by copy, or by copy-on-write when cow.
func benchCIncr(b *testing.B, cow bool) {
	if cow {
		forceReset(b, true)
	}
	r := newRuntime(b, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("cincr", fixture(b, "c_incr")))
	if err != nil {
		b.Fatal(err)
	}
	h := &fakeHost{}
	ctx := context.Background()
	c := Call{Keys: [][]byte{[]byte("k")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(ctx, h, "cincr", c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCallCIncr(b *testing.B)    { benchCIncr(b, false) }
func BenchmarkCallCIncrCOW(b *testing.B) { benchCIncr(b, true) }
