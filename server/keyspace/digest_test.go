package keyspace

import (
	"bytes"
	"testing"
)

func TestDigest(t *testing.T) {
	build := func(mod func(db *DB)) uint64 {
		db := New()
		db.Put([]byte("s"), []byte("v"), nil, 0)
		h := NewHash()
		h.Set([]byte("a"), []byte("1"))
		h.Set([]byte("b"), []byte("2"))
		db.Put([]byte("h"), nil, h, 0)
		if mod != nil {
			mod(db)
		}
		return db.Digest()
	}
	base := build(nil)
	if New().Digest() == base {
		t.Fatal("empty DB digest equals a non-empty one")
	}
	// The same content built in another order, or after churn, has the
	// same digest; access times and statistics do not count.
	same := map[string]func(db *DB){
		"rebuilt in reverse": func(db *DB) {
			db.Flush()
			h := NewHash()
			h.Set([]byte("a"), []byte("1"))
			h.Set([]byte("b"), []byte("2"))
			db.Put([]byte("h"), nil, h, 0)
			db.Put([]byte("s"), []byte("v"), nil, 0)
		},
		"touched":         func(db *DB) { db.Get([]byte("s"), 99_000); db.Get([]byte("x"), 0) },
		"deleted key":     func(db *DB) { db.Put([]byte("x"), nil, nil, 0); db.Delete([]byte("x")) },
		"expiry set back": func(db *DB) { db.SetExpire(db.SetExpire(db.Peek([]byte("s")), 5), 0) },
		"snapshot":        func(db *DB) { db.Snapshot(); db.Mutable(db.Peek([]byte("h"))) },
	}
	for name, mod := range same {
		if build(mod) != base {
			t.Errorf("%s: digest changed", name)
		}
	}
	// Every observable difference changes it.
	diff := map[string]func(db *DB){
		"value":       func(db *DB) { db.Put([]byte("s"), []byte("w"), nil, 0) },
		"expiry":      func(db *DB) { db.SetExpire(db.Peek([]byte("s")), 5) },
		"raw":         func(db *DB) { db.Peek([]byte("s")).Raw = true },
		"extra key":   func(db *DB) { db.Put([]byte("t"), nil, nil, 0) },
		"key name":    func(db *DB) { db.Delete([]byte("s")); db.Put([]byte("S"), []byte("v"), nil, 0) },
		"field value": func(db *DB) { hashOf(t, db.Peek([]byte("h"))).Set([]byte("a"), []byte("9")) },
		"field order": func(db *DB) {
			h := NewHash()
			h.Set([]byte("b"), []byte("2"))
			h.Set([]byte("a"), []byte("1"))
			db.Put([]byte("h"), nil, h, 0)
		},
		"encoding": func(db *DB) {
			h := hashOf(t, db.Peek([]byte("h")))
			h.Set([]byte("c"), bytes.Repeat([]byte("x"), 100))
			h.Delete([]byte("c"))
		},
		"type": func(db *DB) { db.Put([]byte("h"), []byte("a1b2"), nil, 0) },
	}
	for name, mod := range diff {
		if build(mod) == base {
			t.Errorf("%s: digest did not change", name)
		}
	}
	// A snapshot's digest is the DB's at the time it was taken.
	db := New()
	db.Put([]byte("k"), []byte("1"), nil, 0)
	d := db.Digest()
	snap := db.Snapshot()
	db.Put([]byte("k"), []byte("2"), nil, 0)
	if snap.Digest() != d || db.Digest() == d {
		t.Fatal("Snapshot.Digest")
	}
}
