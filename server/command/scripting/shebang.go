package scripting

import (
	"bytes"
	"strings"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/command"
)

// script is a script's source split as Redis 7 reads it: an optional
// "#!lua [flags=f1,f2...]" first line declaring the script's flags, and
// the body the interpreter compiles.
type script struct {
	// flags are the declared flags (meaningful when !compat).
	flags modules.Flags
	// compat is true for a script without a shebang line: Redis's
	// backwards-compatible mode (writes allowed, flags not checked).
	compat bool
	// body is the source the interpreter compiles: the source with the
	// shebang line blanked (its newline kept, so line numbers in errors
	// stay the user's).
	body []byte
}

// parseScript reads the shebang of src, with Redis 7.0's errors.
func parseScript(src []byte) (script, error) {
	if !bytes.HasPrefix(src, []byte("#!")) {
		return script{compat: true, body: src}, nil
	}
	nl := bytes.IndexByte(src, '\n')
	if nl < 0 {
		return script{}, command.Msg("ERR Invalid script shebang")
	}
	parts := strings.Fields(string(src[:nl]))
	if len(parts) == 0 || parts[0] != "#!lua" {
		engine := "#!"
		if len(parts) > 0 {
			engine = parts[0]
		}
		return script{}, command.Msg("ERR Unexpected engine in script shebang: " + engine)
	}
	var flags modules.Flags
	for _, p := range parts[1:] {
		if !strings.HasPrefix(p, "flags=") {
			return script{}, command.Msg("ERR Unknown lua shebang option: " + p)
		}
		if p[6:] == "" {
			continue
		}
		for _, name := range strings.Split(p[6:], ",") {
			f, ok := modules.ParseFlag(name)
			if !ok {
				return script{}, command.Msg("ERR Unexpected flag in script shebang: " + name)
			}
			flags |= f
		}
	}
	return script{flags: flags, body: src[nl:]}, nil
}
