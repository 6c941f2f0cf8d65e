package ft

import (
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
	"github.com/cairndb/cairn/vector/query"
)

// ftDropIndex implements
//
//	FT.DROPINDEX index [DD]
//
// DD also deletes the indexed hashes.
func ftDropIndex(c *command.Ctx, args [][]byte) (reply.Value, error) {
	reg, err := registry(c)
	if err != nil {
		return reply.Value{}, err
	}
	dd := false
	switch {
	case len(args) == 3 && upper(args[2]) == "DD":
		dd = true
	case len(args) != 2:
		return reply.Value{}, command.ArityError("ft.dropindex")
	}
	keys, err := reg.Drop(string(args[1]), dd)
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	for _, k := range keys {
		if c.DB.Delete([]byte(k)) {
			c.Notify(command.ClassGeneric, "del", []byte(k))
			c.Dirty++
		}
	}
	c.Dirty++
	return reply.OK, nil
}

// ftBackfill implements FT._BACKFILL index: one batch of the index's
// initial scan. It replies 1 if a backfill was running, 0 if not.
func ftBackfill(c *command.Ctx, args [][]byte) (reply.Value, error) {
	reg, err := registry(c)
	if err != nil {
		return reply.Value{}, err
	}
	if reg.Backfill(c.DB, string(args[1]), c.Now, search.BackfillBatch) {
		c.Dirty++
		return reply.Int(1), nil
	}
	return reply.Int(0), nil
}

// ftDrop implements the legacy
//
//	FT.DROP index [KEEPDOCS]
//
// which deletes the documents unless KEEPDOCS is given (redis-py 4.x's
// dropindex sends it, with an empty argument for "delete").
func ftDrop(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if len(args) > 3 {
		return reply.Value{}, command.ArityError("ft.drop")
	}
	dd := []byte("DD")
	if len(args) == 3 && upper(args[2]) == "KEEPDOCS" {
		return ftDropIndex(c, args[:2])
	}
	return ftDropIndex(c, [][]byte{args[0], args[1], dd})
}

// alias implements FT.ALIASADD alias index and FT.ALIASUPDATE alias index.
func alias(c *command.Ctx, args [][]byte, update bool) (reply.Value, error) {
	reg, err := registry(c)
	if err != nil {
		return reply.Value{}, err
	}
	if err := reg.AliasAdd(string(args[1]), string(args[2]), update); err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	c.Dirty++
	return reply.OK, nil
}

// aliasDel implements FT.ALIASDEL alias.
func aliasDel(c *command.Ctx, args [][]byte) (reply.Value, error) {
	reg, err := registry(c)
	if err != nil {
		return reply.Value{}, err
	}
	if err := reg.AliasDel(string(args[1])); err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	c.Dirty++
	return reply.OK, nil
}

// ftList implements FT._LIST: the index names (a set in RESP3).
func ftList(c *command.Ctx, _ [][]byte) (reply.Value, error) {
	var out []reply.Value
	for _, n := range c.Search.Names() {
		out = append(out, reply.BulkString(n))
	}
	return reply.Set(out...), nil
}

// lookup finds the index for a read command, with the error text the
// command uses for an unknown name.
func lookup(c *command.Ctx, name []byte, unknown string) (*search.Index, error) {
	ix := c.Search.Get(string(name))
	if ix == nil {
		return nil, command.Msg(unknown)
	}
	return ix, nil
}

// ftExplain implements FT.EXPLAIN index query [PARAMS n k v ...] [DIALECT d].
func ftExplain(c *command.Ctx, args [][]byte) (reply.Value, error) {
	if _, err := lookup(c, args[1], string(args[1])+": no such index"); err != nil {
		return reply.Value{}, err
	}
	params := map[string][]byte{}
	for i := 3; i < len(args); i++ {
		switch upper(args[i]) {
		case "DIALECT":
			i++
		case "PARAMS":
			n, err := parseParams(args, i, params)
			if err != nil {
				return reply.Value{}, err
			}
			i += n
		default:
			return reply.Value{}, command.Msg("Unknown argument `" + string(args[i]) + "`")
		}
	}
	q, err := query.Parse(string(args[2]), params)
	if err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	return reply.BulkString(q.Explain()), nil
}

// parseParams parses `PARAMS nargs name value ...` at args[i] into params
// and returns how many arguments after PARAMS it used.
func parseParams(args [][]byte, i int, params map[string][]byte) (int, error) {
	if i+1 >= len(args) {
		return 0, command.Msg("Bad arguments for PARAMS: Expected an argument, but none provided")
	}
	n, err := strconv.Atoi(string(args[i+1]))
	if err != nil || n < 0 || i+2+n > len(args) {
		return 0, command.Msg("Bad arguments for PARAMS: Value is outside acceptable bounds")
	}
	if n%2 != 0 {
		return 0, command.Msg("Parameters must be name-value pairs")
	}
	for j := i + 2; j < i+2+n; j += 2 {
		params[string(args[j])] = args[j+1]
	}
	return 1 + n, nil
}
