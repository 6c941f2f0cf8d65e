package acl

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"slices"
	"strings"
)

// Perm is what a key pattern allows: reading, writing or both.
type Perm uint8

// Key permissions (%R~, %W~; ~ is both).
const (
	PermRead Perm = 1 << iota
	PermWrite
	PermAll = PermRead | PermWrite
)

// KeyPattern is one key pattern of a selector.
type KeyPattern struct {
	Pattern string
	Perm    Perm
	pat     []byte // Pattern, for matching without a conversion
}

// String returns the pattern as a rule: ~p, %R~p or %W~p.
func (k KeyPattern) String() string {
	switch k.Perm {
	case PermRead:
		return "%R~" + k.Pattern
	case PermWrite:
		return "%W~" + k.Pattern
	}
	return "~" + k.Pattern
}

// Selector is a set of permissions: commands, keys, channels. A user has
// a root selector and any number of added ones ("(...)"); a command is
// allowed when one of them allows it.
type Selector struct {
	// future is Redis's reserved command bit: set by +@all, cleared by
	// -@all. all is the fast path: every command bit is set.
	future, all bool
	allKeys     bool
	allChannels bool
	keys        []KeyPattern
	channels    []string
	allowed     []uint64
	firstArgs   map[int][]string // command ID -> allowed first arguments
}

func newSelector(cs *Commands) *Selector {
	return &Selector{allowed: make([]uint64, cs.words)}
}

func (s *Selector) clone() *Selector {
	c := *s
	c.keys = slices.Clone(s.keys)
	c.channels = slices.Clone(s.channels)
	c.allowed = slices.Clone(s.allowed)
	if s.firstArgs != nil {
		c.firstArgs = map[int][]string{}
		for id, a := range s.firstArgs {
			c.firstArgs[id] = slices.Clone(a)
		}
	}
	return &c
}

func (s *Selector) bit(id int) bool { return s.allowed[id/64]&(1<<(id%64)) != 0 }

func (s *Selector) setBit(id int, v bool) {
	if v {
		s.allowed[id/64] |= 1 << (id % 64)
	} else {
		s.allowed[id/64] &^= 1 << (id % 64)
		s.all = false
	}
}

// changePerm allows or denies a command and, for a container, its
// subcommands; it forgets the command's allowed first arguments.
func (s *Selector) changePerm(cs *Commands, id int, allow bool) {
	s.setBit(id, allow)
	delete(s.firstArgs, id)
	for _, sub := range cs.subs[id] {
		s.setBit(sub, allow)
	}
}

func (s *Selector) setCategory(cs *Commands, bit uint32, allow bool) {
	for id, m := range cs.cats {
		if m&bit != 0 {
			s.changePerm(cs, id, allow)
		}
	}
}

func (s *Selector) setAll(cs *Commands, allow bool) {
	var w uint64
	if allow {
		w = ^uint64(0)
	}
	for i := range s.allowed {
		s.allowed[i] = w
	}
	s.future, s.all = allow, allow
	s.firstArgs = nil
}

// User is one ACL user.
type User struct {
	Name      string
	enabled   bool
	nopass    bool
	sanitize  int // 0 unset, 1 sanitize-payload, 2 skip-sanitize-payload
	passwords []string
	selectors []*Selector // [0] is the root selector
	// open is set when the user may run everything on every key and
	// channel through its root selector: the dispatcher skips the check.
	open bool
}

func newUser(cs *Commands, name string) *User {
	return &User{Name: name, selectors: []*Selector{newSelector(cs)}}
}

func (u *User) clone() *User {
	c := *u
	c.passwords = slices.Clone(u.passwords)
	c.selectors = make([]*Selector, len(u.selectors))
	for i, s := range u.selectors {
		c.selectors[i] = s.clone()
	}
	return &c
}

func (u *User) refresh() {
	r := u.selectors[0]
	u.open = r.all && r.allKeys && r.allChannels
}

// Enabled tells whether the user is on.
func (u *User) Enabled() bool { return u.enabled }

// NoPass tells whether the user accepts any password.
func (u *User) NoPass() bool { return u.nopass }

// Open tells whether the user may run every command on every key and
// channel (the check can be skipped).
func (u *User) Open() bool { return u.open }

// CheckPassword tells whether pass authenticates the user: the user is
// on and either nopass or pass hashes to one of its passwords.
func (u *User) CheckPassword(pass []byte) bool {
	if !u.enabled {
		return false
	}
	if u.nopass {
		return true
	}
	h := HashPassword(pass)
	ok := false
	for _, p := range u.passwords {
		// Compare every one, so the time does not say which matched.
		if constantEqual(p, h) {
			ok = true
		}
	}
	return ok
}

func constantEqual(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	var d byte
	for i := 0; i < len(a); i++ {
		d |= a[i] ^ b[i]
	}
	return d == 0
}

// HashPassword returns the SHA-256 of a password in lower-case hex, as
// Redis stores passwords.
func HashPassword(pass []byte) string {
	h := sha256.Sum256(pass)
	return hex.EncodeToString(h[:])
}

// Rule errors, worded as Redis's ACLSetUserStringError.
var (
	errUnknown       = errors.New("Unknown command or category name in ACL")
	errSyntax        = errors.New("Syntax error")
	errKeysAfterAll  = errors.New("Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns")
	errChansAfterAll = errors.New("Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels")
	errNoSuchPass    = errors.New("The password you are trying to remove from the user does not exist")
	errBadHash       = errors.New("The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters")
	errSubFirstArg   = errors.New("Allowing first-arg of a subcommand is not supported")
)

// apply applies one rule (ACL SETUSER argument, selectors already merged)
// to u.
func (u *User) apply(cs *Commands, op string) error {
	switch {
	case strings.EqualFold(op, "on"):
		u.enabled = true
	case strings.EqualFold(op, "off"):
		u.enabled = false
	case strings.EqualFold(op, "skip-sanitize-payload"):
		u.sanitize = 2
	case strings.EqualFold(op, "sanitize-payload"):
		u.sanitize = 1
	case strings.EqualFold(op, "nopass"):
		u.nopass = true
		u.passwords = nil
	case strings.EqualFold(op, "resetpass"):
		u.nopass = false
		u.passwords = nil
	case strings.EqualFold(op, "reset"):
		for _, r := range []string{"resetpass", "resetkeys", "resetchannels", "off", "clearselectors", "-@all"} {
			if err := u.apply(cs, r); err != nil {
				return err
			}
		}
		u.sanitize = 1
	case strings.EqualFold(op, "clearselectors"):
		u.selectors = u.selectors[:1]
	case op != "" && op[0] == '>':
		h := HashPassword([]byte(op[1:]))
		if !slices.Contains(u.passwords, h) {
			u.passwords = append(u.passwords, h)
		}
		u.nopass = false
	case op != "" && op[0] == '#':
		h := op[1:]
		if !validHash(h) {
			return errBadHash
		}
		if !slices.Contains(u.passwords, h) {
			u.passwords = append(u.passwords, h)
		}
		u.nopass = false
	case op != "" && op[0] == '<':
		h := HashPassword([]byte(op[1:]))
		i := slices.Index(u.passwords, h)
		if i < 0 {
			return errNoSuchPass
		}
		u.passwords = slices.Delete(u.passwords, i, i+1)
	case op != "" && op[0] == '!':
		h := op[1:]
		if !validHash(h) {
			return errBadHash
		}
		i := slices.Index(u.passwords, h)
		if i < 0 {
			return errNoSuchPass
		}
		u.passwords = slices.Delete(u.passwords, i, i+1)
	case len(op) >= 2 && op[0] == '(' && op[len(op)-1] == ')':
		s := newSelector(cs)
		for _, r := range strings.Split(op[1:len(op)-1], " ") {
			if r == "" {
				continue
			}
			if err := s.apply(cs, r); err != nil {
				return err
			}
		}
		u.selectors = append(u.selectors, s)
	default:
		return u.selectors[0].apply(cs, op)
	}
	return nil
}

func validHash(h string) bool {
	if len(h) != 64 {
		return false
	}
	for i := 0; i < len(h); i++ {
		c := h[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// apply applies one selector rule.
func (s *Selector) apply(cs *Commands, op string) error {
	switch {
	case strings.EqualFold(op, "allkeys"):
		s.allKeys, s.keys = true, nil
	case strings.EqualFold(op, "resetkeys"):
		s.allKeys, s.keys = false, nil
	case strings.EqualFold(op, "allchannels"):
		s.allChannels, s.channels = true, nil
	case strings.EqualFold(op, "resetchannels"):
		s.allChannels, s.channels = false, nil
	case strings.EqualFold(op, "allcommands") || strings.EqualFold(op, "+@all"):
		s.setAll(cs, true)
	case strings.EqualFold(op, "nocommands") || strings.EqualFold(op, "-@all"):
		s.setAll(cs, false)
	case op != "" && (op[0] == '~' || op[0] == '%'):
		if s.allKeys {
			return errKeysAfterAll
		}
		perm, off := PermAll, 1
		if op[0] == '%' {
			perm = 0
			for ; off < len(op); off++ {
				c := op[off]
				if (c == 'R' || c == 'r') && perm&PermRead == 0 {
					perm |= PermRead
				} else if (c == 'W' || c == 'w') && perm&PermWrite == 0 {
					perm |= PermWrite
				} else if c == '~' {
					off++
					break
				} else {
					return errSyntax
				}
			}
			if perm == 0 || off > len(op) || op[off-1] != '~' {
				return errSyntax
			}
		}
		pat := op[off:]
		if pat == "*" && perm == PermAll {
			s.allKeys, s.keys = true, nil
			return nil
		}
		for i := range s.keys {
			if s.keys[i].Pattern == pat {
				s.keys[i].Perm |= perm
				return nil
			}
		}
		s.keys = append(s.keys, KeyPattern{pat, perm, []byte(pat)})
	case op != "" && op[0] == '&':
		if s.allChannels {
			return errChansAfterAll
		}
		if op[1:] == "*" {
			s.allChannels, s.channels = true, nil
			return nil
		}
		if !slices.Contains(s.channels, op[1:]) {
			s.channels = append(s.channels, op[1:])
		}
	case len(op) > 1 && (op[0] == '+' || op[0] == '-') && op[1] == '@':
		bit := categoryBit(op[2:])
		if bit == 0 {
			return errUnknown
		}
		s.setCategory(cs, bit, op[0] == '+')
	case len(op) > 1 && op[0] == '+':
		name := op[1:]
		i := strings.LastIndexByte(name, '|')
		if i < 0 {
			id := cs.Lookup(name)
			if id < 0 {
				return errUnknown
			}
			s.changePerm(cs, id, true)
			return nil
		}
		parent := cs.Lookup(name[:i])
		if parent < 0 {
			return errUnknown
		}
		if cs.parent[parent] >= 0 {
			return errSubFirstArg
		}
		if i == len(name)-1 {
			return errSyntax
		}
		if len(cs.subs[parent]) > 0 {
			id := cs.Lookup(name)
			if id < 0 {
				return errUnknown
			}
			s.changePerm(cs, id, true)
			return nil
		}
		arg := strings.ToLower(name[i+1:])
		if s.firstArgs == nil {
			s.firstArgs = map[int][]string{}
		}
		if !slices.Contains(s.firstArgs[parent], arg) {
			s.firstArgs[parent] = append(s.firstArgs[parent], arg)
		}
	case len(op) > 1 && op[0] == '-':
		id := cs.Lookup(op[1:])
		if id < 0 {
			return errUnknown
		}
		s.changePerm(cs, id, false)
	default:
		return errSyntax
	}
	return nil
}

// mergeSelectors joins the arguments of a selector ("(~x" "+get)") into
// one rule, as Redis's ACLMergeSelectorArguments. bad is the index of an
// argument opening a selector that never closes (-1 if none).
func mergeSelectors(args []string) (out []string, bad int) {
	open := -1
	var cur []string
	for i, a := range args {
		if open >= 0 {
			cur = append(cur, a)
			if strings.HasSuffix(a, ")") {
				out = append(out, strings.Join(cur, " "))
				open, cur = -1, nil
			}
			continue
		}
		if strings.HasPrefix(a, "(") && !strings.HasSuffix(a, ")") {
			open, cur = i, []string{a}
			continue
		}
		out = append(out, a)
	}
	if open >= 0 {
		return nil, open
	}
	return out, -1
}
