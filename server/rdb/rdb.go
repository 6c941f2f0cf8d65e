// Package rdb is the codec of Redis's RDB serialization for single values,
// as DUMP and RESTORE exchange them: a Cairn DUMP restores into Redis and a
// Redis DUMP restores into Cairn.
//
// A DUMP payload is
//
//	<object type byte> <object> <RDB version, 2 bytes LE> <CRC64, 8 bytes LE>
//
// where the CRC64 (Jones polynomial, as Redis's src/crc64.c) covers
// everything before it. The package holds the building blocks Redis uses
// inside objects: length encoding, integer- and LZF-encoded strings, and the
// listpack, ziplist and zipmap blobs of small aggregates.
//
// Each value type has an encoder and a decoder registered in the tables
// below (string.go, hash.go); adding a type (list, set, zset, stream) means
// adding a file that registers its RDB type numbers and its keyspace.Type.
package rdb

import (
	"encoding/binary"
	"errors"
	"strconv"

	"github.com/cairndb/cairn/server/keyspace"
)

// Version is the RDB version Cairn writes (Redis 7.0's).
const Version = 10

// MaxVersion is the newest RDB version whose payloads Cairn accepts (Redis
// 7.2's). Payloads from newer versions are refused, as Redis refuses them.
const MaxVersion = 11

// RDB object types (src/rdb.h).
const (
	TypeString          = 0
	TypeList            = 1
	TypeSet             = 2
	TypeZSet            = 3
	TypeHash            = 4
	TypeZSet2           = 5
	TypeModule          = 6
	TypeModule2         = 7
	TypeHashZipmap      = 9
	TypeListZiplist     = 10
	TypeSetIntset       = 11
	TypeZSetZiplist     = 12
	TypeHashZiplist     = 13
	TypeListQuicklist   = 14
	TypeStreamListpacks = 15
	TypeHashListpack    = 16
	TypeZSetListpack    = 17
	TypeListQuicklist2  = 18
	TypeStreamListpack2 = 19
	TypeSetListpack     = 20
	TypeStreamListpack3 = 21
)

// Errors. RESTORE maps them to Redis's replies.
var (
	// ErrChecksum: the payload is too short, its RDB version is too new
	// or its CRC64 does not match ("DUMP payload version or checksum are
	// wrong").
	ErrChecksum = errors.New("rdb: DUMP payload version or checksum are wrong")
	// ErrBadFormat: the payload passed the checksum but its content does
	// not decode ("Bad data format").
	ErrBadFormat = errors.New("rdb: bad data format")
	// ErrUnsupported: the value's type has no encoder.
	ErrUnsupported = errors.New("rdb: value type not supported")
)

// Encoding of lengths and special strings (src/rdb.h).
const (
	len6Bit  = 0
	len14Bit = 1
	len32Bit = 0x80
	len64Bit = 0x81
	encVal   = 3

	encInt8  = 0
	encInt16 = 1
	encInt32 = 2
	encLZF   = 3
)

// An Encoder writes one object of a keyspace type. It returns the RDB type
// byte and appends the object's body to dst.
type Encoder func(dst []byte, str []byte, obj keyspace.Object) (rdbType byte, out []byte, err error)

// A Decoder reads the body of an object of RDB type t. For strings it
// returns str (obj nil); for other types obj.
type Decoder func(r *Reader, t byte) (str []byte, obj keyspace.Object, err error)

var (
	encoders = map[keyspace.Type]Encoder{}
	decoders = map[byte]Decoder{}
)

// register adds the codec of a keyspace type: enc writes it, dec reads the
// given RDB types.
func register(t keyspace.Type, enc Encoder, dec Decoder, rdbTypes ...byte) {
	encoders[t] = enc
	for _, rt := range rdbTypes {
		decoders[rt] = dec
	}
}

// EncodeValue appends the RDB type byte and the serialization of a value
// (str for a string, else obj) to dst.
func EncodeValue(dst []byte, str []byte, obj keyspace.Object) ([]byte, error) {
	t := keyspace.TypeString
	if obj != nil {
		t = obj.Type()
	}
	enc := encoders[t]
	if enc == nil {
		return dst, ErrUnsupported
	}
	at := len(dst)
	dst = append(dst, 0)
	rt, out, err := enc(dst, str, obj)
	if err != nil {
		return dst[:at], err
	}
	out[at] = rt
	return out, nil
}

// DecodeValue reads a value written by EncodeValue (or by Redis) from b:
// the RDB type byte, then the object. Bytes after the object are ignored,
// as Redis ignores them. The result never aliases b.
func DecodeValue(b []byte) (str []byte, obj keyspace.Object, err error) {
	return decodeValue(b, nil)
}

func decodeValue(b []byte, cfg *keyspace.Config) (str []byte, obj keyspace.Object, err error) {
	r := &Reader{b: b, cfg: cfg}
	t, err := r.Byte()
	if err != nil {
		return nil, nil, err
	}
	dec := decoders[t]
	if dec == nil {
		return nil, nil, ErrBadFormat
	}
	str, obj, err = dec(r, t)
	if err != nil {
		return nil, nil, ErrBadFormat
	}
	if obj == nil {
		str = append(make([]byte, 0, len(str)), str...)
	}
	return str, obj, nil
}

// Dump returns the DUMP payload of a value.
func Dump(str []byte, obj keyspace.Object) ([]byte, error) {
	out, err := EncodeValue(nil, str, obj)
	if err != nil {
		return nil, err
	}
	out = binary.LittleEndian.AppendUint16(out, Version)
	return binary.LittleEndian.AppendUint64(out, CRC64(0, out)), nil
}

// Verify checks a DUMP payload's footer: its RDB version must be at most
// MaxVersion and its CRC64 must match. It returns ErrChecksum if not.
func Verify(payload []byte) error {
	if len(payload) < 10 {
		return ErrChecksum
	}
	footer := payload[len(payload)-10:]
	if binary.LittleEndian.Uint16(footer) > MaxVersion {
		return ErrChecksum
	}
	if CRC64(0, payload[:len(payload)-8]) != binary.LittleEndian.Uint64(footer[2:]) {
		return ErrChecksum
	}
	return nil
}

// Restore verifies a DUMP payload and decodes its value. Errors are
// ErrChecksum or ErrBadFormat.
//
// As in Redis, the value is decoded from the whole payload, footer
// included: an object whose lengths overrun its body into the footer bytes
// is accepted (and bytes between the object and the footer are ignored),
// exactly as Redis's RESTORE accepts it.
func Restore(payload []byte) (str []byte, obj keyspace.Object, err error) {
	return RestoreCfg(payload, nil)
}

// RestoreCfg is Restore rebuilding objects with the encoding limits of
// cfg (the DB's replicated configuration), as Redis's loader converts by
// its configuration.
func RestoreCfg(payload []byte, cfg *keyspace.Config) (str []byte, obj keyspace.Object, err error) {
	if err := Verify(payload); err != nil {
		return nil, nil, err
	}
	return decodeValue(payload, cfg)
}

// AppendLen appends an RDB length.
func AppendLen(dst []byte, n uint64) []byte {
	switch {
	case n < 1<<6:
		return append(dst, byte(n)|len6Bit<<6)
	case n < 1<<14:
		return append(dst, byte(n>>8)|len14Bit<<6, byte(n))
	case n <= 0xffffffff:
		dst = append(dst, len32Bit)
		return binary.BigEndian.AppendUint32(dst, uint32(n))
	}
	dst = append(dst, len64Bit)
	return binary.BigEndian.AppendUint64(dst, n)
}

// AppendString appends a string as Redis's rdbSaveRawString does: as an
// encoded integer if it is the canonical form of one that fits 32 bits,
// LZF-compressed if it is longer than 20 bytes and compresses by at least
// 4 bytes, plain otherwise.
func AppendString(dst []byte, s []byte) []byte {
	if len(s) <= 11 {
		if v, ok := canonicalInt(s); ok {
			if out, ok := appendIntEncoded(dst, v); ok {
				return out
			}
		}
	}
	if len(s) > 20 {
		if c := LZFCompress(s, len(s)-4); c != nil {
			dst = append(dst, encVal<<6|encLZF)
			dst = AppendLen(dst, uint64(len(c)))
			dst = AppendLen(dst, uint64(len(s)))
			return append(dst, c...)
		}
	}
	dst = AppendLen(dst, uint64(len(s)))
	return append(dst, s...)
}

func appendIntEncoded(dst []byte, v int64) ([]byte, bool) {
	switch {
	case v >= -1<<7 && v <= 1<<7-1:
		return append(dst, encVal<<6|encInt8, byte(v)), true
	case v >= -1<<15 && v <= 1<<15-1:
		return append(dst, encVal<<6|encInt16, byte(v), byte(v>>8)), true
	case v >= -1<<31 && v <= 1<<31-1:
		return append(dst, encVal<<6|encInt32, byte(v), byte(v>>8), byte(v>>16), byte(v>>24)), true
	}
	return dst, false
}

// canonicalInt parses s as Redis's string2ll does: an optional '-', no
// leading zeros, no '+', no spaces, within int64.
func canonicalInt(s []byte) (int64, bool) {
	if len(s) == 0 || len(s) > 20 {
		return 0, false
	}
	if len(s) == 1 && s[0] == '0' {
		return 0, true
	}
	neg := false
	i := 0
	if s[0] == '-' {
		neg = true
		i = 1
		if len(s) == 1 {
			return 0, false
		}
	}
	if s[i] < '1' || s[i] > '9' {
		return 0, false
	}
	var v uint64
	for ; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		if v > (1<<64-1)/10 {
			return 0, false
		}
		v *= 10
		if v > 1<<64-1-uint64(c-'0') {
			return 0, false
		}
		v += uint64(c - '0')
	}
	if neg {
		if v > 1<<63 {
			return 0, false
		}
		return -int64(v), true // -(1<<63) wraps to itself
	}
	if v > 1<<63-1 {
		return 0, false
	}
	return int64(v), true
}

// Reader reads RDB primitives from a byte slice. Every method fails with
// ErrBadFormat when the data is short or malformed.
type Reader struct {
	b   []byte
	pos int
	// cfg holds the encoding limits objects are rebuilt with (nil:
	// Redis's defaults).
	cfg *keyspace.Config
}

var defaultConfig = keyspace.DefaultConfig()

// config returns the encoding limits to rebuild objects with.
func (r *Reader) config() *keyspace.Config {
	if r.cfg != nil {
		return r.cfg
	}
	return &defaultConfig
}

// NewReader returns a Reader over b.
func NewReader(b []byte) *Reader { return &Reader{b: b} }

// Remaining returns the number of unread bytes.
func (r *Reader) Remaining() int { return len(r.b) - r.pos }

// Byte reads one byte.
func (r *Reader) Byte() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, ErrBadFormat
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// Bytes reads n bytes; the result aliases the input.
func (r *Reader) Bytes(n uint64) ([]byte, error) {
	if n > uint64(len(r.b)-r.pos) {
		return nil, ErrBadFormat
	}
	b := r.b[r.pos : r.pos+int(n)]
	r.pos += int(n)
	return b, nil
}

// lenOrEnc reads a length; if its first byte marks a special string
// encoding, it returns the encoding and enc true.
func (r *Reader) lenOrEnc() (n uint64, enc bool, err error) {
	c, err := r.Byte()
	if err != nil {
		return 0, false, err
	}
	switch c >> 6 {
	case len6Bit:
		return uint64(c & 0x3f), false, nil
	case len14Bit:
		c2, err := r.Byte()
		if err != nil {
			return 0, false, err
		}
		return uint64(c&0x3f)<<8 | uint64(c2), false, nil
	case encVal:
		return uint64(c & 0x3f), true, nil
	}
	switch c {
	case len32Bit:
		b, err := r.Bytes(4)
		if err != nil {
			return 0, false, err
		}
		return uint64(binary.BigEndian.Uint32(b)), false, nil
	case len64Bit:
		b, err := r.Bytes(8)
		if err != nil {
			return 0, false, err
		}
		return binary.BigEndian.Uint64(b), false, nil
	}
	return 0, false, ErrBadFormat
}

// Len reads an RDB length.
func (r *Reader) Len() (uint64, error) {
	n, enc, err := r.lenOrEnc()
	if err != nil {
		return 0, err
	}
	if enc {
		return 0, ErrBadFormat
	}
	return n, nil
}

// String reads a string in any of its encodings (plain, integer, LZF). A
// plain string aliases the input.
func (r *Reader) String() ([]byte, error) {
	n, enc, err := r.lenOrEnc()
	if err != nil {
		return nil, err
	}
	if !enc {
		return r.Bytes(n)
	}
	switch n {
	case encInt8:
		b, err := r.Bytes(1)
		if err != nil {
			return nil, err
		}
		return formatInt(int64(int8(b[0]))), nil
	case encInt16:
		b, err := r.Bytes(2)
		if err != nil {
			return nil, err
		}
		return formatInt(int64(int16(binary.LittleEndian.Uint16(b)))), nil
	case encInt32:
		b, err := r.Bytes(4)
		if err != nil {
			return nil, err
		}
		return formatInt(int64(int32(binary.LittleEndian.Uint32(b)))), nil
	case encLZF:
		clen, err := r.Len()
		if err != nil {
			return nil, err
		}
		ulen, err := r.Len()
		if err != nil {
			return nil, err
		}
		c, err := r.Bytes(clen)
		if err != nil {
			return nil, err
		}
		if ulen == 0 {
			// Redis 7.0 accepts this: lzf_decompress returns 0, which
			// is the expected length.
			return []byte{}, nil
		}
		if ulen > 1<<40 {
			return nil, ErrBadFormat
		}
		out := LZFDecompress(c, int(ulen))
		if out == nil {
			return nil, ErrBadFormat
		}
		return out, nil
	}
	return nil, ErrBadFormat
}

func formatInt(v int64) []byte { return strconv.AppendInt(nil, v, 10) }

func formatIntTo(dst []byte, v int64) []byte { return strconv.AppendInt(dst, v, 10) }
