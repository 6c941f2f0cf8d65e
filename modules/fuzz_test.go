package modules

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds mutated modules to the loader: it must refuse or accept
// them without panicking, and an accepted module's functions must run to a
// reply or an error within a small fuel budget.
func FuzzLoad(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.wasm")
	for _, p := range files {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	r, err := NewRuntime(context.Background(), Config{Limits: Limits{Fuel: 100_000, InitFuel: 100_000}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = r.Close(context.Background()) })
	f.Fuzz(func(t *testing.T, code []byte) {
		lib, err := r.Load(context.Background(), "fuzz", code, Limits{})
		if err != nil {
			if strings.Contains(err.Error(), "decoder failure") {
				t.Fatalf("decoder panicked: %v", err)
			}
			return
		}
		defer lib.Close(context.Background())
		for _, fn := range lib.Functions {
			_, _ = lib.Call(context.Background(), &fakeHost{}, fn.Name, Call{Keys: [][]byte{[]byte("k")}})
		}
	})
}
