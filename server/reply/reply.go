// Package reply holds the protocol-neutral reply values that command
// handlers return. Handlers never write to a socket: write handlers run
// inside Raft apply on every replica, where there is no connection. Only the
// resp package turns a Value into RESP2 or RESP3 bytes.
package reply

import (
	"strconv"
)

// Kind tells which RESP type a Value maps to.
type Kind uint8

// The kinds of reply. Map, Set, Double, Bool and BigNumber are RESP3 types
// that the resp package downgrades for RESP2 clients exactly as Redis does.
const (
	KindNil       Kind = iota // null bulk string ($-1 / _)
	KindNilArray              // null array (*-1 / _)
	KindStatus                // simple string (+OK)
	KindError                 // error (-ERR ...)
	KindInt                   // integer (:1)
	KindBulk                  // bulk string ($3 foo)
	KindArray                 // array (*n)
	KindMap                   // RESP3 map (%n); flat array in RESP2
	KindSet                   // RESP3 set (~n); array in RESP2
	KindDouble                // RESP3 double (,1.5); bulk string in RESP2
	KindBool                  // RESP3 boolean (#t); integer 1/0 in RESP2
	KindVerbatim              // RESP3 verbatim string (=); bulk in RESP2
	KindBigNumber             // RESP3 big number ((); bulk in RESP2
	// KindPairs holds pairs flat in Elems (a1 b1 a2 b2 ...). RESP3
	// clients get an array of two-element arrays, RESP2 clients one flat
	// array, as Redis replies HRANDFIELD WITHVALUES or ZRANGE WITHSCORES.
	KindPairs
	// KindPairArray holds two-element arrays in Elems. RESP2 clients get
	// the array as is, RESP3 clients a map of each pair (XREAD's reply).
	KindPairArray
	// KindByProto holds two replies in Elems: what RESP2 clients get and
	// what RESP3 clients get, for replies whose shapes differ beyond the
	// usual downgrade (FT.SEARCH).
	KindByProto
)

// Value is one reply. Str holds the text of status, error, bulk, double,
// verbatim and big-number replies; Int holds integers and booleans; Elems
// holds array, set and map elements (maps as key, value, key, value...).
type Value struct {
	Kind  Kind
	Int   int64
	Str   []byte
	Elems []Value
}

var (
	// OK is the +OK status reply.
	OK = Value{Kind: KindStatus, Str: []byte("OK")}
	// Nil is the null bulk string.
	Nil = Value{Kind: KindNil}
	// NilArray is the null array.
	NilArray = Value{Kind: KindNilArray}
	// Queued is the +QUEUED status reply.
	Queued = Value{Kind: KindStatus, Str: []byte("QUEUED")}
	// EmptyArray is an array with no elements.
	EmptyArray = Value{Kind: KindArray, Elems: []Value{}}
)

// ByProto returns a reply that is resp2 for RESP2 clients and resp3 for
// RESP3 clients.
func ByProto(resp2, resp3 Value) Value {
	return Value{Kind: KindByProto, Elems: []Value{resp2, resp3}}
}

// Status returns a simple-string reply.
func Status(s string) Value { return Value{Kind: KindStatus, Str: []byte(s)} }

// Error returns an error reply. msg must carry its prefix ("ERR ...",
// "WRONGTYPE ...").
func Error(msg string) Value { return Value{Kind: KindError, Str: []byte(msg)} }

// Int returns an integer reply.
func Int(n int64) Value { return Value{Kind: KindInt, Int: n} }

// Bool returns a RESP3 boolean (integer 1/0 for RESP2).
func Bool(b bool) Value {
	if b {
		return Value{Kind: KindBool, Int: 1}
	}
	return Value{Kind: KindBool}
}

// Bulk returns a bulk-string reply holding b. b is not copied.
func Bulk(b []byte) Value { return Value{Kind: KindBulk, Str: b} }

// BulkString returns a bulk-string reply holding s.
func BulkString(s string) Value { return Value{Kind: KindBulk, Str: []byte(s)} }

// BulkInt returns a bulk-string reply holding the decimal form of n.
func BulkInt(n int64) Value { return Value{Kind: KindBulk, Str: strconv.AppendInt(nil, n, 10)} }

// Double returns a RESP3 double; s is its textual form as Redis prints it.
func Double(s string) Value { return Value{Kind: KindDouble, Str: []byte(s)} }

// Array returns an array reply.
func Array(elems ...Value) Value {
	if elems == nil {
		elems = []Value{}
	}
	return Value{Kind: KindArray, Elems: elems}
}

// Map returns a RESP3 map; kv alternates keys and values.
func Map(kv ...Value) Value {
	if kv == nil {
		kv = []Value{}
	}
	return Value{Kind: KindMap, Elems: kv}
}

// Set returns a RESP3 set reply.
func Set(elems ...Value) Value {
	if elems == nil {
		elems = []Value{}
	}
	return Value{Kind: KindSet, Elems: elems}
}

// Pairs returns a KindPairs reply; kv alternates first and second
// elements.
func Pairs(kv ...Value) Value {
	if kv == nil {
		kv = []Value{}
	}
	return Value{Kind: KindPairs, Elems: kv}
}

// BulkStrings returns an array of bulk strings.
func BulkStrings(ss ...string) Value {
	elems := make([]Value, len(ss))
	for i, s := range ss {
		elems[i] = BulkString(s)
	}
	return Array(elems...)
}

// IsError tells whether v is an error reply.
func (v Value) IsError() bool { return v.Kind == KindError }

// String returns a debugging form of v.
func (v Value) String() string {
	switch v.Kind {
	case KindNil, KindNilArray:
		return "(nil)"
	case KindStatus, KindBulk, KindDouble, KindVerbatim, KindBigNumber:
		return string(v.Str)
	case KindError:
		return "(error) " + string(v.Str)
	case KindInt:
		return strconv.FormatInt(v.Int, 10)
	case KindBool:
		if v.Int != 0 {
			return "(true)"
		}
		return "(false)"
	}
	s := "["
	for i, e := range v.Elems {
		if i > 0 {
			s += " "
		}
		s += e.String()
	}
	return s + "]"
}

// RESP2 returns v as a RESP2 client sees it: maps and sets become arrays,
// doubles, verbatim strings and big numbers become bulk strings, booleans
// become integers, as Redis downgrades them.
func (v Value) RESP2() Value {
	switch v.Kind {
	case KindByProto:
		if len(v.Elems) == 2 {
			return v.Elems[0].RESP2()
		}
	case KindMap, KindSet, KindArray, KindPairs, KindPairArray:
		elems := make([]Value, len(v.Elems))
		for i, e := range v.Elems {
			elems[i] = e.RESP2()
		}
		return Value{Kind: KindArray, Elems: elems}
	case KindDouble, KindVerbatim, KindBigNumber:
		return Value{Kind: KindBulk, Str: v.Str}
	case KindBool:
		return Value{Kind: KindInt, Int: v.Int}
	}
	return v
}

// Equal tells whether a and b are the same reply.
func Equal(a, b Value) bool {
	if a.Kind != b.Kind || a.Int != b.Int || string(a.Str) != string(b.Str) || len(a.Elems) != len(b.Elems) {
		return false
	}
	for i := range a.Elems {
		if !Equal(a.Elems[i], b.Elems[i]) {
			return false
		}
	}
	return true
}
