package shard

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// TestReadTimeoutReply: a read whose barrier timed out answers its own
// retryable error (TRYAGAIN, which go-redis and redis-py retry), never
// the write's UNCERTAIN "may or may not have been applied"; a write's
// timeout keeps UNCERTAIN.
func TestReadTimeoutReply(t *testing.T) {
	// Barrier's mapping: a ReadIndex timeout (ours or Dragonboat's,
	// through mapErr) becomes ErrReadTimeout; other errors pass.
	for _, err := range []error{ErrTimeout, fmt.Errorf("round: %w", ErrTimeout)} {
		if got := readErr(err); got != ErrReadTimeout {
			t.Fatalf("readErr(%v) = %v, want ErrReadTimeout", err, got)
		}
	}
	for _, err := range []error{nil, ErrNotLeader, ErrClosed, ErrHalted} {
		if got := readErr(err); got != err {
			t.Fatalf("readErr(%v) = %v, want it unchanged", err, got)
		}
	}
	r := ErrorReply(ErrReadTimeout)
	if !r.IsError() || string(r.Str) != ReadTimeoutReply || !strings.HasPrefix(ReadTimeoutReply, "TRYAGAIN ") ||
		strings.Contains(ReadTimeoutReply, "may or may not") || strings.Contains(ReadTimeoutReply, "write") {
		t.Fatalf("read timeout reply %q", r.Str)
	}
	if w := string(ErrorReply(ErrTimeout).Str); !strings.HasPrefix(w, "UNCERTAIN write not confirmed") {
		t.Fatalf("write timeout reply %q", w)
	}
	if errors.Is(ErrReadTimeout, ErrTimeout) {
		t.Fatal("ErrReadTimeout must not read as a write's timeout")
	}
}
