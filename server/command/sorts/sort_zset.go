// SORT's sorted-set support.

package sorts

import "github.com/cairndb/cairn/server/keyspace"

// zsetMembers returns members of the sorted set obj for SORT. With all,
// it returns every member in rank order: Redis walks its member dict
// (hash order), which only shows in the order of ties of SORT ... BY
// pattern ALPHA. Otherwise (BY nosort) it returns count members from rank
// start, counted from the highest score when desc, in that direction.
func zsetMembers(obj keyspace.Object, all bool, start, count int, desc bool) [][]byte {
	z := obj.(*keyspace.ZSet)
	if all {
		start, count, desc = 0, z.Len(), false
	}
	out := make([][]byte, 0, max(count, 0))
	if count <= 0 {
		return out
	}
	add := func(e keyspace.ZEntry) bool {
		out = append(out, []byte(e.Member))
		return len(out) < count
	}
	if desc {
		z.Descend(z.Len()-1-start, add)
	} else {
		z.Ascend(start, add)
	}
	return out
}
