package vector

import (
	"bytes"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairndb/cairn/vector/vectortest"
)

// TestQuantKernels checks the Q8 and BIN kernels against values worked out
// by hand from Redis's definitions.
func TestQuantKernels(t *testing.T) {
	q := make([]int8, 4)
	r := quantizeQ8([]float32{0.5, -0.25, 0, 0.125}, q)
	if r != 0.5 || !slices.Equal(q, []int8{127, -64, 0, 32}) { // -63.5 rounds away from zero
		t.Fatalf("quantizeQ8: %v range %v", q, r)
	}
	z := []int8{5, 5}
	if r := quantizeQ8([]float32{0, 0}, z); r != 0 || z[0] != 0 || z[1] != 0 {
		t.Fatalf("zero vector: %v range %v", z, r)
	}
	p := []int8{127, 0, 0, 0}
	// dot = 127*127 = 16129; scale = (0.5/127)*(1/127) -> 0.5; 1 - 0.5 = 0.5.
	if d := distQ8(q, p, 0.5, 1); math.Abs(float64(d)-0.5) > 1e-6 {
		t.Fatalf("distQ8 = %v, want 0.5", d)
	}
	if d := distQ8(q, p, 0, 1); d != 1 {
		t.Fatalf("distQ8 with a zero vector = %v, want 1", d)
	}
	if d := distQ8([]int8{127}, []int8{-127}, 1, 1); d != 2 {
		t.Fatalf("distQ8 of opposite vectors = %v, want 2", d)
	}
	a := make([]uint64, 2)
	b := make([]uint64, 2)
	v := make([]float32, 70)
	w := make([]float32, 70)
	for i := range v {
		v[i], w[i] = 1, 1
	}
	w[3], w[69] = -1, -1
	quantizeBin(v, a)
	quantizeBin(w, b)
	if a[1] != 1<<6-1 { // bits 64..69; unused bits stay 0
		t.Fatalf("quantizeBin high word %b", a[1])
	}
	if d := distBin(a, b, 70); d != float32(2*2)/70 {
		t.Fatalf("distBin = %v, want %v", d, float32(4)/70)
	}
}

// unitData returns n clustered unit vectors of dim.
func unitData(n, dim int, seed uint64) [][]float32 {
	data := vectortest.Clustered(n, dim, 20, 0.3, seed)
	for i, v := range data {
		data[i] = normalize(v)
	}
	return data
}

// TestQuantizedIndex builds Q8 and BIN indexes and checks search against
// an exact scan in the same metric, storage size, snapshots and clones.
func TestQuantizedIndex(t *testing.T) {
	const n, dim = 3000, 64
	data := unitData(n, dim, 3)
	queries := unitData(50, dim, 4)
	sizes := map[Quant]int64{}
	for _, qt := range []Quant{QuantNone, QuantQ8, QuantBin} {
		cfg := Config{Algorithm: HNSW, Dim: dim, Metric: IP, M: 16, EFConstruction: 200, Quant: qt, Seed: 5}
		ix := build(t, cfg, data)
		sizes[qt] = ix.MemSize()
		// Recall of the graph search against the exact scan of the same
		// quantized vectors.
		var rec float64
		for _, q := range queries {
			got, _ := ix.Search(q, 10, &SearchOptions{EF: 100})
			want, _ := ix.Search(q, 10, &SearchOptions{Exact: true})
			hit := 0
			for _, g := range got {
				for _, w := range want {
					if g.Key == w.Key {
						hit++
						break
					}
				}
			}
			rec += float64(hit) / float64(len(want))
			for i, g := range got {
				d, _ := ix.DistanceTo(g.Key, q)
				if d != g.Distance {
					t.Fatalf("%s: result %d distance %v, DistanceTo %v", qt, i, g.Distance, d)
				}
			}
		}
		rec /= float64(len(queries))
		t.Logf("%s: recall@10 vs exact %.3f, MemSize %d bytes (%.0f a vector)", qt, rec, sizes[qt], float64(sizes[qt])/n)
		if rec < 0.9 {
			t.Errorf("%s: recall@10 %.3f < 0.9", qt, rec)
		}
		// Snapshot round trip: the same digest and the same answers.
		var buf bytes.Buffer
		if _, err := ix.Snapshot().WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		if v := buf.Bytes()[8]; (qt == QuantNone) != (v == 1) {
			t.Errorf("%s: written as codec version %d", qt, v)
		}
		ld, err := Load(bytes.NewReader(buf.Bytes()))
		if err != nil {
			t.Fatalf("%s: load: %v", qt, err)
		}
		if ld.Digest() != ix.Digest() || ld.Config() != ix.Config() {
			t.Fatalf("%s: loaded digest %x, want %x", qt, ld.Digest(), ix.Digest())
		}
		c := ix.Clone()
		for i := 0; i < 200; i++ {
			c.Delete(key(i))
		}
		c.Set("new", data[0])
		if ld.Digest() != ix.Digest() {
			t.Fatalf("%s: writing a clone changed the original", qt)
		}
		// Dequantized vectors.
		got, _ := ix.Vector(key(7))
		switch qt {
		case QuantQ8:
			qq := make([]int8, dim)
			r := quantizeQ8(data[7], qq)
			for i, x := range got {
				if x != float32(float32(qq[i])*r)/127 {
					t.Fatalf("Q8 Vector[%d] = %v", i, x)
				}
			}
		case QuantBin:
			for i, x := range got {
				if want := float32(-1); data[7][i] > 0 && x != 1 || data[7][i] <= 0 && x != want {
					t.Fatalf("BIN Vector[%d] = %v for %v", i, x, data[7][i])
				}
			}
		default:
			if !slices.Equal(got, data[7]) {
				t.Fatalf("f32 Vector differs")
			}
		}
	}
	// The vectors shrink from 256 bytes to 68 (Q8) and 8 (BIN); the
	// links, slot headers and keys stay.
	if !(sizes[QuantQ8]*10 < sizes[QuantNone]*7 && sizes[QuantBin]*10 < sizes[QuantQ8]*9) {
		t.Errorf("MemSize f32 %d, Q8 %d, BIN %d: quantized storage is not smaller", sizes[QuantNone], sizes[QuantQ8], sizes[QuantBin])
	}
	if _, err := New(Config{Algorithm: HNSW, Dim: 4, Metric: L2, Quant: QuantQ8}); err == nil {
		t.Error("Q8 with L2 accepted")
	}
}

// goldenQ8Digest and goldenBinDigest pin the graphs that the golden
// operations build with quantized storage: the Q8 and BIN arithmetic is
// integer plus a fixed sequence of float32 operations, so every
// architecture (and -tags purego) must reproduce them.
const (
	goldenQ8Digest  = 0xa030844ed976a9a2
	goldenBinDigest = 0x9c4cc800baffac7
)

func TestQuantDigestGolden(t *testing.T) {
	for _, tc := range []struct {
		q    Quant
		want uint64
	}{{QuantQ8, goldenQ8Digest}, {QuantBin, goldenBinDigest}} {
		cfg := Config{Algorithm: HNSW, Dim: 37, M: 6, EFConstruction: 40, Metric: IP, Quant: tc.q, Seed: 77}
		a, _ := New(cfg)
		b, _ := New(cfg)
		ops(t, a, 4000, 77)
		ops(t, b, 4000, 77)
		if a.Digest() != b.Digest() {
			t.Fatalf("%s: same operations, digests %#x and %#x", tc.q, a.Digest(), b.Digest())
		}
		if got := a.Digest(); got != tc.want {
			t.Errorf("%s: digest %#x, want %#x", tc.q, got, tc.want)
		}
	}
}

// TestRequantize converts an unquantized graph holding dequantized Q8
// vectors (what vector-set snapshots of codec version 1 hold) and checks
// that the graph is kept and the int8s come back exactly.
func TestRequantize(t *testing.T) {
	const dim = 24
	data := unitData(600, dim, 8)
	deq := make([][]float32, len(data))
	ints := make([][]int8, len(data))
	for i, v := range data {
		ints[i] = make([]int8, dim)
		deq[i] = dequantQ8(ints[i], quantizeQ8(v, ints[i]))
	}
	old := build(t, Config{Algorithm: HNSW, Dim: dim, Metric: IP, M: 8, Seed: 1}, deq)
	for i := 0; i < 100; i += 3 {
		old.Delete(key(i))
	}
	q8, err := old.Requantize(QuantQ8)
	if err != nil {
		t.Fatal(err)
	}
	if q8.Len() != old.Len() || q8.MaxLevel() != old.MaxLevel() {
		t.Fatalf("len %d/%d, max level %d/%d", q8.Len(), old.Len(), q8.MaxLevel(), old.MaxLevel())
	}
	for i := 100; i < len(data); i++ {
		_, q, _, _, ok := q8.Quantized(key(i))
		if !ok || !slices.Equal(q, ints[i]) {
			t.Fatalf("%s: int8s %v, want %v", key(i), q, ints[i])
		}
		ol, _ := old.Links(key(i))
		nl, _ := q8.Links(key(i))
		if len(ol) != len(nl) {
			t.Fatalf("%s: levels differ", key(i))
		}
		for l := range ol {
			if len(ol[l]) != len(nl[l]) {
				t.Fatalf("%s level %d: links differ", key(i), l)
			}
			for j := range ol[l] {
				if ol[l][j].Key != nl[l][j].Key {
					t.Fatalf("%s level %d: links differ", key(i), l)
				}
			}
		}
	}
	var buf bytes.Buffer
	q8.Snapshot().WriteTo(&buf)
	ld, err := Load(&buf)
	if err != nil || ld.Digest() != q8.Digest() {
		t.Fatalf("round trip: %v", err)
	}
	if _, err := q8.Requantize(QuantBin); err == nil {
		t.Error("re-quantizing a quantized index accepted")
	}
}

// TestFilterBudget checks SearchOptions.MaxCandidates (VSIM FILTER-EF):
// a filter nothing passes stops after the budget instead of walking the
// whole graph, and without a budget the search reaches every node.
func TestFilterBudget(t *testing.T) {
	const n, dim = 4000, 16
	data := unitData(n, dim, 11)
	for _, qt := range []Quant{QuantNone, QuantQ8, QuantBin} {
		ix := build(t, Config{Algorithm: HNSW, Dim: dim, Metric: IP, M: 8, Quant: qt, Seed: 2}, data)
		calls := 0
		none := func(string) bool { calls++; return false }
		res, err := ix.Search(data[0], 10, &SearchOptions{EF: 100, Filter: none, MaxCandidates: 50})
		if err != nil || len(res) != 0 {
			t.Fatalf("%s: %v %v", qt, res, err)
		}
		// At most 49 candidates examined, each with at most 2*M links,
		// plus the entry point.
		if limit := 49*2*8 + 1; calls > limit || calls == 0 {
			t.Fatalf("%s: %d filter calls with a budget of 50, want 1..%d", qt, calls, limit)
		}
		bounded := calls
		calls = 0
		ix.Search(data[0], 10, &SearchOptions{EF: 100, Filter: none, MaxCandidates: 1 << 30})
		if calls < n*9/10 {
			t.Fatalf("%s: unbounded search saw %d of %d nodes", qt, calls, n)
		}
		// A 5% filter with the default budget of Redis (COUNT*100) finds
		// matching neighbours, and only matching ones.
		r := rand.New(rand.NewPCG(3, 4))
		var rec float64
		for k := 0; k < 20; k++ {
			q := data[r.IntN(n)]
			admit := func(key string) bool { return row(t, key)%20 == 0 }
			got, _ := ix.Search(q, 10, &SearchOptions{EF: 100, Filter: admit, MaxCandidates: 1000})
			want, _ := ix.Search(q, 10, &SearchOptions{Exact: true, Filter: admit})
			for _, g := range got {
				if !admit(g.Key) {
					t.Fatalf("%s: %s does not pass the filter", qt, g.Key)
				}
				for _, w := range want {
					if w.Key == g.Key {
						rec++
					}
				}
			}
		}
		t.Logf("%s: %d filter calls with FILTER-EF 50; 5%% filter recall@10 %.3f with FILTER-EF 1000", qt, bounded, rec/200)
		if rec/200 < 0.8 {
			t.Errorf("%s: 5%% filter recall %.3f < 0.8", qt, rec/200)
		}
	}
}

// TestDotQ8Kernels checks the dotQ8 the build uses (SSE2 on amd64)
// against dotQ8Go on random vectors of every length up to 100, extreme
// values included.
func TestDotQ8Kernels(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 9))
	for n := 0; n <= 100; n++ {
		for trial := 0; trial < 20; trial++ {
			a, b := make([]int8, n), make([]int8, n+trial%3)
			for i := range a {
				a[i] = int8(r.IntN(256) - 128)
			}
			for i := range b {
				b[i] = int8(r.IntN(256) - 128)
			}
			if trial == 0 {
				for i := range a {
					a[i], b[i] = -128, -128
				}
			}
			if got, want := dotQ8(a, b), dotQ8Go(a, b); got != want {
				t.Fatalf("len %d: dotQ8 %d, dotQ8Go %d", n, got, want)
			}
		}
	}
	big := make([]int8, MaxDim)
	for i := range big {
		big[i] = -128
	}
	if got := dotQ8(big, big); got != 128*128*MaxDim {
		t.Fatalf("largest sum %d", got)
	}
}
