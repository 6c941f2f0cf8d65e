package keyspace

import (
	"runtime"
	"strconv"
	"testing"
)

func benchZSet(n int) (*ZSet, [][]byte) {
	z := NewZSet()
	members := make([][]byte, n)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	for i, m := range members {
		z.Set(m, float64((i*7919)%n))
	}
	return z, members
}

// BenchmarkZSetAdd adds new members to a set that grows to b.N members.
func BenchmarkZSetAdd(b *testing.B) {
	z := NewZSet()
	members := make([][]byte, b.N)
	for i := range members {
		members[i] = []byte("member:" + strconv.Itoa(i))
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z.Set(members[i], float64((i*7919)%1000003))
	}
}

// BenchmarkZSetRank and BenchmarkZSetRange run on sets of 1K and 1M
// members: the per-op cost grows with log n, not n.
func BenchmarkZSetRank(b *testing.B) {
	for _, n := range []int{1000, 1000000} {
		z, members := benchZSet(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, ok := z.Rank(members[(i*31)%n]); !ok {
					b.Fatal("missing")
				}
			}
		})
	}
}

func BenchmarkZSetRange100(b *testing.B) {
	for _, n := range []int{1000, 1000000} {
		z, _ := benchZSet(n)
		b.Run(strconv.Itoa(n), func(b *testing.B) {
			sum := 0.0
			for i := 0; i < b.N; i++ {
				k := 0
				z.Ascend((i*31)%(n-100), func(e ZEntry) bool {
					sum += e.Score
					k++
					return k < 100
				})
			}
			_ = sum
		})
	}
}

func BenchmarkZSetScore(b *testing.B) {
	z, members := benchZSet(1000000)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		z.Score(members[(i*31)%len(members)])
	}
}

// BenchmarkZSetMemory reports the heap bytes per member of a 1M-member set
// of small members ("member:N", score N).
func BenchmarkZSetMemory(b *testing.B) {
	for i := 0; i < b.N; i++ {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		z := NewZSet()
		for j := 0; j < 1000000; j++ {
			z.Set([]byte("member:"+strconv.Itoa(j)), float64(j))
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/1e6, "bytes/member")
		runtime.KeepAlive(z)
	}
}

func smallZSet(n int) (*ZSet, [][]byte) {
	z := NewZSet()
	members := make([][]byte, n)
	for i := range members {
		members[i] = []byte("field:" + strconv.Itoa(i))
		z.Set(members[i], float64(i))
	}
	return z, members
}

// BenchmarkZSetSmall measures listpack operations on a 100-member set.
func BenchmarkZSetSmall(b *testing.B) {
	b.Run("update", func(b *testing.B) {
		z, members := smallZSet(100)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Set(members[(i*37)%100], float64(i%150))
		}
	})
	b.Run("score", func(b *testing.B) {
		z, members := smallZSet(100)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Score(members[(i*37)%100])
		}
	})
	b.Run("addremove", func(b *testing.B) {
		z, _ := smallZSet(100)
		m := []byte("new:member")
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			z.Set(m, float64(i%100))
			z.Delete(m)
		}
	})
	b.Run("ascend", func(b *testing.B) {
		z, _ := smallZSet(100)
		b.ReportAllocs()
		n := 0
		for i := 0; i < b.N; i++ {
			z.Ascend(0, func(e ZEntry) bool { n += len(e.Member); return true })
		}
	})
}
