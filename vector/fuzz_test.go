package vector

import (
	"bytes"
	"encoding/binary"
	"errors"
	"testing"

	"github.com/cespare/xxhash/v2"
)

// FuzzLoad feeds arbitrary bytes to Load: it must return an index or an
// error wrapping ErrCodec/ErrVersion, never panic; whatever it loads must
// be searchable and write back to the same bytes.
func FuzzLoad(f *testing.F) {
	for _, alg := range []Algorithm{FLAT, HNSW} {
		ix, _ := New(Config{Algorithm: alg, Dim: 3, M: 2, EFConstruction: 4})
		for i, v := range [][]float32{{1, 2, 3}, {3, 2, 1}, {0, 0, 1}, {5, 5, 5}, {1, 0, 0}} {
			ix.Set(key(i), v)
		}
		ix.Delete(key(1))
		var buf bytes.Buffer
		ix.Snapshot().WriteTo(&buf)
		f.Add(buf.Bytes())
	}
	for _, q := range []Quant{QuantQ8, QuantBin} {
		ix, _ := New(Config{Algorithm: HNSW, Dim: 3, M: 2, EFConstruction: 4, Metric: IP, Quant: q})
		for i, v := range [][]float32{{1, 2, 3}, {3, -2, 1}, {0, 0, 1}, {0, 0, 0}, {-1, 0, 0}} {
			ix.Set(key(i), v)
		}
		ix.Delete(key(1))
		var buf bytes.Buffer
		ix.Snapshot().WriteTo(&buf)
		f.Add(buf.Bytes())
	}
	f.Add([]byte("CAIRNVEC\x01\x00\x00\x00"))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		check(t, b)
		// Again with a valid checksum, so mutations reach the structural
		// checks instead of stopping at the checksum.
		if len(b) >= 8 {
			fixed := append([]byte(nil), b[:len(b)-8]...)
			check(t, binary.LittleEndian.AppendUint64(fixed, xxhash.Sum64(fixed)))
		}
	})
}

// check loads b and exercises whatever loads.
func check(t *testing.T, b []byte) {
	{
		ix, err := Load(bytes.NewReader(b))
		if err != nil {
			if !errors.Is(err, ErrCodec) && !errors.Is(err, ErrVersion) {
				t.Fatalf("error %v wraps neither ErrCodec nor ErrVersion", err)
			}
			return
		}
		q := make([]float32, ix.cfg.Dim)
		if _, err := ix.Search(q, 3, &SearchOptions{EF: 4}); err != nil {
			t.Fatal(err)
		}
		ix.Range(q, 10, nil)
		var out bytes.Buffer
		ix.Snapshot().WriteTo(&out)
		if !bytes.Equal(out.Bytes(), b[:out.Len()]) {
			t.Fatalf("loaded index writes different bytes")
		}
		ix.Set("new", q)
		ix.Delete(key(0))
		ix.Vacuum()
		ix.Search(q, 3, nil)
	}
}
