package acl

import (
	"bytes"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/glob"
)

// Result is the outcome of a permission check. The denials are ordered
// as Redis's ACL_DENIED_* codes: when no selector allows a command, the
// highest denial (the last argument among equals) is the one reported.
type Result uint8

// Check results.
const (
	Allowed Result = iota
	DeniedCommand
	DeniedKey
	DeniedAuth
	DeniedChannel
)

// Reason is the ACL LOG reason of a denial ("command", "key", "auth",
// "channel").
func (r Result) Reason() string {
	switch r {
	case DeniedCommand:
		return "command"
	case DeniedKey:
		return "key"
	case DeniedAuth:
		return "auth"
	case DeniedChannel:
		return "channel"
	}
	return ""
}

// KeysFunc returns the positions of a command's key arguments and the
// access each needs. It is called only when a selector restricts keys.
type KeysFunc func() (pos []int, perm []Perm)

// PermOf returns the access a key with these Redis key-spec flags needs:
// read for "access", write for "insert", "delete" or "update", none
// (any matching pattern will do) otherwise.
func PermOf(flags []string) Perm {
	var p Perm
	for _, f := range flags {
		switch f {
		case "access":
			p |= PermRead
		case "insert", "delete", "update":
			p |= PermWrite
		}
	}
	return p
}

// ChannelCommand tells whether a command names pub/sub channels instead
// of keys in its arguments (its key positions are for routing only).
func ChannelCommand(sp *command.Spec) bool {
	switch sp.Name {
	case "publish", "spublish", "subscribe", "ssubscribe", "psubscribe", "unsubscribe", "sunsubscribe", "punsubscribe":
		return true
	}
	return false
}

// Check tells whether the user may run the command sp with args: allowed
// when one of its selectors allows the command, every key (with the
// access it needs) and every channel. On a denial idx is the argument
// that was refused (for keys and channels).
func (u *User) Check(cs *Commands, sp *command.Spec, args [][]byte, keys KeysFunc) (r Result, idx int) {
	if u.open {
		return Allowed, 0
	}
	id := cs.ID(sp)
	kc := keyCache{f: keys}
	relevant, last := DeniedCommand, 0
	for _, s := range u.selectors {
		res, i := s.check(cs, id, sp, args, &kc)
		if res == Allowed {
			return Allowed, 0
		}
		if res > relevant || (res == relevant && i > last) {
			relevant, last = res, i
		}
	}
	return relevant, last
}

// keyCache computes a command's keys once for all selectors.
type keyCache struct {
	f      KeysFunc
	pos    []int
	perm   []Perm
	loaded bool
}

func (k *keyCache) get() ([]int, []Perm) {
	if !k.loaded && k.f != nil {
		k.pos, k.perm = k.f()
		k.loaded = true
	}
	return k.pos, k.perm
}

func (s *Selector) check(cs *Commands, id int, sp *command.Spec, args [][]byte, keys *keyCache) (Result, int) {
	if !s.all && sp.Flags&command.NoAuth == 0 {
		if id < 0 {
			return DeniedCommand, 0
		}
		if !s.bit(id) && !s.firstArgAllowed(cs, id, args) {
			return DeniedCommand, 0
		}
	}
	chans := ChannelCommand(sp)
	if !s.allKeys && !chans && (sp.FirstKey > 0 || sp.KeysFunc != nil) {
		pos, perm := keys.get()
		for j, p := range pos {
			if p >= len(args) || s.keyAllowed(args[p], perm[j]) {
				continue
			}
			return DeniedKey, p
		}
	}
	if !s.allChannels && chans {
		switch sp.Name {
		case "publish", "spublish":
			if !s.channelAllowed(args[1], false) {
				return DeniedChannel, 1
			}
		case "subscribe", "ssubscribe", "psubscribe":
			for j := 1; j < len(args); j++ {
				if !s.channelAllowed(args[j], sp.Name == "psubscribe") {
					return DeniedChannel, j
				}
			}
		}
	}
	return Allowed, 0
}

func (s *Selector) firstArgAllowed(cs *Commands, id int, args [][]byte) bool {
	allowed := s.firstArgs[id]
	if len(allowed) == 0 {
		return false
	}
	at := 1
	if cs.parent[id] >= 0 {
		at = 2
	}
	if at >= len(args) {
		return false
	}
	for _, a := range allowed {
		if strings.EqualFold(a, string(args[at])) {
			return true
		}
	}
	return false
}

func (s *Selector) keyAllowed(key []byte, need Perm) bool {
	for _, k := range s.keys {
		if k.Perm&need != need {
			continue
		}
		if glob.Match(k.pat, key, false) {
			return true
		}
	}
	return false
}

// channelAllowed: a channel must match one of the patterns; a pattern
// (PSUBSCRIBE) must be one of them literally, as in Redis.
func (s *Selector) channelAllowed(ch []byte, pattern bool) bool {
	for _, c := range s.channels {
		if pattern {
			if bytes.Equal([]byte(c), ch) {
				return true
			}
		} else if glob.Match([]byte(c), ch, false) {
			return true
		}
	}
	return false
}

// ChannelAllowed tells whether the user may still receive messages on a
// channel it subscribed to (pattern for a PSUBSCRIBE pattern).
func (u *User) ChannelAllowed(ch []byte, pattern bool) bool {
	for _, s := range u.selectors {
		if s.allChannels || s.channelAllowed(ch, pattern) {
			return true
		}
	}
	return false
}
