package keys

import (
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
)

// TestObjectFreqUnderLFU: under an LFU maxmemory-policy OBJECT FREQ is
// the key's logarithmic access counter (5 for a new key, growing with
// reads, decaying by one a minute without access) and OBJECT IDLETIME is
// Redis's error; under any other policy it is the other way round.
func TestObjectFreqUnderLFU(t *testing.T) {
	h := newHarness(t)
	h.DB.Cfg.MaxMemoryPolicy = keyspace.AllKeysLFU
	h.Check("OK", "SET", "k", "hello")
	h.Check("5", "OBJECT", "FREQ", "k")
	h.Check("(nil)", "OBJECT", "FREQ", "nope")
	h.Check("(error) ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.", "OBJECT", "IDLETIME", "k")
	for range 200 {
		h.Do("GET", "k")
	}
	v := h.Do("OBJECT", "FREQ", "k")
	f, _ := strconv.Atoi(v.String())
	if f < 7 || f > 40 {
		t.Fatalf("OBJECT FREQ after 200 reads: %s", v)
	}
	h.Now += 3 * 60_000 // three idle minutes: three decays
	h.Check(strconv.Itoa(f-3), "OBJECT", "FREQ", "k")
	// RESTORE ... FREQ sets the counter under an LFU policy.
	dump := h.Do("DUMP", "k")
	h.Check("OK", "RESTORE", "r", "0", dump.String(), "FREQ", "100")
	h.Check("100", "OBJECT", "FREQ", "r")

	h.DB.Cfg.MaxMemoryPolicy = keyspace.VolatileLRU
	h.Check("(error) ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.", "OBJECT", "FREQ", "k")
	h.Check("0", "OBJECT", "IDLETIME", "k")
}
