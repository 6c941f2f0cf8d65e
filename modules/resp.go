package modules

import (
	"bytes"
	"errors"
	"strconv"
)

// errBadRESP is returned by respValue for malformed input.
var errBadRESP = errors.New("malformed RESP value")

// maxRESPDepth bounds aggregate nesting in a guest reply.
const maxRESPDepth = 64

// respValue checks that b[off:] starts with one well-formed RESP2 or RESP3
// value and returns the offset just past it. Guests hand replies to the
// server as RESP, so a malformed one is refused at the boundary.
func respValue(b []byte, off, depth int) (int, error) {
	if depth > maxRESPDepth || off >= len(b) {
		return 0, errBadRESP
	}
	line := func(from int) (string, int, error) {
		i := bytes.Index(b[from:], []byte("\r\n"))
		if i < 0 {
			return "", 0, errBadRESP
		}
		return string(b[from : from+i]), from + i + 2, nil
	}
	typ := b[off]
	text, next, err := line(off + 1)
	if err != nil {
		return 0, err
	}
	switch typ {
	case '+', '-', ',', '(', '#', '_':
		if bytes.ContainsAny([]byte(text), "\r\n") {
			return 0, errBadRESP
		}
		return next, nil
	case ':':
		if _, ok := parseInt(text); !ok {
			return 0, errBadRESP
		}
		return next, nil
	case '$', '!', '=':
		n, ok := parseInt(text)
		if !ok || n < -1 || (n == -1 && typ != '$') {
			return 0, errBadRESP
		}
		if n == -1 {
			return next, nil
		}
		if n > int64(len(b)-next)-2 || string(b[next+int(n):next+int(n)+2]) != "\r\n" {
			return 0, errBadRESP
		}
		return next + int(n) + 2, nil
	case '*', '~', '>', '%', '|':
		n, ok := parseInt(text)
		if !ok || n < -1 || (n == -1 && typ != '*') || n > int64(len(b)) {
			return 0, errBadRESP
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		for i := int64(0); i < n; i++ {
			if next, err = respValue(b, next, depth+1); err != nil {
				return 0, err
			}
		}
		if typ == '|' { // attributes precede the value they describe
			return respValue(b, next, depth+1)
		}
		return next, nil
	}
	return 0, errBadRESP
}

// parseInt parses a decimal int64 (RESP integers and lengths), refusing a
// plus sign, leading spaces and overflow.
func parseInt(s string) (int64, bool) {
	if s == "" || s[0] == '+' {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}
