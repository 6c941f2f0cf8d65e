package clustertest

// The checkers must catch what they are meant to catch: these feed them
// hand-made histories with known anomalies.

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const ms = int64(time.Millisecond)

func TestRegisterCheckerCatchesStaleRead(t *testing.T) {
	ok := []regOp{
		{Client: 0, Key: "k", Write: true, Value: "a", Call: 0, Ret: 10 * ms, Out: outOK},
		{Client: 1, Key: "k", Write: true, Value: "b", Call: 20 * ms, Ret: 30 * ms, Out: outOK},
		{Client: 2, Key: "k", Value: "b", Call: 40 * ms, Ret: 50 * ms, Out: outOK},
		// Concurrent with the write of c: either value is fine.
		{Client: 0, Key: "k", Write: true, Value: "c", Call: 60 * ms, Ret: 90 * ms, Out: outOK},
		{Client: 1, Key: "k", Value: "b", Call: 65 * ms, Ret: 70 * ms, Out: outOK},
		{Client: 2, Key: "other", Value: "", Call: 0, Ret: 5 * ms, Out: outOK},
	}
	if res, msg := checkLinearizable(buildRegHistory(ok), time.Minute, t.TempDir()); res != porcupine.Ok {
		t.Fatalf("linearizable history rejected: %s", msg)
	}
	// A read after the write of b returned that still sees a.
	stale := append(ok[:3:3], regOp{Client: 1, Key: "k", Value: "a", Call: 55 * ms, Ret: 58 * ms, Out: outOK})
	dir := t.TempDir()
	res, msg := checkLinearizable(buildRegHistory(stale), time.Minute, dir)
	if res != porcupine.Illegal {
		t.Fatalf("stale read accepted: %v", res)
	}
	for _, f := range []string{"history.html", "key-k.txt"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil || !strings.Contains(msg, f) {
			t.Errorf("failure report lacks %s: %v; %s", f, err, msg)
		}
	}
	// A value appears that nobody wrote.
	phantom := append(ok[:3:3], regOp{Client: 1, Key: "k", Value: "zz", Call: 55 * ms, Ret: 58 * ms, Out: outOK})
	if res, _ := checkLinearizable(buildRegHistory(phantom), time.Minute, t.TempDir()); res != porcupine.Illegal {
		t.Fatalf("phantom read accepted: %v", res)
	}
}

func TestRegisterCheckerUnknownWrites(t *testing.T) {
	h := []regOp{
		{Client: 0, Key: "k", Write: true, Value: "a", Call: 0, Ret: 10 * ms, Out: outOK},
		// Timed out; applied later, as a read shows.
		{Client: 1, Key: "k", Write: true, Value: "u", Call: 20 * ms, Ret: 30 * ms, Out: outUnknown},
		{Client: 2, Key: "k", Value: "a", Call: 40 * ms, Ret: 50 * ms, Out: outOK},
		{Client: 2, Key: "k", Value: "u", Call: 60 * ms, Ret: 70 * ms, Out: outOK},
		// Timed out and never seen: dropped.
		{Client: 1, Key: "k", Write: true, Value: "v", Call: 80 * ms, Ret: 90 * ms, Out: outUnknown},
		// Failed reads are dropped.
		{Client: 2, Key: "k", Value: "", Call: 95 * ms, Ret: 99 * ms, Out: outUnknown},
	}
	rh := buildRegHistory(h)
	if rh.UnknownKept != 1 || rh.UnknownDropped != 1 || len(rh.Ops) != 4 {
		t.Fatalf("kept %d, dropped %d, ops %d", rh.UnknownKept, rh.UnknownDropped, len(rh.Ops))
	}
	if res, msg := checkLinearizable(rh, time.Minute, t.TempDir()); res != porcupine.Ok {
		t.Fatalf("history with a late unknown write rejected: %s", msg)
	}
	// The unknown write is seen, then the older value again: illegal.
	bad := append(h[:4:4], regOp{Client: 0, Key: "k", Value: "a", Call: 80 * ms, Ret: 85 * ms, Out: outOK})
	if res, _ := checkLinearizable(buildRegHistory(bad), time.Minute, t.TempDir()); res != porcupine.Illegal {
		t.Fatalf("flip-flop accepted: %v", res)
	}
	// A refused write whose value is read.
	refused := []regOp{
		{Client: 0, Key: "k", Write: true, Value: "r", Call: 0, Ret: 10 * ms, Out: outRefused, Err: "MOVED 1 x"},
		{Client: 1, Key: "k", Value: "r", Call: 20 * ms, Ret: 30 * ms, Out: outOK},
	}
	if res, msg := checkLinearizable(buildRegHistory(refused), time.Minute, t.TempDir()); res != porcupine.Illegal || !strings.Contains(msg, "refused") {
		t.Fatalf("applied refused write accepted: %v %s", res, msg)
	}
}

func TestAppendChecker(t *testing.T) {
	apps := []appendOp{
		{Client: 0, Seq: 1, Key: "a", Token: "c0-1", Call: 0, Ret: 10 * ms, Out: outOK},
		{Client: 0, Seq: 2, Key: "a", Token: "c0-2", Call: 20 * ms, Ret: 30 * ms, Out: outUnknown},
		{Client: 0, Seq: 3, Key: "a", Token: "c0-3", Call: 40 * ms, Ret: 50 * ms, Out: outOK},
		{Client: 1, Seq: 1, Key: "a", Token: "c1-1", Call: 5 * ms, Ret: 45 * ms, Out: outOK},
		{Client: 1, Seq: 2, Key: "a", Token: "c1-2", Call: 60 * ms, Ret: 70 * ms, Out: outRefused, Err: "CLUSTERDOWN"},
		{Client: 1, Seq: 3, Key: "b", Token: "c1-3", Call: 80 * ms, Ret: 90 * ms, Out: outUnknown},
	}
	reads := []appendRead{
		{Client: 2, Key: "a", Value: "c0-1,", Call: 12 * ms, Ret: 15 * ms},
		{Client: 2, Key: "a", Value: "c0-1,c1-1,c0-2,c0-3,", Call: 55 * ms, Ret: 58 * ms},
	}
	good := map[string]string{"a": "c0-1,c1-1,c0-2,c0-3,", "b": ""}
	st, problems := checkAppends(apps, reads, good)
	if len(problems) != 0 {
		t.Fatalf("correct history rejected: %v", problems)
	}
	if st.Acked != 3 || st.Unknown != 2 || st.Refused != 1 || st.UnknownApplied != 1 || st.Reads != 2 || st.FinalTokens != 4 {
		t.Fatalf("stats %+v", st)
	}
	cases := []struct {
		name  string
		final map[string]string
		reads []appendRead
		want  string
	}{
		{"lost", map[string]string{"a": "c0-1,c0-2,c0-3,"}, nil, "lost"},
		{"duplicate", map[string]string{"a": "c0-1,c1-1,c0-3,c0-3,"}, nil, "applied 2 times"},
		{"duplicate unknown", map[string]string{"a": "c0-1,c1-1,c0-2,c0-3,c0-2,"}, nil, "applied 2 times"},
		{"reordered", map[string]string{"a": "c0-3,c1-1,c0-1,"}, nil, "comes before"},
		{"refused applied", map[string]string{"a": "c0-1,c1-1,c0-3,c1-2,"}, nil, "refused"},
		{"never sent", map[string]string{"a": "c0-1,c1-1,c0-3,c9-9,"}, nil, "never sent"},
		{"wrong key", map[string]string{"a": "c0-1,c1-1,c0-3,", "b": "c0-1,"}, nil, "appended to key"},
		{"torn", map[string]string{"a": "c0-1,c1-1,c0-3"}, nil, "does not end"},
		{"read not prefix", good, []appendRead{{Key: "a", Value: "c1-1,", Call: 60 * ms, Ret: 61 * ms}}, "not a prefix"},
		{"stale read after read", good, []appendRead{
			{Key: "a", Value: "c0-1,c1-1,", Call: 60 * ms, Ret: 61 * ms},
			{Key: "a", Value: "c0-1,", Call: 62 * ms, Ret: 63 * ms},
		}, "had seen"},
		{"stale read after ack", good, []appendRead{{Key: "a", Value: "c0-1,", Call: 51 * ms, Ret: 52 * ms}}, "acknowledged before the read"},
	}
	for _, tc := range cases {
		_, problems := checkAppends(apps, tc.reads, tc.final)
		if !strings.Contains(strings.Join(problems, "\n"), tc.want) {
			t.Errorf("%s: want a problem mentioning %q, got %q", tc.name, tc.want, problems)
		}
	}
}

func TestErrorClassification(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want outcome
	}{
		{nil, outOK},
		{errors.New("MOVED 42 127.0.0.1:7000"), outRefused},
		{errors.New("CLUSTERDOWN The cluster is down"), outRefused},
		{errors.New("TRYAGAIN slot 42 is being moved, try again"), outRefused},
		{errors.New("TRYAGAIN write not confirmed by the Raft log in time; it may or may not have been applied"), outUnknown},
		{errors.New("UNCERTAIN write not confirmed by the Raft log in time; it may or may not have been applied"), outUnknown},
		{&ambiguousError{msg: "MOVED 42 127.0.0.1:7000"}, outUnknown},
		{errors.New("i/o timeout"), outUnknown},
		{errors.New("ERR server is shutting down"), outUnknown},
		{fmt.Errorf("redis: connection pool: failed to dial: %w", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}), outRefused},
		{&net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, outUnknown},
	} {
		if got := classify(tc.err); got != tc.want {
			t.Errorf("classify(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
	keys := spreadKeys("x", 5)
	if len(keys) != 5 {
		t.Fatalf("spreadKeys: %v", keys)
	}
}
