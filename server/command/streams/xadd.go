package streams

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

const (
	errMaxLenMinID = command.Msg("ERR syntax error, MAXLEN and MINID options at the same time are not compatible")
	errMaxLenNeg   = command.Msg("ERR The MAXLEN argument must be >= 0.")
	errLimitNeg    = command.Msg("ERR The LIMIT argument must be >= 0.")
	errLimitNoTrim = command.Msg("ERR syntax error, LIMIT cannot be used without specifying a trimming strategy")
	errXTrimNoTrim = command.Msg("ERR syntax error, XTRIM must be called with a trimming strategy")
	errLimitNoApx  = command.Msg("ERR syntax error, LIMIT cannot be used without the special ~ option")
	errXAddZero    = command.Msg("ERR The ID specified in XADD must be greater than 0-0")
	errXAddSmaller = command.Msg("ERR The ID specified in XADD is equal or smaller than the target stream top item")
	errExhausted   = command.Msg("ERR The stream has exhausted the last possible ID, unable to add more items")
)

// addTrimArgs are the parsed options of XADD and XTRIM.
type addTrimArgs struct {
	trim     keyspace.TrimArgs
	id       streamID
	idGiven  bool
	seqGiven bool
	noMk     bool
	idPos    int
}

// parseAddTrim parses XADD's and XTRIM's options as
// streamParseAddOrTrimArgsOrReply. For XADD it returns the position of the
// ID argument.
func parseAddTrim(args [][]byte, xadd bool, nodeMaxEntries int64) (a addTrimArgs, err error) {
	limitGiven := false
	i := 2
	for ; i < len(args); i++ {
		more := len(args) - 1 - i
		opt := args[i]
		switch {
		case xadd && isChar(opt, '*'):
			a.idPos = i
			return a, finishTrim(&a, xadd, limitGiven, nodeMaxEntries)
		case isOpt(opt, "maxlen") && more > 0:
			if a.trim.Strategy != keyspace.TrimNone {
				return a, errMaxLenMinID
			}
			a.trim.Approx = false
			next := args[i+1]
			if more >= 2 && isChar(next, '~') {
				a.trim.Approx = true
				i++
			} else if more >= 2 && isChar(next, '=') {
				i++
			}
			n, err := command.ParseInt(args[i+1])
			if err != nil {
				return a, err
			}
			if n < 0 {
				return a, errMaxLenNeg
			}
			a.trim.MaxLen = n
			i++
			a.trim.Strategy = keyspace.TrimMaxLen
		case isOpt(opt, "minid") && more > 0:
			if a.trim.Strategy != keyspace.TrimNone {
				return a, errMaxLenMinID
			}
			a.trim.Approx = false
			next := args[i+1]
			if more >= 2 && isChar(next, '~') {
				a.trim.Approx = true
				i++
			} else if more >= 2 && isChar(next, '=') {
				i++
			}
			id, err := parseStrictID(args[i+1])
			if err != nil {
				return a, err
			}
			a.trim.MinID = id
			i++
			a.trim.Strategy = keyspace.TrimMinID
		case isOpt(opt, "limit") && more > 0:
			n, err := command.ParseInt(args[i+1])
			if err != nil {
				return a, err
			}
			if n < 0 {
				return a, errLimitNeg
			}
			a.trim.Limit = n
			limitGiven = true
			i++
		case xadd && isOpt(opt, "nomkstream"):
			a.noMk = true
		case xadd:
			id, err := parseID(opt, 0, true, &a.seqGiven)
			if err != nil {
				return a, err
			}
			a.id, a.idGiven, a.idPos = id, true, i
			return a, finishTrim(&a, xadd, limitGiven, nodeMaxEntries)
		default:
			return a, command.ErrSyntax
		}
	}
	a.idPos = i
	return a, finishTrim(&a, xadd, limitGiven, nodeMaxEntries)
}

func finishTrim(a *addTrimArgs, xadd, limitGiven bool, nodeMaxEntries int64) error {
	if a.trim.Limit != 0 && a.trim.Strategy == keyspace.TrimNone {
		return errLimitNoTrim
	}
	if !xadd && a.trim.Strategy == keyspace.TrimNone {
		return errXTrimNoTrim
	}
	if limitGiven {
		if !a.trim.Approx {
			return errLimitNoApx
		}
	} else if a.trim.Approx {
		a.trim.Limit = 100 * min(nodeMaxEntries, 1<<40) // stream-node-max-entries
		if a.trim.Limit <= 0 {
			a.trim.Limit = 10000
		}
		if a.trim.Limit > 1000000 {
			a.trim.Limit = 1000000
		}
	} else {
		a.trim.Limit = 0
	}
	return nil
}

// xadd implements
//
//	XADD key [NOMKSTREAM] [MAXLEN|MINID [=|~] threshold [LIMIT count]] *|id field value [field value ...]
//
// It replies with the ID of the added entry, or a null with NOMKSTREAM
// when the key does not exist. An automatic ID uses the entry's time
// (c.Now), so every replica generates the same one.
func xadd(c *command.Ctx, args [][]byte) (reply.Value, error) {
	a, err := parseAddTrim(args, true, c.DB.Cfg.StreamNodeMaxEntries)
	if err != nil {
		return reply.Value{}, err
	}
	fieldPos := a.idPos + 1
	if n := len(args) - fieldPos; n < 2 || n%2 == 1 {
		return reply.Value{}, command.ArityError("xadd")
	}
	if a.idGiven && a.seqGiven && a.id.IsZero() {
		return reply.Value{}, errXAddZero
	}
	key := args[1]
	it, s, err := lookupWrite(c, key)
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil && a.noMk {
		return reply.Nil, nil
	}
	var last streamID
	if s != nil {
		last = s.LastID
	}
	if last == keyspace.MaxStreamID {
		return reply.Value{}, errExhausted
	}
	// Work out the new ID before creating anything.
	var id streamID
	switch {
	case !a.idGiven:
		if s == nil {
			id, _ = keyspace.NewStream().NextID(c.Now)
		} else {
			id, _ = s.NextID(c.Now)
		}
	case a.seqGiven:
		id = a.id
	default: // ms-*
		id = a.id
		if last.Ms == a.id.Ms {
			if last.Seq == ^uint64(0) {
				return reply.Value{}, errXAddSmaller
			}
			id = streamID{Ms: last.Ms, Seq: last.Seq + 1}
		}
	}
	if !last.Less(id) {
		return reply.Value{}, errXAddSmaller
	}
	s = mutable(c, key, it)
	s.AppendCfg(id, args[fieldPos:], &c.DB.Cfg)
	c.Notify(command.ClassStream, "xadd", key)
	c.Dirty++
	if a.trim.Strategy != keyspace.TrimNone {
		if s.Trim(a.trim) > 0 {
			c.Notify(command.ClassStream, "xtrim", key)
		}
	}
	return idBulk(id), nil
}

// xtrim implements
//
//	XTRIM key MAXLEN|MINID [=|~] threshold [LIMIT count]
//
// and replies with the number of entries removed. With "~" only whole
// nodes are removed, as Redis does with its node boundaries (100 entries
// or 4096 bytes per node), so the result matches Redis's.
func xtrim(c *command.Ctx, args [][]byte) (reply.Value, error) {
	a, err := parseAddTrim(args, false, c.DB.Cfg.StreamNodeMaxEntries)
	if err != nil {
		return reply.Value{}, err
	}
	it, s, err := lookupWrite(c, args[1])
	if err != nil {
		return reply.Value{}, err
	}
	if s == nil {
		return reply.Int(0), nil
	}
	s = c.DB.Mutable(it).Obj.(*keyspace.Stream)
	deleted := s.Trim(a.trim)
	if deleted > 0 {
		c.Notify(command.ClassStream, "xtrim", args[1])
		c.Dirty += deleted
	}
	return reply.Int(deleted), nil
}
