package zsets

import (
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/reply"
)

// Regressions found by the apply-path fuzzer (server/shard FuzzApply).

// TestRegressMpopHugeNumkeys: a numkeys near MaxInt64 overflowed the
// position of MIN|MAX and indexed args out of range (a panic at apply).
// Redis answers a syntax error.
func TestRegressMpopHugeNumkeys(t *testing.T) {
	h := commandtest.New(t, Specs)
	h.Do("zadd", "z", "1", "a")
	syntax := reply.Error("ERR syntax error")
	for _, args := range [][]string{
		{"zmpop", "9223372036854775807", "z", "min"},
		{"zmpop", "9223372036854775807", "z", "{k1}x"},
		{"zmpop", "9223372036854775806", "z", "max", "count", "1"},
		{"bzmpop", "0", "9223372036854775807", "z", "min"},
		{"zmpop", "2", "z", "min"},
	} {
		if v := h.Do(args...); !reply.Equal(v, syntax) {
			t.Errorf("%q = %v, want %v", args, v, syntax)
		}
	}
	if v := h.Do("zmpop", "1", "z", "min"); v.Kind != reply.KindArray {
		t.Fatalf("zmpop 1 z min = %v", v)
	}
}
