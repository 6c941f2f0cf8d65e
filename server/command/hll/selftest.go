package hll

import (
	"fmt"
	"math"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// pfselftestCmd is PFSELFTEST, as Redis's: it checks that the dense
// registers keep their values without disturbing their neighbours, and
// that the sparse and dense encodings estimate the same cardinalities
// within the expected error while elements are added.
func pfselftestCmd(c *command.Ctx, _ [][]byte) (reply.Value, error) {
	fail := func(format string, a ...any) (reply.Value, error) {
		return reply.Value{}, command.Errorf(errSelfTestFmt, fmt.Sprintf(format, a...))
	}
	rng := c.Rand()
	regs := make([]byte, denseSize-hdrSize)
	var want [hllRegisters]int
	for cycle := 0; cycle < 100; cycle++ {
		for i := range want {
			want[i] = rng.IntN(hllRegMax + 1)
			denseSet(regs, i, want[i])
		}
		for i, w := range want {
			if got := denseGet(regs, i); got != w {
				return fail("Register error at %d: %d != %d", i, got, w)
			}
		}
	}
	sparse := buf{b: newHLL(), private: true}
	dense := buf{b: newHLL(), private: true}
	if dense.toDense() != nil {
		return fail("Cannot convert an empty HLL to dense")
	}
	relerr := 1.04 / math.Sqrt(hllRegisters)
	checkpoint := 1
	seed := rng.Uint64()
	for j := 1; j <= 100000; j++ {
		ele := strconv.AppendUint([]byte(nil), seed+uint64(j), 10)
		sparse.add(ele)
		dense.add(ele)
		if j != checkpoint {
			continue
		}
		checkpoint *= 10
		a, okA := count(sparse.b)
		b, okB := count(dense.b)
		if !okA || !okB || a != b {
			return fail("Sparse and dense estimates differ at %d: %d != %d", j, a, b)
		}
		maxerr := relerr * 6 * float64(j)
		if j < 10 {
			maxerr = 1
		}
		if math.Abs(float64(b-int64(j))) > maxerr {
			return fail("Error at %d: estimate %d", j, b)
		}
	}
	return reply.Status("OK"), nil
}
