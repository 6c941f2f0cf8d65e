package rdb

import "github.com/cairndb/cairn/server/keyspace"

func init() {
	register(keyspace.TypeString, encodeString, decodeString, TypeString)
}

// encodeString writes a string value: RDB_TYPE_STRING, then the string as
// rdbSaveRawString writes it (integer-encoded, LZF-compressed or plain).
func encodeString(dst []byte, str []byte, _ keyspace.Object) (byte, []byte, error) {
	return TypeString, AppendString(dst, str), nil
}

func decodeString(r *Reader, _ byte) ([]byte, keyspace.Object, error) {
	s, err := r.String()
	if err != nil {
		return nil, nil, err
	}
	if s == nil {
		s = []byte{}
	}
	return s, nil, nil
}
