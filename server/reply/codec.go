package reply

import (
	"encoding/binary"
	"errors"
)

// ErrCorrupt is returned by Decode when the input is not an encoded Value.
var ErrCorrupt = errors.New("reply: corrupt encoding")

// Append appends the binary encoding of v to dst. The encoding carries
// replies from a Raft apply (dragonboat's Result.Data) back to the
// connection that proposed the entry.
func Append(dst []byte, v Value) []byte {
	dst = append(dst, byte(v.Kind))
	switch v.Kind {
	case KindNil, KindNilArray:
	case KindInt, KindBool:
		dst = binary.AppendVarint(dst, v.Int)
	case KindArray, KindMap, KindSet, KindPairs, KindPairArray, KindByProto:
		dst = binary.AppendUvarint(dst, uint64(len(v.Elems)))
		for _, e := range v.Elems {
			dst = Append(dst, e)
		}
	default:
		dst = binary.AppendUvarint(dst, uint64(len(v.Str)))
		dst = append(dst, v.Str...)
	}
	return dst
}

// Decode decodes one Value from b and returns the rest of b. Decoded byte
// slices alias b.
func Decode(b []byte) (Value, []byte, error) {
	if len(b) == 0 {
		return Value{}, nil, ErrCorrupt
	}
	v := Value{Kind: Kind(b[0])}
	b = b[1:]
	switch v.Kind {
	case KindNil, KindNilArray:
	case KindInt, KindBool:
		n, k := binary.Varint(b)
		if k <= 0 {
			return Value{}, nil, ErrCorrupt
		}
		v.Int, b = n, b[k:]
	case KindArray, KindMap, KindSet, KindPairs, KindPairArray, KindByProto:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)) {
			return Value{}, nil, ErrCorrupt
		}
		b = b[k:]
		v.Elems = make([]Value, n)
		for i := range v.Elems {
			var err error
			if v.Elems[i], b, err = Decode(b); err != nil {
				return Value{}, nil, err
			}
		}
	case KindStatus, KindError, KindBulk, KindDouble, KindVerbatim, KindBigNumber:
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return Value{}, nil, ErrCorrupt
		}
		v.Str, b = b[k:k+int(n)], b[k+int(n):]
	default:
		return Value{}, nil, ErrCorrupt
	}
	return v, b, nil
}
