package modules

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
)

// Errors of FUNCTION LOAD's payload header, worded as Redis words them so
// the server can reply with err.Error() unchanged.
var (
	// ErrMissingMetadata is returned when the payload does not start with "#!".
	ErrMissingMetadata = errors.New("ERR Missing library metadata")
	// ErrInvalidMetadata is returned when the shebang line has no newline or
	// no engine.
	ErrInvalidMetadata = errors.New("ERR Invalid library metadata")
	// ErrNameNotGiven is returned when the shebang has no name= argument.
	ErrNameNotGiven = errors.New("ERR Library name was not given")
	// ErrNameTwice is returned when name= is given more than once.
	ErrNameTwice = errors.New("ERR Invalid metadata value, name argument was given multiple times")
	// ErrBadLibraryName is returned for a library name that is empty or has
	// characters other than letters, digits and underscores.
	ErrBadLibraryName = errors.New("ERR Library names can only contain letters, numbers, or underscores(_) and must be at least one character long")
	// ErrBadFunctionName is the same rule for function names.
	ErrBadFunctionName = errors.New("ERR Function names can only contain letters, numbers, or underscores(_) and must be at least one character long")
	// ErrUnknownEngine is returned when the shebang names an engine other
	// than wasm; the message names the engine.
	ErrUnknownEngine = errors.New("ERR Engine not found")
)

// Engine is the engine name a payload's shebang must carry.
const Engine = "wasm"

// ParsePayload splits a FUNCTION LOAD payload "#!wasm name=<library>\n<module
// bytes>" into the library name and the module bytes, with Redis's error
// messages and checks in Redis's order: metadata present, shebang line
// terminated, arguments known, name given once, name valid, engine known.
func ParsePayload(payload []byte) (name string, module []byte, err error) {
	if !bytes.HasPrefix(payload, []byte("#!")) {
		return "", nil, ErrMissingMetadata
	}
	nl := bytes.IndexByte(payload, '\n')
	if nl < 0 {
		return "", nil, ErrInvalidMetadata
	}
	parts := strings.Fields(string(payload[:nl]))
	if len(parts) == 0 {
		return "", nil, ErrInvalidMetadata
	}
	engine := parts[0][2:]
	gotName := false
	for _, p := range parts[1:] {
		if len(p) >= 5 && strings.EqualFold(p[:5], "name=") {
			if gotName {
				return "", nil, ErrNameTwice
			}
			name, gotName = p[5:], true
			continue
		}
		return "", nil, fmt.Errorf("ERR Invalid metadata value given: %s", p)
	}
	if !gotName {
		return "", nil, ErrNameNotGiven
	}
	if !ValidName(name) {
		return "", nil, ErrBadLibraryName
	}
	if !strings.EqualFold(engine, Engine) {
		return "", nil, &engineError{engine}
	}
	return name, payload[nl+1:], nil
}

// engineError is ErrUnknownEngine with the engine's name in the message.
type engineError struct{ engine string }

// Error renders Redis's message.
func (e *engineError) Error() string { return fmt.Sprintf("ERR Engine '%s' not found", e.engine) }

// Is makes errors.Is(err, ErrUnknownEngine) hold.
func (e *engineError) Is(target error) bool { return target == ErrUnknownEngine }

// ValidName reports whether s is a valid library or function name: at
// least one character, only ASCII letters, digits and underscores.
func ValidName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}
