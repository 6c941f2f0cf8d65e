//go:build wasip1

package main

// Argument checks worded as Lua 5.1's auxiliary library words them
// (gopher-lua's own checks drop the quotes around the function name and
// say "nil" for a missing argument).

import (
	"strings"

	lua "github.com/yuin/gopher-lua"
)

func argError(L *lua.LState, n int, fname, msg string) {
	L.RaiseError("bad argument #%d to '%s' (%s)", n, fname, msg)
}

func typeError(L *lua.LState, n int, fname, want string) {
	got := "no value"
	if n <= L.GetTop() {
		got = L.Get(n).Type().String()
	}
	argError(L, n, fname, want+" expected, got "+got)
}

// checkNumber is luaL_checknumber: a number, or a string that converts.
func checkNumber(L *lua.LState, n int, fname string) float64 {
	switch v := L.Get(n).(type) {
	case lua.LNumber:
		return float64(v)
	case lua.LString:
		s := strings.TrimSpace(string(v))
		if f, n := strtod(s); n > 0 && n == len(s) {
			return f
		}
	}
	typeError(L, n, fname, "number")
	return 0
}

// checkString is luaL_checklstring: a string, or a number as a string.
func checkString(L *lua.LState, n int, fname string) string {
	switch v := L.Get(n).(type) {
	case lua.LString:
		return string(v)
	case lua.LNumber:
		return v.String()
	}
	typeError(L, n, fname, "string")
	return ""
}

// optInt is luaL_optinteger.
func optInt(L *lua.LState, n int, fname string, def int) int {
	if L.Get(n) == lua.LNil {
		return def
	}
	return int(checkNumber(L, n, fname))
}
