package rdb

import (
	"fmt"
	"strings"

	"github.com/cairndb/cairn/server/keyspace"
)

// A vector set has no Redis 7 RDB encoding, and Redis 8's own (a module
// value of the "vectorset" module, holding its HNSW nodes) is not what
// Cairn stores. DUMP writes it as a module value (RDB type 7) of a module
// named "cairnvset", encoding version 1, whose one field is a string: the
// keyspace snapshot codec of the set (graph included, so RESTORE loads it
// without rebuilding). Cairn RESTOREs it; Redis refuses it as a value of
// a module it does not have.
//
// RDB files (SYNC / redis-cli --rdb, cairn rdb export) cannot hold a
// vector set: the file is Redis 7.0's RDB version, which has no vector
// sets, and Redis 8 stores them as values of its "vectorset" module,
// whose layout is its own HNSW (node ids, per-node link lists, its
// quantization ranges) and which Cairn does not produce; writing
// "cairnvset" values would give a file no Redis loads. The writers
// therefore stop with ErrVectorSetFile naming the key, rather than skip
// it silently.
func init() {
	register(keyspace.TypeVectorSet, encodeVSet, decodeVSet, TypeModule2)
}

// ErrVectorSetFile is returned (wrapped with the key) by FileWriter for a
// vector set. It wraps ErrUnsupported.
var ErrVectorSetFile = fmt.Errorf("%w: a vector set cannot be written to an RDB file (Redis 7.0's RDB format has no vector sets, and Redis 8 stores them as values of its \"vectorset\" module, an encoding Cairn does not produce); copy it with DUMP/RESTORE between Cairn nodes, or delete it before exporting", ErrUnsupported)

// isVSetPayload reports whether a DUMP payload body (type byte and value)
// is a Cairn vector set.
func isVSetPayload(p []byte) bool {
	if len(p) < 2 || p[0] != TypeModule2 {
		return false
	}
	r := NewReader(p[1:])
	id, err := r.Len()
	return err == nil && id == vsetModuleID
}

// Module opcodes of RDB type 7 values.
const (
	moduleOpEOF    = 0
	moduleOpString = 5
)

// vsetModuleID is the 64-bit module type id: the name's nine characters
// in 6 bits each, then the 10-bit encoding version (Redis's scheme).
var vsetModuleID = moduleID("cairnvset", 1)

func moduleID(name string, encver uint64) uint64 {
	const charset = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	var id uint64
	for _, c := range name {
		id = id<<6 | uint64(strings.IndexRune(charset, c))
	}
	return id<<10 | encver
}

func encodeVSet(dst []byte, _ []byte, obj keyspace.Object) (byte, []byte, error) {
	s, ok := obj.(*keyspace.VectorSet)
	if !ok {
		return 0, dst, ErrUnsupported
	}
	dst = AppendLen(dst, vsetModuleID)
	dst = AppendLen(dst, moduleOpString)
	dst = AppendString(dst, keyspace.AppendVectorSet(nil, s))
	dst = AppendLen(dst, moduleOpEOF)
	return TypeModule2, dst, nil
}

func decodeVSet(r *Reader, _ byte) ([]byte, keyspace.Object, error) {
	id, err := r.Len()
	if err != nil || id != vsetModuleID {
		return nil, nil, ErrBadFormat
	}
	if op, err := r.Len(); err != nil || op != moduleOpString {
		return nil, nil, ErrBadFormat
	}
	body, err := r.String()
	if err != nil {
		return nil, nil, ErrBadFormat
	}
	if op, err := r.Len(); err != nil || op != moduleOpEOF {
		return nil, nil, ErrBadFormat
	}
	s, err := keyspace.DecodeVectorSet(body)
	if err != nil {
		return nil, nil, ErrBadFormat
	}
	return nil, s, nil
}
