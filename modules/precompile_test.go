package modules

import (
	"context"
	"testing"
)

// TestPrecompile: a precompiled payload is handed to the Load of the same
// payload (not compiled again), the library works, and a bad payload gets
// the error Load gives.
func TestPrecompile(t *testing.T) {
	ctx := context.Background()
	r := newRuntime(t, Config{})
	code := fixture(t, "test")
	payload := append([]byte("#!wasm name=t\n"), code...)
	if err := r.Precompile(ctx, payload, DefaultLimits()); err != nil {
		t.Fatal(err)
	}
	if err := r.Precompile(ctx, payload, DefaultLimits()); err != nil || len(r.pre) != 1 {
		t.Fatalf("second Precompile: %v, %d held", err, len(r.pre))
	}
	lib, err := r.Load(ctx, "t", code, DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	defer lib.Close(ctx)
	if len(r.pre) != 0 {
		t.Fatalf("%d precompiled modules left after Load", len(r.pre))
	}
	res, err := lib.Call(ctx, nil, "ping", Call{})
	if err != nil || string(res.Reply) != "+PONG\r\n" {
		t.Fatalf("ping: %q, %v", res.Reply, err)
	}
	for _, name := range []string{"path_open", "dup", "noreg"} {
		bad := fixture(t, name)
		_, lerr := r.Load(ctx, "b", bad, DefaultLimits())
		perr := r.Precompile(ctx, append([]byte("#!wasm name=b\n"), bad...), DefaultLimits())
		if lerr == nil || perr == nil || lerr.Error() != perr.Error() {
			t.Fatalf("%s: Load %v, Precompile %v", name, lerr, perr)
		}
	}
	for i := range maxPrecompiled + 2 {
		other := DefaultLimits()
		other.MaxDepth -= uint32(i + 1) // a different instrumentation of the same code
		if err := r.Precompile(ctx, payload, other); err != nil {
			t.Fatal(err)
		}
	}
	if len(r.pre) != maxPrecompiled {
		t.Fatalf("%d precompiled modules held, want at most %d", len(r.pre), maxPrecompiled)
	}
}
