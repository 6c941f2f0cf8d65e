// Package cairn is the Go guest SDK for Cairn modules: build a module with
//
//	GOOS=wasip1 GOARCH=wasm go build -buildmode=c-shared -o lib.wasm .
//
// and register each function by exporting it under the name
// "fcall:<name>[:<flag>,...]" (see modules/ABI.md):
//
//	//go:wasmexport fcall:hello:no-writes
//	func hello() { cairn.ReplyBulk([]byte("world")) }
//
// Use only packages that need no filesystem or network (strconv, strings,
// bytes, ...; not fmt or os): a module importing more WASI functions than
// the deterministic subset is refused at load.
package cairn

import (
	"encoding/binary"
	"errors"
	"strconv"
)

// Error is a command error returned by Call: the Redis error line without
// the leading '-'.
type Error string

// Error returns the error line.
func (e Error) Error() string { return string(e) }

// encodeCommand encodes a command for call/pcall: a little-endian u32
// count, then a u32 length and the bytes of each argument.
func encodeCommand(args [][]byte) []byte {
	n := 4
	for _, a := range args {
		n += 4 + len(a)
	}
	b := make([]byte, 0, n)
	b = binary.LittleEndian.AppendUint32(b, uint32(len(args)))
	for _, a := range args {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(a)))
		b = append(b, a...)
	}
	return b
}

// decodeInput splits the call input into keys and arguments.
func decodeInput(b []byte) (keys, args [][]byte) {
	if len(b) < 8 {
		return nil, nil
	}
	numkeys := int(binary.LittleEndian.Uint32(b))
	count := int(binary.LittleEndian.Uint32(b[4:]))
	all := make([][]byte, 0, count)
	off := 8
	for i := 0; i < count && off+4 <= len(b); i++ {
		l := int(binary.LittleEndian.Uint32(b[off:]))
		off += 4
		all = append(all, b[off:off+l])
		off += l
	}
	if numkeys > len(all) {
		numkeys = len(all)
	}
	return all[:numkeys], all[numkeys:]
}

// ErrMalformed is returned by the RESP helpers for a reply they cannot
// parse.
var ErrMalformed = errors.New("cairn: malformed reply")

// ParseArray parses a RESP array of bulk strings, nulls and integers
// (integers are returned as their decimal text); a null element is nil.
func ParseArray(r []byte) ([][]byte, error) {
	if len(r) == 0 || r[0] != '*' {
		return nil, ErrMalformed
	}
	n, off, err := respLine(r, 1)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, 0, max(n, 0))
	for i := 0; i < n; i++ {
		if off >= len(r) {
			return nil, ErrMalformed
		}
		switch r[off] {
		case '$':
			l, next, err := respLine(r, off+1)
			if err != nil {
				return nil, err
			}
			if l < 0 {
				out = append(out, nil)
				off = next
				continue
			}
			if next+l+2 > len(r) {
				return nil, ErrMalformed
			}
			out = append(out, r[next:next+l])
			off = next + l + 2
		case '_':
			out = append(out, nil)
			off += 3
		case ':':
			v, next, err := respLine(r, off+1)
			if err != nil {
				return nil, err
			}
			out = append(out, []byte(strconv.Itoa(v)))
			off = next
		default:
			return nil, ErrMalformed
		}
	}
	return out, nil
}

// respLine parses the integer line starting at off and returns it and the
// offset after its CRLF.
func respLine(r []byte, off int) (int, int, error) {
	for i := off; i+1 < len(r); i++ {
		if r[i] == '\r' && r[i+1] == '\n' {
			v, err := strconv.Atoi(string(r[off:i]))
			if err != nil {
				return 0, 0, ErrMalformed
			}
			return v, i + 2, nil
		}
	}
	return 0, 0, ErrMalformed
}

// Int encodes a RESP integer.
func Int(n int64) []byte { return []byte(":" + strconv.FormatInt(n, 10) + "\r\n") }

// Bulk encodes a RESP bulk string.
func Bulk(b []byte) []byte {
	out := []byte("$" + strconv.Itoa(len(b)) + "\r\n")
	out = append(out, b...)
	return append(out, '\r', '\n')
}

// ErrorReply encodes a RESP error line; msg should start with an error
// code such as "ERR".
func ErrorReply(msg string) []byte { return []byte("-" + msg + "\r\n") }
