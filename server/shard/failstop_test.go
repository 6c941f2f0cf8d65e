package shard_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/entry"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/shard"
)

// The child half of TestLogIOErrorFailStop runs in a subprocess (this test
// binary again) because Dragonboat ends the process on a log I/O error.
const failStopEnv = "CAIRN_FAILSTOP_CHILD"

// failStopChild runs writers on a host whose file system starts failing
// after some acknowledgements; it prints every ack ("ACK key value") as it
// happens and must die of the injected error.
func failStopChild(t *testing.T, spec string) {
	parts := strings.SplitN(spec, ",", 3)
	dir, addr, mode := parts[0], parts[1], parts[2]
	ffs := shard.NewFaultFS(vfs.Default)
	h, err := shard.NewHost(shard.HostConfig{Dir: dir, RaftAddr: addr, RTTMillisecond: 5, FS: ffs})
	if err != nil {
		t.Fatal(err)
	}
	s, err := h.StartShard(shard.Options{SnapshotEntries: 50, CompactionOverhead: 10}, table)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := s.WaitLeader(ctx); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	acks := 0
	armed := make(chan struct{})
	var once sync.Once
	for w := range 4 {
		go func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("k:%d:%d", w, i)
				rs, err := s.Propose(entry.Commands, [][][]byte{args("set", key, strconv.Itoa(i)), args("incr", "ctr:"+strconv.Itoa(w))}).Wait()
				if err != nil {
					fmt.Printf("ERR %v\n", err)
					return
				}
				mu.Lock()
				// One write(2) per line: a line is complete or absent.
				os.Stdout.WriteString(fmt.Sprintf("ACK %s %d ctr:%d %d\n", key, i, w, rs[1].Int))
				acks++
				if acks == 300 {
					once.Do(func() { close(armed) })
				}
				mu.Unlock()
			}
		}()
	}
	<-armed
	switch mode {
	case "eio-sync":
		ffs.FailSyncs(syscall.EIO, "")
	case "enospc-write":
		ffs.FailWrites(syscall.ENOSPC, "")
	}
	time.Sleep(20 * time.Second)
	fmt.Println("STILL ALIVE")
	os.Exit(0)
}

// TestLogIOErrorFailStop: when the Raft log's file system fails a write
// (ENOSPC) or an fsync (EIO), Dragonboat stops the process (it panics: a
// log it cannot append to is unrecoverable in place, and retrying an
// fsync after EIO could report data as durable that the kernel dropped).
// The test checks that the process does stop, that no write is
// acknowledged after the failure, and that a restart on the same
// directory finds every acknowledged write and accepts writes again.
func TestLogIOErrorFailStop(t *testing.T) {
	if spec := os.Getenv(failStopEnv); spec != "" {
		failStopChild(t, spec)
		return
	}
	for _, tc := range []struct{ mode, errText string }{
		{"eio-sync", "input/output error"},
		{"enospc-write", "no space left on device"},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			dir, addr := t.TempDir(), freeAddr(t)
			cmd := exec.Command(os.Args[0], "-test.run=^TestLogIOErrorFailStop$", "-test.count=1")
			cmd.Env = append(os.Environ(), failStopEnv+"="+dir+","+addr+","+tc.mode)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			start := time.Now()
			err := cmd.Run()
			out := stdout.String()
			if strings.Contains(out, "STILL ALIVE") || err == nil {
				t.Fatalf("the process survived a log %s error (err %v)\n%s", tc.mode, err, tail(out+stderr.String()))
			}
			if !strings.Contains(stderr.String()+out, tc.errText) {
				t.Fatalf("the process died without naming the error %q: %v\n%s", tc.errText, err, tail(stderr.String()))
			}
			t.Logf("process stopped after %v: %v", time.Since(start).Round(time.Millisecond), firstLine(stderr.String(), "panic"))

			sets, ctrs := map[string]string{}, map[string]int64{}
			sc := bufio.NewScanner(strings.NewReader(out))
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 5 || f[0] != "ACK" {
					continue
				}
				sets[f[1]] = f[2]
				n, _ := strconv.ParseInt(f[4], 10, 64)
				ctrs[f[3]] = max(ctrs[f[3]], n)
			}
			if len(sets) < 300 {
				t.Fatalf("only %d acks before the fault", len(sets))
			}

			n := start0(t, dir, addr)
			for k, v := range sets {
				check(t, n.read("get", k), reply.BulkString(v), "acknowledged "+k)
			}
			for k, lo := range ctrs {
				got := n.read("get", k)
				if v, _ := strconv.ParseInt(string(got.Str), 10, 64); v < lo {
					t.Fatalf("%s = %v, acknowledged %d", k, got, lo)
				}
			}
			check(t, n.write("set", "after", "restart"), reply.OK, "SET after restart")
			t.Logf("%d acknowledged writes found after the restart", len(sets))
		})
	}
}

// start0 starts a host on dir with the operating system's file system.
func start0(t *testing.T, dir, addr string) *node {
	return start(t, dir, addr, shard.Options{SnapshotEntries: 50, CompactionOverhead: 10})
}

func tail(s string) string {
	if len(s) > 3000 {
		return s[len(s)-3000:]
	}
	return s
}

func firstLine(s, prefix string) string {
	for _, l := range strings.Split(s, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}
