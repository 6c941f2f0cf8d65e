package entry

import "errors"

// Format versions and the cluster feature gate.
//
// A binary understands entry versions 1 to Version and the kinds listed
// in kindVersion. Every node advertises Version (the highest format it
// understands); the cluster version is the minimum over the nodes, and a
// leader writes an entry of kind k, at version v, only once the cluster
// version is at least max(v, KindVersion(k)). A replica that meets an
// entry whose version or kind it does not know stops applying that
// shard (it never skips the entry nor answers it and moves on), so an
// old binary cannot silently diverge from a new one.
//
// Versions:
//
//	1  the original format: the entry time is the leader's wall clock and
//	   the applied clock is the maximum time seen.
//	2  same layout; at apply the time is bounded: never before the last
//	   applied time and at most MaxClockStep (shard package) after it.
//	   Adds the kinds Config (6, the replicated configuration) and Evict
//	   (7, maxmemory eviction).
//	3  same layout and clock rule as 2. Adds the commands FUNCTION and
//	   FCALL/FCALL_RO (Wasm functions) and the FT.* family (vector search);
//	   their command.Spec.Format is 3.
//	4  same layout and clock rule as 3. Adds the kind Shipped (8, entries
//	   of another region's log, package regions).
//	5  same layout and clock rule as 4. Adds the kind ShipSnapshot (9,
//	   chunks of another region's shard snapshot, package regions).
//	6  same layout and clock rule as 5. Adds the Redis 8 vector-set
//	   commands (VADD, VREM, VSETATTR, VSIM, ...; package
//	   command/vsets), whose command.Spec.Format is 6.
//	7  same layout and clock rule as 6. Adds the commands EVAL, EVALSHA,
//	   EVAL_RO, EVALSHA_RO and SCRIPT (Lua scripts, package scripting;
//	   their command.Spec.Format is 7): older binaries answered EVAL with
//	   an error and would diverge.
//	8  same layout and clock rule as 7. Vector sets store Q8 and BIN
//	   vectors quantized and compute distances on the quantized form (int8
//	   dot products, Hamming distance), which builds a different graph
//	   than format 6's float32 arithmetic; and adds VLINKS and VRANGE. The
//	   vector-set family's command.Spec.Format is 8.
//	9  same layout and clock rule as 8. Lua scripts and Wasm functions
//	   spend other fuel for the same call: EVALSHA runs a script already
//	   compiled into a prepared interpreter state, the embedded Lua
//	   guest changed, and a module's cairn.settle export runs after its
//	   initialization. A script or function that runs out of fuel would
//	   stop at another point (with other writes made) on a format-8
//	   binary, so the scripting and function families' command.Spec.Format
//	   is 9: a mixed cluster refuses them until every node runs format 9.
//	10 same layout and clock rule as 9. FT.CREATE keeps TEXT WEIGHT and
//	   STOPWORDS in the index definition (format 9 skipped both, and
//	   accepted weights this format refuses), so its command.Spec.Format
//	   is 10: a mixed cluster refuses FT.CREATE until every node runs
//	   format 10.
//
// Kind numbers are never reused. New kinds start at 10.
//
// Commands are gated the same way: a command added in a later format sets
// command.Spec.Format, and a leader refuses to propose it while the
// cluster version is below that (shard.ErrFeatureGated), since a node
// that does not know the command halts on it.

// ErrVersion is returned by Decode for an entry version this binary does
// not know.
var ErrVersion = errors.New("entry: unknown version")

// kindVersion is the minimum cluster (format) version at which each kind
// may be written. A kind missing here is unknown to this binary.
var kindVersion = map[Kind]uint8{
	Commands:     1,
	Expire:       1,
	Multi:        1,
	SlotOp:       1,
	WatchedMulti: 1,
	Config:       2,
	Evict:        2,
	Shipped:      4,
	ShipSnapshot: 5,
}

// KindVersion returns the minimum format version at which kind may be
// written, and whether this binary knows the kind at all.
func KindVersion(k Kind) (uint8, bool) {
	v, ok := kindVersion[k]
	return v, ok
}

// Understands tells whether a binary whose highest format version is
// maxVersion can apply an entry of kind k written at version v.
func Understands(maxVersion uint8, v uint8, k Kind) bool {
	kv, ok := kindVersion[k]
	// v >= kv: no leader writes a kind below the version that introduced
	// it, so such an entry is not one this binary knows how to apply.
	return ok && v >= kv && v <= maxVersion && kv <= maxVersion
}

// WriteVersion is the version a leader writes an entry of kind k at when
// the cluster version is cv, or ok false when the cluster version does
// not allow the kind yet.
func WriteVersion(cv uint8, k Kind) (v uint8, ok bool) {
	kv, known := kindVersion[k]
	if !known || cv < kv {
		return 0, false
	}
	return min(cv, Version), true
}
