package hashes

import (
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
)

// TestHScanGuarantee checks SCAN's guarantee on a 10k-field hash: a field
// present for the whole iteration is returned at least once, while other
// fields are added and removed between calls, and nothing is returned that
// was never in the hash.
func TestHScanGuarantee(t *testing.T) {
	h := commandtest.New(t, Specs)
	rng := rand.New(rand.NewPCG(1, 2))
	args := []string{"HSET", "h"}
	for i := 0; i < 5000; i++ {
		args = append(args, "stable:"+strconv.Itoa(i), "v", "temp:"+strconv.Itoa(i), "v")
	}
	h.Check("10000", args...)
	ever := map[string]bool{}
	for i := 0; i < 5000; i++ {
		ever["stable:"+strconv.Itoa(i)] = true
		ever["temp:"+strconv.Itoa(i)] = true
	}
	seen := map[string]int{}
	cursor := "0"
	added := 0
	for calls := 0; ; calls++ {
		if calls > 10000 {
			t.Fatal("iteration does not end")
		}
		count := 1 + rng.IntN(50)
		v := h.Do("HSCAN", "h", cursor, "COUNT", strconv.Itoa(count))
		if v.IsError() || len(v.Elems) != 2 {
			t.Fatalf("HSCAN: %s", v)
		}
		kv := v.Elems[1].Elems
		for j := 0; j < len(kv); j += 2 {
			f := string(kv[j].Str)
			if !ever[f] {
				t.Fatalf("HSCAN returned %q, never in the hash", f)
			}
			seen[f]++
		}
		cursor = v.Elems[0].String()
		if cursor == "0" {
			break
		}
		// Churn: remove some temporary fields, add new ones, remove
		// some new ones again.
		for k := 0; k < 20; k++ {
			h.Do("HDEL", "h", "temp:"+strconv.Itoa(rng.IntN(5000)))
			f := "new:" + strconv.Itoa(added)
			added++
			ever[f] = true
			h.Check("1", "HSET", "h", f, "v")
			if rng.IntN(2) == 0 {
				h.Do("HDEL", "h", "new:"+strconv.Itoa(rng.IntN(added)))
			}
		}
	}
	for i := 0; i < 5000; i++ {
		if seen["stable:"+strconv.Itoa(i)] == 0 {
			t.Fatalf("stable:%d never returned", i)
		}
	}
	// Without churn a full iteration returns every field exactly once.
	n := int(h.Do("HLEN", "h").Int)
	seen = map[string]int{}
	cursor = "0"
	for {
		v := h.Do("HSCAN", "h", cursor, "COUNT", "97")
		kv := v.Elems[1].Elems
		for j := 0; j < len(kv); j += 2 {
			seen[string(kv[j].Str)]++
		}
		if cursor = v.Elems[0].String(); cursor == "0" {
			break
		}
	}
	if len(seen) != n {
		t.Fatalf("full scan saw %d of %d fields", len(seen), n)
	}
	for f, c := range seen {
		if c != 1 {
			t.Fatalf("%s returned %d times", f, c)
		}
	}
}
