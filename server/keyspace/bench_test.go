package keyspace

import (
	"bytes"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"sync"
	"testing"
	"time"
)

var benchDB struct {
	once sync.Once
	db   *DB
	keys [][]byte
}

const benchKeys = 1_000_000

func benchSetup() (*DB, [][]byte) {
	benchDB.once.Do(func() {
		r := rand.New(rand.NewPCG(1, 1))
		db := New()
		keys := make([][]byte, benchKeys)
		for i := range keys {
			keys[i] = []byte("key:" + strconv.Itoa(i))
			db.Put(keys[i], randBytes(r, 100), nil, 0)
		}
		benchDB.db, benchDB.keys = db, keys
	})
	return benchDB.db, benchDB.keys
}

// BenchmarkSnapshotPause measures, on a DB of 1M keys with 100-byte
// values: how long Snapshot() blocks the writer (the apply loop), how long
// serializing the snapshot takes (done concurrently with writes in the
// shard), and what the first writes after a snapshot cost while the
// B-tree path nodes (and, for in-place edits, the items) are copied.
//
//	go test -bench SnapshotPause -run '^$' -benchtime 3x ./server/keyspace/
func BenchmarkSnapshotPause(b *testing.B) {
	db, keys := benchSetup()
	r := rand.New(rand.NewPCG(2, 2))
	const batch = 1000
	pick := func() [][]byte {
		ks := make([][]byte, batch)
		for i := range ks {
			ks[i] = keys[r.IntN(len(keys))]
		}
		return ks
	}
	val := make([]byte, 100)
	puts := func(ks [][]byte) time.Duration {
		t0 := time.Now()
		for _, k := range ks {
			db.Put(k, val, nil, 0)
		}
		return time.Since(t0)
	}
	appends := func(ks [][]byte) time.Duration {
		t0 := time.Now()
		for _, k := range ks {
			it := db.Mutable(db.Lookup(k, 0))
			it.Str = append(it.Str[:100], 'x')
		}
		return time.Since(t0)
	}
	var pause, ser, first, cow, steady, cowMut, steadyMut, cow100k, steady100k []time.Duration
	var size int64
	b.ResetTimer()
	for range b.N {
		// Steady state: writes whose B-tree paths this generation already
		// owns (the same keys written twice, the second pass timed).
		ks := pick()
		puts(ks)
		steady = append(steady, puts(ks)/batch)
		appends(ks)
		steadyMut = append(steadyMut, appends(ks)/batch)
		big := make([][]byte, 100_000)
		for i := range big {
			big[i] = keys[r.IntN(len(keys))]
		}
		puts(big)
		steady100k = append(steady100k, puts(big))

		t0 := time.Now()
		snap := db.Snapshot()
		pause = append(pause, time.Since(t0))

		one := pick()[:1]
		first = append(first, puts(one))
		cow = append(cow, puts(pick())/batch)
		cowMut = append(cowMut, appends(pick())/batch)
		for i := range big {
			big[i] = keys[r.IntN(len(keys))]
		}
		cow100k = append(cow100k, puts(big))

		t0 = time.Now()
		cw := &countWriter{}
		if _, err := snap.WriteTo(cw); err != nil {
			b.Fatal(err)
		}
		ser = append(ser, time.Since(t0))
		size = cw.n
	}
	b.StopTimer()
	b.ReportMetric(float64(med(pause).Nanoseconds()), "snapshot-ns")
	b.ReportMetric(float64(med(ser).Milliseconds()), "serialize-ms")
	b.ReportMetric(float64(size)/(1<<20), "snapshot-MB")
	b.ReportMetric(float64(med(first).Nanoseconds()), "first-put-ns")
	b.ReportMetric(float64(med(cow).Nanoseconds()), "put-after-snap-ns")
	b.ReportMetric(float64(med(steady).Nanoseconds()), "put-steady-ns")
	b.ReportMetric(float64(med(cowMut).Nanoseconds()), "append-after-snap-ns")
	b.ReportMetric(float64(med(steadyMut).Nanoseconds()), "append-steady-ns")
	b.ReportMetric(float64(med(cow100k).Milliseconds()), "100k-puts-after-snap-ms")
	b.ReportMetric(float64(med(steady100k).Milliseconds()), "100k-puts-steady-ms")
}

type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) { w.n += int64(len(p)); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)

func med(d []time.Duration) time.Duration {
	s := append([]time.Duration(nil), d...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	return s[len(s)/2]
}

// BenchmarkSnapshotWrite measures serializing a snapshot of 1M keys with
// 100-byte values (the encode a Raft snapshot and a backup do), bytes
// discarded.
//
//	go test -bench SnapshotWrite -run '^$' -benchtime 3x ./server/keyspace/
func BenchmarkSnapshotWrite(b *testing.B) {
	db, _ := benchSetup()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		s := db.Snapshot()
		if _, err := s.WriteTo(io.Discard); err != nil {
			b.Fatal(err)
		}
		s.Release()
	}
}

// BenchmarkDigestSnapshot measures DigestSnapshot (a backup's
// verification) over the encoded snapshot of 1M keys.
//
//	go test -bench DigestSnapshot -run '^$' -benchtime 3x ./server/keyspace/
func BenchmarkDigestSnapshot(b *testing.B) {
	db, _ := benchSetup()
	s := db.Snapshot()
	var buf bytes.Buffer
	if _, err := s.WriteTo(&buf); err != nil {
		b.Fatal(err)
	}
	s.Release()
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, _, err := DigestSnapshot(bytes.NewReader(buf.Bytes()), &Config{}); err != nil {
			b.Fatal(err)
		}
	}
}
