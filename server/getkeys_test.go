package server_test

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/servertest"
)

// docArg is one argument of COMMAND DOCS.
type docArg struct {
	name, typ, token string
	optional, multi  bool
	args             []docArg
}

func parseDocArgs(v reply.Value) []docArg {
	var out []docArg
	for _, a := range v.Elems {
		var d docArg
		for i := 0; i+1 < len(a.Elems); i += 2 {
			k, val := string(a.Elems[i].Str), a.Elems[i+1]
			switch k {
			case "name":
				d.name = string(val.Str)
			case "type":
				d.typ = string(val.Str)
			case "token":
				d.token = string(val.Str)
			case "flags":
				for _, f := range val.Elems {
					switch string(f.Str) {
					case "optional":
						d.optional = true
					case "multiple":
						d.multi = true
					}
				}
			case "arguments":
				d.args = parseDocArgs(val)
			}
		}
		out = append(out, d)
	}
	return out
}

// hasKey tells whether an argument (or one nested in it) is a key.
func (d docArg) hasKey() bool {
	if d.typ == "key" {
		return true
	}
	for _, a := range d.args {
		if a.hasKey() {
			return true
		}
	}
	return false
}

// keyGen builds a representative invocation from COMMAND DOCS: required
// arguments, optional ones only when they hold keys, multiple arguments
// twice (numkeys says 2), the first alternative of a oneof.
type keyGen struct {
	n    int
	args []string
}

func (g *keyGen) emit(as []docArg) {
	for _, a := range as {
		if a.optional && !a.hasKey() {
			continue
		}
		times := 1
		if a.multi {
			times = 2
		}
		for i := 0; i < times; i++ {
			g.one(a)
		}
	}
}

func (g *keyGen) one(a docArg) {
	if a.token != "" {
		g.args = append(g.args, a.token)
	}
	switch a.typ {
	case "pure-token":
	case "key":
		g.n++
		g.args = append(g.args, "key"+strconv.Itoa(g.n))
	case "integer":
		if a.name == "numkeys" || a.name == "numfields" {
			g.args = append(g.args, "2")
		} else {
			g.args = append(g.args, "1")
		}
	case "double", "unix-time":
		g.args = append(g.args, "1")
	case "block":
		g.emit(a.args)
	case "oneof":
		alt := a.args[0]
		for _, x := range a.args { // prefer an alternative with a key
			if x.hasKey() {
				alt = x
				break
			}
		}
		g.one(alt)
	default: // string, pattern
		if a.name == "id" || strings.HasSuffix(a.name, "-id") {
			g.args = append(g.args, "0")
		} else {
			g.args = append(g.args, "v")
		}
	}
}

// TestCommandGetKeysDiff runs COMMAND GETKEYS and GETKEYSANDFLAGS on
// Cairn and redis-server
// for a representative invocation of every command (and subcommand) of
// Cairn's table that has keys on either side, generated from Redis's
// COMMAND DOCS, and compares the replies (keys, or the error).
func TestCommandGetKeysDiff(t *testing.T) {
	n := servertest.Start(t)
	raddr := commandtest.StartRedis(t)
	cairn, redis := raw(t, n.Addr()), raw(t, raddr)
	docs, err := redis.Do("COMMAND", "DOCS")
	if err != nil {
		t.Fatal(err)
	}
	argsOf := map[string][]docArg{}
	var collect func(v reply.Value)
	collect = func(v reply.Value) {
		for i := 0; i+1 < len(v.Elems); i += 2 {
			name := string(v.Elems[i].Str)
			doc := v.Elems[i+1]
			for j := 0; j+1 < len(doc.Elems); j += 2 {
				switch string(doc.Elems[j].Str) {
				case "arguments":
					argsOf[name] = parseDocArgs(doc.Elems[j+1])
				case "subcommands":
					collect(doc.Elems[j+1])
				}
			}
		}
	}
	collect(docs)
	var names []string
	for _, sp := range server.Commands().All() {
		if len(sp.Sub) == 0 {
			names = append(names, sp.Name)
		}
		for _, sub := range sp.Sub {
			names = append(names, sub.Name)
		}
	}
	sort.Strings(names)
	for _, proto := range []string{"2", "3"} {
		for _, c := range []*commandtest.Client{cairn, redis} {
			if _, err := c.Do("HELLO", proto); err != nil {
				t.Fatal(err)
			}
		}
		getKeysDiff(t, cairn, redis, names, argsOf)
	}
}

func getKeysDiff(t *testing.T, cairn, redis *commandtest.Client, names []string, argsOf map[string][]docArg) {
	checked := 0
	for _, name := range names {
		args, ok := argsOf[name]
		if !ok {
			continue // not a Redis 7.0 command
		}
		g := &keyGen{}
		g.emit(args)
		cmd := append([]string{"COMMAND", "GETKEYS"}, strings.Split(name, "|")...)
		cmd = append(cmd, g.args...)
		want, err := redis.Do(cmd...)
		if err != nil {
			t.Fatal(err)
		}
		got, err := cairn.Do(cmd...)
		if err != nil {
			t.Fatal(err)
		}
		if want.Kind == reply.KindError && strings.Contains(string(want.Str), "no key arguments") && g.n == 0 {
			// No keys in Redis: Cairn must agree.
			if !reply.Equal(got, want) {
				t.Errorf("%q: cairn %v, redis %v", cmd[2:], got, want)
			}
			continue
		}
		checked++
		if !reply.Equal(got, want) {
			t.Errorf("%q: cairn %v, redis %v", cmd[2:], got, want)
		}
		cmd[1] = "GETKEYSANDFLAGS"
		compareCmd(t, cairn, redis, cmd...)
	}
	// Commands whose key flags depend on their arguments, and invocations
	// finding a different number of keys.
	for _, cmd := range [][]string{
		{"SET", "k", "v", "NX", "GET"},
		{"SET", "k", "v", "EX", "10"},
		{"BITFIELD", "k", "GET", "u8", "0", "OVERFLOW", "WRAP"},
		{"BITFIELD", "k", "INCRBY", "u8", "0", "1"},
		{"BITFIELD", "k", "SET", "u8", "0", "1"},
		{"SORT", "k", "BY", "x", "GET", "y"},
		{"SORT", "k", "STORE", "d"},
		{"GEORADIUS", "k", "1", "1", "1", "m", "STOREDIST", "d"},
		{"GEORADIUS", "k", "1", "1", "1", "m", "STOREDIST", "d", "STORE", "e"},
		{"ZUNIONSTORE", "d", "3", "a", "b", "c"},
		{"BITOP", "AND", "d", "a", "b", "c"},
		{"PFMERGE", "d", "a", "b"},
		{"MSET", "a", "1", "b", "2", "c", "3"},
		{"LMPOP", "3", "a", "b", "c", "LEFT"},
		{"XREAD", "COUNT", "1", "STREAMS", "a", "b", "c", "0", "0", "0"},
		{"OBJECT", "ENCODING", "k"},
		{"SPUBLISH", "ch", "m"},
		// Invalid key counts.
		{"ZUNIONSTORE", "d", "0", "a"},
		{"ZUNIONSTORE", "d", "5", "a"},
		{"ZUNION", "-1", "a"},
		{"LMPOP", "0", "a", "LEFT"},
		{"LMPOP", "3", "a", "LEFT"},
		{"BLMPOP", "0", "2", "a", "b", "LEFT"},
		{"SINTERCARD", "x", "a"},
		{"XREAD", "STREAMS", "a", "b", "0"},
		{"XREAD", "COUNT", "1", "a"},
		{"XREADGROUP", "GROUP", "g", "c", "STREAMS", "a", "0"},
		{"GEORADIUS", "k", "1", "1", "1", "m", "STORE"},
		{"SORT", "k", "STORE"},
		{"SORT", "k", "LIMIT", "0", "1", "STORE", "d"},
		{"GET"},
		{"NOSUCH", "k"},
		{"PING"},
	} {
		for _, sub := range []string{"GETKEYS", "GETKEYSANDFLAGS"} {
			compareCmd(t, cairn, redis, append([]string{"COMMAND", sub}, cmd...)...)
		}
	}
	if checked < 100 {
		t.Fatalf("only %d commands with keys checked", checked)
	}
	t.Logf("%d commands with keys checked", checked)
}

func compareCmd(t *testing.T, cairn, redis *commandtest.Client, cmd ...string) {
	t.Helper()
	want, err := redis.Do(cmd...)
	if err != nil {
		t.Fatal(err)
	}
	got, err := cairn.Do(cmd...)
	if err != nil {
		t.Fatal(err)
	}
	if !reply.Equal(got, want) {
		t.Errorf("%q: cairn %v, redis %v", cmd[1:], got, want)
	}
}
