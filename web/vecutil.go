package web

import (
	"encoding/binary"
	"math"
)

// decodeFloat32 reads a little-endian float32 blob (FT's vector format).
func decodeFloat32(s string) []float32 {
	out := make([]float32, len(s)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32([]byte(s[4*i : 4*i+4])))
	}
	return out
}

func encodeFloat32(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return string(b)
}
