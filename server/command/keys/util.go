package keys

import (
	"bytes"

	"github.com/cairndb/cairn/server/command"
)

// cstr returns b as C code sees it: up to the first NUL byte. Redis
// compares option names with strcasecmp, so "NX\x00junk" is NX.
func cstr(b []byte) []byte {
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return b[:i]
	}
	return b
}

// isOpt tells whether the argument is the option lower (lower case), as
// Redis's strcasecmp sees it.
func isOpt(arg []byte, lower string) bool { return command.EqualFold(cstr(arg), lower) }
