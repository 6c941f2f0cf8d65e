// Package acl holds Cairn's access control lists with Redis 7.0 semantics:
// users (passwords stored as SHA-256 hex, on/off, nopass), selectors with
// command permissions (+@category, -command, +command|subcommand,
// +command|first-arg), key patterns (~, %R~, %W~) and pub/sub channel
// patterns (&), the rule parser behind ACL SETUSER, the describer behind
// ACL LIST/GETUSER, the aclfile format, the permission check the
// dispatcher runs before anything is proposed, and the ACL LOG ring.
//
// The package is pure: no network, no storage. A Set of users is
// immutable once built; a change builds a new Set. The users are
// replicated state: the session layer commits a Set's Text through the
// log (see docs/acl.md) and every node parses the same text.
package acl

import (
	"slices"
	"strings"

	"github.com/cairndb/cairn/server/command"
)

// Categories are Redis 7.0's ACL categories, in the order ACL CAT lists
// them (and the describer tries them).
var Categories = []string{
	"keyspace", "read", "write", "set", "sortedset", "list", "hash", "string", "bitmap",
	"hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow", "blocking",
	"dangerous", "connection", "transaction", "scripting",
}

// categoryBit returns the bit of a category name (any case), 0 if unknown.
func categoryBit(name string) uint32 {
	for i, c := range Categories {
		if strings.EqualFold(c, name) {
			return 1 << i
		}
	}
	return 0
}

// SpecCategories returns a command's categories as Redis derives them:
// the ones its spec lists plus those implied by its flags (write, read
// for read-only commands outside @scripting, admin and dangerous, pubsub,
// fast, blocking, and slow for every command that is not fast).
func SpecCategories(sp *command.Spec) []string {
	m := specMask(sp)
	var out []string
	for i, c := range Categories {
		if m&(1<<i) != 0 {
			out = append(out, c)
		}
	}
	return out
}

func specMask(sp *command.Spec) uint32 {
	var m uint32
	for _, c := range sp.ACL {
		m |= categoryBit(c)
	}
	f := sp.Flags
	// FCALL, EVAL and SCRIPT LOAD/FLUSH carry Write in Cairn because they
	// go through the log; Redis's do not have the write flag, so not
	// @write either.
	scriptCall := m&categoryBit("scripting") != 0 && (sp.Name == "fcall" || sp.Name == "eval" || sp.Name == "evalsha" || sp.Name == "script|load" || sp.Name == "script|flush")
	if f&command.Write != 0 && !scriptCall {
		m |= categoryBit("write")
	}
	if f&command.ReadOnly != 0 && m&categoryBit("scripting") == 0 {
		m |= categoryBit("read")
	}
	if f&command.Admin != 0 {
		m |= categoryBit("admin") | categoryBit("dangerous")
	}
	if f&command.PubSub != 0 {
		m |= categoryBit("pubsub")
	}
	if f&command.Fast != 0 {
		m |= categoryBit("fast")
	}
	if f&command.Blocking != 0 || sp.Block != nil {
		m |= categoryBit("blocking")
	}
	if m&categoryBit("fast") == 0 {
		m |= categoryBit("slow")
	}
	return m
}

// Commands is the command universe ACL rules are about: every command and
// subcommand of a command.Table gets an ID (its bit in a selector).
type Commands struct {
	specs  []*command.Spec
	ids    map[*command.Spec]int
	byName map[string]int // "get", "config|get"
	cats   []uint32
	parent []int   // -1 for a top-level command
	subs   [][]int // a container's subcommands
	words  int     // uint64 words of a bitmap
}

// NewCommands numbers the commands of t, in name order.
func NewCommands(t *command.Table) *Commands {
	cs := &Commands{ids: map[*command.Spec]int{}, byName: map[string]int{}}
	add := func(sp *command.Spec, parent int) int {
		id := len(cs.specs)
		cs.specs = append(cs.specs, sp)
		cs.ids[sp] = id
		cs.byName[sp.Name] = id
		cs.cats = append(cs.cats, specMask(sp))
		cs.parent = append(cs.parent, parent)
		cs.subs = append(cs.subs, nil)
		return id
	}
	for _, sp := range t.All() {
		id := add(sp, -1)
		for _, sub := range sp.Sub {
			cs.subs[id] = append(cs.subs[id], add(sub, id))
		}
	}
	cs.words = (len(cs.specs) + 63) / 64
	return cs
}

// ID returns a spec's ID, or -1 for a spec the universe does not hold.
func (cs *Commands) ID(sp *command.Spec) int {
	if id, ok := cs.ids[sp]; ok {
		return id
	}
	return -1
}

// Lookup returns the ID of a command ("get") or subcommand
// ("config|get") by name, any case, or -1.
func (cs *Commands) Lookup(name string) int {
	if id, ok := cs.byName[strings.ToLower(name)]; ok {
		return id
	}
	return -1
}

// Spec returns the spec of an ID.
func (cs *Commands) Spec(id int) *command.Spec { return cs.specs[id] }

// InCategory lists the full names of the commands and subcommands in a
// category, in name order; ok is false for an unknown category.
func (cs *Commands) InCategory(cat string) (names []string, ok bool) {
	bit := categoryBit(cat)
	if bit == 0 {
		return nil, false
	}
	for id, m := range cs.cats {
		if m&bit != 0 {
			names = append(names, cs.specs[id].Name)
		}
	}
	slices.Sort(names)
	return names, true
}
