package vector

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
)

func TestDistance(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, dim := range []int{1, 3, 4, 7, 64, 129} {
		a := make([]float32, dim)
		b := make([]float32, dim)
		for i := range a {
			a[i], b[i] = float32(rng.NormFloat64()), float32(rng.NormFloat64())
		}
		var l2, d, na, nb float64
		for i := range a {
			x, y := float64(a[i]), float64(b[i])
			l2 += (x - y) * (x - y)
			d += x * y
			na += x * x
			nb += y * y
		}
		want := map[Metric]float64{L2: l2, IP: 1 - d, Cosine: 1 - d/math.Sqrt(na*nb)}
		for m, w := range want {
			got := float64(Distance(m, a, b))
			if math.Abs(got-w) > 1e-4*math.Max(1, math.Abs(w)) {
				t.Errorf("dim %d %v: got %v, want %v", dim, m, got, w)
			}
		}
	}
	// Known values, bit-exact.
	a, b := []float32{1, 2, 3}, []float32{4, 6, 3}
	if got := Distance(L2, a, b); got != 25 {
		t.Errorf("L2: got %v, want 25", got)
	}
	if got := Distance(IP, a, b); got != 1-25 {
		t.Errorf("IP: got %v, want -24", got)
	}
	if got := Distance(Cosine, []float32{1, 0}, []float32{0, 2}); got != 1 {
		t.Errorf("COSINE orthogonal: got %v, want 1", got)
	}
	if got := Distance(Cosine, []float32{0, 0}, []float32{0, 2}); got != 1 {
		t.Errorf("COSINE zero vector: got %v, want 1", got)
	}
}

func TestParse(t *testing.T) {
	if m, err := ParseMetric("cosine"); err != nil || m != Cosine {
		t.Errorf("ParseMetric(cosine): got %v, %v", m, err)
	}
	if _, err := ParseMetric("L1"); !errors.Is(err, ErrUnknownMetric) {
		t.Errorf("ParseMetric(L1): got %v, want ErrUnknownMetric", err)
	}
	if ty, err := ParseElemType("bfloat16"); err != nil || ty != BFloat16 {
		t.Errorf("ParseElemType(bfloat16): got %v, %v", ty, err)
	}
	if a, err := ParseAlgorithm("hnsw"); err != nil || a != HNSW {
		t.Errorf("ParseAlgorithm(hnsw): got %v, %v", a, err)
	}
}

func TestDecode(t *testing.T) {
	v := []float32{0, 1, -2.5, 0.333251953125, 65504, -1e-7}
	for _, ty := range []ElemType{Float32, Float64, Float16, BFloat16} {
		blob := Encode(ty, v)
		if len(blob) != len(v)*ty.Size() {
			t.Fatalf("%v: blob %d bytes, want %d", ty, len(blob), len(v)*ty.Size())
		}
		got, err := Decode(ty, blob, len(v))
		if err != nil {
			t.Fatalf("%v: %v", ty, err)
		}
		for i := range v {
			tol := 0.0
			switch ty {
			case Float16:
				tol = math.Max(1e-3*math.Abs(float64(v[i])), 6e-8)
			case BFloat16:
				tol = 8e-3 * math.Abs(float64(v[i]))
			}
			if math.Abs(float64(got[i]-v[i])) > tol {
				t.Errorf("%v[%d]: got %v, want %v", ty, i, got[i], v[i])
			}
		}
		if _, err := Decode(ty, blob[:len(blob)-1], len(v)); !errors.Is(err, ErrBlobSize) {
			t.Errorf("%v short blob: got %v, want ErrBlobSize", ty, err)
		}
	}
	// Every binary16 value decodes to the float32 that encodes back to it.
	for h := 0; h < 1<<16; h++ {
		f := halfToFloat32(uint16(h))
		if f != f {
			continue
		}
		if back := float32ToHalf(f); back != uint16(h) {
			t.Fatalf("half %#04x -> %v -> %#04x", h, f, back)
		}
	}
	if got := halfToFloat32(0x3c00); got != 1 {
		t.Errorf("half 1.0: got %v", got)
	}
	if got, _ := Decode(BFloat16, []byte{0x80, 0x3f}, 1); got[0] != 1 {
		t.Errorf("bfloat16 1.0: got %v", got)
	}
}

func TestSetBlobWrongSize(t *testing.T) {
	ix, _ := New(Config{Dim: 4})
	if err := ix.SetBlob("a", Encode(Float32, []float32{1, 2, 3, 4})); err != nil {
		t.Fatal(err)
	}
	if err := ix.SetBlob("a", []byte{1, 2, 3}); !errors.Is(err, ErrBlobSize) {
		t.Fatalf("got %v, want ErrBlobSize", err)
	}
	if ix.Has("a") {
		t.Errorf("key with a bad blob still indexed")
	}
	if err := ix.Set("b", []float32{1}); !errors.Is(err, ErrDim) {
		t.Errorf("got %v, want ErrDim", err)
	}
	if _, err := New(Config{Dim: 0}); !errors.Is(err, ErrBadConfig) {
		t.Errorf("Dim 0: got %v, want ErrBadConfig", err)
	}
}

// TestKernelsMatch checks that the kernels l2sq and dot (SSE assembly on
// amd64) are bit-identical to the pure-Go kernels, including subnormals,
// infinities and cancellation, for every length 0..70.
func TestKernelsMatch(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	special := []float32{0, -0, 1e-40, -1e-45, 3.4e38, -3.4e38, float32(math.Inf(1)), 1, -1, 1e-20, 1e20}
	for trial := 0; trial < 2000; trial++ {
		n := trial % 71
		a := make([]float32, n)
		b := make([]float32, n)
		for i := range a {
			switch rng.IntN(8) {
			case 0:
				a[i] = special[rng.IntN(len(special))]
				b[i] = special[rng.IntN(len(special))]
			case 1:
				a[i] = float32(rng.NormFloat64())
				b[i] = a[i] + float32(rng.NormFloat64()*1e-6)
			default:
				a[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(10)-5)))
				b[i] = float32(rng.NormFloat64())
			}
		}
		same := func(x, y float32) bool {
			return math.Float32bits(x) == math.Float32bits(y) || (x != x && y != y)
		}
		if got, want := l2sq(a, b), l2sqGo(a, b); !same(got, want) {
			t.Fatalf("l2sq len %d: got %v (%#x), want %v (%#x)", n, got, math.Float32bits(got), want, math.Float32bits(want))
		}
		if got, want := dot(a, b), dotGo(a, b); !same(got, want) {
			t.Fatalf("dot len %d: got %v, want %v", n, got, want)
		}
	}
}
