package modules

import (
	"bytes"
	"context"
	"encoding/binary"
	"math/rand/v2"
	"strings"
	"testing"
)

// trackCase loads track.wasm (with the given reset way and engine) and
// returns a function that makes one call writing in the given way and
// checks the reset instance against a fresh one. It reports whether the
// call trapped and whether the write overflowed the tracker.
func trackCase(t testing.TB, cow, interp bool) func(t testing.TB, kind, a, v, n uint32) (trapped, overflowed bool) {
	forceReset(t, cow)
	r := newRuntime(t, Config{Interpreter: interp})
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
	seed := uint64(0)
	return func(t testing.TB, kind, a, v, n uint32) (bool, bool) {
		arg := binary.LittleEndian.AppendUint32(nil, a)
		arg = binary.LittleEndian.AppendUint32(arg, v)
		arg = binary.LittleEndian.AppendUint32(arg, kind)
		arg = binary.LittleEndian.AppendUint32(arg, n)
		seed++
		if _, err := lib.Call(ctx, &fakeHost{}, "w", Call{Args: [][]byte{arg}, Seed: seed}); err != nil {
			return true, false
		}
		in, err := lib.acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		overflowed := in.trackOverflowed
		got, _ := in.mem.Read(0, in.mem.Size())
		if !bytes.Equal(got, want) {
			for j := range got {
				if got[j] != want[j] {
					t.Fatalf("kind %d, address %d, value %#x, length %d: byte %d not reset (%#x, want %#x)", kind, a, v, n, j, got[j], want[j])
				}
			}
		}
		if c := in.trackN.Get(); c != 0 {
			t.Fatalf("kind %d: tracker count %d after the reset", kind, c)
		}
		lib.release(in)
		lib.mu.Lock()
		in.dirty = false // reset already: skip the next acquire's
		lib.mu.Unlock()
		return false, overflowed
	}
}

// TestWriteTrackerResets writes guest memory in every way track.wat can
// (each store width, memarg offsets, SIMD stores, memory.fill, copy and
// init, host writes, more pages than the tracker holds), at random
// addresses biased to page boundaries and the memory's end, and checks
// after every call that the reset instance's memory and globals equal a
// fresh instance's. Both memories (copy-on-write and plain), both engines.
func TestWriteTrackerResets(t *testing.T) {
	for _, mode := range []struct {
		name        string
		cow, interp bool
	}{{"cow", true, false}, {"copy", false, false}, {"copy-interpreter", false, true}} {
		t.Run(mode.name, func(t *testing.T) {
			call := trackCase(t, mode.cow, mode.interp)
			const size = 4 << 16
			rng := rand.New(rand.NewPCG(1, 2))
			addr := func() uint32 {
				switch rng.IntN(4) {
				case 0: // near a 4 KiB boundary
					return uint32(rng.IntN(size/4096))*4096 + uint32(rng.IntN(32)) - 16
				case 1: // near the end
					return size - uint32(rng.IntN(48))
				default:
					return uint32(rng.IntN(size))
				}
			}
			traps, overflows := 0, 0
			for range 3000 {
				kind := uint32(rng.IntN(17))
				n := uint32(rng.IntN(3 * 4096))
				if kind == 16 {
					n = uint32(rng.IntN(14))
				}
				trapped, overflowed := call(t, kind, addr(), rng.Uint32()|0x01010101, n)
				if trapped {
					traps++
				}
				if overflowed {
					overflows++
				}
			}
			if traps == 0 || overflows == 0 {
				t.Fatalf("%d traps, %d overflows: the cases did not cover both", traps, overflows)
			}
			t.Logf("3000 calls: %d trapped (out of bounds), %d overflowed the tracker", traps, overflows)
		})
	}
}

// FuzzWriteTracker: any write track.wat can make, at any address and
// length, leaves nothing behind after the reset.
func FuzzWriteTracker(f *testing.F) {
	f.Add(uint32(1), uint32(4093), uint32(7), uint32(0))
	f.Add(uint32(11), uint32(8000), uint32(1), uint32(30000))
	f.Add(uint32(16), uint32(100), uint32(9), uint32(12))
	f.Add(uint32(15), uint32(65530), uint32(0), uint32(64))
	call := trackCase(f, true, false)
	f.Fuzz(func(t *testing.T, kind, a, v, n uint32) {
		call(t, kind%17, a, v, n)
	})
}

// TestInjectedGlobalsUnreachable: a module whose code names a global it
// does not define (here index 0 of none, which the rewritten module gives
// to the fuel counter, before the write tracker's) is refused at load, so
// no guest can refill its fuel or clear the tracker.
func TestInjectedGlobalsUnreachable(t *testing.T) {
	code := []byte("\x00asm\x01\x00\x00\x00" +
		"\x01\x04\x01\x60\x00\x00" + // type: () -> ()
		"\x03\x02\x01\x00" + // function 0 of type 0
		"\x05\x03\x01\x00\x01" + // memory: 1 page (tracked)
		"\x07\x0b\x01\x07fcall:x\x00\x00" + // export fcall:x
		"\x0a\x08\x01\x06\x00\x42\x00\x24\x00\x0b") // i64.const 0; global.set 0
	r := newRuntime(t, Config{})
	_, err := r.Load(context.Background(), "g", code, Limits{})
	if err == nil || !strings.Contains(err.Error(), "global index 0 out of range") {
		t.Fatalf("load = %v, want the global index refused", err)
	}
}
