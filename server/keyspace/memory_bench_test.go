package keyspace

import (
	"strconv"
	"testing"
)

// settle is SettleMemory where it exists (the accounting's cost is part
// of each command's apply).
var settle = func(db *DB) { db.SettleMemory() }

// BenchmarkPutOverwrite is SET on one of 10,000 existing keys, as apply
// does it.
func BenchmarkPutOverwrite(b *testing.B) {
	db := New()
	keys := make([][]byte, 10000)
	for i := range keys {
		keys[i] = []byte("key:" + strconv.Itoa(i))
		db.Put(keys[i], []byte("value-0123456789"), nil, 0)
	}
	v := []byte("value-0123456789")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		db.Put(keys[i%len(keys)], v, nil, 0)
		settle(db)
	}
}

// BenchmarkHashSetField is HSET of a field of one of 1,000 small hashes.
func BenchmarkHashSetField(b *testing.B) {
	db := New()
	keys := make([][]byte, 1000)
	fields := make([][]byte, 50)
	for i := range fields {
		fields[i] = []byte("f" + strconv.Itoa(i))
	}
	for i := range keys {
		keys[i] = []byte("h:" + strconv.Itoa(i))
		db.Put(keys[i], nil, NewHash(), 0)
	}
	v := []byte("value")
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		it := db.Mutable(db.Lookup(keys[i%len(keys)], 0))
		it.Obj.(*Hash).Set(fields[i%len(fields)], v)
		settle(db)
	}
}
