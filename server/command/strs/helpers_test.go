package strs

import (
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// testSpecs are minimal stand-ins for commands of other families that the
// tests need to build and inspect state (wrong-type keys, TTLs,
// encodings). They mirror Redis's replies for the argument shapes the tests
// use, nothing more.
var testSpecs = []*command.Spec{
	{Name: "hset", Arity: -4, Flags: command.Write, FirstKey: 1, LastKey: 1, Step: 1, Run: testHset},
	{Name: "del", Arity: -2, Flags: command.Write, FirstKey: 1, LastKey: -1, Step: 1, Run: testDel},
	{Name: "flushall", Arity: 1, Flags: command.Write, Run: testFlushall},
	{Name: "exists", Arity: -2, Flags: command.ReadOnly, FirstKey: 1, LastKey: -1, Step: 1, Run: testExists},
	{Name: "type", Arity: 2, Flags: command.ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: testType},
	{Name: "pexpiretime", Arity: 2, Flags: command.ReadOnly, FirstKey: 1, LastKey: 1, Step: 1, Run: testPexpiretime},
	{Name: "object", Arity: -2, Sub: []*command.Spec{
		{Name: "object|encoding", Arity: 3, Flags: command.ReadOnly, FirstKey: 2, LastKey: 2, Step: 1, Run: testEncoding},
	}},
}

func testHset(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Lookup(args[1], c.Now)
	if it != nil && it.Obj == nil {
		return reply.Value{}, keyspace.ErrWrongType
	}
	if it == nil {
		it = c.DB.Put(args[1], nil, keyspace.NewHash(), 0)
	} else {
		it = c.DB.Mutable(it)
	}
	n := int64(0)
	for i := 2; i+1 < len(args); i += 2 {
		if it.Obj.(*keyspace.Hash).Set(args[i], args[i+1]) {
			n++
		}
	}
	c.Notify(command.ClassHash, "hset", args[1])
	return reply.Int(n), nil
}

func testDel(c *command.Ctx, args [][]byte) (reply.Value, error) {
	n := int64(0)
	for _, k := range args[1:] {
		if c.DB.Lookup(k, c.Now) != nil && c.DB.Delete(k) {
			n++
			c.Notify(command.ClassGeneric, "del", k)
		}
	}
	return reply.Int(n), nil
}

func testFlushall(c *command.Ctx, args [][]byte) (reply.Value, error) {
	c.DB.Flush()
	return reply.OK, nil
}

func testExists(c *command.Ctx, args [][]byte) (reply.Value, error) {
	n := int64(0)
	for _, k := range args[1:] {
		if c.DB.Exists(k, c.Now) != nil {
			n++
		}
	}
	return reply.Int(n), nil
}

func testType(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[1], c.Now)
	if it == nil {
		return reply.Status("none"), nil
	}
	return reply.Status(it.Type().String()), nil
}

func testPexpiretime(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[1], c.Now)
	switch {
	case it == nil:
		return reply.Int(-2), nil
	case it.ExpireAt == 0:
		return reply.Int(-1), nil
	}
	return reply.Int(it.ExpireAt), nil
}

// testEncoding is OBJECT ENCODING for strings as the object family derives
// it: "raw" for strings modified in place (Item.Raw), "int" for canonical
// integers, "embstr" up to 44 bytes, "raw" beyond.
func testEncoding(c *command.Ctx, args [][]byte) (reply.Value, error) {
	it := c.DB.Exists(args[2], c.Now)
	switch {
	case it == nil:
		return reply.Nil, nil
	case it.Obj != nil:
		return reply.BulkString(it.Obj.Encoding()), nil
	case it.Raw:
		return reply.BulkString("raw"), nil
	}
	if _, err := command.ParseInt(it.Str); err == nil {
		return reply.BulkString("int"), nil
	}
	if len(it.Str) <= 44 {
		return reply.BulkString("embstr"), nil
	}
	return reply.BulkString("raw"), nil
}
