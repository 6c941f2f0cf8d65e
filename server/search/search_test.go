package search

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"slices"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/vector"
	"github.com/cairndb/cairn/vector/query"
)

func blob(v ...float32) []byte {
	b := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
	}
	return b
}

func putHash(db *keyspace.DB, key string, kv ...string) {
	h := keyspace.NewHash()
	for i := 0; i+1 < len(kv); i += 2 {
		h.Set([]byte(kv[i]), []byte(kv[i+1]))
	}
	db.Put([]byte(key), nil, h, 0)
}

func testRegistry(t *testing.T) (*Registry, *keyspace.DB) {
	t.Helper()
	db := keyspace.New()
	for i := range 50 {
		putHash(db, fmt.Sprintf("d:%d", i), "tag", []string{"x", "y"}[i%2], "n", fmt.Sprint(i), "v", string(blob(float32(i), 1)))
	}
	putHash(db, "d:bad", "v", "abc")
	r := NewRegistry()
	def := Definition{Name: "idx", Prefixes: []string{"d:"}, Seed: 42, Fields: []Field{
		{Identifier: "tag", Attribute: "tag", Type: Tag, Separator: ','},
		{Identifier: "n", Attribute: "num", Type: Numeric, Sortable: true},
		{Identifier: "v", Attribute: "v", Type: Vector, Vec: vector.Config{Algorithm: vector.HNSW, Dim: 2}},
	}}
	if err := r.Create(def, db, 0); err != nil {
		t.Fatal(err)
	}
	if err := r.Create(def, db, 0); !errors.Is(err, ErrExists) {
		t.Fatalf("duplicate create: %v", err)
	}
	if err := r.AliasAdd("al", "idx", false); err != nil {
		t.Fatal(err)
	}
	return r, db
}

func run(t *testing.T, r *Registry, db *keyspace.DB, q string) []string {
	t.Helper()
	pq, err := query.Parse(q, map[string][]byte{"q": blob(10.2, 1)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := r.Get("idx").Run(db, 0, pq)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, h := range res.Hits {
		out = append(out, h.Key)
	}
	return out
}

func TestRegistry(t *testing.T) {
	r, db := testRegistry(t)
	ix := r.Get("al")
	if ix == nil || ix.NumDocs() != 50 || ix.Failures != 1 || ix.LastErrorKey != "d:bad" {
		t.Fatalf("backfill: docs %d failures %d", ix.NumDocs(), ix.Failures)
	}
	if got := fmt.Sprint(run(t, r, db, "@tag:{y} @num:[(5 11]=>[KNN 2 @v $q]")); got != "[d:11 d:9]" {
		t.Fatalf("filtered KNN %s", got)
	}
	// Non-vector results come in document-id order (backfill: keyspace order).
	u := run(t, r, db, "@num:[0 3] | @num:[48 +inf]")
	slices.Sort(u)
	if got := fmt.Sprint(u); got != "[d:0 d:1 d:2 d:3 d:48 d:49]" {
		t.Fatalf("union %s", got)
	}
	// A changed hash is re-indexed; a deleted one leaves.
	putHash(db, "d:10", "tag", "x", "n", "10", "v", string(blob(100, 1)))
	r.Touched(db, "d:10", 0)
	db.Delete([]byte("d:11"))
	r.Touched(db, "d:11", 0)
	if got := fmt.Sprint(run(t, r, db, "*=>[KNN 2 @v $q]")); got != "[d:9 d:12]" {
		t.Fatalf("after update/delete %s", got)
	}
	r.Flushed()
	if r.Get("idx").NumDocs() != 0 {
		t.Fatal("flush kept documents")
	}
}

func TestSnapshotRoundTrip(t *testing.T) {
	r, db := testRegistry(t)
	snap := r.Snapshot()
	want := r.Digest()
	if snap.Digest() != want {
		t.Fatal("snapshot digest differs from the live one")
	}
	// Changes after the snapshot do not reach it.
	db.Delete([]byte("d:3"))
	r.Touched(db, "d:3", 0)
	var buf bytes.Buffer
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	buf.WriteString("TRAILER")
	br := bufio.NewReader(&buf)
	got, err := Load(br)
	if err != nil {
		t.Fatal(err)
	}
	if got.Digest() != want || got.Get("al") == nil || got.Get("idx").NumDocs() != 50 {
		t.Fatalf("loaded registry differs")
	}
	if rest, _ := br.ReadString(0); rest != "TRAILER" {
		t.Fatalf("Load consumed past its section: %q", rest)
	}
	// Every truncation and a newer version fail cleanly.
	full := bytes.TrimSuffix(buf.Bytes(), nil)
	var whole bytes.Buffer
	snap.WriteTo(&whole)
	b := whole.Bytes()
	for n := 0; n < len(b); n += 1 + n/8 {
		if _, err := Load(bufio.NewReader(bytes.NewReader(b[:n]))); err == nil {
			t.Fatalf("truncated at %d: loaded", n)
		}
	}
	newer := append([]byte("CAIRNFT9"), b[8:]...)
	if _, err := Load(bufio.NewReader(bytes.NewReader(newer))); !errors.Is(err, ErrVersion) {
		t.Fatalf("newer version: %v", err)
	}
	_ = full
}

// FuzzLoad: corrupted sections never panic.
func FuzzLoad(f *testing.F) {
	r := NewRegistry()
	db := keyspace.New()
	putHash(db, "a", "v", string(blob(1, 2)), "t", "x")
	r.Create(Definition{Name: "i", Fields: []Field{{Identifier: "v", Attribute: "v", Type: Vector, Vec: vector.Config{Algorithm: vector.HNSW, Dim: 2}}, {Identifier: "t", Attribute: "t", Type: Tag, Separator: ','}}}, db, 0)
	r.AliasAdd("x", "i", false)
	var buf bytes.Buffer
	r.Snapshot().WriteTo(&buf)
	f.Add(buf.Bytes())
	f.Fuzz(func(t *testing.T, b []byte) {
		Load(bufio.NewReader(bytes.NewReader(b)))
	})
}

// TestBackfill: batches, progress, and a snapshot taken mid-backfill that
// continues to the same state.
func TestBackfill(t *testing.T) {
	db := keyspace.New()
	for i := range 2500 {
		putHash(db, fmt.Sprintf("d:%d", i), "v", string(blob(float32(i), 0)))
	}
	r := NewRegistry()
	def := Definition{Name: "b", Prefixes: []string{"d:"}, Fields: []Field{{Identifier: "v", Attribute: "v", Type: Vector, Vec: vector.Config{Algorithm: vector.HNSW, Dim: 2}}}}
	if err := r.Create(def, db, 0); err != nil {
		t.Fatal(err)
	}
	ix := r.Get("b")
	if !ix.Scanning || ix.NumDocs() != BackfillBatch || ix.PercentIndexed() != 0.4 {
		t.Fatalf("after create: scanning %v docs %d pct %v", ix.Scanning, ix.NumDocs(), ix.PercentIndexed())
	}
	var buf bytes.Buffer
	r.Snapshot().WriteTo(&buf)
	r2, err := Load(bufio.NewReader(&buf))
	if err != nil {
		t.Fatal(err)
	}
	for _, reg := range []*Registry{r, r2} {
		for reg.Backfill(db, "b", 0, BackfillBatch) {
		}
	}
	if ix.Scanning || ix.NumDocs() != 2500 || ix.PercentIndexed() != 1 || r.Digest() != r2.Digest() {
		t.Fatalf("after backfill: scanning %v docs %d, digests equal %v", ix.Scanning, ix.NumDocs(), r.Digest() == r2.Digest())
	}
	if fmt.Sprint(r.Backfilling()) != "[]" {
		t.Fatal(r.Backfilling())
	}
}
