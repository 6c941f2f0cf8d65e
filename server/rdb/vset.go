package rdb

import (
	"strings"

	"github.com/cairndb/cairn/server/keyspace"
)

// A vector set has no Redis 7 RDB encoding, and Redis 8's own (a module
// value of the "vectorset" module, holding its HNSW nodes) is not what
// Cairn stores. DUMP writes it as a module value (RDB type 7) of a module
// named "cairnvset", encoding version 1, whose one field is a string: the
// keyspace snapshot codec of the set (graph included, so RESTORE loads it
// without rebuilding). Cairn RESTOREs it; Redis refuses it as a value of
// a module it does not have. RDB files (SAVE to dump.rdb, the rdb tool)
// refuse module values, so a vector set cannot be written to one.
func init() {
	register(keyspace.TypeVectorSet, encodeVSet, decodeVSet, TypeModule2)
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
