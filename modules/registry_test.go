package modules

import (
	"context"
	"errors"
	"sync"
	"testing"
)

func TestRegistry(t *testing.T) {
	ctx := context.Background()
	g := NewRegistry(newRuntime(t, Config{}))
	code := fixture(t, "test")
	if name, err := g.Load(ctx, payload("test", code), false, Limits{}); err != nil || name != "test" {
		t.Fatalf("Load = %q, %v", name, err)
	}
	_, err := g.Load(ctx, payload("test", code), false, Limits{})
	if !errors.Is(err, ErrLibraryExists) || err.Error() != "ERR Library 'test' already exists" {
		t.Errorf("second Load = %v", err)
	}
	_, err = g.Load(ctx, payload("other", code), false, Limits{})
	if !errors.Is(err, ErrFunctionExists) || err.Error() != "ERR Function badreply already exists" {
		t.Errorf("colliding Load = %v", err)
	}
	if got := len(g.List("")); got != 1 {
		t.Errorf("List after refused loads has %d libraries, want 1 (nothing half-loaded)", got)
	}
	if _, err := g.Load(ctx, payload("test", code), true, Limits{}); err != nil {
		t.Errorf("Load REPLACE = %v", err)
	}
	lib, f, ok := g.Function("ping")
	if !ok || lib.Name != "test" || f.Name != "ping" {
		t.Fatalf("Function(ping) = %v %+v %v", lib, f, ok)
	}
	if res, err := lib.Call(ctx, &fakeHost{}, "ping", Call{}); err != nil || string(res.Reply) != "+PONG\r\n" {
		t.Errorf("ping after replace = %q %v", res.Reply, err)
	}
	if _, err := g.Load(ctx, payload("bad", fixture(t, "path_open")), false, Limits{}); !errors.Is(err, ErrForbiddenImport) {
		t.Errorf("Load(path_open) = %v", err)
	}
	if n := len(g.List("te*")); n != 1 {
		t.Errorf("List(te*) = %d libraries", n)
	}
	if n := len(g.List("x*")); n != 0 {
		t.Errorf("List(x*) = %d libraries", n)
	}
	if err := g.Delete(ctx, "nope"); !errors.Is(err, ErrNoSuchLibrary) {
		t.Errorf("Delete(nope) = %v", err)
	}
	if err := g.Delete(ctx, "test"); err != nil {
		t.Errorf("Delete = %v", err)
	}
	if _, _, ok := g.Function("ping"); ok {
		t.Error("ping still registered after Delete")
	}
	if _, err := g.Load(ctx, payload("other", code), false, Limits{}); err != nil {
		t.Errorf("Load after Delete = %v", err)
	}
	g.Flush(ctx)
	if len(g.List("")) != 0 {
		t.Error("libraries left after Flush")
	}
}

func TestConcurrentCalls(t *testing.T) {
	lib := loadTest(t, newRuntime(t, Config{}))
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				res, err := lib.Call(context.Background(), &fakeHost{}, "counter", Call{})
				if err != nil || string(res.Reply) != ":1\r\n" {
					t.Errorf("counter = %q %v", res.Reply, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}
