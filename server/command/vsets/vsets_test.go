package vsets

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const wrongType = "(error) WRONGTYPE Operation against a key holding the wrong kind of value"

func harness(t testing.TB) *commandtest.Harness {
	h := commandtest.New(t, Specs, strs.Specs, keys.Specs)
	h.Do("SET", "str", "v")
	return h
}

// TestGolden checks each command's replies against what Redis 8 documents
// and its source replies (vset.c), including the error strings.
func TestGolden(t *testing.T) {
	h := harness(t)
	steps := []struct {
		want string
		args []string
	}{
		// VADD: creation, update, options.
		{"(true)", []string{"VADD", "v", "VALUES", "3", "1", "0", "0", "a"}},
		{"(false)", []string{"VADD", "v", "VALUES", "3", "1", "0", "0", "a"}},
		{"(true)", []string{"VADD", "v", "VALUES", "3", "0", "1", "0", "b", "SETATTR", `{"year": 1950, "tag": "x"}`}},
		{"(true)", []string{"VADD", "v", "VALUES", "3", "0", "0", "1", "c", "Q8", "EF", "50", "CAS", "SETATTR", `{"year": 2000, "tag": "y"}`}},
		{"(true)", []string{"VADD", "v", "FP32", fp32(-1, 0, 0), "d"}},
		{"3", []string{"VDIM", "v"}},
		{"4", []string{"VCARD", "v"}},
		{"0", []string{"VCARD", "nokey"}},
		{"(true)", []string{"VISMEMBER", "v", "a"}},
		{"(false)", []string{"VISMEMBER", "v", "zz"}},
		{"(false)", []string{"VISMEMBER", "nokey", "a"}},
		{`{"year": 1950, "tag": "x"}`, []string{"VGETATTR", "v", "b"}},
		{"(nil)", []string{"VGETATTR", "v", "a"}},
		{"(nil)", []string{"VGETATTR", "nokey", "a"}},
		// VSIM: nearest first, scores 1 - distance/2.
		{"[a b c d]", []string{"VSIM", "v", "VALUES", "3", "1", "0.1", "0", "COUNT", "4"}},
		{"[a 1 b 0.5]", []string{"VSIM", "v", "ELE", "a", "WITHSCORES", "COUNT", "2"}},
		{"[[a 1 (nil) b 0.5 {\"year\": 1950, \"tag\": \"x\"}] [a [1 (nil)] b [0.5 {\"year\": 1950, \"tag\": \"x\"}]]]", []string{"VSIM", "v", "ELE", "a", "WITHSCORES", "WITHATTRIBS", "COUNT", "2"}},
		{"[b c]", []string{"VSIM", "v", "ELE", "a", "FILTER", ".year > 1900"}},
		{"[c]", []string{"VSIM", "v", "ELE", "a", "FILTER", `.tag == "y" and .year >= 2000`, "TRUTH", "NOTHREAD"}},
		{"[b]", []string{"VSIM", "v", "ELE", "a", "FILTER", `.tag in ["x", "z"]`, "FILTER-EF", "10"}},
		{"[a]", []string{"VSIM", "v", "ELE", "a", "EPSILON", "0.1"}},
		{"[]", []string{"VSIM", "nokey", "ELE", "a"}},
		// VSETATTR / VREM.
		{"(true)", []string{"VSETATTR", "v", "a", `{"year": 1999}`}},
		{"[a b c]", []string{"VSIM", "v", "ELE", "a", "FILTER", ".year > 1900"}},
		{"(true)", []string{"VSETATTR", "v", "a", ""}},
		{"(nil)", []string{"VGETATTR", "v", "a"}},
		{"(false)", []string{"VSETATTR", "v", "zz", "{}"}},
		{"(false)", []string{"VSETATTR", "nokey", "a", "{}"}},
		{"(true)", []string{"VREM", "v", "d"}},
		{"(false)", []string{"VREM", "v", "d"}},
		{"(false)", []string{"VREM", "nokey", "d"}},
		{"3", []string{"VCARD", "v"}},
		// VINFO (RESP3 map; RESP2 downgrades it to a flat array).
		{"[quant-type int8 hnsw-m 16 vector-dim 3 projection-input-dim 0 size 3 max-level 0 attributes-count 2 vset-uid 2 hnsw-max-node-uid 5]", []string{"VINFO", "v"}},
		{"(nil)", []string{"VINFO", "nokey"}},
		// VEMB.
		{"[1 0 0]", []string{"VEMB", "v", "a"}},
		{"(nil)", []string{"VEMB", "v", "zz"}},
		{"(nil)", []string{"VEMB", "nokey", "a"}},
		{"(error) ERR invalid option", []string{"VEMB", "v", "a", "FOO"}},
		// VRANDMEMBER.
		{"(nil)", []string{"VRANDMEMBER", "nokey"}},
		{"[]", []string{"VRANDMEMBER", "nokey", "3"}},
		{"[]", []string{"VRANDMEMBER", "v", "0"}},
		{"(error) ERR COUNT value is not an integer", []string{"VRANDMEMBER", "v", "x"}},
		// Errors.
		{"(error) ERR invalid vector specification", []string{"VADD", "v", "VALUES", "x", "1", "e"}},
		{"(error) ERR invalid vector specification", []string{"VADD", "v", "VALUES", "3", "1", "2", "e"}},
		{"(error) ERR invalid vector specification", []string{"VADD", "v", "FP32", "abc", "e"}},
		{"(error) ERR invalid vector specification", []string{"VADD", "v", "FOO", "1", "e"}},
		{"(error) ERR invalid vector specification", []string{"VADD", "v", "VALUES", "2", "1", "nan", "e"}},
		{"(error) ERR invalid vector specification", []string{"VADD", "v", "REDUCE", "4", "VALUES", "3", "1", "2", "3", "e"}},
		{"(error) ERR wrong number of arguments for 'vadd' command", []string{"VADD", "v", "VALUES", "3", "1", "2", "3"}},
		{"(error) ERR wrong number of arguments for 'vadd' command", []string{"VADD", "v", "VALUES", "1"}},
		{"(error) ERR Vector dimension mismatch - got 2 but set has 3", []string{"VADD", "v", "VALUES", "2", "1", "2", "e"}},
		{"(error) ERR invalid option after element", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "BOGUS"}},
		{"(error) ERR invalid option after element", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "EF"}},
		{"(error) ERR invalid EF", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "EF", "0"}},
		{"(error) ERR invalid M", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "M", "2"}},
		{"(error) ERR asked quantization mismatch with existing vector set", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "BIN"}},
		{"(error) ERR asked quantization mismatch with existing vector set", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "NOQUANT"}},
		{"(error) ERR asked M value mismatch with existing vector set", []string{"VADD", "v", "VALUES", "3", "1", "2", "3", "e", "M", "32"}},
		{"(error) ERR cannot add projection to existing set without projection", []string{"VADD", "v", "REDUCE", "3", "VALUES", "3", "1", "2", "3", "e"}},
		{wrongType, []string{"VADD", "str", "VALUES", "3", "1", "2", "3", "e"}},
		{wrongType, []string{"VSIM", "str", "ELE", "a"}},
		{wrongType, []string{"VCARD", "str"}},
		{wrongType, []string{"VREM", "str", "a"}},
		{"(error) ERR element not found in set", []string{"VSIM", "v", "ELE", "zz"}},
		{"(error) ERR invalid vector specification", []string{"VSIM", "v", "FOO", "1"}},
		{"(error) ERR Vector dimension mismatch - got 2 but set has 3", []string{"VSIM", "v", "VALUES", "2", "1", "0"}},
		{"(error) ERR syntax error in VSIM command", []string{"VSIM", "v", "ELE", "a", "BOGUS"}},
		{"(error) ERR syntax error in VSIM command", []string{"VSIM", "v", "ELE", "a", "COUNT"}},
		{"(error) ERR invalid COUNT", []string{"VSIM", "v", "ELE", "a", "COUNT", "0"}},
		{"(error) ERR invalid EF", []string{"VSIM", "v", "ELE", "a", "EF", "-1"}},
		{"(error) ERR invalid EPSILON", []string{"VSIM", "v", "ELE", "a", "EPSILON", "0"}},
		{"(error) ERR invalid FILTER-EF", []string{"VSIM", "v", "ELE", "a", "FILTER-EF", "x"}},
		{"(error) ERR syntax error in FILTER expression near: @x > 1", []string{"VSIM", "v", "ELE", "a", "FILTER", ".year > 1 and @x > 1"}},
		{"(error) ERR syntax error in FILTER expression near: .year >", []string{"VSIM", "v", "ELE", "a", "FILTER", ".year >"}},
		{"(error) ERR syntax error in FILTER expression near: (.year > 1", []string{"VSIM", "v", "ELE", "a", "FILTER", "(.year > 1"}},
		{"(error) ERR key does not exist", []string{"VDIM", "nokey"}},
		{"(error) ERR wrong number of arguments for 'vsim' command", []string{"VSIM", "v", "ELE"}},
		{"(error) ERR wrong number of arguments for 'vrem' command", []string{"VREM", "v"}},
		// The last element removed deletes the key.
		{"(true)", []string{"VREM", "v", "a"}},
		{"(true)", []string{"VREM", "v", "b"}},
		{"(true)", []string{"VREM", "v", "c"}},
		{"0", []string{"VCARD", "v"}},
		{"(nil)", []string{"VINFO", "v"}},
	}
	for _, st := range steps {
		h.Check(st.want, st.args...)
	}
}

func fp32(v ...float32) string {
	var b []byte
	for _, x := range v {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
	}
	return string(b)
}

// TestVSimRESP3Shapes checks the RESP3 forms: a map of element -> score,
// and element -> [score, attribute] when both are asked.
func TestVSimRESP3Shapes(t *testing.T) {
	h := harness(t)
	h.Do("VADD", "v", "VALUES", "2", "1", "0", "a", "SETATTR", `{"n":1}`)
	h.Do("VADD", "v", "VALUES", "2", "0", "1", "b")
	got := h.Do("VSIM", "v", "ELE", "a", "WITHSCORES")
	if got.Kind != reply.KindMap || got.String() != "[a 1 b 0.5]" {
		t.Fatalf("WITHSCORES: kind %d %s", got.Kind, got)
	}
	got = h.Do("VSIM", "v", "ELE", "a", "WITHSCORES", "WITHATTRIBS")
	r3 := got.Elems[1]
	if got.Kind != reply.KindByProto || r3.Kind != reply.KindMap || r3.String() != `[a [1 {"n":1}] b [0.5 (nil)]]` {
		t.Fatalf("both: %s", got)
	}
	if r2 := got.Elems[0]; r2.String() != `[a 1 {"n":1} b 0.5 (nil)]` {
		t.Fatalf("RESP2: %s", r2)
	}
}

// randVecs returns n clustered vectors of dimension dim.
func randVecs(r *rand.Rand, n, dim, clusters int) [][]float32 {
	cs := make([][]float32, clusters)
	for i := range cs {
		cs[i] = make([]float32, dim)
		for j := range cs[i] {
			cs[i][j] = float32(r.NormFloat64())
		}
	}
	out := make([][]float32, n)
	for i := range out {
		c := cs[r.IntN(clusters)]
		out[i] = make([]float32, dim)
		for j := range out[i] {
			out[i][j] = c[j] + 0.4*float32(r.NormFloat64())
		}
	}
	return out
}

func vaddArgs(key, name string, v []float32, extra ...string) []string {
	a := []string{"VADD", key, "FP32", fp32(v...), name}
	return append(a, extra...)
}

func names(v reply.Value) []string {
	var out []string
	for _, e := range v.Elems {
		out = append(out, string(e.Str))
	}
	return out
}

// bruteForce returns the k nearest names to q among the set's stored
// vectors (cosine over the normalised, quantized vectors), admitting only
// names for which ok returns true.
func bruteForce(s *keyspace.VectorSet, q []float32, k int, ok func(string) bool) []string {
	type hit struct {
		name string
		d    float64
	}
	var hits []hit
	for i := 0; i < s.Len(); i++ {
		name, _ := s.ElemAt(i)
		if ok != nil && !ok(name) {
			continue
		}
		d, _ := s.Distance(name, q)
		hits = append(hits, hit{name, float64(d)})
	}
	sort.SliceStable(hits, func(i, j int) bool {
		return hits[i].d < hits[j].d || (hits[i].d == hits[j].d && hits[i].name < hits[j].name)
	})
	var out []string
	for i := 0; i < k && i < len(hits); i++ {
		out = append(out, hits[i].name)
	}
	return out
}

func recall(got, want []string) float64 {
	if len(want) == 0 {
		return 1
	}
	n := 0
	for _, g := range got {
		if slices.Contains(want, g) {
			n++
		}
	}
	return float64(n) / float64(len(want))
}

func vsetAt(t testing.TB, h *commandtest.Harness, key string) *keyspace.VectorSet {
	it := h.DB.Get([]byte(key), h.Now)
	if it == nil {
		t.Fatalf("no key %s", key)
	}
	return it.Obj.(*keyspace.VectorSet)
}

// TestVSimRecallAndFilter measures VSIM's recall@10 against brute force on
// a generated clustered set, and checks FILTER results: with TRUTH they
// must equal brute force over the matching elements exactly; without,
// recall must stay high at 50%, 10% and 2% selectivity.
func TestVSimRecallAndFilter(t *testing.T) {
	const n, dim, queries = 2000, 32, 60
	r := rand.New(rand.NewPCG(1, 2))
	vecs := randVecs(r, n, dim, 20)
	for _, quant := range []string{"NOQUANT", "Q8"} {
		h := harness(t)
		for i, v := range vecs {
			attr := fmt.Sprintf(`{"n": %d, "tag": "t%d"}`, i%50, i%10)
			h.Do(vaddArgs("v", "e"+strconv.Itoa(i), v, quant, "SETATTR", attr)...)
		}
		s := vsetAt(t, h, "v")
		qs := randVecs(r, queries, dim, 20)
		var plain float64
		filters := []struct {
			expr string
			ok   func(n int) bool
		}{
			{".n < 25", func(i int) bool { return i%50 < 25 }},                  // 50%
			{`.tag == "t3"`, func(i int) bool { return i%10 == 3 }},             // 10%
			{".n == 7 or .n * 2 == 100", func(i int) bool { return i%50 == 7 }}, // 2%
		}
		filtered := make([]float64, len(filters))
		for _, q := range qs {
			stored, _ := s.Prepare(q)
			got := names(h.Do(append([]string{"VSIM", "v", "FP32", fp32(q...)}, "COUNT", "10")...))
			plain += recall(got, bruteForce(s, stored, 10, nil))
			for fi, f := range filters {
				ok := func(name string) bool { i, _ := strconv.Atoi(name[1:]); return f.ok(i) }
				want := bruteForce(s, stored, 10, ok)
				truth := names(h.Do("VSIM", "v", "FP32", fp32(q...), "COUNT", "10", "FILTER", f.expr, "TRUTH"))
				if !slices.Equal(truth, want) {
					t.Fatalf("%s FILTER %q TRUTH: got %v, want %v", quant, f.expr, truth, want)
				}
				got := names(h.Do("VSIM", "v", "FP32", fp32(q...), "COUNT", "10", "FILTER", f.expr))
				for _, g := range got {
					if !ok(g) {
						t.Fatalf("%s FILTER %q returned %s", quant, f.expr, g)
					}
				}
				filtered[fi] += recall(got, want)
			}
		}
		plain /= queries
		t.Logf("%s recall@10 %.3f", quant, plain)
		if plain < 0.95 {
			t.Errorf("%s recall@10 = %.3f, want >= 0.95", quant, plain)
		}
		for fi, f := range filters {
			rc := filtered[fi] / queries
			t.Logf("%s FILTER %q recall@10 %.3f", quant, f.expr, rc)
			if rc < 0.95 {
				t.Errorf("%s FILTER %q recall@10 = %.3f, want >= 0.95", quant, f.expr, rc)
			}
		}
	}
}

// TestQuantization checks what Q8 and BIN store and return.
func TestQuantization(t *testing.T) {
	h := harness(t)
	v := []float32{3, -4, 0.5, 0}
	h.Do(vaddArgs("q8", "a", v)...)
	h.Do(vaddArgs("f", "a", v, "NOQUANT")...)
	h.Do(vaddArgs("b", "a", v, "BIN")...)
	h.Check("[quant-type int8 hnsw-m 16 vector-dim 4 projection-input-dim 0 size 1 max-level 0 attributes-count 0 vset-uid 2 hnsw-max-node-uid 1]", "VINFO", "q8")
	if got := h.Do("VINFO", "b"); string(got.Elems[1].Str) != "bin" {
		t.Errorf("VINFO b: %s", got)
	}
	// NOQUANT gives the vector back up to float rounding; Q8 within a
	// quantization step of the largest component.
	for _, key := range []string{"f", "q8"} {
		got := h.Do("VEMB", key, "a")
		tol := 1e-5
		if key == "q8" {
			tol = 5.0 / 127
		}
		for i, e := range got.Elems {
			f, _ := strconv.ParseFloat(string(e.Str), 64)
			if math.Abs(f-float64(v[i])) > tol {
				t.Errorf("VEMB %s: component %d = %v, want %v ± %v", key, i, f, v[i], tol)
			}
		}
	}
	h.Check("[1 -1 1 -1]", "VEMB", "b", "a")
	// RAW: quantization name, stored bytes, norm (and Q8 range).
	raw := h.Do("VEMB", "q8", "a", "RAW")
	if len(raw.Elems) != 4 || string(raw.Elems[0].Str) != "int8" || len(raw.Elems[1].Str) != 4 || string(raw.Elems[2].Str) != "5.024937629699707" {
		t.Errorf("VEMB RAW q8: %s", raw)
	}
	if q := int8(raw.Elems[1].Str[1]); q != -127 {
		t.Errorf("largest magnitude quantizes to %d, want -127", q)
	}
	raw = h.Do("VEMB", "b", "a", "RAW")
	if len(raw.Elems) != 3 || string(raw.Elems[0].Str) != "bin" || !bytes.Equal(raw.Elems[1].Str, []byte{5, 0, 0, 0, 0, 0, 0, 0}) {
		t.Errorf("VEMB RAW bin: %q", raw.Elems)
	}
	raw = h.Do("VEMB", "f", "a", "RAW")
	if len(raw.Elems) != 3 || string(raw.Elems[0].Str) != "f32" || len(raw.Elems[1].Str) != 16 {
		t.Errorf("VEMB RAW f32: %s", raw)
	}
	// BIN similarity is 1 - hamming/dim: one of four signs differs.
	h.Do(vaddArgs("b", "c", []float32{1, -1, 1, 1}, "BIN")...)
	h.Check("[a 1 c 0.75]", "VSIM", "b", "ELE", "a", "WITHSCORES")
}

// TestReduce checks REDUCE: the projection is fixed, stored with the set,
// queries of the input dimension are projected, and mismatches are
// refused with Redis's errors.
func TestReduce(t *testing.T) {
	h := harness(t)
	h.Check("(true)", "VADD", "r", "REDUCE", "2", "VALUES", "4", "1", "2", "3", "4", "a")
	h.Check("(true)", "VADD", "r", "REDUCE", "2", "VALUES", "4", "4", "3", "2", "1", "b")
	h.Check("2", "VDIM", "r")
	h.Check("[quant-type int8 hnsw-m 16 vector-dim 2 projection-input-dim 4 size 2 max-level 0 attributes-count 0 vset-uid 2 hnsw-max-node-uid 2]", "VINFO", "r")
	h.Check("[a b]", "VSIM", "r", "VALUES", "4", "1", "2", "3", "4")
	h.Check("(error) ERR Input dimension mismatch for projection - got 3 but projection expects 4", "VSIM", "r", "VALUES", "3", "1", "2", "3")
	h.Check("(error) ERR Vector dimension mismatch - got 4 but set has 2", "VADD", "r", "VALUES", "4", "1", "2", "3", "4", "c")
	h.Check("(error) ERR Input dimension mismatch for projection - got 3 but projection expects 4", "VADD", "r", "REDUCE", "2", "VALUES", "3", "1", "2", "3", "c")
	// Hadamard rows 0 and 1 over 4 inputs, scaled by 1/2: (1,2,3,4) ->
	// (5, -1), norm sqrt(26); Q8 keeps the direction within a step.
	got := h.Do("VEMB", "r", "a")
	x, _ := strconv.ParseFloat(string(got.Elems[0].Str), 64)
	y, _ := strconv.ParseFloat(string(got.Elems[1].Str), 64)
	if math.Abs(x-5) > 0.05 || math.Abs(y+1) > 0.05 {
		t.Errorf("projected a = (%v, %v), want about (5, -1)", x, y)
	}
}

// TestVRandMember checks counts, uniqueness and repetition.
func TestVRandMember(t *testing.T) {
	h := harness(t)
	for i := 0; i < 20; i++ {
		h.Do("VADD", "v", "VALUES", "2", strconv.Itoa(i), "1", "e"+strconv.Itoa(i))
	}
	for _, c := range []struct {
		count string
		n     int
		uniq  bool
	}{{"3", 3, true}, {"10", 10, true}, {"50", 20, true}, {"-30", 30, false}} {
		got := names(h.Do("VRANDMEMBER", "v", c.count))
		if len(got) != c.n {
			t.Errorf("VRANDMEMBER %s: %d elements", c.count, len(got))
		}
		seen := map[string]bool{}
		for _, g := range got {
			if !strings.HasPrefix(g, "e") {
				t.Errorf("VRANDMEMBER %s: %q", c.count, g)
			}
			if c.uniq && seen[g] {
				t.Errorf("VRANDMEMBER %s: %q twice", c.count, g)
			}
			seen[g] = true
		}
	}
	if got := h.Do("VRANDMEMBER", "v"); got.Kind != reply.KindBulk {
		t.Errorf("VRANDMEMBER: %s", got)
	}
}

// TestDeterministicAndSnapshot applies the same writes to two keyspaces
// (as two replicas do) and checks equal digests, then round-trips a
// keyspace snapshot and checks the restored set answers identically with
// no rebuild (the graph is loaded, its digest unchanged).
func TestDeterministicAndSnapshot(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	vecs := randVecs(r, 600, 16, 8)
	var hs []*commandtest.Harness
	for range 2 {
		h := harness(t)
		for i, v := range vecs {
			quant := []string{"NOQUANT", "Q8", "BIN"}[i%3]
			h.Do(vaddArgs("v"+quant, "e"+strconv.Itoa(i), v, quant, "SETATTR", fmt.Sprintf(`{"i":%d}`, i))...)
			if i%7 == 0 {
				h.Do("VREM", "v"+quant, "e"+strconv.Itoa(i/2))
			}
			if i%11 == 0 {
				h.Do(vaddArgs("v"+quant, "e"+strconv.Itoa(i/3), vecs[i/5], quant)...)
			}
		}
		hs = append(hs, h)
	}
	if a, b := hs[0].DB.Digest(), hs[1].DB.Digest(); a != b {
		t.Fatalf("replica digests differ: %x vs %x", a, b)
	}
	h := hs[0]
	var buf bytes.Buffer
	snap := h.DB.Snapshot()
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	// Writes after the snapshot must not change what it holds.
	h.Do(vaddArgs("vQ8", "late", vecs[0], "Q8")...)
	h.Do("VREM", "vNOQUANT", "e1")
	var buf2 bytes.Buffer
	if _, err := snap.WriteTo(&buf2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
		t.Fatal("snapshot changed by later writes")
	}
	snapDigest := snap.Digest()
	snap.Release()
	h2 := harness(t)
	if err := h2.DB.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if h2.DB.Digest() != snapDigest {
		t.Fatal("digest after Load differs from the snapshot's")
	}
	for _, key := range []string{"vNOQUANT", "vQ8", "vBIN"} {
		if vsetAt(t, h2, key).Digest() != vsetAt(t, hs[1], key).Digest() {
			t.Errorf("%s: graph digest differs after Load", key)
		}
		h2.Check("vectorset", "TYPE", key)
		for _, q := range vecs[:20] {
			a := hs[1].Do("VSIM", key, "FP32", fp32(q...), "WITHSCORES", "FILTER", ".i % 2 == 0")
			b := h2.Do("VSIM", key, "FP32", fp32(q...), "WITHSCORES", "FILTER", ".i % 2 == 0")
			if !reply.Equal(a, b) {
				t.Fatalf("%s: VSIM differs after Load:\n%s\n%s", key, a, b)
			}
		}
	}
	// Memory accounting is exact and deterministic.
	hs[1].DB.SettleMemory()
	h2.DB.SettleMemory()
	if a, b := hs[1].DB.UsedMemory(), h2.DB.UsedMemory(); a != b {
		t.Errorf("used memory %d on the replica, %d after Load", a, b)
	}
}

// TestDecodeCorrupt: a damaged vector-set body (a RESTORE payload or a
// snapshot) is refused with an error, never a panic or a half-built set.
func TestDecodeCorrupt(t *testing.T) {
	h := harness(t)
	r := rand.New(rand.NewPCG(5, 6))
	for i, v := range randVecs(r, 200, 8, 4) {
		h.Do(vaddArgs("v", "e"+strconv.Itoa(i), v, "SETATTR", `{"i": 1}`)...)
	}
	good := keyspace.AppendVectorSet(nil, vsetAt(t, h, "v"))
	if _, err := keyspace.DecodeVectorSet(good); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 600; i++ {
		b := append([]byte(nil), good...)
		switch i % 3 {
		case 0:
			b = b[:r.IntN(len(b))]
		default:
			for range 1 + r.IntN(3) {
				b[r.IntN(len(b))] ^= byte(1 + r.IntN(255))
			}
		}
		s, err := keyspace.DecodeVectorSet(b)
		if err == nil && s.Len() != 200 {
			t.Fatalf("mutation %d decoded to %d elements", i, s.Len())
		}
	}
}

// TestSnapshotWhileWriting serializes a keyspace snapshot on another
// goroutine while vector-set writes continue (run with -race): the first
// write clones the set, and the snapshot's bytes are those of the moment
// it was taken.
func TestSnapshotWhileWriting(t *testing.T) {
	h := harness(t)
	r := rand.New(rand.NewPCG(9, 9))
	vecs := randVecs(r, 400, 8, 4)
	for i, v := range vecs[:300] {
		h.Do(vaddArgs("v", "e"+strconv.Itoa(i), v)...)
	}
	var want bytes.Buffer
	s0 := h.DB.Snapshot()
	s0.WriteTo(&want)
	s0.Release()
	snap := h.DB.Snapshot()
	done := make(chan []byte)
	go func() {
		var b bytes.Buffer
		snap.WriteTo(&b)
		done <- b.Bytes()
	}()
	for i, v := range vecs[300:] {
		h.Do(vaddArgs("v", "e"+strconv.Itoa(300+i), v)...)
		h.Do("VREM", "v", "e"+strconv.Itoa(i))
		h.Do("VSIM", "v", "FP32", fp32(v...), "COUNT", "3")
	}
	got := <-done
	snap.Release()
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatal("snapshot written during writes differs from the state when it was taken")
	}
}
