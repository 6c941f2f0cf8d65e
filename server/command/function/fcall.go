package function

import (
	"context"
	"errors"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
	"github.com/cairndb/cairn/server/slot"
)

// Errors of FCALL and of the commands a function runs, as Redis 7.0 words
// them (Redis appends a Lua location to the in-script ones; a Wasm
// function has none).
var (
	errNoFunction     = command.Msg("ERR Function not found")
	errBadNumkeys     = command.Msg("ERR Bad number of keys provided")
	errNumkeysTooMany = command.Msg("ERR Number of keys can't be greater than number of args")
	errNumkeysNeg     = command.Msg("ERR Number of keys can't be negative")
	errNoCluster      = command.Msg("ERR Can not run script on cluster, 'no-cluster' flag is set.")
	errWriteRO        = command.Msg("ERR Can not execute a script with write flag using *_ro command.")
	errOOM            = command.Msg("OOM command not allowed when used memory > 'maxmemory'.")

	errUnknownCmd  = errors.New("ERR Unknown Redis command called from script")
	errNotAllowed  = errors.New("ERR This Redis command is not allowed from script")
	errWriteFromRO = errors.New("ERR Write commands are not allowed from read-only scripts.")
	errCrossSlot   = errors.New("ERR Script attempted to access keys that do not hash to the same slot")
	errUndeclared  = errors.New("ERR Function attempted to access a key that was not declared (pass every key it uses among FCALL's keys)")
	errGuestReply  = command.Msg("ERR Function returned an invalid reply")
)

// FCall is FCALL function numkeys [key ...] [arg ...]: run a function at
// apply time on every replica, with the entry's time and seed. A failure
// after writes (fuel, trap, a failed call) is an error reply and the
// writes stay applied, as in Redis.
func FCall(c *command.Ctx, args [][]byte) (reply.Value, error) { return run(c, args, false) }

// FCallRO is FCALL_RO function numkeys [key ...] [arg ...]: run a
// no-writes function on the read path.
func FCallRO(c *command.Ctx, args [][]byte) (reply.Value, error) { return run(c, args, true) }

func run(c *command.Ctx, args [][]byte, ro bool) (reply.Value, error) {
	if c.Funcs == nil {
		return reply.Value{}, errNoFunctions
	}
	lib, fn, ok := c.Funcs.Function(string(args[1]))
	if !ok {
		return reply.Value{}, errNoFunction
	}
	numkeys, err := strconv.ParseInt(string(args[2]), 10, 64)
	if err != nil {
		return reply.Value{}, errBadNumkeys
	}
	if numkeys > int64(len(args)-3) {
		return reply.Value{}, errNumkeysTooMany
	}
	if numkeys < 0 {
		return reply.Value{}, errNumkeysNeg
	}
	if fn.Flags&modules.NoCluster != 0 && c.Cluster {
		return reply.Value{}, errNoCluster
	}
	writes := fn.Flags&modules.NoWrites == 0
	if writes && !ro && fn.Flags&modules.AllowOOM == 0 && c.Memory != nil && c.Memory.OutOfMemory() {
		return reply.Value{}, errOOM
	}
	if writes && ro {
		return reply.Value{}, errWriteRO
	}
	keys := args[3 : 3+numkeys]
	h := &host{c: c, keys: keys, readOnly: !writes || ro, crossSlot: fn.Flags&modules.AllowCrossSlotKeys != 0, slot: -1, undeclared: errUndeclared}
	noBlock, inFn := c.NoBlock, c.InFunction
	c.NoBlock, c.InFunction = true, true
	res, err := lib.Call(context.Background(), h, fn.Name, modules.Call{
		Keys: keys, Args: args[3+numkeys:], Time: c.Now * 1_000_000, Seed: c.Seed,
	})
	c.NoBlock, c.InFunction = noBlock, inFn
	c.Funcs.CountCall(ro, res.FuelUsed)
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	v, rest, ok := parseRESP(res.Reply, 0)
	if !ok || len(rest) != 0 {
		return reply.Value{}, errGuestReply
	}
	return v, nil
}

// host runs the commands of one function call against the shard, with the
// call's rules: only declared keys, no writes from read-only calls, one
// slot per call in cluster mode unless allow-cross-slot-keys.
type host struct {
	c         *command.Ctx
	keys      [][]byte
	readOnly  bool
	crossSlot bool
	slot      int
	// undeclared is the error for a key outside keys; nil allows such
	// keys (EVAL outside cluster mode, as Redis).
	undeclared error
	// resp2 encodes replies as RESP2 (Lua scripts see RESP2 replies, as
	// in Redis, until redis.setresp(3); Wasm functions get RESP3).
	resp2 bool
	// lua marks the host of a Lua script: it also serves the
	// interpreter's protocol switch (setrespCmd).
	lua bool
	// buf holds the last reply (modules.Host: read before the next Call),
	// in small while it fits.
	buf   []byte
	small [64]byte
}

// setrespCmd is the pseudo-command by which the Lua interpreter tells its
// host the protocol of the replies a script's redis.call gets from now on
// (redis.setresp): "\x00setresp" "2"|"3". The interpreter never sends a
// script's own command starting with a NUL byte, so no script can forge
// it; other hosts treat it as an unknown command.
const setrespCmd = "\x00setresp"

// NewHost returns the host of a Lua script call (package scripting): the
// rules of FCALL's host, with readOnly for EVAL_RO/EVALSHA_RO, replies in
// RESP2 (what a Redis script sees), and keys
// outside the declared ones allowed outside cluster mode (as Redis
// allows them) and refused in cluster mode.
//
// flags are the script's shebang flags: no-writes refuses writes,
// allow-cross-slot-keys lets a cluster-mode script touch several slots.
func NewHost(c *command.Ctx, keys [][]byte, readOnly bool, flags modules.Flags) modules.Host {
	h := &host{c: c, keys: keys, readOnly: readOnly || flags&modules.NoWrites != 0, slot: -1, resp2: true,
		crossSlot: flags&modules.AllowCrossSlotKeys != 0, lua: true}
	if c.Cluster {
		h.undeclared = errors.New("ERR Script attempted to access a non local key in a cluster node")
	}
	return h
}

// ParseReply decodes one RESP value a guest returned into a reply.Value;
// false when b is not exactly one well-formed value.
func ParseReply(b []byte) (reply.Value, bool) {
	v, rest, ok := parseRESP(b, 0)
	return v, ok && len(rest) == 0
}

// Call implements modules.Host.
func (h *host) Call(args [][]byte) ([]byte, error) {
	if len(args) == 0 {
		return nil, errUnknownCmd
	}
	if h.lua && len(args) == 2 && string(args[0]) == setrespCmd {
		h.resp2 = string(args[1]) != "3"
		return []byte("+OK\r\n"), nil
	}
	t := h.c.Table
	if t == nil {
		return nil, errUnknownCmd
	}
	spec, err := t.Resolve(args)
	if err != nil {
		if t.Lookup(args[0]) == nil {
			return nil, errUnknownCmd
		}
		msg := string(command.ErrorReply(err).Str)
		if h.resp2 && strings.HasPrefix(msg, "ERR wrong number of arguments") {
			msg = "ERR Wrong number of args calling Redis command from script" // Redis's wording for scripts
		}
		return nil, errors.New(msg)
	}
	if spec.Run == nil || spec.Flags&(command.NoScript|command.Conn|command.PubSub) != 0 {
		return nil, errNotAllowed
	}
	if spec.IsWrite() && h.readOnly {
		return nil, errWriteFromRO
	}
	var keys []int
	if spec.KeysFunc != nil {
		keys = spec.KeysFunc(args)
	} else {
		var buf [8]int
		keys = spec.AppendKeys(buf[:0], args)
	}
	for _, i := range keys {
		if h.undeclared != nil && !h.declared(args[i]) {
			return nil, h.undeclared
		}
		if h.c.Cluster && !h.crossSlot {
			s := int(slot.Of(args[i]))
			if h.slot >= 0 && h.slot != s {
				return nil, errCrossSlot
			}
			h.slot = s
		}
	}
	if spec.IsWrite() {
		h.c.DB.SetClock(h.c.Now)
	}
	v := command.Exec(spec, h.c, args)
	if v.Kind == reply.KindError {
		return nil, errors.New(string(v.Str))
	}
	if command.IsBlocked(v) { // NoBlock is set; never expected
		return nil, errNotAllowed
	}
	proto := 3
	if h.resp2 {
		proto = 2
	}
	if h.buf == nil {
		h.buf = h.small[:0]
	}
	h.buf = resp.AppendValue(h.buf[:0], v, proto)
	return h.buf, nil
}

func (h *host) declared(k []byte) bool {
	for _, d := range h.keys {
		if string(d) == string(k) {
			return true
		}
	}
	return false
}

// parseRESP decodes one RESP2/RESP3 value (the guest's reply, already
// checked well-formed by the runtime) into a reply.Value.
func parseRESP(b []byte, depth int) (reply.Value, []byte, bool) {
	if len(b) == 0 || depth > 64 {
		return reply.Value{}, nil, false
	}
	i := indexCRLF(b)
	if i < 0 {
		return reply.Value{}, nil, false
	}
	typ, text, rest := b[0], b[1:i], b[i+2:]
	num := func() (int64, bool) {
		n, err := strconv.ParseInt(string(text), 10, 64)
		return n, err == nil
	}
	switch typ {
	case '+':
		return reply.Value{Kind: reply.KindStatus, Str: append([]byte(nil), text...)}, rest, true
	case '-':
		return reply.Value{Kind: reply.KindError, Str: append([]byte(nil), text...)}, rest, true
	case ',':
		return reply.Double(string(text)), rest, true
	case '(':
		return reply.Value{Kind: reply.KindBigNumber, Str: append([]byte(nil), text...)}, rest, true
	case '#':
		return reply.Bool(string(text) == "t"), rest, true
	case '_':
		return reply.Nil, rest, true
	case ':':
		n, ok := num()
		return reply.Int(n), rest, ok
	case '$', '!', '=':
		n, ok := num()
		if !ok {
			return reply.Value{}, nil, false
		}
		if n < 0 {
			return reply.Nil, rest, true
		}
		if n > int64(len(rest))-2 {
			return reply.Value{}, nil, false
		}
		s := append([]byte(nil), rest[:n]...)
		rest = rest[n+2:]
		switch typ {
		case '!':
			return reply.Value{Kind: reply.KindError, Str: s}, rest, true
		case '=':
			if len(s) >= 4 {
				s = s[4:] // the writer puts the "txt:" format back
			}
			return reply.Value{Kind: reply.KindVerbatim, Str: s}, rest, true
		}
		return reply.Bulk(s), rest, true
	case '*', '~', '>', '%', '|':
		n, ok := num()
		if !ok {
			return reply.Value{}, nil, false
		}
		if n < 0 {
			return reply.NilArray, rest, true
		}
		if n > int64(len(rest)) {
			return reply.Value{}, nil, false
		}
		if typ == '%' || typ == '|' {
			n *= 2
		}
		if n > int64(len(rest)) {
			return reply.Value{}, nil, false
		}
		elems := make([]reply.Value, 0, n)
		for range n {
			var e reply.Value
			if e, rest, ok = parseRESP(rest, depth+1); !ok {
				return reply.Value{}, nil, false
			}
			elems = append(elems, e)
		}
		switch typ {
		case '|': // attributes describe the value that follows; dropped
			return parseRESP(rest, depth+1)
		case '%':
			return reply.Value{Kind: reply.KindMap, Elems: elems}, rest, true
		case '~':
			return reply.Value{Kind: reply.KindSet, Elems: elems}, rest, true
		}
		return reply.Value{Kind: reply.KindArray, Elems: elems}, rest, true
	}
	return reply.Value{}, nil, false
}

func indexCRLF(b []byte) int {
	for i := 0; i+1 < len(b); i++ {
		if b[i] == '\r' && b[i+1] == '\n' {
			return i
		}
	}
	return -1
}
