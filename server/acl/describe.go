package acl

import (
	"strings"
)

// describeCommands returns the command rules of a selector as Redis 7.0
// prints them: +@all or -@all, then the categories that best explain the
// selector's command bits (tried greedily, fewest differences first),
// then the single commands still different and the allowed first
// arguments. Single commands come in name order (Redis uses its command
// table's hash order, which varies from process to process).
func describeCommands(cs *Commands, s *Selector) string {
	var b strings.Builder
	fake := newSelector(cs)
	additive := !s.future
	if additive {
		b.WriteString("-@all")
		fake.setAll(cs, false)
	} else {
		b.WriteString("+@all")
		fake.setAll(cs, true)
	}
	// temp starts as the selector's bits; each category applied to fake
	// is undone on temp, so later counts only see what is left.
	temp := s.clone()
	applied := make([]bool, len(Categories))
	for {
		best := -1
		minDiff, maxSame := int(^uint(0)>>1), 0
		for j := range Categories {
			if applied[j] {
				continue
			}
			on, off := temp.countCategory(cs, 1<<j)
			diff, same := off, on
			if !additive {
				diff, same = on, off
			}
			if same > diff && (diff < minDiff || (diff == minDiff && same > maxSame)) {
				best, minDiff, maxSame = j, diff, same
			}
		}
		if best < 0 {
			break
		}
		if additive {
			b.WriteString(" +@" + Categories[best])
		} else {
			b.WriteString(" -@" + Categories[best])
		}
		fake.setCategory(cs, 1<<best, additive)
		temp.setCategory(cs, 1<<best, !additive)
		applied[best] = true
	}
	for id := range cs.specs {
		if cs.parent[id] >= 0 {
			continue
		}
		describeSingle(cs, s, fake, id, &b)
		for _, sub := range cs.subs[id] {
			describeSingle(cs, s, fake, sub, &b)
		}
		if !s.bit(id) {
			for _, a := range s.firstArgs[id] {
				b.WriteString(" +" + cs.specs[id].Name + "|" + a)
			}
		}
	}
	return b.String()
}

func describeSingle(cs *Commands, s, fake *Selector, id int, b *strings.Builder) {
	user, f := s.bit(id), fake.bit(id)
	if user == f {
		return
	}
	if user {
		b.WriteString(" +")
	} else {
		b.WriteString(" -")
	}
	b.WriteString(cs.specs[id].Name)
	fake.changePerm(cs, id, user)
}

// countCategory counts the commands of a category the selector allows
// (on) and denies (off).
func (s *Selector) countCategory(cs *Commands, bit uint32) (on, off int) {
	for id, m := range cs.cats {
		if m&bit == 0 {
			continue
		}
		if s.bit(id) {
			on++
		} else {
			off++
		}
	}
	return on, off
}

// describeKeys returns the key patterns as rules ("~*", or each pattern).
func (s *Selector) describeKeys() string {
	if s.allKeys {
		return "~*"
	}
	parts := make([]string, len(s.keys))
	for i, k := range s.keys {
		parts[i] = k.String()
	}
	return strings.Join(parts, " ")
}

// describeChannels returns the channel patterns as rules ("&*", or each
// pattern).
func (s *Selector) describeChannels() string {
	if s.allChannels {
		return "&*"
	}
	parts := make([]string, len(s.channels))
	for i, c := range s.channels {
		parts[i] = "&" + c
	}
	return strings.Join(parts, " ")
}

// describe returns a selector's rules as ACL LIST prints them.
func (s *Selector) describe(cs *Commands) string {
	var parts []string
	if k := s.describeKeys(); k != "" {
		parts = append(parts, k)
	}
	if s.allChannels {
		parts = append(parts, "&*")
	} else {
		parts = append(parts, "resetchannels")
		if c := s.describeChannels(); c != "" {
			parts = append(parts, c)
		}
	}
	parts = append(parts, describeCommands(cs, s))
	return strings.Join(parts, " ")
}

// Describe returns the user's rules as ACL LIST prints them after
// "user <name> ": flags, password hashes, the root selector's rules, then
// each added selector in parentheses.
func (u *User) Describe(cs *Commands) string {
	var parts []string
	for _, f := range u.Flags() {
		parts = append(parts, f)
	}
	for _, p := range u.passwords {
		parts = append(parts, "#"+p)
	}
	parts = append(parts, u.selectors[0].describe(cs))
	for _, s := range u.selectors[1:] {
		parts = append(parts, "("+s.describe(cs)+")")
	}
	return strings.Join(parts, " ")
}

// Flags returns the user's flags in Redis's order.
func (u *User) Flags() []string {
	var out []string
	if u.enabled {
		out = append(out, "on")
	} else {
		out = append(out, "off")
	}
	if u.nopass {
		out = append(out, "nopass")
	}
	switch u.sanitize {
	case 2:
		out = append(out, "skip-sanitize-payload")
	case 1:
		out = append(out, "sanitize-payload")
	}
	return out
}

// Passwords returns the SHA-256 hex hashes of the user's passwords.
func (u *User) Passwords() []string { return u.passwords }

// SelectorInfo is one selector as ACL GETUSER shows it.
type SelectorInfo struct {
	Commands, Keys, Channels string
}

// Selectors returns the root selector and the added ones.
func (u *User) Selectors(cs *Commands) []SelectorInfo {
	out := make([]SelectorInfo, len(u.selectors))
	for i, s := range u.selectors {
		out[i] = SelectorInfo{describeCommands(cs, s), s.describeKeys(), s.describeChannels()}
	}
	return out
}
