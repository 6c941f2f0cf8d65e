package vsets

import (
	"math/rand/v2"
	"strconv"
	"testing"
)

// BenchmarkVSim measures VSIM through the command handler (no network):
// 10,000 clustered 64-d vectors per quantization, COUNT 10, default EF,
// and reports recall@10 against brute force over the stored vectors.
// Run: go test ./server/command/vsets -run XX -bench VSim -benchtime 300x
func BenchmarkVSim(b *testing.B) {
	for _, quant := range []string{"NOQUANT", "Q8", "BIN"} {
		b.Run(quant, func(b *testing.B) {
			r := rand.New(rand.NewPCG(11, 12))
			vecs := randVecs(r, 10000, 64, 50)
			h := harness(b)
			for i, v := range vecs {
				h.Do(vaddArgs("v", "e"+strconv.Itoa(i), v, quant)...)
			}
			s := vsetAt(b, h, "v")
			qs := randVecs(r, 200, 64, 50)
			rec := 0.0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				q := qs[i%len(qs)]
				got := names(h.Do("VSIM", "v", "FP32", fp32(q...), "COUNT", "10"))
				if i < len(qs) {
					b.StopTimer()
					stored, _ := s.Prepare(q)
					rec += recall(got, bruteForce(s, stored, 10, nil))
					b.StartTimer()
				}
			}
			b.ReportMetric(rec/float64(min(b.N, len(qs))), "recall@10")
		})
	}
}
