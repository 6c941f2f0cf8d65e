package bits

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
)

// Errors of the bitmap commands, in Redis's words.
const (
	errBitOffset = command.Msg("ERR bit offset is not an integer or out of range")
	errBitValue  = command.Msg("ERR bit is not an integer or out of range")
	errBitArg    = command.Msg("ERR The bit argument must be 1 or 0.")
	errBitopNot  = command.Msg("ERR BITOP NOT must be called with a single source key.")
	errBfType    = command.Msg("ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.")
	errOverflow  = command.Msg("ERR Invalid OVERFLOW type specified")
	errBfRO      = command.Msg("ERR BITFIELD_RO only supports the GET subcommand")
)

// parseBitOffset is Redis's getBitOffsetFromArgument: a non-negative bit
// offset whose byte lies below proto-max-bulk-len. With hash set and bits
// positive, "#N" means N*bits (multiplied with wrap-around, as C does).
func parseBitOffset(c *command.Ctx, arg []byte, hash bool, bits int) (uint64, error) {
	usehash := hash && bits > 0 && len(arg) > 0 && arg[0] == '#'
	if usehash {
		arg = arg[1:]
	}
	n, err := command.ParseInt(arg)
	if err != nil {
		return 0, errBitOffset
	}
	if usehash {
		n *= int64(bits)
	}
	if n < 0 || n>>3 >= strs.MaxBulkLen(c) {
		return 0, errBitOffset
	}
	return uint64(n), nil
}

// is compares an option with a lower-case keyword the way Redis's
// strcasecmp does: only up to the first NUL byte of the argument.
func is(arg []byte, lower string) bool { return command.EqualFold(strs.Cstr(arg), lower) }

// bitAt returns bit off of s (0 beyond its end), MSB first as Redis.
func bitAt(s []byte, off uint64) int {
	i := off >> 3
	if i >= uint64(len(s)) {
		return 0
	}
	return int(s[i]>>(7-off&7)) & 1
}
