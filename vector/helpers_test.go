package vector

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/vector/vectortest"
)

// key names dataset row i.
func key(i int) string { return fmt.Sprintf("doc:%d", i) }

// row parses a key back to its dataset row.
func row(t testing.TB, k string) int {
	t.Helper()
	i, err := strconv.Atoi(strings.TrimPrefix(k, "doc:"))
	if err != nil {
		t.Fatalf("bad key %q", k)
	}
	return i
}

// build returns an index of cfg holding data (nil rows skipped).
func build(t testing.TB, cfg Config, data [][]float32) *Index {
	t.Helper()
	ix, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for i, v := range data {
		if v == nil {
			continue
		}
		if err := ix.Set(key(i), v); err != nil {
			t.Fatal(err)
		}
	}
	return ix
}

// recallAt returns the mean recall@k of ix over queries against exact
// ground truth on data (nil rows are absent), checking that every result
// is a present row and that results are sorted.
func recallAt(t testing.TB, ix *Index, data, queries [][]float32, k int, opt *SearchOptions, admit func(int) bool) float64 {
	t.Helper()
	var sum float64
	for _, q := range queries {
		res, err := ix.Search(q, k, opt)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]int, len(res))
		for j, r := range res {
			got[j] = row(t, r.Key)
			if data[got[j]] == nil {
				t.Fatalf("search returned deleted key %s", r.Key)
			}
			if admit != nil && !admit(got[j]) {
				t.Fatalf("search returned %s, which the filter rejects", r.Key)
			}
			if j > 0 && resultLess(res[j], res[j-1]) {
				t.Fatalf("results not sorted at %d: %v", j, res)
			}
		}
		sum += vectortest.Recall(got, vectortest.KNN(data, q, k, vectortest.L2, admit))
	}
	return sum / float64(len(queries))
}

func errorsIs(err, target error) bool { return errors.Is(err, target) }
