package vector

import (
	"testing"

	"github.com/cairndb/cairn/vector/vectortest"
)

// TestClone: a clone and its original change independently (pages are
// copied on write on either side), and each keeps the digest of an index
// built by the same calls from scratch.
func TestClone(t *testing.T) {
	data := vectortest.Clustered(1200, 8, 6, 0.3, 7)
	cfg := Config{Algorithm: HNSW, Dim: 8, Metric: L2, M: 8, Seed: 3}
	ix := build(t, cfg, data[:1000])
	before := ix.Digest()
	c := ix.Clone()
	if c.Digest() != before {
		t.Fatal("clone digest differs")
	}
	// Change the clone: its result must equal applying the same changes
	// to a fresh copy, and the original must not move.
	for i := 1000; i < 1200; i++ {
		c.Set(key(i), data[i])
	}
	for i := 0; i < 300; i += 3 {
		c.Delete(key(i))
	}
	if ix.Digest() != before {
		t.Fatal("changing the clone changed the original")
	}
	ref := build(t, cfg, data[:1000])
	for i := 1000; i < 1200; i++ {
		ref.Set(key(i), data[i])
	}
	for i := 0; i < 300; i += 3 {
		ref.Delete(key(i))
	}
	if c.Digest() != ref.Digest() {
		t.Fatal("clone after changes differs from the same changes applied from scratch")
	}
	// Now change the original too: the clone must not move.
	cd := c.Digest()
	for i := 500; i < 700; i++ {
		ix.Delete(key(i))
	}
	ix.Set("new", data[5])
	if c.Digest() != cd {
		t.Fatal("changing the original changed the clone")
	}
	if ix.Len() != 1000-200+1 || c.Len() != 1200-100 {
		t.Fatalf("lens %d %d", ix.Len(), c.Len())
	}
	res, _ := c.Search(data[1100], 1, nil)
	if len(res) != 1 || res[0].Key != key(1100) {
		t.Fatalf("clone search: %v", res)
	}
}
