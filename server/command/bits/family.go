// Package bits implements Redis's bitmap commands: SETBIT, GETBIT,
// BITCOUNT, BITPOS, BITOP, BITFIELD and BITFIELD_RO, with Redis 7.0's
// replies and errors.
//
// Bitmaps are plain string values. Replies of string readers (GET) may
// alias the stored bytes after the read lock is released, so the writers
// here never overwrite stored bytes in place: growing a string only writes
// past its length, and changing existing bytes works on a copy.
package bits

import "github.com/cairndb/cairn/server/command"

// Specs is the bitmap family's command table.
var Specs = []*command.Spec{
	{
		Name: "bitcount", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "slow"},
		Group: "bitmap", Summary: "Count set bits in a string", Since: "2.6.0",
		Complexity: "O(N)", Run: bitcountCmd,
	},
	{
		Name: "bitfield", Arity: -2, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "bitmap", "slow"},
		Group: "bitmap", Summary: "Perform arbitrary bitfield integer operations on strings", Since: "3.2.0",
		Complexity: "O(1) for each subcommand specified", Run: bitfieldCmd,
	},
	{
		Name: "bitfield_ro", Arity: -2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "fast"},
		Group: "bitmap", Summary: "Perform arbitrary bitfield integer operations on strings. Read-only variant of BITFIELD", Since: "6.0.0",
		Complexity: "O(1) for each subcommand specified", Run: bitfieldRoCmd,
	},
	{
		Name: "bitop", Arity: -4, Flags: command.Write | command.DenyOOM,
		FirstKey: 2, LastKey: -1, Step: 1, ACL: []string{"write", "bitmap", "slow"},
		Group: "bitmap", Summary: "Perform bitwise operations between strings", Since: "2.6.0",
		Complexity: "O(N)", Run: bitopCmd,
	},
	{
		Name: "bitpos", Arity: -3, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "slow"},
		Group: "bitmap", Summary: "Find first bit set or clear in a string", Since: "2.8.7",
		Complexity: "O(N)", Run: bitposCmd,
	},
	{
		Name: "getbit", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "bitmap", "fast"},
		Group: "bitmap", Summary: "Returns the bit value at offset in the string value stored at key", Since: "2.2.0",
		Complexity: "O(1)", Run: getbitCmd,
	},
	{
		Name: "setbit", Arity: 4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "bitmap", "slow"},
		Group: "bitmap", Summary: "Sets or clears the bit at offset in the string value stored at key", Since: "2.2.0",
		Complexity: "O(1)", Run: setbitCmd,
	},
}
