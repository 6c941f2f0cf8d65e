package streams

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
)

var fuzzKeys = []string{"s", "e", "str", "none"}

// fuzzNames lists every command and subcommand.
func fuzzNames() [][]string {
	var out [][]string
	for _, s := range Specs {
		if len(s.Sub) == 0 {
			out = append(out, []string{s.Name})
			continue
		}
		for _, sub := range s.Sub {
			out = append(out, []string{s.Name, sub.Name[len(s.Name)+1:]})
		}
	}
	return out
}

func fuzzHarness(t *testing.T) *commandtest.Harness {
	h := commandtest.New(t, Specs)
	for _, args := range [][]string{
		{"XADD", "s", "1-1", "a", "1"}, {"XADD", "s", "1-2", "a", "2", "b", "x"}, {"XADD", "s", "2-1", "c", "3"},
		{"XADD", "s", "3-1", "a", "4"}, {"XGROUP", "CREATE", "s", "g", "0"}, {"XGROUP", "CREATE", "s", "h", "$"},
		{"XREADGROUP", "GROUP", "g", "c1", "COUNT", "2", "STREAMS", "s", ">"}, {"XDEL", "s", "1-2"},
		{"XADD", "e", "1-1", "a", "1"}, {"XDEL", "e", "1-1"},
	} {
		if v := h.Do(args...); v.IsError() {
			t.Fatalf("%q: %s", args, v)
		}
	}
	h.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return h
}

func fuzzDump(t *testing.T, h *commandtest.Harness) string {
	var b strings.Builder
	for _, k := range fuzzKeys {
		it := h.DB.Peek([]byte(k))
		switch {
		case it == nil:
			b.WriteString(k + ":-;")
		case it.Obj == nil:
			b.WriteString(k + ":s=" + string(it.Str) + ";")
		default:
			s := it.Obj.(*keyspace.Stream)
			if err := s.Verify(); err != nil {
				t.Fatalf("%s: %v", k, err)
			}
			b.WriteString(k + ":" + dumpStream(s) + ";")
		}
	}
	return b.String()
}

// FuzzArgs runs every stream command with arbitrary arguments: no input
// may panic, errors are well formed, a failed command changes nothing, and
// the streams' invariants hold afterwards.
func FuzzArgs(f *testing.F) {
	f.Add(uint8(1), uint8(0), uint8(4), []byte("MAXLEN"), []byte("~"), []byte("1"), []byte("*"), []byte("f"), []byte("v"))
	f.Add(uint8(1), uint8(0), uint8(5), []byte("MINID"), []byte("="), []byte("2"), []byte("LIMIT"), []byte("3-*"), []byte("v"))
	f.Add(uint8(20), uint8(0), uint8(5), []byte("MAXLEN"), []byte("~"), []byte("0"), []byte("LIMIT"), []byte("5"), []byte(""))
	f.Add(uint8(16), uint8(0), uint8(6), []byte("GROUP"), []byte("g"), []byte("c2"), []byte("STREAMS"), []byte("s"), []byte(">"))
	f.Add(uint8(16), uint8(0), uint8(6), []byte("GROUP"), []byte("g"), []byte("c1"), []byte("NOACK"), []byte("STREAMS"), []byte("s"))
	f.Add(uint8(3), uint8(0), uint8(5), []byte("g"), []byte("c3"), []byte("0"), []byte("1-1"), []byte("FORCE"), []byte("JUSTID"))
	f.Add(uint8(2), uint8(0), uint8(5), []byte("g"), []byte("c3"), []byte("0"), []byte("0"), []byte("COUNT"), []byte("1"))
	f.Add(uint8(17), uint8(0), uint8(3), []byte("-"), []byte("(2-1"), []byte("COUNT"), []byte("1"), []byte(""), []byte(""))
	f.Fuzz(func(t *testing.T, cmd, key, n uint8, a, b, c, d, e, g []byte) {
		h := fuzzHarness(t)
		names := fuzzNames()
		name := names[int(cmd)%len(names)]
		var args [][]byte
		for _, s := range name {
			args = append(args, []byte(s))
		}
		args = append(args, []byte(fuzzKeys[int(key)%len(fuzzKeys)]))
		if len(name) == 2 && name[1] == "help" {
			args = args[:2]
		}
		args = append(args, a, b, c, d, e, g)
		args = args[:len(args)-6+int(n)%7]
		before := fuzzDump(t, h)
		v := h.DoBytes(args)
		after := fuzzDump(t, h)
		if v.IsError() {
			msg := string(v.Str)
			ok := false
			for _, p := range []string{"ERR ", "WRONGTYPE ", "NOGROUP ", "BUSYGROUP "} {
				ok = ok || strings.HasPrefix(msg, p)
			}
			if command.IsBlocked(v) {
				ok = true
			}
			if !ok {
				t.Fatalf("%q: malformed error %q", args, msg)
			}
			if after != before {
				t.Fatalf("%q failed (%s) but changed the keyspace", args, msg)
			}
		}
	})
}

// FuzzParseID checks that ID parsing never panics and that a parsed ID
// prints and parses back to itself.
func FuzzParseID(f *testing.F) {
	for _, s := range []string{"1-1", "-", "+", "(5", "1-*", " 1", "18446744073709551615-18446744073709551615", "1\x00-2"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var seq bool
		for _, strict := range []bool{false, true} {
			id, err := parseID(b, 7, strict, &seq)
			if err != nil {
				continue
			}
			back, err := parseID([]byte(id.String()), 0, true, nil)
			if err != nil || back != id {
				t.Fatalf("%q parsed to %v, which parses back to %v (%v)", b, id, back, err)
			}
		}
		parseRange(b, b)
	})
}
