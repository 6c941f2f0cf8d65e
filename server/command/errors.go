package command

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Sentinel errors shared by the command families.
var (
	// ErrSyntax is returned for a malformed option list.
	ErrSyntax = errors.New("syntax error")
	// ErrNotInt is returned when an argument or value is not an integer
	// or is out of range.
	ErrNotInt = errors.New("not an integer")
	// ErrNotFloat is returned when an argument or value is not a float.
	ErrNotFloat = errors.New("not a float")
	// ErrOverflow is returned when INCR-like arithmetic would overflow.
	ErrOverflow = errors.New("overflow")
	// ErrNaN is returned when float arithmetic yields NaN or Infinity.
	ErrNaN = errors.New("nan or infinity")
	// ErrOffsetRange is returned for bad SETRANGE/SETBIT offsets.
	ErrOffsetRange = errors.New("offset out of range")
	// ErrTooLarge is returned when a string would exceed proto-max-bulk-len.
	ErrTooLarge = errors.New("string exceeds maximum allowed size")
)

// Msg is an error whose text is sent to the client verbatim (it carries its
// own prefix, e.g. "ERR invalid expire time in 'set' command").
type Msg string

func (m Msg) Error() string { return string(m) }

// Errorf returns a Msg built with fmt.Sprintf.
func Errorf(format string, args ...any) error { return Msg(fmt.Sprintf(format, args...)) }

// messages is the one table from sentinel errors to Redis error text.
var messages = map[error]string{
	ErrSyntax:             "ERR syntax error",
	ErrNotInt:             "ERR value is not an integer or out of range",
	ErrNotFloat:           "ERR value is not a valid float",
	ErrOverflow:           "ERR increment or decrement would overflow",
	ErrNaN:                "ERR increment would produce NaN or Infinity",
	ErrOffsetRange:        "ERR offset is out of range",
	ErrTooLarge:           "ERR string exceeds maximum allowed size (proto-max-bulk-len)",
	keyspace.ErrWrongType: "WRONGTYPE Operation against a key holding the wrong kind of value",
	keyspace.ErrNoSuchKey: "ERR no such key",
}

// ErrorReply turns an error into the Redis error reply.
func ErrorReply(err error) reply.Value {
	var m Msg
	if errors.As(err, &m) {
		return reply.Error(string(m))
	}
	for e, text := range messages {
		if errors.Is(err, e) {
			return reply.Error(text)
		}
	}
	return reply.Error("ERR " + err.Error())
}

// ArityError is Redis's wrong-number-of-arguments error for name.
func ArityError(name string) error {
	return Msg("ERR wrong number of arguments for '" + strings.ToLower(name) + "' command")
}

// UnknownCommand is Redis's error for a command it does not know.
func UnknownCommand(args [][]byte) error {
	var b strings.Builder
	b.WriteString("ERR unknown command '")
	b.WriteString(sanitize(args[0], 128))
	b.WriteString("', with args beginning with: ")
	for _, a := range args[1:] {
		if b.Len() >= 128 {
			break
		}
		b.WriteString("'")
		b.WriteString(sanitize(a, 128-b.Len()))
		b.WriteString("' ")
	}
	return Msg(b.String())
}

// UnknownSubcommand is Redis's error for an unknown subcommand of cmd.
func UnknownSubcommand(cmd, sub []byte) error {
	return Msg("ERR unknown subcommand '" + sanitize(sub, 128) + "'. Try " + strings.ToUpper(string(cmd)) + " HELP.")
}

// sanitize mirrors Redis: error text may not contain newlines, and long
// arguments are cut.
func sanitize(b []byte, n int) string {
	if n < 0 {
		n = 0
	}
	if len(b) > n {
		b = b[:n]
	}
	s := []byte(string(b))
	for i, c := range s {
		if c == '\r' || c == '\n' {
			s[i] = ' '
		}
	}
	return string(s)
}

// ParseInt parses a Redis integer argument (no spaces, no '+', fits int64).
func ParseInt(b []byte) (int64, error) {
	if len(b) == 0 || len(b) > 20 || b[0] == '+' || (len(b) > 1 && b[0] == '0') || (len(b) > 1 && b[0] == '-' && b[1] == '0') {
		return 0, ErrNotInt
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil {
		return 0, ErrNotInt
	}
	return n, nil
}

// ParseFloat parses a Redis float argument ("inf", "-inf" allowed; NaN and
// spaces are not).
func ParseFloat(b []byte) (float64, error) {
	if len(b) == 0 || b[0] == ' ' || b[len(b)-1] == ' ' || len(b) > 5000 {
		return 0, ErrNotFloat
	}
	s := string(b)
	switch strings.ToLower(s) {
	case "inf", "+inf", "infinity", "+infinity":
		return posInf, nil
	case "-inf", "-infinity":
		return negInf, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != f || strings.ContainsAny(s, "xXpP_") || strings.EqualFold(s, "nan") {
		if ne, ok := err.(*strconv.NumError); ok && ne.Err == strconv.ErrRange && !strings.ContainsAny(s, "xXpP_") {
			return f, nil
		}
		return 0, ErrNotFloat
	}
	return f, nil
}

var (
	posInf = float64FromBits(0x7FF0000000000000)
	negInf = float64FromBits(0xFFF0000000000000)
)

// FormatFloat prints f as Redis does for INCRBYFLOAT and bulk float replies
// (%.17Lg without trailing zeros, "inf"/"-inf").
func FormatFloat(f float64) string {
	switch {
	case f == posInf:
		return "inf"
	case f == negInf:
		return "-inf"
	}
	return strconv.FormatFloat(f, 'f', -1, 64)
}

// EqualFold compares an argument with a lower-case ASCII keyword.
func EqualFold(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
