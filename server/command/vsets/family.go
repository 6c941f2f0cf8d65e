// Package vsets implements Redis 8 vector sets: VADD, VREM, VSETATTR
// (writes, applied from the log on every replica) and VSIM, VEMB, VCARD,
// VDIM, VINFO, VGETATTR, VRANDMEMBER, VISMEMBER, VLINKS, VRANGE (reads),
// with Redis 8's
// syntax, replies and error strings.
//
// Values are keyspace.VectorSet objects: named elements whose vectors are
// normalised, quantized (Q8 by default, NOQUANT or BIN) and indexed by
// Cairn's HNSW engine (package vector) under cosine distance; VSIM scores
// are Redis's similarity 1 - distance/2. FILTER expressions (package
// vector/vexpr) are evaluated on the elements' JSON attributes during the
// graph traversal. Write handlers are deterministic: the graph's levels
// come from the element names and the seed of the entry that created the
// set; the REDUCE projection is Redis's fixed Hadamard pattern.
package vsets

import "github.com/cairndb/cairn/server/command"

// Format is the log-entry format of the family: 6 introduced it, 8
// (quantized storage: a format-6 binary would build a different graph
// for the same VADD; VLINKS and VRANGE) is what it carries now. Every
// vector-set command carries it, reads too: inside MULTI they reach the
// log, and an older binary does not know them.
const Format = 8

// Specs is the vector-set family's command table.
var Specs = []*command.Spec{
	{
		Name: "vadd", Arity: -5, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "slow"}, Group: "vector_set",
		Summary: "Add one or more elements to a vector set, or update its vector if it already exists", Since: "8.0.0",
		Complexity: "O(log(N)) for each element added, where N is the number of elements in the vector set.",
		Run:        vadd,
	},
	{
		Name: "vrem", Arity: 3, Flags: command.Write,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "slow"}, Group: "vector_set",
		Summary: "Remove an element from a vector set", Since: "8.0.0",
		Complexity: "O(log(N)) for each element removed, where N is the number of elements in the vector set.",
		Run:        vrem,
	},
	{
		Name: "vsetattr", Arity: 4, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"write", "slow"}, Group: "vector_set",
		Summary: "Associate or remove the JSON attributes of elements", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vsetattr,
	},
	{
		Name: "vsim", Arity: -4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "slow"}, Group: "vector_set",
		Summary: "Return elements by vector similarity", Since: "8.0.0",
		Complexity: "O(log(N)) where N is the number of elements in the vector set.",
		Run:        vsim,
	},
	{
		Name: "vemb", Arity: -3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Return the vector associated with an element", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vemb,
	},
	{
		Name: "vcard", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Return the number of elements in a vector set", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vcard,
	},
	{
		Name: "vdim", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Return the dimension of vectors in the vector set", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vdim,
	},
	{
		Name: "vlinks", Arity: -3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Return the neighbors of an element at each layer in the HNSW graph", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vlinks,
	},
	{
		Name: "vrange", Arity: -4, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "slow"}, Group: "vector_set",
		Summary: "Return elements in a lexicographical range", Since: "8.4.0",
		Complexity: "O(log(K)+M) where K is the number of elements in the start prefix, and M is the number of elements returned. In practical terms, the command is just O(M)",
		Run:        vrange,
	},
	{
		Name: "vinfo", Arity: 2, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Return information about a vector set", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vinfo,
	},
	{
		Name: "vgetattr", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Retrieve the JSON attributes of elements", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vgetattr,
	},
	{
		Name: "vrandmember", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "slow"}, Group: "vector_set",
		Summary: "Return one or multiple random members from a vector set", Since: "8.0.0",
		Complexity: "O(N) where N is the absolute value of the count argument.",
		Run:        vrandmember,
	},
	{
		Name: "vismember", Arity: 3, Flags: command.ReadOnly | command.Fast,
		FirstKey: 1, LastKey: 1, Step: 1, ACL: []string{"read", "fast"}, Group: "vector_set",
		Summary: "Check if an element exists in a vector set", Since: "8.0.0",
		Complexity: "O(1)",
		Run:        vismember,
	},
}

func init() { command.WithFormat(Format, Specs) }
