package keyspace

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/cairndb/cairn/vector"
)

// TestVSetCodecV1 builds a vector-set body in codec version 1 (what
// binaries before quantized storage wrote: a float32 graph holding the
// dequantized Q8 vectors, a Q8 range per element) and checks that it is
// read: quantized storage with the original int8s, the same graph, and a
// version 2 body when written again.
func TestVSetCodecV1(t *testing.T) {
	const dim, n = 8, 300
	r := rand.New(rand.NewPCG(1, 2))
	ix, err := vector.New(vector.Config{Algorithm: vector.HNSW, Dim: dim, Metric: vector.IP, M: 16,
		EFConstruction: 200, EFRuntime: 100, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	type elem struct {
		name      string
		norm, rng float32
		q         []int8
	}
	var elems []elem
	for i := 0; i < n; i++ {
		v := make([]float32, dim)
		for j := range v {
			v[j] = float32(r.NormFloat64())
		}
		// The old Quantize: normalise, then Q8 as dequantized floats.
		s := &VectorSet{quant: QuantQ8}
		u, norm := s.Prepare(v)
		var rng float32
		for _, x := range u {
			rng = max(rng, float32(math.Abs(float64(x))))
		}
		scale := 127 / rng
		q := make([]int8, dim)
		deq := make([]float32, dim)
		for j, x := range u {
			qq := float32(math.Round(float64(float32(x * scale))))
			q[j] = int8(qq)
			deq[j] = float32(qq*rng) / 127
		}
		name := "e" + string(rune('a'+i%26)) + string(rune('a'+i/26))
		if err := ix.Set(name, deq); err != nil {
			t.Fatal(err)
		}
		elems = append(elems, elem{name, norm, rng, q})
	}
	slices.SortFunc(elems, func(a, b elem) int {
		if a.name < b.name {
			return -1
		}
		return 1
	})
	body := []byte{1, byte(QuantQ8)}
	for _, x := range []uint64{16, dim, 0, 42, 7, n, n} { // M, dim, projIn, seed, uid, last id, count
		body = binary.AppendUvarint(body, x)
	}
	for _, e := range elems {
		body = appendString(body, e.name)
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(e.norm))
		body = binary.LittleEndian.AppendUint32(body, math.Float32bits(e.rng))
		body = appendString(body, "")
	}
	body = appendBytes(body, ix.AppendTo(nil))

	s, err := DecodeVectorSet(body)
	if err != nil {
		t.Fatal(err)
	}
	if s.Quant() != QuantQ8 || s.Len() != n || s.ix.Config().Quant != vector.QuantQ8 || s.MaxLevel() != ix.MaxLevel() {
		t.Fatalf("quant %v len %d engine quant %v", s.Quant(), s.Len(), s.ix.Config().Quant)
	}
	for _, e := range elems {
		raw, _, rng, ok := s.Raw(e.name)
		if !ok || len(raw) != dim {
			t.Fatalf("%s: raw %v", e.name, raw)
		}
		for j, b := range raw {
			if int8(b) != e.q[j] {
				t.Fatalf("%s[%d]: int8 %d, want %d", e.name, j, int8(b), e.q[j])
			}
		}
		if math.Abs(float64(rng-e.rng)) > 1e-6 {
			t.Fatalf("%s: range %v, want %v", e.name, rng, e.rng)
		}
	}
	u, _ := s.Prepare(make([]float32, dim))
	u[0] = 1
	if res, err := s.Search(u, 5, nil); err != nil || len(res) != 5 {
		t.Fatalf("search: %v %v", res, err)
	}
	again := AppendVectorSet(nil, s)
	if again[0] != vsetCodecVersion {
		t.Fatalf("written as version %d", again[0])
	}
	s2, err := DecodeVectorSet(again)
	if err != nil || s2.Digest() != s.Digest() {
		t.Fatalf("v2 round trip: %v", err)
	}
}
