package session

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// panicBackend panics on every call but Route for SET (unused methods of
// the nil embedded interface panic too).
type panicBackend struct{ Backend }

// Config: the defaults (the session reads the ACL users from it).
func (panicBackend) Config() keyspace.Config { return keyspace.DefaultConfig() }

func (panicBackend) Route(spec *command.Spec, _ [][]byte, _, _ bool) (Route, reply.Value, bool) {
	if spec.Name == "get" {
		var m map[string]int
		m["x"]++ // a bug in the routing layer
	}
	return NodeRoute, reply.Value{}, true
}

func (panicBackend) Read(Route, time.Time, *command.Spec, [][]byte) reply.Value {
	panic("read bug")
}

func (panicBackend) ClusterEnabled() bool { return false }

// TestConnPanicContained: a panic in the connection layer while serving a
// command answers the client an error and the connection — and the node —
// keep serving.
func TestConnPanicContained(t *testing.T) {
	var logs strings.Builder
	sw := &syncWriter{w: &logs}
	s := New(Config{Logger: slog.New(slog.NewTextHandler(sw, nil))}, command.NewTable(Specs, strs.Specs), panicBackend{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	dial := func() (net.Conn, *bufio.Reader) {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { nc.Close() })
		return nc, bufio.NewReader(nc)
	}
	line := func(r *bufio.Reader) string {
		t.Helper()
		l, err := r.ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		return strings.TrimRight(l, "\r\n")
	}
	c1, r1 := dial()
	c2, r2 := dial()
	for range 2 {
		io.WriteString(c1, "GET k\r\nPING\r\nSTRLEN k\r\nECHO hi\r\n")
		for _, want := range []string{"-ERR internal error executing 'get', see the server log", "+PONG",
			"-ERR internal error executing 'strlen', see the server log", "$2", "hi"} {
			if got := line(r1); got != want {
				t.Fatalf("got %q, want %q", got, want)
			}
		}
		io.WriteString(c2, "PING\r\n")
		if got := line(r2); got != "+PONG" {
			t.Fatalf("other connection: %q", got)
		}
	}
	sw.mu.Lock()
	l := logs.String()
	sw.mu.Unlock()
	if !strings.Contains(l, "command=get") || !strings.Contains(l, "assignment to entry in nil map") || !strings.Contains(l, "panic=\"read bug\"") {
		t.Fatalf("logs:\n%s", l)
	}
}

type syncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (s *syncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}
