package keyspace

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
)

// TestDigestSnapshotMatchesLoad: DigestSnapshot reports the StateDigest
// and Len of a DB loaded from the same stream, without building it; a
// truncated stream, a changed byte that breaks decoding, and items out of
// key order are ErrBadSnapshot.
func TestDigestSnapshotMatchesLoad(t *testing.T) {
	db := New()
	fill(db, rand.New(rand.NewPCG(1, 2)), 3000, 40)
	db.Put([]byte(""), []byte("empty key"), nil, 0)
	db.Put([]byte("bin\x00\xff\r\n"), []byte("\x00\x01\x02\xff"), nil, 1)
	db.Put([]byte("big"), bytes.Repeat([]byte("0123456789abcdef"), 100_000), nil, 123)
	db.Cfg.MaxMemory = 12345 // the configuration is part of StateDigest
	b := serialize(t, db.Snapshot())

	loaded := New()
	loaded.Cfg = db.Cfg
	if err := loaded.Load(bytes.NewReader(b)); err != nil {
		t.Fatal(err)
	}
	d, n, err := DigestSnapshot(bytes.NewReader(b), &db.Cfg)
	if err != nil {
		t.Fatal(err)
	}
	if d != loaded.StateDigest() || n != loaded.Len() {
		t.Fatalf("DigestSnapshot = %x, %d keys; Load gives %x, %d keys", d, n, loaded.StateDigest(), loaded.Len())
	}
	if d != db.StateDigest() {
		t.Fatalf("DigestSnapshot = %x, the source DB's StateDigest %x", d, db.StateDigest())
	}
	other := db.Cfg
	other.MaxMemory++
	if d2, _, _ := DigestSnapshot(bytes.NewReader(b), &other); d2 == d {
		t.Fatal("the configuration does not change the digest")
	}

	// Truncated anywhere in a small stream.
	small := smallStream(t)
	for k := range len(small) {
		if _, _, err := DigestSnapshot(bytes.NewReader(small[:k]), &db.Cfg); !errors.Is(err, ErrBadSnapshot) {
			t.Fatalf("prefix of %d/%d bytes: err %v", k, len(small), err)
		}
	}
	// Two items swapped: still decodable, out of key order.
	a, c := New(), New()
	ka, kb := []byte("a"), []byte("b")
	if Ord("a") > Ord("b") {
		ka, kb = kb, ka
	}
	a.Put(ka, []byte("1"), nil, 0)
	c.Put(kb, []byte("2"), nil, 0)
	sa, sc := serialize(t, a.Snapshot()), serialize(t, c.Snapshot())
	body := func(s []byte) []byte { return s[len(snapMagic) : len(s)-1] } // without magic and end marker
	swapped := append(append(append([]byte(snapMagic), body(sc)...), body(sa)...), byte(TypeNone))
	if _, _, err := DigestSnapshot(bytes.NewReader(swapped), &db.Cfg); !errors.Is(err, ErrBadSnapshot) {
		t.Fatalf("items out of key order: err %v", err)
	}
}
