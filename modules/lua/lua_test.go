package lua_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
)

// kvHost is a fake keyspace of strings serving GET, SET and INCR.
type kvHost struct{ kv map[string]string }

func (h *kvHost) Call(args [][]byte) ([]byte, error) {
	if h.kv == nil {
		h.kv = map[string]string{}
	}
	switch strings.ToUpper(string(args[0])) {
	case "GET":
		v, ok := h.kv[string(args[1])]
		if !ok {
			return []byte("_\r\n"), nil
		}
		return []byte("$" + itoa(len(v)) + "\r\n" + v + "\r\n"), nil
	case "SET":
		h.kv[string(args[1])] = string(args[2])
		return []byte("+OK\r\n"), nil
	case "PING":
		return []byte("+PONG\r\n"), nil
	}
	return nil, errors.New("ERR unknown command '" + string(args[0]) + "'")
}

func itoa(n int) string {
	s := ""
	for {
		s = string(rune('0'+n%10)) + s
		n /= 10
		if n == 0 {
			return s
		}
	}
}

func run(t testing.TB, h modules.Host, src string, keys, args []string) string {
	t.Helper()
	s := lua.Script{SHA: modules.ScriptSHA([]byte(src)), Source: []byte(src), Prepared: true}
	for _, k := range keys {
		s.Keys = append(s.Keys, []byte(k))
	}
	for _, a := range args {
		s.Args = append(s.Args, []byte(a))
	}
	r, _, err := lua.Run(context.Background(), h, s)
	if err != nil {
		return "error: " + err.Error()
	}
	return string(r)
}

func TestRun(t *testing.T) {
	luatest.Ensure(t)
	h := &kvHost{}
	start := time.Now()
	if _, err := lua.Library(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Logf("interpreter load: %v", time.Since(start))
	cases := []struct{ src, want string }{
		{"return 1", ":1\r\n"},
		{"return 'a'", "$1\r\na\r\n"},
		{"return {1,'x',{2}}", "*3\r\n:1\r\n$1\r\nx\r\n*1\r\n:2\r\n"},
		{"return redis.call('set', KEYS[1], ARGV[1])", "+OK\r\n"},
		{"return redis.call('get', KEYS[1])", "$1\r\nv\r\n"},
		{"return redis.call('get', 'nokey')", "$-1\r\n"},
		{"while true do end", "error: " + lua.ErrFuel.Error()},
		{"return redis.call('nosuch')", "-ERR unknown command 'nosuch' script: "},
	}
	for _, c := range cases {
		got := run(t, h, c.src, []string{"k"}, []string{"v"})
		if !strings.HasPrefix(got, c.want) {
			t.Errorf("%s = %q, want %q", c.src, got, c.want)
		}
	}
}
