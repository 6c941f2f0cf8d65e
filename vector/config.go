package vector

import (
	"errors"
	"fmt"
	"strings"
)

// Algorithm is the index algorithm.
type Algorithm uint8

// The algorithms.
const (
	// FLAT is an exact brute-force index.
	FLAT Algorithm = iota
	// HNSW is a hierarchical navigable small world graph (approximate).
	HNSW
)

// String returns the RediSearch name of the algorithm.
func (a Algorithm) String() string {
	switch a {
	case FLAT:
		return "FLAT"
	case HNSW:
		return "HNSW"
	}
	return fmt.Sprintf("Algorithm(%d)", uint8(a))
}

// ParseAlgorithm parses FLAT or HNSW (any case).
func ParseAlgorithm(s string) (Algorithm, error) {
	switch strings.ToUpper(s) {
	case "FLAT":
		return FLAT, nil
	case "HNSW":
		return HNSW, nil
	}
	return 0, fmt.Errorf("%w: %q", ErrBadConfig, s)
}

// ErrBadConfig is returned by Config.Validate and New for an invalid
// configuration.
var ErrBadConfig = errors.New("vector: bad index configuration")

// Limits of the configuration.
const (
	// MaxDim is the largest accepted dimension.
	MaxDim = 32768
	// MaxM is the largest accepted M.
	MaxM = 512
	// MaxEF is the largest accepted EF_CONSTRUCTION or EF_RUNTIME.
	MaxEF = 1 << 20
)

// Config describes an index. The zero value of each optional field means
// its default. Every field is part of the replicated state: replicas must
// create the index with equal Configs.
type Config struct {
	// Algorithm is FLAT or HNSW. Default FLAT.
	Algorithm Algorithm
	// Dim is the vector dimension, 1..MaxDim. Required.
	Dim int
	// Type is the element type of the blobs SetBlob decodes. Default Float32.
	Type ElemType
	// Metric is the distance metric. Default L2.
	Metric Metric
	// M is the HNSW out-degree on levels above 0 (2*M on level 0). Default 16.
	M int
	// EFConstruction is the HNSW candidate-list size while inserting.
	// Default 200.
	EFConstruction int
	// EFRuntime is the default HNSW candidate-list size of a query.
	// Default 10.
	EFRuntime int
	// Epsilon is the HNSW range-query boundary factor: a range query of
	// radius r explores candidates up to r*(1+Epsilon). Default 0.01.
	Epsilon float64
	// InitialCap is accepted for compatibility (storage grows in pages).
	// Default 0.
	InitialCap int
	// BlockSize is accepted for compatibility (storage grows in pages of
	// 128 vectors). Default 1024.
	BlockSize int
	// Quant is how vectors are stored: QuantNone (float32, the default),
	// QuantQ8 or QuantBin (see Quant). A quantized index requires the IP
	// metric over unit vectors (the caller normalises them).
	Quant Quant
	// Seed is mixed into the hash that gives each key its HNSW level. The
	// state machine passes a seed from the log entry that created the
	// index. Default 0.
	Seed uint64
}

// withDefaults returns c with defaults filled in.
func (c Config) withDefaults() Config {
	if c.M == 0 {
		c.M = 16
	}
	if c.EFConstruction == 0 {
		c.EFConstruction = 200
	}
	if c.EFRuntime == 0 {
		c.EFRuntime = 10
	}
	if c.Epsilon == 0 {
		c.Epsilon = 0.01
	}
	if c.BlockSize == 0 {
		c.BlockSize = 1024
	}
	return c
}

// Validate reports whether c (with defaults applied) is a valid
// configuration; the error wraps ErrBadConfig.
func (c Config) Validate() error {
	c = c.withDefaults()
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrBadConfig}, a...)...)
	}
	switch {
	case c.Algorithm > HNSW:
		return bad("algorithm %d", c.Algorithm)
	case c.Dim < 1 || c.Dim > MaxDim:
		return bad("DIM %d out of range 1..%d", c.Dim, MaxDim)
	case c.Type > BFloat16:
		return bad("type %d", c.Type)
	case c.Metric > Cosine:
		return bad("metric %d", c.Metric)
	case c.M < 2 || c.M > MaxM:
		return bad("M %d out of range 2..%d", c.M, MaxM)
	case c.EFConstruction < 1 || c.EFConstruction > MaxEF:
		return bad("EF_CONSTRUCTION %d out of range 1..%d", c.EFConstruction, MaxEF)
	case c.EFRuntime < 1 || c.EFRuntime > MaxEF:
		return bad("EF_RUNTIME %d out of range 1..%d", c.EFRuntime, MaxEF)
	case !(c.Epsilon > 0) || c.Epsilon > 1e6:
		return bad("EPSILON %v must be positive", c.Epsilon)
	case c.Quant > QuantBin:
		return bad("quantization %d", c.Quant)
	case c.Quant != QuantNone && c.Metric != IP:
		return bad("quantization %s needs the IP metric", c.Quant)
	case c.InitialCap < 0:
		return bad("INITIAL_CAP %d is negative", c.InitialCap)
	case c.BlockSize < 1:
		return bad("BLOCK_SIZE %d must be positive", c.BlockSize)
	}
	return nil
}
