//go:build wasip1

package main

// cmsgpack: Redis's bundled lua-cmsgpack as scripts see it: pack(...),
// unpack, unpack_one, unpack_limit, with its encodings (integral numbers
// as the smallest integer type, others as float 32 when exact, else
// float 64; strings as fixstr/str8/16/32; a table whose keys are exactly
// 1..n as an array, other tables as maps, nested deeper than 16 as nil)
// and error texts. Maps are written in the table's iteration order.

import (
	"encoding/binary"
	"math"

	lua "github.com/yuin/gopher-lua"
)

const msgpackMaxNesting = 16

// msgpackMaxDecodeDepth bounds the nesting unpack follows (Redis is bound
// by its Lua stack); deeper input is "Bad data format in input.".
const msgpackMaxDecodeDepth = 1000

func openCMsgpack(L *lua.LState) {
	t := L.NewTable()
	L.SetFuncs(t, map[string]lua.LGFunction{
		"pack":         msgpackPack,
		"unpack":       func(L *lua.LState) int { return msgpackUnpack(L, "unpack", 0, 0) },
		"unpack_one":   msgpackUnpackOne,
		"unpack_limit": msgpackUnpackLimit,
	})
	L.SetField(t, "_NAME", lua.LString("cmsgpack"))
	L.SetField(t, "_VERSION", lua.LString("lua-cmsgpack 0.4.0"))
	L.SetField(t, "_COPYRIGHT", lua.LString("Copyright (C) 2012, Salvatore Sanfilippo"))
	L.SetField(t, "_DESCRIPTION", lua.LString("MessagePack C implementation for Lua"))
	L.SetGlobal("cmsgpack", t)
}

func msgpackPack(L *lua.LState) int {
	n := L.GetTop()
	if n == 0 {
		argError(L, 0, "pack", "MessagePack pack needs input.")
	}
	var buf []byte
	for i := 1; i <= n; i++ {
		buf = msgpackAppend(buf, L.Get(i), 0)
	}
	L.Push(lua.LString(buf))
	return 1
}

func msgpackAppend(b []byte, v lua.LValue, level int) []byte {
	switch v := v.(type) {
	case lua.LBool:
		if v {
			return append(b, 0xc3)
		}
		return append(b, 0xc2)
	case lua.LNumber:
		f := float64(v)
		if f >= -9223372036854775808 && f < 9223372036854775808 && float64(int64(f)) == f {
			return msgpackInt(b, int64(f))
		}
		if float64(float32(f)) == f {
			b = append(b, 0xca)
			return binary.BigEndian.AppendUint32(b, math.Float32bits(float32(f)))
		}
		b = append(b, 0xcb)
		return binary.BigEndian.AppendUint64(b, math.Float64bits(f))
	case lua.LString:
		n := len(v)
		switch {
		case n < 32:
			b = append(b, 0xa0|byte(n))
		case n <= 0xff:
			b = append(b, 0xd9, byte(n))
		case n <= 0xffff:
			b = append(b, 0xda)
			b = binary.BigEndian.AppendUint16(b, uint16(n))
		default:
			b = append(b, 0xdb)
			b = binary.BigEndian.AppendUint32(b, uint32(n))
		}
		return append(b, v...)
	case *lua.LTable:
		if level == msgpackMaxNesting {
			return append(b, 0xc0)
		}
		if n, ok := msgpackArrayLen(v); ok {
			b = msgpackHeader(b, n, 0x90, 0xdc, 0xdd)
			for i := 1; i <= n; i++ {
				b = msgpackAppend(b, v.RawGetInt(i), level+1)
			}
			return b
		}
		n := 0
		for k, _ := v.Next(lua.LNil); k != lua.LNil; k, _ = v.Next(k) {
			n++
		}
		b = msgpackHeader(b, n, 0x80, 0xde, 0xdf)
		for k, e := v.Next(lua.LNil); k != lua.LNil; k, e = v.Next(k) {
			b = msgpackAppend(b, k, level+1)
			b = msgpackAppend(b, e, level+1)
		}
		return b
	}
	return append(b, 0xc0) // nil, functions, userdata
}

// msgpackArrayLen tells a table whose keys are exactly 1..n.
func msgpackArrayLen(t *lua.LTable) (int, bool) {
	maxKey, count := 0.0, 0.0
	for k, _ := t.Next(lua.LNil); k != lua.LNil; k, _ = t.Next(k) {
		n, ok := k.(lua.LNumber)
		if !ok || n <= 0 || float64(int32(n)) != float64(n) {
			return 0, false
		}
		maxKey = math.Max(maxKey, float64(n))
		count++
	}
	return int(maxKey), maxKey == count
}

func msgpackHeader(b []byte, n int, fix, c16, c32 byte) []byte {
	switch {
	case n <= 15:
		return append(b, fix|byte(n))
	case n <= 0xffff:
		return binary.BigEndian.AppendUint16(append(b, c16), uint16(n))
	}
	return binary.BigEndian.AppendUint32(append(b, c32), uint32(n))
}

func msgpackInt(b []byte, n int64) []byte {
	if n >= 0 {
		switch {
		case n <= 127:
			return append(b, byte(n))
		case n <= 0xff:
			return append(b, 0xcc, byte(n))
		case n <= 0xffff:
			return binary.BigEndian.AppendUint16(append(b, 0xcd), uint16(n))
		case n <= 0xffffffff:
			return binary.BigEndian.AppendUint32(append(b, 0xce), uint32(n))
		}
		return binary.BigEndian.AppendUint64(append(b, 0xcf), uint64(n))
	}
	switch {
	case n >= -32:
		return append(b, byte(n))
	case n >= -128:
		return append(b, 0xd0, byte(n))
	case n >= -32768:
		return binary.BigEndian.AppendUint16(append(b, 0xd1), uint16(n))
	case n >= -2147483648:
		return binary.BigEndian.AppendUint32(append(b, 0xd2), uint32(n))
	}
	return binary.BigEndian.AppendUint64(append(b, 0xd3), uint64(n))
}

func msgpackUnpackOne(L *lua.LState) int {
	offset := optInt(L, 2, "unpack_one", 0)
	checkString(L, 1, "unpack_one")
	L.SetTop(1)
	return msgpackUnpack(L, "unpack_one", 1, offset)
}

func msgpackUnpackLimit(L *lua.LState) int {
	limit := int(checkNumber(L, 2, "unpack_limit"))
	offset := optInt(L, 3, "unpack_limit", 0)
	checkString(L, 1, "unpack_limit")
	L.SetTop(1)
	return msgpackUnpack(L, "unpack_limit", limit, offset)
}

// Decode failures.
const (
	mpOK = iota
	mpEOF
	mpBadFmt
)

type mpCur struct {
	L   *lua.LState
	b   []byte
	err int
}

func msgpackUnpack(L *lua.LState, fname string, limit, offset int) int {
	s := checkString(L, 1, fname)
	all := limit == 0 && offset == 0
	if offset < 0 || limit < 0 {
		L.RaiseError("Invalid request to unpack with offset of %d and limit of %d.", offset, len(s))
	} else if offset > len(s) {
		L.RaiseError("Start offset %d greater than input length %d.", offset, len(s))
	}
	if all {
		limit = math.MaxInt32
	}
	c := &mpCur{L: L, b: []byte(s[offset:])}
	var out []lua.LValue
	for cnt := 0; len(c.b) > 0 && cnt < limit; cnt++ {
		v := c.decode(0)
		switch c.err {
		case mpEOF:
			L.RaiseError("Missing bytes in input.")
		case mpBadFmt:
			L.RaiseError("Bad data format in input.")
		}
		out = append(out, v)
	}
	if !all {
		next := len(s) - len(c.b)
		if len(c.b) == 0 {
			next = -1
		}
		L.Push(lua.LNumber(next))
	}
	for _, v := range out {
		L.Push(v)
	}
	if all {
		return len(out)
	}
	return len(out) + 1
}

// take consumes n bytes, or sets mpEOF.
func (c *mpCur) take(n int) []byte {
	if c.err != mpOK {
		return nil
	}
	if len(c.b) < n {
		c.err = mpEOF
		return nil
	}
	p := c.b[:n]
	c.b = c.b[n:]
	return p
}

func (c *mpCur) decode(depth int) lua.LValue {
	if depth > msgpackMaxDecodeDepth {
		c.err = mpBadFmt
		return lua.LNil
	}
	h := c.take(1)
	if h == nil {
		return lua.LNil
	}
	t := h[0]
	u := func(n int) uint64 {
		p := c.take(n)
		if p == nil {
			return 0
		}
		var v uint64
		for _, x := range p {
			v = v<<8 | uint64(x)
		}
		return v
	}
	str := func(n uint64) lua.LValue {
		if c.err != mpOK {
			return lua.LNil
		}
		if n > uint64(len(c.b)) {
			c.err = mpEOF
			return lua.LNil
		}
		return lua.LString(c.take(int(n)))
	}
	switch {
	case t <= 0x7f:
		return lua.LNumber(t)
	case t >= 0xe0:
		return lua.LNumber(int8(t))
	case t >= 0xa0 && t <= 0xbf:
		return str(uint64(t & 0x1f))
	case t >= 0x90 && t <= 0x9f:
		return c.array(uint64(t&0x0f), depth)
	case t >= 0x80 && t <= 0x8f:
		return c.mapping(uint64(t&0x0f), depth)
	}
	switch t {
	case 0xc0:
		return lua.LNil
	case 0xc2:
		return lua.LFalse
	case 0xc3:
		return lua.LTrue
	case 0xcc:
		return lua.LNumber(u(1))
	case 0xcd:
		return lua.LNumber(u(2))
	case 0xce:
		return lua.LNumber(u(4))
	case 0xcf:
		return lua.LNumber(float64(u(8)))
	case 0xd0:
		return lua.LNumber(int8(u(1)))
	case 0xd1:
		return lua.LNumber(int16(u(2)))
	case 0xd2:
		return lua.LNumber(int32(u(4)))
	case 0xd3:
		return lua.LNumber(float64(int64(u(8))))
	case 0xca:
		return lua.LNumber(math.Float32frombits(uint32(u(4))))
	case 0xcb:
		return lua.LNumber(math.Float64frombits(u(8)))
	case 0xd9:
		return str(u(1))
	case 0xda:
		return str(u(2))
	case 0xdb:
		return str(u(4))
	case 0xdc:
		return c.array(u(2), depth)
	case 0xdd:
		return c.array(u(4), depth)
	case 0xde:
		return c.mapping(u(2), depth)
	case 0xdf:
		return c.mapping(u(4), depth)
	}
	c.err = mpBadFmt
	return lua.LNil
}

func (c *mpCur) array(n uint64, depth int) lua.LValue {
	if c.err != mpOK {
		return lua.LNil
	}
	if n > uint64(len(c.b)) { // each element takes a byte at least
		c.err = mpEOF
		return lua.LNil
	}
	t := c.L.CreateTable(int(n), 0)
	for i := uint64(1); i <= n && c.err == mpOK; i++ {
		t.RawSetInt(int(i), c.decode(depth+1))
	}
	return t
}

func (c *mpCur) mapping(n uint64, depth int) lua.LValue {
	if c.err != mpOK {
		return lua.LNil
	}
	if n > uint64(len(c.b)) {
		c.err = mpEOF
		return lua.LNil
	}
	t := c.L.NewTable()
	for i := uint64(0); i < n && c.err == mpOK; i++ {
		k := c.decode(depth + 1)
		v := c.decode(depth + 1)
		if f, ok := k.(lua.LNumber); ok && math.IsNaN(float64(f)) {
			continue
		}
		if c.err == mpOK && k != lua.LNil {
			t.RawSet(k, v)
		}
	}
	return t
}
