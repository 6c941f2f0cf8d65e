package vsets

import (
	"encoding/binary"
	"math"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// Redis 8's error replies.
var (
	errVectorSpec  = command.Msg("ERR invalid vector specification")
	errNotFound    = command.Msg("ERR element not found in set")
	errNoKey       = command.Msg("ERR key does not exist")
	errInvalidEF   = command.Msg("ERR invalid EF")
	errInvalidM    = command.Msg("ERR invalid M")
	errVaddOption  = command.Msg("ERR invalid option after element")
	errQuantDiffer = command.Msg("ERR asked quantization mismatch with existing vector set")
	errMDiffer     = command.Msg("ERR asked M value mismatch with existing vector set")
	errAddProj     = command.Msg("ERR cannot add projection to existing set without projection")
	errProjDim     = command.Msg("ERR projection dimension mismatch with existing set")
	errVsimSyntax  = command.Msg("ERR syntax error in VSIM command")
	errVsimType    = command.Msg("ERR vector type must be ELE, FP32 or VALUES")
	errVsimDim     = command.Msg("ERR invalid vector dimension")
	errCount       = command.Msg("ERR invalid COUNT")
	errEpsilon     = command.Msg("ERR invalid EPSILON")
	errFilterEF    = command.Msg("ERR invalid FILTER-EF")
	errVembOption  = command.Msg("ERR invalid option")
	errRandCount   = command.Msg("ERR COUNT value is not an integer")
)

// Redis 8's defaults.
const (
	defaultBuildEF  = 200
	defaultSearchEF = 100
	defaultCount    = 10
	defaultM        = 16
	maxEF           = 1000000
)

func dimMismatch(got, has int) error {
	return command.Errorf("ERR Vector dimension mismatch - got %d but set has %d", got, has)
}

func projMismatch(got, want int) error {
	return command.Errorf("ERR Input dimension mismatch for projection - got %d but projection expects %d", got, want)
}

// readVSet returns the vector set at key for a read (nil if none).
func readVSet(c *command.Ctx, key []byte) (*keyspace.VectorSet, error) {
	it := c.DB.Get(key, c.Now)
	if it == nil {
		return nil, nil
	}
	s, ok := it.Obj.(*keyspace.VectorSet)
	if !ok {
		return nil, keyspace.ErrWrongType
	}
	return s, nil
}

// lookupWrite returns the live item at key and its vector set for a write
// (nil, nil if none; an expired key is deleted), or ErrWrongType. Neither
// is mutable yet.
func lookupWrite(c *command.Ctx, key []byte) (*keyspace.Item, *keyspace.VectorSet, error) {
	it := c.DB.Lookup(key, c.Now)
	if it == nil {
		return nil, nil, nil
	}
	s, ok := it.Obj.(*keyspace.VectorSet)
	if !ok {
		return nil, nil, keyspace.ErrWrongType
	}
	return it, s, nil
}

// parseVector reads [REDUCE dim] FP32 blob | VALUES n v1..vn at args[i:]
// as Redis's parseVector does; allowReduce is false for VSIM. It returns
// the vector, the REDUCE dimension (0 if none) and the number of
// arguments consumed, or ok false for "invalid vector specification".
// Cairn also refuses non-finite components (Redis would store NaNs).
func parseVector(args [][]byte, i int, allowReduce bool) (v []float32, reduce, used int, ok bool) {
	if allowReduce && len(args) > i+2 && command.EqualFold(args[i], "reduce") {
		r, err := command.ParseInt(args[i+1])
		if err != nil || r <= 0 {
			return nil, 0, 0, false
		}
		reduce = int(min(r, math.MaxInt32))
		i += 2
		used += 2
	}
	if i >= len(args) {
		return nil, 0, 0, false
	}
	switch {
	case command.EqualFold(args[i], "fp32"):
		if len(args) < i+2 {
			return nil, 0, 0, false
		}
		b := args[i+1]
		if len(b)%4 != 0 || len(b) < 4 || len(b)/4 > keyspace.VSetMaxDim {
			return nil, 0, 0, false
		}
		v = make([]float32, len(b)/4)
		for j := range v {
			v[j] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*j:]))
		}
		used += 2
	case command.EqualFold(args[i], "values"):
		if len(args) < i+2 {
			return nil, 0, 0, false
		}
		n, err := command.ParseInt(args[i+1])
		if err != nil || n < 1 || n > keyspace.VSetMaxDim || int64(len(args)) < int64(i)+2+n {
			return nil, 0, 0, false
		}
		v = make([]float32, n)
		for j := range v {
			f, err := command.ParseFloat(args[i+2+j])
			if err != nil {
				return nil, 0, 0, false
			}
			v[j] = float32(f)
		}
		used += int(n) + 2
	default:
		return nil, 0, 0, false
	}
	for _, x := range v {
		if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
			return nil, 0, 0, false
		}
	}
	if reduce > len(v) {
		return nil, 0, 0, false
	}
	return v, reduce, used, true
}

// double is a double reply as Redis 8 prints it (shortest round-trip
// form).
func double(f float64) reply.Value {
	switch {
	case math.IsInf(f, 1):
		return reply.Double("inf")
	case math.IsInf(f, -1):
		return reply.Double("-inf")
	}
	return reply.Double(strconv.FormatFloat(f, 'g', -1, 64))
}
