package session

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// nodeBackend is a cluster backend with a node secret whose CLUSTER
// command reports that it ran (other methods of the nil embedded
// interface panic: they must not be reached).
type nodeBackend struct {
	Backend
	cfg *memConfig
}

func (b nodeBackend) Config() keyspace.Config           { return b.cfg.Config() }
func (b nodeBackend) SetConfig(pairs [][2]string) error { return b.cfg.SetConfig(pairs) }

func (nodeBackend) NodeSecret() string                { return "0123456789abcdef0123456789abcdef" }
func (nodeBackend) ClusterEnabled() bool              { return true }
func (nodeBackend) Cluster(args [][]byte) reply.Value { return reply.Status("RAN " + string(args[1])) }

// TestInternalCommandsNeedNodeAuth: CLUSTER SLOTOP and PUBSUB
// LOCALPUBLISH/LOCALSPUBLISH do not exist for a client, even one that
// gave the password; a connection authenticated as a node (AUTH
// cairn-node <secret>) runs them.
func TestInternalCommandsNeedNodeAuth(t *testing.T) {
	s := New(Config{RequirePass: "pw", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, command.NewTable(Specs), nodeBackend{cfg: newMemConfig()})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	dial := func() func(cmd string) string {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { nc.Close() })
		r := bufio.NewReader(nc)
		return func(cmd string) string {
			t.Helper()
			io.WriteString(nc, cmd+"\r\n")
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(l, "\r\n")
		}
	}
	anon := dial()
	if got := anon("CLUSTER SLOTOP 1 STATUS ab cd"); !strings.HasPrefix(got, "-NOAUTH") {
		t.Errorf("unauthenticated SLOTOP: %q", got)
	}
	client := dial()
	if got := client("AUTH pw"); got != "+OK" {
		t.Fatalf("AUTH: %q", got)
	}
	for _, cmd := range []string{"CLUSTER SLOTOP 1 STATUS ab cd", "cluster slotop 1 DROP ab cd", "CLUSTER SLOTOP", "CLUSTER FTSHARD 1 w 0 FT.DROPINDEX idx", "PUBSUB LOCALPUBLISH ch m", "PUBSUB LOCALSPUBLISH ch m"} {
		if got := client(cmd); !strings.HasPrefix(got, "-ERR unknown subcommand") {
			t.Errorf("client ran %q: %q", cmd, got)
		}
	}
	if got := client("CLUSTER INFO"); got != "+RAN INFO" {
		t.Errorf("CLUSTER INFO: %q", got)
	}
	if got := client("AUTH cairn-node pw"); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Errorf("node auth with the password: %q", got)
	}
	if got := client("CLUSTER SLOTOP 1 STATUS ab cd"); !strings.HasPrefix(got, "-ERR unknown subcommand") {
		t.Errorf("after a failed node AUTH: %q", got)
	}
	node := dial()
	if got := node("AUTH cairn-node 0123456789abcdef0123456789abcdef"); got != "+OK" {
		t.Fatalf("node AUTH: %q", got)
	}
	if got := node("CLUSTER SLOTOP 1 STATUS ab cd"); got != "+RAN SLOTOP" {
		t.Errorf("node SLOTOP: %q", got)
	}
	if got := node("RESET"); got != "+RESET" {
		t.Fatalf("RESET: %q", got)
	}
	if got := node("AUTH pw"); got != "+OK" {
		t.Fatalf("AUTH: %q", got)
	}
	if got := node("CLUSTER SLOTOP 1 STATUS ab cd"); !strings.HasPrefix(got, "-ERR unknown subcommand") {
		t.Errorf("SLOTOP after RESET: %q", got)
	}
}

// joinBackend is nodeBackend that also accepts a join credential.
type joinBackend struct{ nodeBackend }

func (joinBackend) JoinSecret() string { return "join-credential-0123456789abcdef" }

// TestAddNodeNeedsNodeAuth: CLUSTER ADDNODE is answered NOPERM to a
// client, even one that gave the default user's password; a connection
// authenticated as a node, with the cluster secret or with the join
// credential a node not yet a member has, runs it.
func TestAddNodeNeedsNodeAuth(t *testing.T) {
	s := New(Config{RequirePass: "pw", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, command.NewTable(Specs), joinBackend{nodeBackend{cfg: newMemConfig()}})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	dial := func() func(cmd string) string {
		nc, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		nc.SetDeadline(time.Now().Add(10 * time.Second))
		t.Cleanup(func() { nc.Close() })
		r := bufio.NewReader(nc)
		return func(cmd string) string {
			t.Helper()
			io.WriteString(nc, cmd+"\r\n")
			l, err := r.ReadString('\n')
			if err != nil {
				t.Fatal(err)
			}
			return strings.TrimRight(l, "\r\n")
		}
	}
	const addnode = "CLUSTER ADDNODE 127.0.0.1:7000 127.0.0.1:6379"
	anon := dial()
	if got := anon(addnode); !strings.HasPrefix(got, "-NOAUTH") {
		t.Errorf("unauthenticated ADDNODE: %q", got)
	}
	client := dial()
	if got := client("AUTH default pw"); got != "+OK" {
		t.Fatalf("AUTH: %q", got)
	}
	for _, cmd := range []string{addnode, "cluster addnode a b"} {
		if got := client(cmd); got != "-"+errNodeOnly {
			t.Errorf("client ran %q: %q", cmd, got)
		}
	}
	// In a transaction: refused at once, and EXEC aborts.
	if got := client("MULTI"); got != "+OK" {
		t.Fatalf("MULTI: %q", got)
	}
	if got := client(addnode); !strings.HasPrefix(got, "-NOPERM") {
		t.Errorf("ADDNODE in MULTI: %q", got)
	}
	if got := client("EXEC"); !strings.HasPrefix(got, "-EXECABORT") {
		t.Errorf("EXEC after a refused ADDNODE: %q", got)
	}
	if got := client("CLUSTER ADDSHARD 1"); got != "+RAN ADDSHARD" {
		t.Errorf("CLUSTER ADDSHARD (not node-only): %q", got)
	}
	if got := client("AUTH cairn-node wrong-credential-0123456789abcd"); !strings.HasPrefix(got, "-WRONGPASS") {
		t.Errorf("node AUTH with a wrong credential: %q", got)
	}
	for _, cred := range []string{"0123456789abcdef0123456789abcdef", "join-credential-0123456789abcdef"} {
		node := dial()
		if got := node("AUTH cairn-node " + cred); got != "+OK" {
			t.Fatalf("node AUTH %s: %q", cred, got)
		}
		if got := node(addnode); got != "+RAN ADDNODE" {
			t.Errorf("node (%s) ADDNODE: %q", cred, got)
		}
	}
}
