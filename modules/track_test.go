package modules

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// TestWriteTrackerResets writes guest memory in every way track.wat can
// (each store width, memarg offsets, SIMD stores, memory.fill, copy and
// init, host writes, more pages than the tracker holds), at random
// addresses biased to page boundaries and the memory's end, and checks
// after every call that the reset instance's memory and globals equal a
// fresh instance's. Both memories: copy-on-write and plain.
func TestWriteTrackerResets(t *testing.T) {
	for _, cow := range []bool{true, false} {
		name := "copy"
		if cow {
			name = "cow"
		}
		t.Run(name, func(t *testing.T) {
			forceReset(t, cow)
			r := newRuntime(t, Config{})
			lib, err := r.LoadPayload(context.Background(), payload("track", fixture(t, "track")))
			if err != nil {
				t.Fatal(err)
			}
			if !lib.tracked {
				t.Fatal("track.wasm (4 pages) is not tracked")
			}
			ctx := context.Background()
			fresh, err := lib.instantiate(ctx)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := fresh.mem.Read(0, fresh.mem.Size())
			want = bytes.Clone(want)
			size := uint32(len(want))
			rng := rand.New(rand.NewPCG(1, 2))
			addr := func() uint32 {
				switch rng.IntN(4) {
				case 0: // near a 4 KiB boundary
					return uint32(rng.IntN(int(size/4096)))*4096 + uint32(rng.IntN(32)) - 16
				case 1: // near the end
					return size - uint32(rng.IntN(48))
				default:
					return uint32(rng.IntN(int(size)))
				}
			}
			traps, overflows := 0, 0
			for i := range 3000 {
				kind := uint32(rng.IntN(17))
				a, v, n := addr(), rng.Uint32()|0x01010101, uint32(rng.IntN(3*4096))
				if kind == 16 {
					n = uint32(rng.IntN(14))
				}
				arg := binary.LittleEndian.AppendUint32(nil, a)
				arg = binary.LittleEndian.AppendUint32(arg, v)
				arg = binary.LittleEndian.AppendUint32(arg, kind)
				arg = binary.LittleEndian.AppendUint32(arg, n)
				if _, err := lib.Call(ctx, &fakeHost{}, "w", Call{Args: [][]byte{arg}, Seed: uint64(i)}); err != nil {
					traps++
					continue
				}
				in, err := lib.acquire(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if in.trackOverflowed {
					overflows++
				}
				got, _ := in.mem.Read(0, in.mem.Size())
				if !bytes.Equal(got, want) {
					for j := range got {
						if got[j] != want[j] {
							t.Fatalf("call %d (kind %d, address %d, value %#x, length %d): byte %d not reset (%#x, want %#x)", i, kind, a, v, n, j, got[j], want[j])
						}
					}
				}
				if n := in.trackN.Get(); n != 0 {
					t.Fatalf("call %d: tracker count %d after the reset", i, n)
				}
				lib.release(in)
				lib.mu.Lock()
				in.dirty = false // reset already: skip the next acquire's
				lib.mu.Unlock()
			}
			if traps == 0 || overflows == 0 {
				t.Fatalf("%d traps, %d overflows: the cases did not cover both", traps, overflows)
			}
			t.Logf("3000 calls: %d trapped (out of bounds), %d overflowed the tracker", traps, overflows)
		})
	}
}
