package session

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// echoBackend answers every proposed write with its arguments joined by
// spaces, so a test sees exactly what reached the backend, and records
// how many log entries (batches) it was given. Reads are not expected.
type echoBackend struct {
	Backend
	mu      sync.Mutex
	batches int
}

// Config: the defaults (the ACL users are Redis's initial ones).
func (b *echoBackend) Config() keyspace.Config { return keyspace.DefaultConfig() }

type donePending []reply.Value

func (p donePending) Wait() ([]reply.Value, error) { return p, nil }

func (b *echoBackend) Route(*command.Spec, [][]byte, bool, bool) (Route, reply.Value, bool) {
	return NodeRoute, reply.Value{}, true
}

func (b *echoBackend) Propose(_ Route, cmds [][][]byte) Pending {
	b.mu.Lock()
	b.batches++
	b.mu.Unlock()
	out := make(donePending, len(cmds))
	for i, cmd := range cmds {
		out[i] = reply.Bulk(bytes.Join(cmd, []byte(" ")))
	}
	return out
}

func (b *echoBackend) ClusterEnabled() bool { return false }

// TestPipelinedWritesAcrossReads pipelines writes with growing argument
// counts (so the reused argument lists and arena grow inside a batch),
// a huge bulk argument, and connection commands that flush the batch in
// the middle; the input arrives in chunks of random sizes, so commands
// and bulk strings span the reader's buffer boundaries. Every write must
// reach the backend intact and every reply come back in order.
func TestPipelinedWritesAcrossReads(t *testing.T) {
	be := &echoBackend{}
	s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, command.NewTable(Specs, strs.Specs), be)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(ln)
	defer s.Close()
	nc, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(30 * time.Second))

	var in bytes.Buffer
	var want []string
	cmd := func(args ...string) {
		fmt.Fprintf(&in, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&in, "$%d\r\n%s\r\n", len(a), a)
		}
	}
	huge := strings.Repeat("h", 3<<20+17)
	for round := 0; round < 3; round++ {
		for i := 0; i < 300; i++ {
			switch {
			case i%97 == 50:
				cmd("PING")
				want = append(want, "+PONG")
			case i%61 == 30:
				cmd("SET", "big", huge)
				want = append(want, "$"+strconv.Itoa(len("SET big ")+len(huge)))
			case i%7 == 3:
				// MSET with a growing number of pairs.
				args := []string{"MSET"}
				for j := 0; j <= i; j++ {
					args = append(args, "k"+strconv.Itoa(j), "v"+strconv.Itoa(round*1000+i))
				}
				cmd(args...)
				want = append(want, "$"+strconv.Itoa(len(strings.Join(args, " "))))
			default:
				k, v := "key:"+strconv.Itoa(i), "val:"+strconv.Itoa(round)+":"+strconv.Itoa(i)
				cmd("SET", k, v)
				want = append(want, "$"+strconv.Itoa(len("SET "+k+" "+v)), "SET "+k+" "+v)
			}
		}
	}
	data := in.Bytes()
	go func() {
		rng := rand.New(rand.NewPCG(1, 2))
		for len(data) > 0 {
			n := min(len(data), 1+rng.IntN(40000))
			if _, err := nc.Write(data[:n]); err != nil {
				return
			}
			data = data[n:]
			if rng.IntN(4) == 0 {
				time.Sleep(time.Millisecond)
			}
		}
	}()
	r := bufio.NewReaderSize(nc, 1<<16)
	for i := 0; i < len(want); i++ {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reply line %d: %v", i, err)
		}
		line = strings.TrimSuffix(line, "\r\n")
		if line != want[i] {
			t.Fatalf("reply line %d: got %.80q, want %.80q", i, line, want[i])
		}
		if line[0] != '$' {
			continue
		}
		n, _ := strconv.Atoi(line[1:])
		body := make([]byte, n+2)
		if _, err := io.ReadFull(r, body); err != nil {
			t.Fatal(err)
		}
		got := string(body[:n])
		switch {
		case strings.HasPrefix(got, "SET big "):
			if got[len("SET big "):] != huge {
				t.Fatalf("reply %d: huge argument corrupted", i)
			}
		case strings.HasPrefix(got, "MSET "):
			f := strings.Fields(got)
			for j := 1; j+1 < len(f); j += 2 {
				if f[j] != "k"+strconv.Itoa((j-1)/2) || f[j+1] != f[2] {
					t.Fatalf("reply %d: MSET arguments corrupted at %d: %.200q", i, j, got)
				}
			}
		default:
			if i+1 >= len(want) || got != want[i+1] {
				t.Fatalf("reply %d: got %.80q", i, got)
			}
			i++ // the body line was listed in want
		}
	}
	be.mu.Lock()
	defer be.mu.Unlock()
	if be.batches >= 900 {
		t.Errorf("%d proposals for 900 pipelined commands: writes were not batched", be.batches)
	}
}

func TestIsInternal(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		want bool
	}{
		{"CLUSTER SLOTOP", true},
		{"cluster slotop 1 x", true},
		{"Cluster SlotOp", true},
		{"PUBSUB LOCALPUBLISH ch m", true},
		{"pubsub localspublish ch m", true},
		{"CLUSTER INFO", false},
		{"CLUSTER", false},
		{"PUBSUB CHANNELS", false},
		{"GET slotop", false},
		{"CLUSTERS SLOTOP", false},
		{"CLUSTER SLOTOPS", false},
		{"CLUSTER " + strings.Repeat("x", 40), false},
		{"PUBSUB LOCALPUBLISHX", false},
	} {
		var args [][]byte
		for _, f := range strings.Fields(tc.cmd) {
			args = append(args, []byte(f))
		}
		if got := isInternal(args); got != tc.want {
			t.Errorf("isInternal(%q) = %v, want %v", tc.cmd, got, tc.want)
		}
	}
	args := [][]byte{[]byte("GET"), []byte("key")}
	if n := testing.AllocsPerRun(100, func() { isInternal(args) }); n != 0 {
		t.Errorf("isInternal allocates %v times per call", n)
	}
}

// TestAddWriteNoAlloc: once a connection's batch buffers have grown,
// collecting pipelined writes allocates nothing per command.
func TestAddWriteNoAlloc(t *testing.T) {
	tbl := command.NewTable(Specs, strs.Specs)
	args := [][]byte{[]byte("SET"), []byte("key:000000012345"), []byte("xyz")}
	spec, err := tbl.Resolve(args)
	if err != nil {
		t.Fatal(err)
	}
	c := &client{}
	burst := func() {
		for i := 0; i < 16; i++ {
			c.addWrite(spec, args)
		}
		c.resetBatch()
	}
	burst()
	if n := testing.AllocsPerRun(100, burst); n != 0 {
		t.Errorf("%v allocations per burst of 16 writes", n)
	}
}
