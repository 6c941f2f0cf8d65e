package acl

import (
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
)

// testCommands is a small universe: a few keyed commands, a container
// with subcommands, a pub/sub command.
func testCommands() *Commands {
	return NewCommands(command.NewTable([]*command.Spec{
		{Name: "get", Arity: 2, Flags: command.ReadOnly | command.Fast, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"string"}},
		{Name: "set", Arity: -3, Flags: command.Write, FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"string"}},
		{Name: "copy", Arity: -3, Flags: command.Write, FirstKey: 1, LastKey: 2, Step: 1, ACL: []string{"keyspace"}},
		{Name: "select", Arity: 2, Flags: command.Fast, ACL: []string{"connection"}},
		{Name: "publish", Arity: 3, Flags: command.PubSub | command.Fast},
		{Name: "auth", Arity: -2, Flags: command.NoAuth | command.Fast, ACL: []string{"connection"}},
		{Name: "config", Arity: -2, Sub: []*command.Spec{
			{Name: "config|get", Arity: -3, Flags: command.Admin},
			{Name: "config|set", Arity: -4, Flags: command.Admin},
		}},
	}))
}

func args(s string) [][]byte {
	var out [][]byte
	for _, a := range strings.Fields(s) {
		out = append(out, []byte(a))
	}
	return out
}

// keysOf gives the keys of a command with the access Redis's key specs
// give them for these few commands.
func keysOf(cs *Commands, a [][]byte) KeysFunc {
	return func() ([]int, []Perm) {
		switch string(a[0]) {
		case "get":
			return []int{1}, []Perm{PermRead}
		case "set":
			return []int{1}, []Perm{PermWrite}
		case "copy":
			return []int{1, 2}, []Perm{PermRead, PermWrite}
		}
		return nil, nil
	}
}

func check(t *testing.T, s *Set, user, cmd string) (Result, int) {
	t.Helper()
	a := args(cmd)
	sp := s.cs.specs[s.cs.Lookup(string(a[0]))]
	if len(sp.Sub) > 0 {
		sp = s.cs.specs[s.cs.Lookup(string(a[0])+"|"+string(a[1]))]
	}
	return s.User(user).Check(s.cs, sp, a, keysOf(s.cs, a))
}

func TestCheck(t *testing.T) {
	s, err := NewSet(testCommands()).SetUser("u", []string{"on", "nopass", "+@all", "-config|set", "%R~r:*", "%W~w:*", "~app:*", "&news", "(~x:* +set)"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		cmd  string
		want Result
		idx  int
	}{
		{"get app:1", Allowed, 0},
		{"get r:1", Allowed, 0},
		{"set r:1 v", DeniedKey, 1},
		{"set w:1 v", Allowed, 0},
		{"get w:1", DeniedKey, 1},
		{"copy r:1 w:1", Allowed, 0},
		{"copy w:1 r:1", DeniedKey, 1},
		{"set x:1 v", Allowed, 0}, // the selector allows it
		{"get x:1", DeniedKey, 1}, // the selector does not allow GET
		{"config get a", Allowed, 0},
		{"config set a b", DeniedCommand, 0},
		{"publish news m", Allowed, 0},
		{"publish sports m", DeniedChannel, 1},
		{"auth a b", Allowed, 0},
	} {
		if r, i := check(t, s, "u", tc.cmd); r != tc.want || i != tc.idx {
			t.Errorf("%s: %v at %d, want %v at %d", tc.cmd, r, i, tc.want, tc.idx)
		}
	}
	// First arguments of a command without subcommands.
	s, _ = s.SetUser("f", []string{"-@all", "+select|0", "allkeys"})
	if r, _ := check(t, s, "f", "select 0"); r != Allowed {
		t.Errorf("select 0: %v", r)
	}
	if r, _ := check(t, s, "f", "select 1"); r != DeniedCommand {
		t.Errorf("select 1: %v", r)
	}
	if !strings.Contains(s.Line(s.User("f")), "+select|0") {
		t.Errorf("first arg not described: %s", s.Line(s.User("f")))
	}
	if !s.User(DefaultUser).Open() || s.User("u").Open() {
		t.Error("open users")
	}
}

// TestTextRoundTrip: Parse(Text()) gives the same users, lines and
// permissions; a malformed file is refused with the line named.
func TestTextRoundTrip(t *testing.T) {
	cs := testCommands()
	s := NewSet(cs)
	var err error
	for _, u := range [][]string{
		{"a", "on", ">pw", "~app:*", "%R~r*", "&ch", "+@all", "-config", "+config|get", "(~x +set)"},
		{"b", "off", "nopass", "allkeys", "allchannels", "-@all", "+get", "+select|1"},
		{"c", "reset", "skip-sanitize-payload"},
	} {
		if s, err = s.SetUser(u[0], u[1:]); err != nil {
			t.Fatal(err)
		}
	}
	s2, err := Parse(cs, "f", s.Text())
	if err != nil {
		t.Fatal(err)
	}
	if s2.Text() != s.Text() {
		t.Fatalf("round trip:\n%s\n%s", s2.Text(), s.Text())
	}
	if !s2.User("a").CheckPassword([]byte("pw")) || s2.User("a").CheckPassword([]byte("x")) || s2.User("b").CheckPassword(nil) {
		t.Fatal("passwords after the round trip")
	}
	if r, _ := check(t, s2, "a", "config set x y"); r != DeniedCommand {
		t.Fatalf("config set after the round trip: %v", r)
	}
	_, err = Parse(cs, "users.acl", "user a on\nuser b +nope\nbogus\n")
	if err == nil || !strings.Contains(err.Error(), "users.acl:2: Error in applying operation '+nope'") || !strings.Contains(err.Error(), "users.acl:3 should start with user keyword") {
		t.Fatalf("bad file: %v", err)
	}
	// A file without a default user gets Redis's.
	s3, err := Parse(cs, "f", "user x on nopass\n")
	if err != nil || s3.User(DefaultUser) == nil || s3.AuthRequired() {
		t.Fatalf("default user: %v", err)
	}
	if !NewSet(cs).WithDefaultPassword("p").AuthRequired() {
		t.Fatal("requirepass does not require AUTH")
	}
}

// TestLogGroups: equal denials within a minute count on one entry, moved
// to the front; the log keeps its newest entries.
func TestLogGroups(t *testing.T) {
	l := NewLog(2)
	now := time.Now()
	l.Add(LogEntry{Reason: "key", Object: "k", Username: "u", Created: now})
	l.Add(LogEntry{Reason: "command", Object: "get", Username: "u", Created: now})
	l.Add(LogEntry{Reason: "key", Object: "k", Username: "u", Created: now.Add(time.Second)})
	e := l.Entries(-1)
	if len(e) != 2 || e[0].Object != "k" || e[0].Count != 2 || e[1].Count != 1 {
		t.Fatalf("entries: %+v", e)
	}
	l.Add(LogEntry{Reason: "key", Object: "k2", Username: "u", Created: now})
	if e := l.Entries(-1); len(e) != 2 || e[0].Object != "k2" || e[1].Object != "k" {
		t.Fatalf("after overflow: %+v", e)
	}
	l.Reset()
	if len(l.Entries(-1)) != 0 {
		t.Fatal("reset")
	}
}

// BenchmarkCheck measures the permission check the dispatcher runs for
// GET and SET: an open user (the default) skips it; a user limited to
// a key prefix pays a key lookup and a glob match.
func BenchmarkCheck(b *testing.B) {
	cs := testCommands()
	s, _ := NewSet(cs).SetUser("app", []string{"on", "nopass", "+@all", "~app:*"})
	get, set := cs.specs[cs.Lookup("get")], cs.specs[cs.Lookup("set")]
	ga, sa := args("get app:1"), args("set app:1 v")
	keys := func() ([]int, []Perm) { return []int{1}, []Perm{PermRead} }
	for _, u := range []string{DefaultUser, "app"} {
		user := s.User(u)
		b.Run(u, func(b *testing.B) {
			for range b.N {
				if r, _ := user.Check(cs, get, ga, keys); r != Allowed {
					b.Fatal(r)
				}
				if r, _ := user.Check(cs, set, sa, keys); r != Allowed {
					b.Fatal(r)
				}
			}
		})
	}
}
