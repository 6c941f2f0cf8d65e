//go:build wasip1

package main

// bit: Redis's bundled LuaBitOp (1.0.2): 32-bit operations on numbers,
// results as signed 32-bit numbers.

import (
	"math"
	"math/bits"

	lua "github.com/yuin/gopher-lua"
)

func openBit(L *lua.LState) {
	t := L.NewTable()
	ret := func(L *lua.LState, b uint32) int {
		L.Push(lua.LNumber(int32(b)))
		return 1
	}
	fold := func(name string, op func(a, b uint32) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			for i := 2; i <= L.GetTop(); i++ {
				b = op(b, bitArg(L, i, name))
			}
			return ret(L, b)
		}
	}
	shift := func(name string, op func(b uint32, n uint) uint32) lua.LGFunction {
		return func(L *lua.LState) int {
			b := bitArg(L, 1, name)
			n := uint(bitArg(L, 2, name) & 31)
			return ret(L, op(b, n))
		}
	}
	L.SetFuncs(t, map[string]lua.LGFunction{
		"tobit":   func(L *lua.LState) int { return ret(L, bitArg(L, 1, "tobit")) },
		"bnot":    func(L *lua.LState) int { return ret(L, ^bitArg(L, 1, "bnot")) },
		"band":    fold("band", func(a, b uint32) uint32 { return a & b }),
		"bor":     fold("bor", func(a, b uint32) uint32 { return a | b }),
		"bxor":    fold("bxor", func(a, b uint32) uint32 { return a ^ b }),
		"lshift":  shift("lshift", func(b uint32, n uint) uint32 { return b << n }),
		"rshift":  shift("rshift", func(b uint32, n uint) uint32 { return b >> n }),
		"arshift": shift("arshift", func(b uint32, n uint) uint32 { return uint32(int32(b) >> n) }),
		"rol":     shift("rol", func(b uint32, n uint) uint32 { return bits.RotateLeft32(b, int(n)) }),
		"ror":     shift("ror", func(b uint32, n uint) uint32 { return bits.RotateLeft32(b, -int(n)) }),
		"bswap":   func(L *lua.LState) int { return ret(L, bits.ReverseBytes32(bitArg(L, 1, "bswap"))) },
		"tohex": func(L *lua.LState) int {
			b := bitArg(L, 1, "tohex")
			n := int32(8)
			if L.Get(2) != lua.LNil {
				n = int32(bitArg(L, 2, "tohex"))
			}
			digits := "0123456789abcdef"
			if n < 0 {
				n = -n
				digits = "0123456789ABCDEF"
			}
			if n > 8 {
				n = 8
			}
			buf := make([]byte, n)
			for i := int(n) - 1; i >= 0; i-- {
				buf[i] = digits[b&15]
				b >>= 4
			}
			L.Push(lua.LString(buf))
			return 1
		},
	})
	L.SetGlobal("bit", t)
}

// bitArg is LuaBitOp's conversion of argument i: the number plus 2^52+2^51,
// whose low 32 mantissa bits are the integer (rounded to nearest, even on
// ties) modulo 2^32.
func bitArg(L *lua.LState, i int, fname string) uint32 {
	f := checkNumber(L, i, fname) + 6755399441055744.0
	return uint32(math.Float64bits(f))
}
