package modules

import (
	"bytes"
	"context"
	"errors"
	"testing"
)

// TestPrepared checks that calls of a Prepared start from the state the
// preparation left — memory byte-identical to that image after a call
// that dirtied it, and in a replacement instance after a call that grew
// memory or trapped — with the reset by copy and by copy-on-write.
func TestPrepared(t *testing.T) {
	t.Run("copy", func(t *testing.T) { testPrepared(t, false) })
	t.Run("copy-on-write", func(t *testing.T) { testPrepared(t, true) })
}

func testPrepared(t *testing.T, cow bool) {
	forceReset(t, cow)
	ctx := context.Background()
	r := newRuntime(t, Config{})
	lib := loadTest(t, r)
	// counter sets the global to 1 and memory byte 200 to 1: the prepared
	// state. From it, counter replies 2 + 2 - 1 = 3 every time.
	p, err := lib.Prepare(ctx, "counter", Call{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	image := func() []byte {
		t.Helper()
		in, err := p.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer p.release(ctx, in)
		if (in.cow != nil && in.snapMem == nil) != cow {
			t.Fatalf("copy-on-write snapshot = %v, want %v", in.cow != nil, cow)
		}
		buf, _ := in.mem.Read(0, in.mem.Size())
		return append([]byte(nil), buf...)
	}
	clean := image()
	if clean[200] != 1 {
		t.Fatalf("prepared image byte 200 = %d, want 1 (the preparation's write)", clean[200])
	}
	for i := 0; i < 4; i++ {
		res, err := p.Call(ctx, &fakeHost{}, "counter", Call{})
		if err != nil || string(res.Reply) != ":3\r\n" {
			t.Fatalf("counter call %d = %q, %v; want :3 (from the prepared state)", i, res.Reply, err)
		}
		if got := image(); !bytes.Equal(got, clean) {
			t.Fatalf("after counter call %d: memory differs from the prepared image", i)
		}
	}
	// The base library is unchanged: counter still replies 1 there.
	if got := string(call(t, lib, &fakeHost{}, "counter", Call{}).Reply); got != ":1\r\n" {
		t.Fatalf("library counter = %q, want :1", got)
	}
	// A call that grows memory (the instance is replaced) and one that
	// traps (discarded): the next instance is prepared again.
	for _, fn := range []string{"grow", "trap"} {
		_, _ = p.Call(ctx, &fakeHost{}, fn, Call{})
		if got := image(); !bytes.Equal(got, clean) {
			t.Fatalf("after %s: memory (%d bytes) differs from the prepared image (%d bytes)", fn, len(got), len(clean))
		}
		res, err := p.Call(ctx, &fakeHost{}, "counter", Call{})
		if err != nil || string(res.Reply) != ":3\r\n" {
			t.Fatalf("counter after %s = %q, %v; want :3", fn, res.Reply, err)
		}
	}
}

// TestPrepareFailures checks a preparation that traps or replies with an
// error fails with ErrPrepareFailed and leaves the library usable.
func TestPrepareFailures(t *testing.T) {
	ctx := context.Background()
	lib := loadTest(t, newRuntime(t, Config{}))
	for _, fn := range []string{"trap", "spin", "pcallerr"} {
		if _, err := lib.Prepare(ctx, fn, Call{}); !errors.Is(err, ErrPrepareFailed) {
			t.Errorf("Prepare(%s) error = %v, want ErrPrepareFailed", fn, err)
		}
	}
	if _, err := lib.Prepare(ctx, "nope", Call{}); !errors.Is(err, ErrUnknownFunction) {
		t.Errorf("Prepare(nope) error = %v, want ErrUnknownFunction", err)
	}
	if got := string(call(t, lib, &fakeHost{}, "counter", Call{}).Reply); got != ":1\r\n" {
		t.Fatalf("counter after failed preparations = %q, want :1", got)
	}
}
