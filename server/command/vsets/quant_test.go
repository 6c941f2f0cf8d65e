package vsets

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strconv"
	"testing"

	"github.com/cairndb/cairn/server/reply"
)

// TestVEmbDequantized checks VEMB against Redis's formulas on the stored
// form (VEMB RAW): Q8 gives q·range/127·norm in float32, BIN ±1.
func TestVEmbDequantized(t *testing.T) {
	h := harness(t)
	r := rand.New(rand.NewPCG(5, 6))
	for i := 0; i < 20; i++ {
		v := randVecs(r, 1, 24, 1)[0]
		name := "e" + strconv.Itoa(i)
		h.Do(vaddArgs("q", name, v)...)
		raw := h.Do("VEMB", "q", name, "RAW")
		norm, _ := strconv.ParseFloat(string(raw.Elems[2].Str), 64)
		rng, _ := strconv.ParseFloat(string(raw.Elems[3].Str), 64)
		emb := h.Do("VEMB", "q", name)
		for j, e := range emb.Elems {
			q := int8(raw.Elems[1].Str[j])
			want := float32(float32(float32(q)*float32(rng))/127) * float32(norm)
			if got := string(e.Str); got != strconv.FormatFloat(float64(want), 'g', -1, 64) {
				t.Fatalf("%s[%d] = %s, want %v (q %d range %v norm %v)", name, j, got, want, q, rng, norm)
			}
		}
	}
}

// TestVLinks checks VLINKS: one array per level from the top down, the
// neighbours' similarities with WITHSCORES (a map in RESP3), nulls and
// errors as Redis.
func TestVLinks(t *testing.T) {
	h := harness(t)
	h.Do("VADD", "v", "VALUES", "2", "1", "0", "a")
	h.Do("VADD", "v", "VALUES", "2", "0", "1", "b")
	h.Do("VADD", "v", "VALUES", "2", "-1", "0", "c")
	// c is pruned from a's list by the neighbour heuristic: it is nearer to b.
	h.Check("[[b]]", "VLINKS", "v", "a")
	h.Check("[[a c]]", "VLINKS", "v", "b")
	got := h.Do("VLINKS", "v", "a", "WITHSCORES")
	if got.String() != "[[b 0.5]]" || got.Elems[0].Kind != reply.KindMap {
		t.Fatalf("VLINKS WITHSCORES: kind %d %s", got.Elems[0].Kind, got)
	}
	h.Check("(nil)", "VLINKS", "v", "zz")
	h.Check("(nil)", "VLINKS", "nokey", "a")
	h.Check("(error) ERR wrong number of arguments for 'vlinks' command", "VLINKS", "v", "a", "FOO")
	h.Check("(error) ERR wrong number of arguments for 'vlinks' command", "VLINKS", "v", "a", "WITHSCORES", "x")
	h.Check(wrongType, "VLINKS", "str", "a")
	// A larger set: every level of every element lists only live
	// elements, at most 2*M on level 0 and M above, and a deleted
	// element disappears from its neighbours' lists.
	r := rand.New(rand.NewPCG(1, 1))
	for i, v := range randVecs(r, 500, 8, 5) {
		h.Do(vaddArgs("big", "e"+strconv.Itoa(i), v, "M", "6")...)
	}
	h.Do("VREM", "big", "e3")
	tops := 0
	for i := 0; i < 500; i++ {
		name := "e" + strconv.Itoa(i)
		got := h.Do("VLINKS", "big", name)
		if i == 3 {
			if got.Kind != reply.KindNil {
				t.Fatalf("VLINKS of a removed element: %s", got)
			}
			continue
		}
		if len(got.Elems) > 1 {
			tops++
		}
		for l, lv := range got.Elems {
			limit := 6
			if l == len(got.Elems)-1 {
				limit = 12
			}
			if len(lv.Elems) > limit {
				t.Fatalf("%s level %d: %d links", name, l, len(lv.Elems))
			}
			for _, x := range lv.Elems {
				if string(x.Str) == "e3" || string(x.Str) == name {
					t.Fatalf("%s links to %s", name, x.Str)
				}
			}
		}
	}
	if tops == 0 {
		t.Fatal("no element above level 0")
	}
}

// TestVRange checks VRANGE's bounds, counts and iteration (the cases of
// Redis's own vrange.py).
func TestVRange(t *testing.T) {
	h := harness(t)
	elems := []string{"apple", "apricot", "banana", "cherry", "date", "elderberry", "fig", "grape",
		"honeydew", "kiwi", "lemon", "mango", "nectarine", "orange", "papaya", "quince",
		"raspberry", "strawberry", "tangerine", "watermelon"}
	for i, e := range elems {
		h.Do("VADD", "v", "VALUES", "2", strconv.Itoa(i), "1", e)
	}
	for _, c := range []struct {
		want string
		args []string
	}{
		{"[apple apricot banana cherry date]", []string{"[apple", "[grape", "5"}},
		{"[apricot banana cherry]", []string{"(apple", "[cherry", "10"}},
		{"[banana]", []string{"[banana", "(cherry", "10"}},
		{"[apple apricot banana]", []string{"-", "[banana", "10"}},
		{"[raspberry strawberry tangerine watermelon]", []string{"[raspberry", "+", "10"}},
		{"[]", []string{"-", "+", "0"}},
		{"[]", []string{"[zebra", "+", "10"}},
		{"[apple]", []string{"[app", "[apr", "10"}},
		{"[cherry]", []string{"[cherry", "[cherry", "10"}},
		{"[]", []string{"[grape", "[apple", "10"}},
		{"[]", []string{"(cherry", "(cherry", "10"}},
		{"[]", []string{"+", "-", "10"}},
		{"[lemon mango]", []string{"[lemon", "+", "2"}},
		{"[tangerine watermelon]", []string{"[tangerine", "+"}},
		{"[tangerine watermelon]", []string{"[tangerine", "+", "-1"}},
		{"(error) ERR min or max not valid string range item", []string{"apple", "+", "10"}},
		{"(error) ERR min or max not valid string range item", []string{"-", "", "10"}},
		{"(error) ERR value is not an integer or out of range", []string{"-", "+", "x"}},
	} {
		h.Check(c.want, append([]string{"VRANGE", "v"}, c.args...)...)
	}
	h.Check("[]", "VRANGE", "nokey", "-", "+", "10")
	h.Check(wrongType, "VRANGE", "str", "-", "+", "10")
	h.Check("(error) ERR wrong number of arguments for 'vrange' command", "VRANGE", "v", "-")
	h.Check("(error) ERR wrong number of arguments for 'vrange' command", "VRANGE", "v", "-", "+", "1", "2")
	// Iterating three at a time visits every element once, in order.
	var seen []string
	start := "-"
	for {
		got := names(h.Do("VRANGE", "v", start, "+", "3"))
		seen = append(seen, got...)
		if len(got) < 3 {
			break
		}
		start = "(" + got[len(got)-1]
	}
	if fmt.Sprint(seen) != fmt.Sprint(elems) {
		t.Fatalf("iteration: %v", seen)
	}
}

// TestFilterEF checks that FILTER-EF bounds a filtered VSIM as in Redis:
// with a filter only a few far elements pass, a small effort returns
// fewer than COUNT (the search stops), a large one finds them all; 0 and
// negative values are refused.
func TestFilterEF(t *testing.T) {
	h := harness(t)
	r := rand.New(rand.NewPCG(7, 8))
	vecs := randVecs(r, 3000, 16, 10)
	for i, v := range vecs {
		h.Do(vaddArgs("v", "e"+strconv.Itoa(i), v, "SETATTR", fmt.Sprintf(`{"n": %d}`, i))...)
	}
	q := fp32(vecs[0]...)
	expr := ".n % 300 == 7" // 10 elements of 3000
	truth := names(h.Do("VSIM", "v", "FP32", q, "COUNT", "10", "FILTER", expr, "TRUTH"))
	if len(truth) != 10 {
		t.Fatalf("TRUTH: %v", truth)
	}
	small := names(h.Do("VSIM", "v", "FP32", q, "COUNT", "10", "FILTER", expr, "FILTER-EF", "20"))
	large := names(h.Do("VSIM", "v", "FP32", q, "COUNT", "10", "FILTER", expr, "FILTER-EF", "100000"))
	def := names(h.Do("VSIM", "v", "FP32", q, "COUNT", "10", "FILTER", expr))
	t.Logf("FILTER-EF 20: %d results, default (1000): %d, 100000: %d", len(small), len(def), len(large))
	if len(small) >= len(large) {
		t.Errorf("FILTER-EF 20 gave %d results, FILTER-EF 100000 %d: the effort is not bounded", len(small), len(large))
	}
	if recall(large, truth) < 0.9 {
		t.Errorf("FILTER-EF 100000 recall %.2f (%v vs %v)", recall(large, truth), large, truth)
	}
	for _, bad := range []string{"0", "-5", "x"} {
		h.Check("(error) ERR invalid FILTER-EF", "VSIM", "v", "FP32", q, "FILTER", expr, "FILTER-EF", bad)
	}
}

// TestVSetMemoryPerElement measures the heap a vector set of 10,000
// 64-d elements takes with each quantization (Go heap after GC, divided
// by the element count) and checks that Q8 and BIN store less than
// NOQUANT. Run with -v to see the figures.
func TestVSetMemoryPerElement(t *testing.T) {
	if testing.Short() {
		t.Skip("builds three 10k-element sets")
	}
	const n, dim = 10000, 64
	r := rand.New(rand.NewPCG(11, 12))
	vecs := randVecs(r, n, dim, 50)
	per := map[string]float64{}
	for _, quant := range []string{"NOQUANT", "Q8", "BIN"} {
		h := harness(t)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for i, v := range vecs {
			h.Do(vaddArgs("v", "e"+strconv.Itoa(i), v, quant)...)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		per[quant] = float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / n
		t.Logf("%s: %.0f heap bytes an element (vector alone: %d bytes)", quant, per[quant],
			map[string]int{"NOQUANT": 4 * dim, "Q8": dim + 4, "BIN": dim / 8}[quant])
		runtime.KeepAlive(h)
	}
	if !(per["Q8"] < per["NOQUANT"]-150 && per["BIN"] < per["Q8"]-40) {
		t.Errorf("heap an element: NOQUANT %.0f, Q8 %.0f, BIN %.0f", per["NOQUANT"], per["Q8"], per["BIN"])
	}
	_ = math.Abs
}
