package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Errors of LCS, with Redis 7.0's texts.
const (
	errLCSType    = command.Msg("ERR The specified keys must contain string values")
	errLCSLenIdx  = command.Msg("ERR If you want both the length and indexes, please just use IDX.")
	errLCSTooLong = command.Msg("ERR String too long for LCS")
	errLCSMemory  = command.Msg("ERR Insufficient memory, failed allocating transient memory for LCS")
)

// maxLCSCells caps the dynamic-programming table (4 bytes a cell); Redis
// fails the same way when it cannot allocate the table.
const maxLCSCells = 1 << 28

// lcsCmd is LCS key1 key2 [LEN] [IDX] [MINMATCHLEN min-match-len]
// [WITHMATCHLEN].
//
// Missing keys are empty strings. The keys are checked before the options,
// as in Redis. With IDX the reply is a map {"matches": [...], "len": n}
// whose matches are [[a-start, a-end], [b-start, b-end](, match-len)],
// last match first.
func lcsCmd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	ita := c.DB.Get(args[1], c.Now)
	itb := c.DB.Get(args[2], c.Now)
	if (ita != nil && ita.Obj != nil) || (itb != nil && itb.Obj != nil) {
		return reply.Value{}, errLCSType
	}
	var a, b []byte
	if ita != nil {
		a = ita.Str
	}
	if itb != nil {
		b = itb.Str
	}
	var getLen, getIdx, withMatchLen bool
	var minMatchLen int64
	for j := 3; j < len(args); j++ {
		opt := cstr(args[j])
		switch {
		case command.EqualFold(opt, "idx"):
			getIdx = true
		case command.EqualFold(opt, "len"):
			getLen = true
		case command.EqualFold(opt, "withmatchlen"):
			withMatchLen = true
		case command.EqualFold(opt, "minmatchlen") && j+1 < len(args):
			n, err := command.ParseInt(args[j+1])
			if err != nil {
				return reply.Value{}, err
			}
			minMatchLen = max(n, 0)
			j++
		default:
			return reply.Value{}, command.ErrSyntax
		}
	}
	if getLen && getIdx {
		return reply.Value{}, errLCSLenIdx
	}
	if int64(len(a)) >= 1<<32-2 || int64(len(b)) >= 1<<32-2 {
		return reply.Value{}, errLCSTooLong
	}
	alen, blen := len(a), len(b)
	cells := (int64(alen) + 1) * (int64(blen) + 1)
	if cells > maxLCSCells {
		return reply.Value{}, errLCSMemory
	}
	// lcs[i*(blen+1)+j] is the LCS length of a[:i] and b[:j].
	w := blen + 1
	lcs := make([]uint32, cells)
	for i := 1; i <= alen; i++ {
		row, prev := lcs[i*w:(i+1)*w], lcs[(i-1)*w:i*w]
		for j := 1; j <= blen; j++ {
			switch {
			case a[i-1] == b[j-1]:
				row[j] = prev[j-1] + 1
			case prev[j] > row[j-1]:
				row[j] = prev[j]
			default:
				row[j] = row[j-1]
			}
		}
	}
	total := lcs[alen*w+blen]
	if getLen && !getIdx {
		return reply.Int(int64(total)), nil
	}

	// Walk back from the end, building the LCS string and the ranges
	// exactly as Redis does (same tie-breaks, same emission order).
	result := make([]byte, total)
	idx := total
	var matches []reply.Value
	arangeStart, arangeEnd, brangeStart, brangeEnd := alen, 0, 0, 0 // alen: no range
	i, j := alen, blen
	for i > 0 && j > 0 {
		emit := false
		if a[i-1] == b[j-1] {
			result[idx-1] = a[i-1]
			if arangeStart == alen {
				arangeStart, arangeEnd = i-1, i-1
				brangeStart, brangeEnd = j-1, j-1
			} else if arangeStart == i && brangeStart == j {
				arangeStart--
				brangeStart--
			} else {
				emit = true
			}
			if arangeStart == 0 || brangeStart == 0 {
				emit = true
			}
			idx--
			i--
			j--
		} else {
			if lcs[(i-1)*w+j] > lcs[i*w+j-1] {
				i--
			} else {
				j--
			}
			if arangeStart != alen {
				emit = true
			}
		}
		if emit {
			matchLen := int64(arangeEnd - arangeStart + 1)
			if getIdx && (minMatchLen == 0 || matchLen >= minMatchLen) {
				m := []reply.Value{
					reply.Array(reply.Int(int64(arangeStart)), reply.Int(int64(arangeEnd))),
					reply.Array(reply.Int(int64(brangeStart)), reply.Int(int64(brangeEnd))),
				}
				if withMatchLen {
					m = append(m, reply.Int(matchLen))
				}
				matches = append(matches, reply.Array(m...))
			}
			arangeStart = alen
		}
	}
	if getIdx {
		return reply.Map(
			reply.BulkString("matches"), reply.Array(matches...),
			reply.BulkString("len"), reply.Int(int64(total)),
		), nil
	}
	return reply.Bulk(result), nil
}
