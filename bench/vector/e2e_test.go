package main

import (
	"encoding/binary"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestTagsOfNestedSelectivities(t *testing.T) {
	counts := map[int]int{}
	const n = 20000
	for i := range n {
		tags := strings.Split(tagsOf(i), ",")
		for _, pct := range selectivities {
			has := strings.Contains(","+tagsOf(i)+",", ",p"+strconv.Itoa(pct)+",")
			if has != admitted(i, pct) {
				t.Fatalf("vector %d: tags %v, admitted(%d%%) = %v", i, tags, pct, admitted(i, pct))
			}
			if has {
				counts[pct]++
			}
		}
		if admitted(i, 2) && !admitted(i, 10) || admitted(i, 10) && !admitted(i, 50) {
			t.Fatalf("vector %d: subsets not nested", i)
		}
	}
	for _, pct := range selectivities {
		got := float64(counts[pct]) / n * 100
		if math.Abs(got-float64(pct)) > 1 {
			t.Errorf("p%d admits %.2f%% of vectors", pct, got)
		}
	}
}

func TestParseHnswRows(t *testing.T) {
	out := "| hnswlib (python3-hnswlib) | 3036 | 660 | 50 | 0.9732 | 7918 | True |\nnoise\n| hnswlib (python3-hnswlib) | 3036 | 660 | 100 | 0.9961 | 5343 | True |\n"
	rows := parseHnswRows(out)
	if len(rows) != 2 || rows[0].ef != 50 || rows[1].recall != 0.9961 || rows[1].qps != 5343 || rows[0].build != 3036 || rows[0].bytesPer != 660 {
		t.Fatalf("parsed %+v", rows)
	}
}

func TestBlobLittleEndianFloat32(t *testing.T) {
	b := blob([]float32{1.5, -2})
	if len(b) != 8 || math.Float32frombits(binary.LittleEndian.Uint32([]byte(b[4:]))) != -2 {
		t.Fatalf("blob % x", b)
	}
}
