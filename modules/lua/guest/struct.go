//go:build wasip1

package main

// struct: Redis's bundled lua-struct (Roberto Ierusalimschy's library):
// struct.pack(fmt, ...), struct.unpack(fmt, s [, pos]), struct.size(fmt),
// with the x86-64 sizes Redis is built with (short 2, int 4, long and
// size_t 8, native little endian, maximal alignment 8) and its error texts.

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

const (
	structMaxIntSize = 32
	structMaxAlign   = 8
)

type structHeader struct {
	big   bool
	align int
}

func openStruct(L *lua.LState) {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{"pack": structPack, "unpack": structUnpack, "size": structSize})
	L.SetGlobal("struct", t)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// structNum reads an optional decimal count at fmt[*i].
func structNum(L *lua.LState, fmt string, i *int, def int) int {
	if *i >= len(fmt) || !isDigit(fmt[*i]) {
		return def
	}
	a := 0
	for *i < len(fmt) && isDigit(fmt[*i]) {
		d := int(fmt[*i] - '0')
		if a > math.MaxInt32/10 || a*10 > math.MaxInt32-d {
			L.RaiseError("integral size overflow")
		}
		a = a*10 + d
		*i++
	}
	return a
}

func structOptSize(L *lua.LState, opt byte, fmt string, i *int) int {
	switch opt {
	case 'B', 'b':
		return 1
	case 'H', 'h':
		return 2
	case 'L', 'l', 'T', 'd':
		return 8
	case 'f':
		return 4
	case 'x':
		return 1
	case 'c':
		return structNum(L, fmt, i, 1)
	case 'i', 'I':
		sz := structNum(L, fmt, i, 4)
		if sz > structMaxIntSize {
			L.RaiseError("integral size %d is larger than limit of %d", sz, structMaxIntSize)
		}
		return sz
	}
	return 0
}

func structToAlign(length int, h *structHeader, opt byte, size int) int {
	if size == 0 || opt == 'c' {
		return 0
	}
	if size > h.align {
		size = h.align
	}
	return (size - (length & (size - 1))) & (size - 1)
}

func structControl(L *lua.LState, opt byte, fmt string, i *int, h *structHeader, fname string) {
	switch opt {
	case ' ':
	case '>':
		h.big = true
	case '<':
		h.big = false
	case '!':
		a := structNum(L, fmt, i, structMaxAlign)
		if a&(a-1) != 0 {
			L.RaiseError("alignment %d is not a power of 2", a)
		}
		h.align = a
	default:
		argError(L, 1, fname, "invalid format option '"+string(opt)+"'")
	}
}

func structIsInt(opt byte) bool {
	switch opt {
	case 'b', 'B', 'h', 'H', 'l', 'L', 'T', 'i', 'I':
		return true
	}
	return false
}

func structPack(L *lua.LState) int {
	fmt := checkString(L, 1, "pack")
	// Redis's pack pushes a nil after its arguments: a missing first
	// value is "got nil".
	L.Push(lua.LNil)
	h := structHeader{align: 1}
	arg := 2
	var b []byte
	for i := 0; i < len(fmt); {
		opt := fmt[i]
		i++
		size := structOptSize(L, opt, fmt, &i)
		for pad := structToAlign(len(b), &h, opt, size); pad > 0; pad-- {
			b = append(b, 0)
		}
		switch {
		case structIsInt(opt):
			n := checkNumber(L, arg, "pack")
			arg++
			var v uint64 // out of range (UB in C): 0 rather than a trap
			switch {
			case n < 0 && n >= -9223372036854775808:
				v = uint64(int64(n))
			case n >= 0 && n < 18446744073709551616:
				v = uint64(n)
			}
			buf := make([]byte, size)
			for k := 0; k < size; k++ {
				idx := k
				if h.big {
					idx = size - 1 - k
				}
				buf[idx] = byte(v)
				v >>= 8
			}
			b = append(b, buf...)
		case opt == 'x':
			b = append(b, 0)
		case opt == 'f':
			f := math.Float32bits(float32(checkNumber(L, arg, "pack")))
			arg++
			if h.big {
				b = binary.BigEndian.AppendUint32(b, f)
			} else {
				b = binary.LittleEndian.AppendUint32(b, f)
			}
		case opt == 'd':
			d := math.Float64bits(checkNumber(L, arg, "pack"))
			arg++
			if h.big {
				b = binary.BigEndian.AppendUint64(b, d)
			} else {
				b = binary.LittleEndian.AppendUint64(b, d)
			}
		case opt == 'c' || opt == 's':
			s := checkString(L, arg, "pack")
			arg++
			if size == 0 {
				size = len(s)
			}
			if len(s) < size {
				argError(L, arg, "pack", "string too short")
			}
			b = append(b, s[:size]...)
			if opt == 's' {
				b = append(b, 0)
			}
		default:
			structControl(L, opt, fmt, &i, &h, "pack")
		}
	}
	L.Push(lua.LString(b))
	return 1
}

func structUnpack(L *lua.LState) int {
	fmt := checkString(L, 1, "unpack")
	data := checkString(L, 2, "unpack")
	pos := optInt(L, 3, "unpack", 1) - 1
	if pos < 0 {
		argError(L, 3, "unpack", "offset must be 1 or greater")
	}
	h := structHeader{align: 1}
	var out []lua.LValue
	for i := 0; i < len(fmt); {
		opt := fmt[i]
		i++
		size := structOptSize(L, opt, fmt, &i)
		pos += structToAlign(pos, &h, opt, size)
		if size > len(data) || pos > len(data)-size {
			argError(L, 2, "unpack", "data string too short")
		}
		switch {
		case structIsInt(opt):
			var l uint64
			for k := 0; k < size; k++ {
				idx := size - 1 - k
				if h.big {
					idx = k
				}
				l = l<<8 | uint64(data[pos+idx])
			}
			if opt >= 'a' && opt <= 'z' { // signed
				if size < 8 {
					if mask := ^uint64(0) << (size*8 - 1); l&mask != 0 {
						l |= mask
					}
				}
				out = append(out, lua.LNumber(float64(int64(l))))
			} else {
				out = append(out, lua.LNumber(float64(l)))
			}
		case opt == 'x':
		case opt == 'f':
			var u uint32
			if h.big {
				u = binary.BigEndian.Uint32([]byte(data[pos : pos+4]))
			} else {
				u = binary.LittleEndian.Uint32([]byte(data[pos : pos+4]))
			}
			out = append(out, lua.LNumber(math.Float32frombits(u)))
		case opt == 'd':
			var u uint64
			if h.big {
				u = binary.BigEndian.Uint64([]byte(data[pos : pos+8]))
			} else {
				u = binary.LittleEndian.Uint64([]byte(data[pos : pos+8]))
			}
			out = append(out, lua.LNumber(math.Float64frombits(u)))
		case opt == 'c':
			if size == 0 {
				if len(out) == 0 {
					L.RaiseError("format 'c0' needs a previous size")
				}
				n, ok := out[len(out)-1].(lua.LNumber)
				if !ok {
					L.RaiseError("format 'c0' needs a previous size")
				}
				size = int(n)
				out = out[:len(out)-1]
				if size < 0 || size > len(data) || pos > len(data)-size {
					argError(L, 2, "unpack", "data string too short")
				}
			}
			out = append(out, lua.LString(data[pos:pos+size]))
		case opt == 's':
			e := -1
			for k := pos; k < len(data); k++ {
				if data[k] == 0 {
					e = k
					break
				}
			}
			if e < 0 {
				L.RaiseError("unfinished string in data")
			}
			size = e - pos + 1
			out = append(out, lua.LString(data[pos:e]))
		default:
			structControl(L, opt, fmt, &i, &h, "unpack")
		}
		pos += size
	}
	for _, v := range out {
		L.Push(v)
	}
	L.Push(lua.LNumber(pos + 1))
	return len(out) + 1
}

func structSize(L *lua.LState) int {
	fmt := checkString(L, 1, "size")
	h := structHeader{align: 1}
	pos := 0
	for i := 0; i < len(fmt); {
		opt := fmt[i]
		i++
		size := structOptSize(L, opt, fmt, &i)
		pos += structToAlign(pos, &h, opt, size)
		if opt == 's' {
			argError(L, 1, "size", "option 's' has no fixed size")
		} else if opt == 'c' && size == 0 {
			argError(L, 1, "size", "option 'c0' has no fixed size")
		}
		if !isAlnum(opt) {
			structControl(L, opt, fmt, &i, &h, "size")
		}
		pos += size
	}
	L.Push(lua.LNumber(pos))
	return 1
}
