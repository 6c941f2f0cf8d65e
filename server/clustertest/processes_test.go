package clustertest

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/servertest"
)

// startProcesses bootstraps a cluster of n cairn processes of bin (node
// i+1 in root/node<i+1>, peers over loopback TCP) and waits until each
// serves. mod, if set, adjusts a process before it is launched.
func startProcesses(t *testing.T, bin string, n int, mod func(i int, p *servertest.Process)) []*servertest.Process {
	t.Helper()
	root := t.TempDir()
	procs := make([]*servertest.Process, n)
	var peers []string
	for i := range procs {
		procs[i] = servertest.NewProcess(t, bin, fmt.Sprintf("%s/node%d", root, i+1))
		peers = append(peers, fmt.Sprintf("%d=127.0.0.1:%d", i+1, procs[i].Raft))
	}
	for i, p := range procs {
		if mod != nil {
			mod(i, p)
		}
		p.Args = []string{"--node-id", strconv.Itoa(i + 1), "--peers", strings.Join(peers, ","), "--raft-secret", "processes-test-raft-secret"}
		if err := p.Launch(); err != nil {
			t.Fatal(err)
		}
	}
	for _, p := range procs {
		if err := p.WaitReady(60 * time.Second); err != nil {
			t.Fatal(err)
		}
	}
	return procs
}
