package acl

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
)

// DefaultUser is the name of the user every connection starts as.
const DefaultUser = "default"

// Set is one version of the users. It is never changed once built: a
// change returns a new Set.
type Set struct {
	cs    *Commands
	users map[string]*User
	// authRequired: new connections must AUTH first (the default user
	// has passwords or is off).
	authRequired bool
}

// NewSet returns the users Redis starts with: only the default user,
// "on nopass ~* &* +@all".
func NewSet(cs *Commands) *Set {
	d := newUser(cs, DefaultUser)
	for _, r := range []string{"on", "nopass", "~*", "&*", "+@all"} {
		if err := d.apply(cs, r); err != nil {
			panic(err)
		}
	}
	d.refresh()
	return (&Set{cs: cs, users: map[string]*User{DefaultUser: d}}).done()
}

func (s *Set) done() *Set {
	d := s.users[DefaultUser]
	s.authRequired = !d.nopass || !d.enabled
	return s
}

func (s *Set) clone() *Set {
	return &Set{cs: s.cs, users: maps.Clone(s.users)}
}

// Commands returns the command universe of the set.
func (s *Set) Commands() *Commands { return s.cs }

// User returns a user, or nil.
func (s *Set) User(name string) *User { return s.users[name] }

// Names returns the user names in byte order (ACL USERS).
func (s *Set) Names() []string { return slices.Sorted(maps.Keys(s.users)) }

// AuthRequired tells whether a connection must authenticate before it
// runs commands: the default user is off or has passwords.
func (s *Set) AuthRequired() bool { return s.authRequired }

// Line returns a user as ACL LIST and the aclfile write it.
func (s *Set) Line(u *User) string { return "user " + u.Name + " " + u.Describe(s.cs) }

// List returns ACL LIST's lines, by user name.
func (s *Set) List() []string {
	names := s.Names()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = s.Line(s.users[n])
	}
	return out
}

// Text returns the set in aclfile format (one "user ..." line per user,
// by name, each ending in a newline). Parse reads it back.
func (s *Set) Text() string {
	var b strings.Builder
	for _, l := range s.List() {
		b.WriteString(l)
		b.WriteByte('\n')
	}
	return b.String()
}

// Error is an error in an ACL rule or file, worded as Redis words it.
type Error struct{ Msg string }

func (e *Error) Error() string { return e.Msg }

// validName: no spaces nor null characters, as Redis's
// ACLStringHasSpaces.
func validName(name string) bool {
	return !strings.ContainsAny(name, " \x00\t\r\n") && name != ""
}

// SetUser applies ACL SETUSER rules to a user (created if missing) and
// returns the new set; on error nothing changes and the error is Redis's
// reply text without "ERR ".
func (s *Set) SetUser(name string, rules []string) (*Set, error) {
	if strings.ContainsAny(name, " \x00") {
		return nil, &Error{"Usernames can't contain spaces or null characters"}
	}
	merged, bad := mergeSelectors(rules)
	if bad >= 0 {
		return nil, &Error{"Unmatched parenthesis in acl selector starting at '" + rules[bad] + "'."}
	}
	var u *User
	if old := s.users[name]; old != nil {
		u = old.clone()
	} else {
		u = newUser(s.cs, name)
	}
	for _, r := range merged {
		if err := u.apply(s.cs, r); err != nil {
			return nil, &Error{"Error in ACL SETUSER modifier '" + r + "': " + err.Error()}
		}
	}
	u.refresh()
	n := s.clone()
	n.users[name] = u
	return n.done(), nil
}

// ErrDeleteDefault is ACL DELUSER's refusal to delete the default user.
var ErrDeleteDefault = &Error{"The 'default' user cannot be removed"}

// DelUser removes users and returns the new set and how many existed.
func (s *Set) DelUser(names []string) (*Set, int, error) {
	for _, n := range names {
		if n == DefaultUser {
			return nil, 0, ErrDeleteDefault
		}
	}
	n := s.clone()
	deleted := 0
	for _, name := range names {
		if _, ok := n.users[name]; ok {
			delete(n.users, name)
			deleted++
		}
	}
	return n.done(), deleted, nil
}

// Parse reads users in aclfile format: one "user <name> <rules...>" per
// line, blank lines and lines starting with '#' skipped. A file without a
// default user gets Redis's default one. Errors name the line as Redis's
// ACL LOAD does ("<source>:<line>: ...").
func Parse(cs *Commands, source, text string) (*Set, error) {
	s := &Set{cs: cs, users: map[string]*User{}}
	var errs []string
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		line = strings.TrimSpace(line)
		if line == "" || line[0] == '#' {
			continue
		}
		var args []string
		for _, a := range strings.Split(line, " ") {
			if a != "" {
				args = append(args, a)
			}
		}
		where := fmt.Sprintf("%s:%d", source, i+1)
		if args[0] != "user" || len(args) < 2 {
			errs = append(errs, where+" should start with user keyword")
			continue
		}
		name := args[1]
		if !validName(name) {
			errs = append(errs, where+": username '"+name+"' contains invalid characters")
			continue
		}
		if s.users[name] != nil {
			errs = append(errs, where+": Duplicate user '"+name+"' found")
			continue
		}
		merged, bad := mergeSelectors(args[2:])
		if bad >= 0 {
			errs = append(errs, where+": Unmatched parenthesis in acl selector starting at '"+args[2+bad]+"'.")
			continue
		}
		u := newUser(cs, name)
		var failed error
		for _, r := range merged {
			if err := u.apply(cs, r); err != nil {
				failed = fmt.Errorf("%s: Error in applying operation '%s': %s", where, r, err)
				break
			}
		}
		if failed != nil {
			errs = append(errs, failed.Error())
			continue
		}
		u.refresh()
		s.users[name] = u
	}
	if len(errs) > 0 {
		return nil, &Error{strings.Join(errs, ". ")}
	}
	if s.users[DefaultUser] == nil {
		s.users[DefaultUser] = NewSet(cs).users[DefaultUser]
	}
	return s.done(), nil
}

// WithDefaultPassword returns the set with the default user's password
// replaced, as Redis's requirepass does: "resetpass" then ">pass", or
// "nopass" for an empty one.
func (s *Set) WithDefaultPassword(pass string) *Set {
	rules := []string{"resetpass", "nopass"}
	if pass != "" {
		rules = []string{"resetpass", ">" + pass}
	}
	n, err := s.SetUser(DefaultUser, rules)
	if err != nil {
		panic(errors.Join(errors.New("acl: password rules cannot fail"), err))
	}
	return n
}
