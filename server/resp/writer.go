package resp

import (
	"strconv"

	"github.com/cairndb/cairn/server/reply"
	"github.com/tidwall/redcon"
)

// AppendValue appends v's RESP encoding for protocol version proto (2 or
// 3), downgrading RESP3 types for RESP2 clients as Redis does.
func AppendValue(b []byte, v reply.Value, proto int) []byte {
	switch v.Kind {
	case reply.KindNil:
		if proto == 3 {
			return append(b, "_\r\n"...)
		}
		return redcon.AppendNull(b)
	case reply.KindNilArray:
		if proto == 3 {
			return append(b, "_\r\n"...)
		}
		return append(b, "*-1\r\n"...)
	case reply.KindStatus:
		return appendLine(b, '+', v.Str)
	case reply.KindError:
		return appendLine(b, '-', v.Str)
	case reply.KindInt:
		return redcon.AppendInt(b, v.Int)
	case reply.KindBulk:
		return redcon.AppendBulk(b, v.Str)
	case reply.KindArray:
		b = redcon.AppendArray(b, len(v.Elems))
	case reply.KindByProto:
		if len(v.Elems) != 2 {
			return appendLine(b, '-', []byte("ERR internal: bad reply"))
		}
		if proto == 3 {
			return AppendValue(b, v.Elems[1], proto)
		}
		return AppendValue(b, v.Elems[0], proto)
	case reply.KindPairs:
		if proto == 3 {
			b = redcon.AppendArray(b, len(v.Elems)/2)
			for i := 0; i+1 < len(v.Elems); i += 2 {
				b = redcon.AppendArray(b, 2)
				b = AppendValue(b, v.Elems[i], proto)
				b = AppendValue(b, v.Elems[i+1], proto)
			}
			return b
		}
		b = redcon.AppendArray(b, len(v.Elems))
	case reply.KindPairArray:
		if proto == 3 {
			b = append(b, '%')
			b = strconv.AppendInt(b, int64(len(v.Elems)), 10)
			b = append(b, '\r', '\n')
			for _, e := range v.Elems {
				for _, x := range e.Elems {
					b = AppendValue(b, x, proto)
				}
			}
			return b
		}
		b = redcon.AppendArray(b, len(v.Elems))
	case reply.KindSet:
		if proto == 3 {
			b = append(b, '~')
			b = strconv.AppendInt(b, int64(len(v.Elems)), 10)
			b = append(b, '\r', '\n')
		} else {
			b = redcon.AppendArray(b, len(v.Elems))
		}
	case reply.KindMap:
		if proto == 3 {
			b = append(b, '%')
			b = strconv.AppendInt(b, int64(len(v.Elems)/2), 10)
			b = append(b, '\r', '\n')
		} else {
			b = redcon.AppendArray(b, len(v.Elems))
		}
	case reply.KindDouble:
		if proto == 3 {
			return appendLine(b, ',', v.Str)
		}
		return redcon.AppendBulk(b, v.Str)
	case reply.KindBool:
		if proto == 3 {
			if v.Int != 0 {
				return append(b, "#t\r\n"...)
			}
			return append(b, "#f\r\n"...)
		}
		return redcon.AppendInt(b, v.Int)
	case reply.KindVerbatim:
		if proto == 3 {
			b = append(b, '=')
			b = strconv.AppendInt(b, int64(len(v.Str)+4), 10)
			b = append(b, "\r\ntxt:"...)
			b = append(b, v.Str...)
			return append(b, '\r', '\n')
		}
		return redcon.AppendBulk(b, v.Str)
	case reply.KindBigNumber:
		if proto == 3 {
			return appendLine(b, '(', v.Str)
		}
		return redcon.AppendBulk(b, v.Str)
	default:
		return appendLine(b, '-', []byte("ERR internal: unknown reply kind"))
	}
	for _, e := range v.Elems {
		b = AppendValue(b, e, proto)
	}
	return b
}

// appendLine appends a one-line reply; CR and LF inside it are replaced by
// spaces so a reply can never break the protocol.
func appendLine(b []byte, prefix byte, s []byte) []byte {
	b = append(b, prefix)
	for _, c := range s {
		if c == '\r' || c == '\n' {
			c = ' '
		}
		b = append(b, c)
	}
	return append(b, '\r', '\n')
}
