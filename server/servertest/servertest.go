// Package servertest starts Cairn nodes for tests: in-process on loopback
// under t.TempDir(), or as separate cairn processes that tests may SIGKILL.
package servertest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
)

// FreePort returns a loopback TCP port that was free a moment ago.
//
// The port comes from below Linux's ephemeral range (32768 and up by
// default): a port picked there by listening on :0 and closing again can
// be taken, before the node binds it, by any outgoing connection of the
// tests running in parallel (seen in CI: "bind: address already in use").
// Below the range only another listener can take it; each port is checked
// free and never handed out twice in this process.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	for tries := 0; tries < 10000; tries++ {
		port := 20000 + rand.IntN(12000)
		if portsUsed[port] {
			continue
		}
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			continue
		}
		l.Close()
		portsUsed[port] = true
		return port
	}
	t.Fatal("no free port below the ephemeral range")
	return 0
}

var (
	portsMu   sync.Mutex
	portsUsed = map[int]bool{}
)

// Node is an in-process node.
type Node struct {
	*server.Node
	Cfg server.Config
}

// Start starts a node in-process with data under a fresh temp dir. mod may
// adjust the configuration. The node is closed when the test ends.
//
// A port FreePort found free can be taken by another process (another
// test binary's outgoing connection) before the node binds it; Start then
// tries again on fresh ports rather than failing the test.
func Start(t testing.TB, mod ...func(*server.Config)) *Node {
	t.Helper()
	for attempt := 1; ; attempt++ {
		cfg := server.Config{
			Port:     FreePort(t),
			Dir:      t.TempDir(),
			RaftAddr: "127.0.0.1:" + strconv.Itoa(FreePort(t)),
			Logger:   slog.New(slog.NewTextHandler(io.Discard, nil)),
		}
		for _, m := range mod {
			m(&cfg)
		}
		n, err := server.Start(cfg)
		if err != nil && attempt < 5 && isAddrInUse(err) {
			t.Logf("start node: %v; trying other ports", err)
			continue
		}
		if err != nil {
			t.Fatalf("start node: %v", err)
		}
		t.Cleanup(n.Close)
		return &Node{Node: n, Cfg: cfg}
	}
}

func isAddrInUse(err error) bool {
	return errors.Is(err, syscall.EADDRINUSE) || strings.Contains(err.Error(), "address already in use")
}

// Restart starts a node with an explicit configuration (e.g. the Dir of a
// node that was closed) and closes it when the test ends.
func Restart(t testing.TB, cfg server.Config) *Node {
	t.Helper()
	n, err := server.Start(cfg)
	if err != nil {
		t.Fatalf("start node: %v", err)
	}
	t.Cleanup(n.Close)
	return &Node{Node: n, Cfg: cfg}
}

// Client returns a go-redis client for the node, closed at test end.
func (n *Node) Client(t testing.TB, mod ...func(*redis.Options)) *redis.Client {
	return Client(t, n.Addr(), mod...)
}

// Client returns a go-redis client for addr, closed at test end.
func Client(t testing.TB, addr string, mod ...func(*redis.Options)) *redis.Client {
	opt := &redis.Options{Addr: addr, Protocol: 2, MaxRetries: -1, DialTimeout: 5 * time.Second,
		ReadTimeout: 30 * time.Second, WriteTimeout: 30 * time.Second}
	for _, m := range mod {
		m(opt)
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// Binary builds the cairn binary once per test process and returns its
// path.
func Binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		dir, err := os.MkdirTemp("", "cairn-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "cairn")
		cmd := exec.Command("go", "build", "-o", binPath, ".")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// Process is a cairn process started by a test.
type Process struct {
	Bin, Dir   string
	Port, Raft int
	Args       []string
	cmd        *exec.Cmd
	Log        *os.File
	t          testing.TB
	exited     chan struct{}
}

// StartProcess starts bin as a separate process with its data in dir and
// waits until it answers PING.
func StartProcess(t testing.TB, bin, dir string, extra ...string) *Process {
	t.Helper()
	p := &Process{Bin: bin, Dir: dir, Port: FreePort(t), Raft: FreePort(t), Args: extra, t: t}
	t.Cleanup(func() { p.Kill() })
	for attempt := 1; ; attempt++ {
		err := p.Start()
		if err == nil {
			return p
		}
		// Ports taken between FreePort and the bind: fresh ones (see
		// Start). The Raft address is kept unless it was the one taken:
		// the node may have recorded it in its data dir already, which
		// then refuses another (a node's Raft address cannot change); when
		// it was, the node never ran Raft and its dir starts over.
		if log, _ := os.ReadFile(p.Dir + ".log"); attempt < 5 && strings.Contains(string(log), "address already in use") {
			p.Kill()
			os.Remove(p.Dir + ".log")
			if strings.Contains(string(log), "127.0.0.1:"+strconv.Itoa(p.Raft)+": bind") {
				os.RemoveAll(p.Dir)
				p.Raft = FreePort(t)
			}
			p.Port = FreePort(t)
			continue
		}
		t.Fatal(err)
	}
}

// Addr is the client address.
func (p *Process) Addr() string { return "127.0.0.1:" + strconv.Itoa(p.Port) }

// Start (re)starts the process on its ports and data dir and waits until it
// serves.
func (p *Process) Start() error {
	if err := p.Launch(); err != nil {
		return err
	}
	return p.WaitReady(60 * time.Second)
}

// Launch (re)starts the process without waiting for it to serve (cluster
// nodes serve only once a quorum of peers runs).
func (p *Process) Launch() error {
	args := append([]string{"--port", strconv.Itoa(p.Port), "--dir", p.Dir,
		"--raft-addr", "127.0.0.1:" + strconv.Itoa(p.Raft), "--loglevel", "info"}, p.Args...)
	p.cmd = exec.Command(p.Bin, args...)
	logf, err := os.OpenFile(filepath.Join(p.Dir+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.Log = logf
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		return err
	}
	p.exited = make(chan struct{})
	go func(cmd *exec.Cmd, ch chan struct{}) { cmd.Wait(); close(ch) }(p.cmd, p.exited)
	return nil
}

// NewProcess prepares (without starting) a process of bin with its data
// in dir, on fresh ports; it is killed when the test ends.
func NewProcess(t testing.TB, bin, dir string, extra ...string) *Process {
	p := &Process{Bin: bin, Dir: dir, Port: FreePort(t), Raft: FreePort(t), Args: extra, t: t}
	t.Cleanup(func() { p.Kill() })
	return p
}

// Signal sends sig (SIGSTOP and SIGCONT pause and resume the process).
func (p *Process) Signal(sig os.Signal) error { return p.cmd.Process.Signal(sig) }

// WaitReady waits until the process answers PING.
func (p *Process) WaitReady(timeout time.Duration) error {
	c := redis.NewClient(&redis.Options{Addr: p.Addr(), MaxRetries: -1, DialTimeout: time.Second})
	defer c.Close()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			// The log is under the test's temporary directory, gone once
			// the test ends: say its end here.
			log, _ := os.ReadFile(p.Dir + ".log")
			if len(log) > 2000 {
				log = log[len(log)-2000:]
			}
			return fmt.Errorf("cairn exited during start-up; %s.log ends:\n%s", p.Dir, log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		err := c.Ping(ctx).Err()
		cancel()
		if err == nil {
			return nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fmt.Errorf("cairn not ready after %v", timeout)
}

// Kill sends SIGKILL and waits for the process to die.
func (p *Process) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	select {
	case <-p.exited:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGCONT)
	p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.exited
	if p.Log != nil {
		p.Log.Close()
	}
}

// Stop sends SIGTERM and waits for a clean exit.
func (p *Process) Stop() error {
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
	case <-time.After(30 * time.Second):
		p.Kill()
		return fmt.Errorf("cairn did not stop on SIGTERM")
	}
	if p.Log != nil {
		p.Log.Close()
	}
	if code := p.cmd.ProcessState.ExitCode(); code != 0 {
		return fmt.Errorf("cairn exited with code %d", code)
	}
	return nil
}
