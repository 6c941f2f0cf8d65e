// Package resp is the RESP2/RESP3 codec: Reader parses requests
// (multibulk and inline) with Redis's limits and protocol errors,
// AppendValue encodes reply values for either protocol version, and Call
// and its variants are the small outbound client nodes use to talk to
// each other. It knows nothing of connections' state or of storage.
package resp

import (
	"bytes"
	"io"
	"strconv"
)

// DefaultMaxBulkLen is Redis's default proto-max-bulk-len (512 MB), the
// largest bulk argument a Reader accepts unless told otherwise.
const DefaultMaxBulkLen = 512 << 20

// Limits from Redis's networking.c.
const (
	inlineMax     = 64 * 1024 // PROTO_INLINE_MAX_SIZE
	unauthMaxArgs = 10        // multibulk count allowed before AUTH
	unauthMaxBulk = 16384     // bulk length allowed before AUTH
	maxMultibulk  = 1<<31 - 1 // INT_MAX
	readChunk     = 16 * 1024
)

// ProtocolError is a malformed request. Its text is what Redis replies
// (after "ERR ") before it closes the connection.
type ProtocolError string

func (e ProtocolError) Error() string { return "Protocol error: " + string(e) }

// Reader parses RESP requests (multibulk and inline) exactly as Redis does,
// including its limits and error texts. Arguments returned by ReadCommand
// alias the reader's buffer and are valid until the next call.
type Reader struct {
	rd         io.Reader
	buf        []byte
	start, end int
	// MaxBulkLen is proto-max-bulk-len.
	MaxBulkLen int64
	// Unauthenticated applies Redis's stricter limits for clients that
	// still have to AUTH.
	Unauthenticated bool
	args            [][]byte
	// need is how many buffered bytes the next parse needs at least.
	need int
}

// NewReader returns a reader over rd.
func NewReader(rd io.Reader, maxBulk int64) *Reader {
	return &Reader{rd: rd, buf: make([]byte, readChunk), MaxBulkLen: maxBulk}
}

// SetSource replaces the input the reader reads from; buffered input is
// kept. A source's Read that returns no bytes and an error leaves the
// reader's state as it was, so ReadCommand can be called again later.
func (r *Reader) SetSource(rd io.Reader) { r.rd = rd }

// Buffered tells whether unparsed input is already in the buffer, i.e. the
// client pipelined more commands.
func (r *Reader) Buffered() bool { return r.end > r.start }

// BufSize returns the size of the input buffer (CLIENT LIST rbs).
func (r *Reader) BufSize() int { return len(r.buf) }

// BufferedBytes returns the number of unparsed bytes (CLIENT LIST qbuf).
func (r *Reader) BufferedBytes() int { return r.end - r.start }

// ReadCommand returns the next command's arguments, reading from the
// connection as needed. Empty commands (blank inline lines, "*0") are
// skipped as Redis does.
func (r *Reader) ReadCommand() ([][]byte, error) {
	for {
		if r.end-r.start >= r.need && r.end > r.start {
			args, n, err := r.parse(r.buf[r.start:r.end])
			if err != nil {
				return nil, err
			}
			if n > 0 {
				r.start += n
				r.need = 0
				if len(args) == 0 {
					continue
				}
				return args, nil
			}
		}
		if err := r.fill(); err != nil {
			return nil, err
		}
	}
}

// fill reads more input, compacting or growing the buffer as needed.
func (r *Reader) fill() error {
	if r.start == r.end {
		r.start, r.end = 0, 0
	}
	want := max(r.need, r.end-r.start+1)
	if r.start > 0 && (r.end == len(r.buf) || len(r.buf)-r.start < want) {
		n := copy(r.buf, r.buf[r.start:r.end])
		r.start, r.end = 0, n
	}
	if len(r.buf) < want {
		nb := make([]byte, max(want, 2*len(r.buf)))
		copy(nb, r.buf[r.start:r.end])
		r.end -= r.start
		r.start = 0
		r.buf = nb
	}
	if r.end == len(r.buf) {
		nb := make([]byte, 2*len(r.buf))
		copy(nb, r.buf[:r.end])
		r.buf = nb
	}
	n, err := r.rd.Read(r.buf[r.end:])
	r.end += n
	if n > 0 {
		return nil
	}
	if err == nil {
		err = io.ErrNoProgress
	}
	return err
}

// parse parses one command from b. It returns n == 0 when b holds only part
// of a command (r.need then says how much is needed, if known).
func (r *Reader) parse(b []byte) ([][]byte, int, error) {
	if b[0] != '*' {
		return r.parseInline(b)
	}
	// Multibulk count line.
	cr := bytes.IndexByte(b, '\r')
	if cr < 0 || cr+1 >= len(b) {
		if len(b) > inlineMax {
			return nil, 0, ProtocolError("too big mbulk count string")
		}
		return nil, 0, nil
	}
	count, ok := parseLL(b[1:cr])
	if !ok || count > maxMultibulk {
		return nil, 0, ProtocolError("invalid multibulk length")
	}
	if count > unauthMaxArgs && r.Unauthenticated {
		return nil, 0, ProtocolError("invalid multibulk length")
	}
	pos := cr + 2
	if count <= 0 {
		return nil, pos, nil
	}
	args := r.args[:0]
	for i := int64(0); i < count; i++ {
		if pos >= len(b) {
			r.args = args
			return nil, 0, nil
		}
		cr := bytes.IndexByte(b[pos:], '\r')
		if cr < 0 || pos+cr+1 >= len(b) {
			if len(b)-pos > inlineMax {
				return nil, 0, ProtocolError("too big bulk count string")
			}
			r.args = args
			return nil, 0, nil
		}
		if b[pos] != '$' {
			return nil, 0, ProtocolError("expected '$', got '" + string(b[pos:pos+1]) + "'")
		}
		n, ok := parseLL(b[pos+1 : pos+cr])
		if !ok || n < 0 || n > r.MaxBulkLen {
			return nil, 0, ProtocolError("invalid bulk length")
		}
		if n > unauthMaxBulk && r.Unauthenticated {
			return nil, 0, ProtocolError("invalid bulk length")
		}
		pos += cr + 2
		if int64(len(b)-pos) < n+2 {
			// Ask for the whole bulk at once so a large argument is
			// read into one buffer without re-parsing.
			r.need = pos + int(n) + 2
			r.args = args
			return nil, 0, nil
		}
		args = append(args, b[pos:pos+int(n):pos+int(n)])
		pos += int(n) + 2
	}
	r.args = args
	return args, pos, nil
}

func (r *Reader) parseInline(b []byte) ([][]byte, int, error) {
	nl := bytes.IndexByte(b, '\n')
	if nl < 0 {
		if len(b) > inlineMax {
			return nil, 0, ProtocolError("too big inline request")
		}
		return nil, 0, nil
	}
	line := b[:nl]
	if len(line) > 0 && line[len(line)-1] == '\r' {
		line = line[:len(line)-1]
	}
	args, ok := splitArgs(line)
	if !ok {
		return nil, 0, ProtocolError("unbalanced quotes in request")
	}
	return args, nl + 1, nil
}

// parseLL parses a signed decimal integer as Redis's string2ll does.
func parseLL(b []byte) (int64, bool) {
	if len(b) == 0 || len(b) > 20 {
		return 0, false
	}
	if len(b) > 1 && (b[0] == '0' || (b[0] == '-' && b[1] == '0')) {
		return 0, false
	}
	if b[0] == '+' {
		return 0, false
	}
	if len(b) <= 18 && b[0] != '-' {
		// Fast path for every length and count a request carries: at
		// most 18 digits cannot overflow.
		var n int64
		for _, c := range b {
			if c < '0' || c > '9' {
				return 0, false
			}
			n = n*10 + int64(c-'0')
		}
		return n, true
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	return n, err == nil
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'
}

func hexVal(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// splitArgs splits an inline request as Redis's sdssplitargs: whitespace
// separated, "double quotes" with \n \r \t \b \a \\ \" \xHH escapes,
// 'single quotes' with \' only; a closing quote must be followed by a space.
func splitArgs(line []byte) ([][]byte, bool) {
	var args [][]byte
	i := 0
	for {
		for i < len(line) && isSpace(line[i]) {
			i++
		}
		if i >= len(line) {
			return args, true
		}
		var cur []byte
		inDQ, inSQ := false, false
		for done := false; !done; {
			if inDQ {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+3 < len(line) && line[i+1] == 'x' {
					h, ok1 := hexVal(line[i+2])
					l, ok2 := hexVal(line[i+3])
					if ok1 && ok2 {
						cur = append(cur, h<<4|l)
						i += 4
						continue
					}
				}
				if c == '\\' && i+1 < len(line) {
					i++
					switch line[i] {
					case 'n':
						c = '\n'
					case 'r':
						c = '\r'
					case 't':
						c = '\t'
					case 'b':
						c = '\b'
					case 'a':
						c = '\a'
					default:
						c = line[i]
					}
					cur = append(cur, c)
				} else if c == '"' {
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else if inSQ {
				if i >= len(line) {
					return nil, false
				}
				c := line[i]
				if c == '\\' && i+1 < len(line) && line[i+1] == '\'' {
					i++
					cur = append(cur, '\'')
				} else if c == '\'' {
					if i+1 < len(line) && !isSpace(line[i+1]) {
						return nil, false
					}
					done = true
				} else {
					cur = append(cur, c)
				}
			} else {
				if i >= len(line) {
					break
				}
				switch c := line[i]; {
				case isSpace(c):
					done = true
				case c == '"':
					inDQ = true
				case c == '\'':
					inSQ = true
				default:
					cur = append(cur, c)
				}
			}
			if i < len(line) {
				i++
			}
		}
		if cur == nil {
			cur = []byte{}
		}
		args = append(args, cur)
	}
}
