// Package sorts implements Redis 7.0's SORT and SORT_RO: sorting the
// elements of a list, set or sorted set numerically or lexicographically,
// by their own value or by weights in other keys (BY pattern, with
// "->field" for hash fields), returning them or values from other keys
// (GET pattern, GET #), with LIMIT, and storing the result as a list
// (SORT ... STORE).
//
// SORT is a write command (it goes through the log whether or not it has
// STORE, so the stored list is built at apply time on every replica);
// SORT_RO is read-only.
//
// Semantics follow Redis 7.0's sort.c, including what shows through:
// numeric weights are parsed as glibc's strtod parses them (strtod.go);
// numeric ties are broken by comparing the elements' bytes; ALPHA without
// STORE compares with strcoll, which Cairn takes to be the C locale's
// (byte order up to the first NUL byte; Redis uses the locale of its
// environment), and with STORE the whole byte strings; BY with a LIMIT
// that selects part of the result sorts with Redis's unstable partial
// quicksort (pqsort.go, a faithful port), otherwise with a stable sort as
// glibc's qsort, so equal weights come out as in Redis for the same input
// order. Where Redis takes the input order from a hash table (a set that
// is not an intset, and a sorted set's member dict), Cairn's order is its
// own (deterministic): this shows only for a set with BY nosort without
// STORE, and for ties of BY pattern ALPHA.
//
// Known differences from Redis 7.0:
//   - Redis refuses BY and GET patterns in cluster mode ("ERR BY option of
//     SORT denied in Cluster mode."); a handler cannot tell, so Cairn
//     reads the keys patterns name from its local keyspace.
//   - Redis 7.0 tests errno for ERANGE after strtod without clearing it,
//     so once any weight overflowed (or another command left errno set),
//     numeric SORTs fail until something clears it; Cairn judges each
//     weight by itself.
//   - Redis converts a listpack sorted set it sorts to a skiplist; Cairn
//     leaves the encoding alone (a read must not change the value, and
//     making the key mutable would wake WATCH).
//   - The stored list's encoding follows Redis 7.2 (listpack when small),
//     as Cairn's lists do; 7.0 always makes a quicklist.
package sorts

import "github.com/cairndb/cairn/server/command"

// Specs is the SORT family's command table.
var Specs = []*command.Spec{
	{
		Name: "sort", Arity: -2, Flags: command.Write | command.DenyOOM,
		FirstKey: 1, LastKey: 1, Step: 1, KeysFunc: sortKeys,
		ACL: []string{"write", "set", "sortedset", "list", "slow", "dangerous"}, Group: "generic",
		Summary: "Sort the elements in a list, set or sorted set", Since: "1.0.0",
		Complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
		Run:        sortCmd,
	},
	{
		Name: "sort_ro", Arity: -2, Flags: command.ReadOnly,
		FirstKey: 1, LastKey: 1, Step: 1, KeysFunc: sortROKeys,
		ACL: []string{"read", "set", "sortedset", "list", "slow", "dangerous"}, Group: "generic",
		Summary: "Sort the elements in a list, set or sorted set. Read-only variant of SORT.", Since: "7.0.0",
		Complexity: "O(N+M*log(M)) where N is the number of elements in the list or set to sort, and M the number of returned elements. When the elements are not sorted, complexity is O(N).",
		Run:        sortRO,
	},
}
