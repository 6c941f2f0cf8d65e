package hll

import (
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of the HyperLogLog commands, in Redis's words.
const (
	errNotHLL      = command.Msg("WRONGTYPE Key is not a valid HyperLogLog string value.")
	errInvalid     = command.Msg("INVALIDOBJ Corrupted HLL object detected")
	errNoKey       = command.Msg("ERR The specified key does not exist")
	errNotSparse   = command.Msg("ERR HLL encoding is not sparse")
	errSelfTestFmt = "TESTFAILED %s"
)

// pfaddCmd is PFADD key [element ...]: 1 if the HLL was created or a
// register changed, else 0.
func pfaddCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	key := args[1]
	it, err := strs.LookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	var h buf
	updated := 0
	if it == nil {
		h = buf{b: newHLL(), private: true}
		updated++
	} else {
		if !valid(it.Str) {
			return reply.Value{}, errNotHLL
		}
		h = buf{b: it.Str}
	}
	for _, ele := range args[2:] {
		switch h.add(ele) {
		case 1:
			updated++
		case -1:
			// Redis keeps the registers set before the corruption was
			// found; Cairn's failed commands change nothing.
			return reply.Value{}, errInvalid
		}
	}
	switch {
	case it == nil:
		invalidate(h.b)
		strs.StoreOwned(c, key, h.b, 0, true)
		c.Dirty += int64(updated) - 1
	case updated > 0:
		invalidate(h.b) // h.b is a private copy: something changed
		it = c.DB.Mutable(it)
		it.Str, it.Raw = h.b, true
		c.Dirty += int64(updated)
	default:
		markRaw(c, it)
		return reply.Int(0), nil
	}
	c.Notify(command.ClassString, "pfadd", key)
	return reply.Int(1), nil
}

// markRaw records Redis's dbUnshareStringValue: the value's encoding
// becomes "raw" even when nothing else changes.
func markRaw(c *command.Ctx, it *keyspace.Item) {
	if !it.Raw {
		it = c.DB.Mutable(it)
		it.Raw = true
	}
}

// pfcountCmd is PFCOUNT key [key ...]: the estimated cardinality of the
// union of the HLLs. A single key's cached cardinality is used when valid
// but, unlike Redis, never stored (see the package comment).
func pfcountCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 2 {
		var max [hllRegisters]uint8
		for _, k := range args[1:] {
			it, err := strs.LookupRead(c, k)
			if err != nil {
				return reply.Value{}, err
			}
			if it == nil {
				continue
			}
			if !valid(it.Str) {
				return reply.Value{}, errNotHLL
			}
			if mergeInto(&max, it.Str) != nil {
				return reply.Value{}, errInvalid
			}
		}
		return reply.Int(countRegisters(&max)), nil
	}
	it, err := strs.LookupRead(c, args[1])
	if err != nil || it == nil {
		return reply.Int(0), err
	}
	if !valid(it.Str) {
		return reply.Value{}, errNotHLL
	}
	if card, ok := cached(it.Str); ok {
		return reply.Int(int64(card)), nil
	}
	card, ok := count(it.Str)
	if !ok {
		return reply.Value{}, errInvalid
	}
	return reply.Int(card), nil
}

// pfmergeCmd is PFMERGE destkey [sourcekey ...]: destkey (itself a source)
// becomes the union; it is created if missing, and is dense if any source
// is.
func pfmergeCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	var max [hllRegisters]uint8
	dense := false
	for _, k := range args[1:] {
		it, err := strs.LookupReadForWrite(c, k)
		if err != nil {
			return reply.Value{}, err
		}
		if it == nil {
			continue
		}
		if !valid(it.Str) {
			return reply.Value{}, errNotHLL
		}
		if it.Str[4] == encDense {
			dense = true
		}
		if mergeInto(&max, it.Str) != nil {
			return reply.Value{}, errInvalid
		}
	}
	key := args[1]
	it, err := strs.LookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	h := buf{b: newHLL(), private: true}
	if it != nil {
		h = buf{b: it.Str}
		h.own()
	}
	if dense && h.toDense() != nil {
		return reply.Value{}, errInvalid
	}
	for j, v := range max {
		if v == 0 {
			continue
		}
		switch h.b[4] {
		case encDense:
			h.denseSet(j, int(v))
		case encSparse:
			h.sparseSet(j, int(v))
		}
	}
	invalidate(h.b)
	if it == nil {
		strs.StoreOwned(c, key, h.b, 0, true)
	} else {
		it = c.DB.Mutable(it)
		it.Str, it.Raw = h.b, true
		c.Dirty++
	}
	c.Notify(command.ClassString, "pfadd", key)
	return reply.Status("OK"), nil
}

// pfdebugCmd is PFDEBUG GETREG|DECODE|ENCODING|TODENSE key.
func pfdebugCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	key := args[2]
	it, err := strs.LookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	if it == nil {
		return reply.Value{}, errNoKey
	}
	if !valid(it.Str) {
		return reply.Value{}, errNotHLL
	}
	v, err := pfdebug(c, it, args[1])
	if err == nil {
		// Redis unshares the value first, which makes it "raw" (even when
		// the subcommand then fails; Cairn's failed commands change nothing).
		markRaw(c, c.DB.Peek(key))
	}
	return v, err
}

func pfdebug(c *command.Ctx, it *keyspace.Item, sub []byte) (reply.Value, error) {
	toDense := func() (bool, error) {
		if it.Str[4] != encSparse {
			return false, nil
		}
		h := buf{b: it.Str}
		if h.toDense() != nil {
			return false, errInvalid
		}
		it = c.DB.Mutable(it)
		it.Str = h.b
		c.Dirty++
		return true, nil
	}
	switch name := strs.Cstr(sub); {
	case command.EqualFold(name, "getreg"):
		if _, err := toDense(); err != nil {
			return reply.Value{}, err
		}
		regs := it.Str[hdrSize:]
		out := make([]reply.Value, hllRegisters)
		for i := range out {
			out[i] = reply.Int(int64(denseGet(regs, i)))
		}
		return reply.Array(out...), nil
	case command.EqualFold(name, "decode"):
		if it.Str[4] != encSparse {
			return reply.Value{}, errNotSparse
		}
		return reply.Bulk(decode(it.Str)), nil
	case command.EqualFold(name, "encoding"):
		if it.Str[4] == encDense {
			return reply.Status("dense"), nil
		}
		return reply.Status("sparse"), nil
	case command.EqualFold(name, "todense"):
		conv, err := toDense()
		if err != nil {
			return reply.Value{}, err
		}
		if conv {
			return reply.Int(1), nil
		}
		return reply.Int(0), nil
	default:
		return reply.Value{}, command.Msg("ERR Unknown PFDEBUG subcommand '" +
			strings.NewReplacer("\r", " ", "\n", " ").Replace(string(name)) + "'")
	}
}
