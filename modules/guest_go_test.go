package modules

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// goModules caches example modules built with GOOS=wasip1 for this test
// binary.
var goModules sync.Map

// buildExample builds modules/examples/<name> with the Go toolchain (always
// able to target wasip1) and returns the module bytes.
func buildExample(t testing.TB, name string) []byte {
	t.Helper()
	if testing.Short() {
		t.Skip("builds a Go guest module; skipped with -short")
	}
	if b, ok := goModules.Load(name); ok {
		return b.([]byte)
	}
	dir := "./examples/" + name
	if strings.HasPrefix(name, "testdata/") {
		dir = "./" + name
	}
	out := filepath.Join(t.TempDir(), filepath.Base(name)+".wasm")
	cmd := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-buildmode=c-shared", "-o", out, dir)
	cmd.Env = append(os.Environ(), "GOOS=wasip1", "GOARCH=wasm")
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build %s: %v\n%s", name, err, msg)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	goModules.Store(name, b)
	return b
}

// hashHost is a fake keyspace of hashes serving HMGET and HSET.
type hashHost struct {
	h   map[string]map[string]string
	log []string
}

// Call implements Host.
func (h *hashHost) Call(args [][]byte) ([]byte, error) {
	s := make([]string, len(args))
	for i, a := range args {
		s[i] = string(a)
	}
	h.log = append(h.log, strings.Join(s, " "))
	if h.h == nil {
		h.h = map[string]map[string]string{}
	}
	switch strings.ToUpper(s[0]) {
	case "HMGET":
		out := "*" + itoa(len(s)-2) + "\r\n"
		for _, f := range s[2:] {
			if v, ok := h.h[s[1]][f]; ok {
				out += "$" + itoa(len(v)) + "\r\n" + v + "\r\n"
			} else {
				out += "$-1\r\n"
			}
		}
		return []byte(out), nil
	case "HSET":
		if h.h[s[1]] == nil {
			h.h[s[1]] = map[string]string{}
		}
		for i := 2; i+1 < len(s); i += 2 {
			h.h[s[1]][s[i]] = s[i+1]
		}
		return []byte(":0\r\n"), nil
	case "HINCRBY":
		if h.h[s[1]] == nil {
			h.h[s[1]] = map[string]string{}
		}
		v, _ := strconv.ParseInt(h.h[s[1]][s[2]], 10, 64)
		d, _ := strconv.ParseInt(s[3], 10, 64)
		h.h[s[1]][s[2]] = strconv.FormatInt(v+d, 10)
		return []byte(":" + h.h[s[1]][s[2]] + "\r\n"), nil
	}
	return nil, errors.New("ERR unknown command")
}

// itoa formats a small integer.
func itoa(n int) string {
	if n < 10 {
		return string(rune('0' + n))
	}
	return itoa(n/10) + string(rune('0'+n%10))
}

func TestGoRatelimit(t *testing.T) {
	code := buildExample(t, "ratelimit")
	r := newRuntime(t, Config{})
	start := time.Now()
	lib, err := r.LoadPayload(context.Background(), payload("ratelimit", code))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("load+compile+init of a %d-byte Go module: %v", len(code), time.Since(start))
	h := &hashHost{}
	key := [][]byte{[]byte("user:42")}
	args := [][]byte{[]byte("2"), []byte("1")} // capacity 2, 1 token/s
	t0 := int64(1_700_000_000_000_000_000)
	steps := []struct {
		at   int64 // ms after t0
		want string
	}{{0, ":1\r\n"}, {0, ":1\r\n"}, {0, ":0\r\n"}, {500, ":0\r\n"}, {1000, ":1\r\n"}, {1000, ":0\r\n"}, {10000, ":1\r\n"}, {10000, ":1\r\n"}, {10000, ":0\r\n"}}
	for i, s := range steps {
		res, err := lib.Call(context.Background(), h, "ratelimit", Call{Keys: key, Args: args, Time: t0 + s.at*1e6, Seed: uint64(i)})
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		if i == 0 || i == len(steps)-1 {
			t.Logf("step %d fuel used %d", i, res.FuelUsed)
		}
		if string(res.Reply) != s.want {
			t.Fatalf("step %d at +%dms = %q, want %q (hash %v)", i, s.at, res.Reply, s.want, h.h)
		}
	}
	if got := h.h["user:42"]["ts"]; got != "1700000010000" {
		t.Errorf("ts = %q", got)
	}
	res, err := lib.Call(context.Background(), h, "ratelimit", Call{Keys: key})
	if err != nil || !strings.HasPrefix(string(res.Reply), "-ERR usage") {
		t.Errorf("bad usage = %q %v", res.Reply, err)
	}
}

func TestGoTransfer(t *testing.T) {
	code := buildExample(t, "transfer")
	r := newRuntime(t, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("transfer", code))
	if err != nil {
		t.Fatal(err)
	}
	h := &hashHost{h: map[string]map[string]string{"{acct}:alice": {"balance": "100"}}}
	keys := [][]byte{[]byte("{acct}:alice"), []byte("{acct}:bob")}
	steps := []struct{ amount, want string }{
		{"30", ":70\r\n"}, {"70", ":0\r\n"}, {"1", "-ERR insufficient funds\r\n"}, {"x", "-ERR amount must be a positive integer\r\n"},
	}
	for _, s := range steps {
		res, err := lib.Call(context.Background(), h, "transfer", Call{Keys: keys, Args: [][]byte{[]byte("balance"), []byte(s.amount)}})
		if err != nil || string(res.Reply) != s.want {
			t.Fatalf("transfer %s = %q, %v; want %q", s.amount, res.Reply, err, s.want)
		}
	}
	if a, b := h.h["{acct}:alice"]["balance"], h.h["{acct}:bob"]["balance"]; a != "0" || b != "100" {
		t.Errorf("balances alice=%s bob=%s, want 0 and 100", a, b)
	}
}

func TestGoSpin(t *testing.T) {
	code := buildExample(t, "spin")
	r := newRuntime(t, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("spin", code))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		start := time.Now()
		_, err := lib.Call(context.Background(), &fakeHost{}, "spin", Call{})
		if !errors.Is(err, ErrFuelExhausted) {
			t.Fatalf("spin = %v", err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("spin took %v", d)
		}
	}
}

func TestGoSandboxEscapeRefused(t *testing.T) {
	code := buildExample(t, "testdata/goescape")
	r := newRuntime(t, Config{})
	_, err := r.LoadPayload(context.Background(), payload("escape", code))
	if !errors.Is(err, ErrForbiddenImport) {
		t.Fatalf("Load = %v, want ErrForbiddenImport", err)
	}
	t.Log(err)
}

func BenchmarkGoRatelimit(b *testing.B) { benchGoRatelimit(b, false) }

// BenchmarkGoRatelimitCopyReset is BenchmarkGoRatelimit resetting the 2 MiB
// memory by copying instead of copy-on-write.
func BenchmarkGoRatelimitCopyReset(b *testing.B) { benchGoRatelimit(b, true) }

// benchGoRatelimit measures one ratelimit call on the Go example, reset
// included.
func benchGoRatelimit(b *testing.B, copyReset bool) {
	if copyReset {
		forceReset(b, false)
	}
	code := buildExample(b, "ratelimit")
	r := newRuntime(b, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("ratelimit", code))
	if err != nil {
		b.Fatal(err)
	}
	h := &hashHost{}
	c := Call{Keys: [][]byte{[]byte("k")}, Args: [][]byte{[]byte("10"), []byte("5")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(context.Background(), h, "ratelimit", c); err != nil {
			b.Fatal(err)
		}
	}
}

func TestCompilationCacheShared(t *testing.T) {
	code := buildExample(t, "ratelimit")
	cache := NewCompilationCache()
	var took [2]time.Duration
	for i := range took {
		r := newRuntime(t, Config{Cache: cache})
		start := time.Now()
		// The library stays open: closing a compiled module evicts it from
		// an in-memory cache.
		if _, err := r.LoadPayload(context.Background(), payload("ratelimit", code)); err != nil {
			t.Fatal(err)
		}
		took[i] = time.Since(start)
	}
	t.Logf("load of a %d-byte Go module: %v cold, %v with the shared cache", len(code), took[0], took[1])
	if took[1] > took[0] {
		t.Errorf("cached load (%v) slower than cold load (%v)", took[1], took[0])
	}
}

// okHost answers every command with +OK.
type okHost struct{}

// Call implements Host.
func (okHost) Call([][]byte) ([]byte, error) { return []byte("+OK\r\n"), nil }

// BenchmarkGoExecSet measures the exec test module's exec function (the
// bench-modules row "FCALL one SET (Go)") running SET k v against a host
// that answers +OK, reset included.
func BenchmarkGoExecSet(b *testing.B) {
	code := buildExample(b, "testdata/exec")
	r := newRuntime(b, Config{})
	lib, err := r.LoadPayload(context.Background(), payload("exec", code))
	if err != nil {
		b.Fatal(err)
	}
	c := Call{Keys: [][]byte{[]byte("k")}, Args: [][]byte{[]byte("SET"), []byte("k"), []byte("v")}}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lib.Call(context.Background(), okHost{}, "exec", c); err != nil {
			b.Fatal(err)
		}
	}
}
