package keyspace

import (
	"fmt"
	"runtime"
	"strconv"
	"testing"
)

// smallHashData is the data set of the small-hash memory test: hashes of
// 100 fields "field:N" -> "vNNNN" (listpack-encoded in Redis and Cairn).
func smallHashData(fields int) (names, values [][]byte) {
	names = make([][]byte, fields)
	values = make([][]byte, fields)
	for j := range names {
		names[j] = []byte("field:" + strconv.Itoa(j))
		values[j] = []byte(fmt.Sprintf("v%04d", j))
	}
	return names, values
}

// fillSmallHashes stores keys hashes of len(names) fields in db the way
// HSET does (one field at a time, through Lookup, Put and Mutable).
func fillSmallHashes(db *DB, keys int, names, values [][]byte) {
	for i := 0; i < keys; i++ {
		key := []byte("hash:" + strconv.Itoa(i))
		for j := range names {
			it := db.Lookup(key, 0)
			if it == nil {
				it = db.Put(key, nil, NewHash(), 0)
			} else {
				it = db.Mutable(it)
			}
			it.Obj.(*Hash).Set(names[j], values[j])
		}
	}
}

// smallHashBytesPerField returns the heap bytes per field (HeapAlloc delta
// after GC, keys and DB structures included) of 10,000 hashes of 100
// fields. Redis 7.0 uses about 20 bytes a field for the same data
// (used_memory delta, listpack encoding).
func smallHashBytesPerField() (float64, *DB) {
	const keys, fields = 10_000, 100
	names, values := smallHashData(fields)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	db := New()
	fillSmallHashes(db, keys, names, values)
	runtime.GC()
	runtime.ReadMemStats(&after)
	return float64(after.HeapAlloc-before.HeapAlloc) / (keys * fields), db
}

// TestSmallHashMemory checks the memory of 1M fields in 10,000 small hashes
// against 2.5 times Redis's (about 20 bytes a field).
func TestSmallHashMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("short")
	}
	per, db := smallHashBytesPerField()
	t.Logf("%.1f bytes a field (10,000 hashes x 100 fields, %d keys)", per, db.Len())
	if enc := db.Peek([]byte("hash:0")).Obj.Encoding(); enc != "listpack" {
		t.Fatalf("encoding %s", enc)
	}
	if per > 2.5*20 {
		t.Errorf("%.1f bytes a field, more than 2.5x Redis", per)
	}
	runtime.KeepAlive(db)
}

// BenchmarkSmallHashMemory reports the bytes per field of 10,000 hashes of
// 100 fields.
//
//	go test -bench SmallHashMemory -run '^$' -benchtime 1x ./server/keyspace/
func BenchmarkSmallHashMemory(b *testing.B) {
	for range b.N {
		per, db := smallHashBytesPerField()
		b.ReportMetric(per, "bytes/field")
		runtime.KeepAlive(db)
	}
}

func smallHash(names, values [][]byte) *Hash {
	h := NewHash()
	for j := range names {
		h.Set(names[j], values[j])
	}
	return h
}

// BenchmarkSmallHashSetNew builds 100-field hashes one field at a time
// (HSET of new fields); ns/op is per field.
func BenchmarkSmallHashSetNew(b *testing.B) {
	names, values := smallHashData(100)
	b.ReportAllocs()
	var h *Hash
	for i := range b.N {
		j := i % 100
		if j == 0 {
			h = NewHash()
		}
		h.Set(names[j], values[j])
	}
	runtime.KeepAlive(h)
}

// BenchmarkSmallHashSetExisting overwrites fields of a 100-field hash (HSET
// of existing fields, each time with another value).
func BenchmarkSmallHashSetExisting(b *testing.B) {
	names, values := smallHashData(100)
	h := smallHash(names, values)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := (i * 37) % 100
		h.Set(names[j], values[(j+i/100+1)%100])
	}
}

// BenchmarkSmallHashGet looks up fields of a 100-field hash (HGET): hits
// spread over all positions, and a miss.
func BenchmarkSmallHashGet(b *testing.B) {
	names, values := smallHashData(100)
	h := smallHash(names, values)
	b.Run("hit", func(b *testing.B) {
		b.ReportAllocs()
		for i := range b.N {
			if _, ok := h.Get(names[(i*37)%100]); !ok {
				b.Fatal("missing")
			}
		}
	})
	miss := []byte("field:nope")
	b.Run("miss", func(b *testing.B) {
		b.ReportAllocs()
		for range b.N {
			if _, ok := h.Get(miss); ok {
				b.Fatal("found")
			}
		}
	})
}

// BenchmarkSmallHashGetAll iterates a 100-field hash (HGETALL).
func BenchmarkSmallHashGetAll(b *testing.B) {
	names, values := smallHashData(100)
	h := smallHash(names, values)
	b.ReportAllocs()
	n := 0
	for range b.N {
		h.Each(func(name string, v []byte) bool {
			n += len(name) + len(v)
			return true
		})
	}
	_ = n
}

// BenchmarkSmallHashDelete deletes and re-adds a field of a 100-field hash
// (HDEL then HSET).
func BenchmarkSmallHashDelete(b *testing.B) {
	names, values := smallHashData(100)
	h := smallHash(names, values)
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		j := (i * 37) % 100
		h.Delete(names[j])
		h.Set(names[j], values[j])
	}
}
