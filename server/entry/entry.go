// Package entry is the versioned binary codec of Cairn's Raft log entries.
//
// An entry is what the leader proposes and every replica applies: a batch of
// commands plus everything non-deterministic about them, fixed by the leader
// before the entry enters the log: the leader's wall-clock time and a random
// seed. Replaying the log a day later therefore resolves relative TTLs and
// random choices exactly as the first apply did. The same bytes are shipped
// across regions.
//
// Layout (versions 1 and 2; see version.go for what each version means):
//
//	byte    version
//	byte    kind (Commands, Expire)
//	varint  leader time, Unix milliseconds
//	uvarint seed
//	uvarint number of commands
//	per command: uvarint argc, then per argument uvarint length + bytes
package entry

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Version is the newest codec version this binary reads and writes;
// Append writes Entry.Version, or Version when that is zero. Versions 2
// to 10 have the same layout as version 1; see version.go for what each
// changes.
const Version = 10

// Kind tells how the commands of an entry are applied.
type Kind uint8

const (
	// Commands is a batch of independent client write commands; each has
	// its own reply.
	Commands Kind = 1
	// Expire carries keys the leader found expired; each command is a
	// single key that replicas delete if it is still expired at the
	// entry's time.
	Expire Kind = 2
	// Multi is a transaction: its commands are applied atomically and
	// their replies form one EXEC array.
	Multi Kind = 3
	// SlotOp changes which hash slots a cluster shard owns (assign,
	// freeze for migration, import, drop). Cmds[0][0] names the operation,
	// or is "@2" for a fenced (version 2) operation named by Cmds[0][1]
	// (see shard/slots.go).
	SlotOp Kind = 4
	// WatchedMulti is a transaction guarded by WATCH: Cmds[0] lists the
	// watched keys with the digest each had when it was watched
	// (key, decimal digest, key, digest ...); if any differs at apply
	// time the transaction is not run and its reply is a null array.
	// The transaction's commands follow.
	WatchedMulti Kind = 5
	// Config changes the replicated configuration (keyspace.Config, CONFIG
	// SET of parameters that change what apply does). Each command is one
	// (canonical name, canonical value) pair; all are validated before any
	// is applied. A leading ("#epoch", n) pair records which version of the
	// cluster directory's configuration the entry carries.
	Config Kind = 6
	// Evict carries keys the leader chose to evict under its
	// maxmemory-policy; each command is a single key that replicas
	// delete (counted in evicted_keys, "evicted" event) if it still
	// exists and the policy still evicts.
	Evict Kind = 7
	// Shipped carries committed entries of another region's shard log
	// (package regions): each command is (source shard, source index,
	// source entry bytes), the shard and index in decimal, indexes
	// increasing. The destination applies each source entry as its own
	// writer did, at the source entry's time and seed, unless its source
	// index is at or below the last one the destination applied from
	// that source shard (exactly once). The outer entry's time and seed
	// are not used.
	Shipped Kind = 8
	// ShipSnapshot carries one chunk of another region's shard snapshot
	// (package regions: snapshot catch-up when the source compacted its
	// log past the destination's position). One command: (source shard,
	// source index, source entry time, offset, last, bytes), the numbers
	// in decimal, last "1" or "0". Chunks are staged in replicated state
	// from offset 0 on; the last one installs the staged snapshot as the
	// keyspace (keeping the destination's own ship positions) and sets
	// the position for that source shard to the snapshot's index. A
	// chunk at or below the position, or not following the staged bytes,
	// changes nothing.
	ShipSnapshot Kind = 9
)

// Transaction builds a transaction's entry: WatchedMulti with the watch
// list first when keys are watched, else Multi.
func Transaction(watch [][]byte, cmds [][][]byte) (Kind, [][][]byte) {
	if len(watch) == 0 {
		return Multi, cmds
	}
	return WatchedMulti, append([][][]byte{watch}, cmds...)
}

// ErrCorrupt is returned when bytes do not decode as an entry.
var ErrCorrupt = errors.New("entry: corrupt")

// Entry is one decoded log entry. Args alias the decoded buffer.
type Entry struct {
	// Version is the entry's format version (0 in an Entry to encode
	// means Version). Decode sets it.
	Version uint8
	Kind    Kind
	Time    int64  // leader wall clock, Unix ms
	Seed    uint64 // leader-chosen randomness
	Cmds    [][][]byte
}

// Append appends the encoding of e to dst.
func Append(dst []byte, e *Entry) []byte {
	v := e.Version
	if v == 0 {
		v = Version
	}
	dst = append(dst, v, byte(e.Kind))
	dst = binary.AppendVarint(dst, e.Time)
	dst = binary.AppendUvarint(dst, e.Seed)
	dst = binary.AppendUvarint(dst, uint64(len(e.Cmds)))
	for _, cmd := range e.Cmds {
		dst = binary.AppendUvarint(dst, uint64(len(cmd)))
		for _, a := range cmd {
			dst = binary.AppendUvarint(dst, uint64(len(a)))
			dst = append(dst, a...)
		}
	}
	return dst
}

// Size returns the encoded size of e, so callers can allocate once.
func Size(e *Entry) int {
	n := 2 + binary.MaxVarintLen64*3
	for _, cmd := range e.Cmds {
		n += binary.MaxVarintLen64
		for _, a := range cmd {
			n += binary.MaxVarintLen64 + len(a)
		}
	}
	return n
}

// CmdsLen returns the exact encoded size of cmds as Append writes them
// after the entry header (the count excluded): what one more batch of
// commands adds to an entry.
func CmdsLen(cmds [][][]byte) int {
	n := 0
	for _, cmd := range cmds {
		n += uvarintLen(uint64(len(cmd)))
		for _, a := range cmd {
			n += uvarintLen(uint64(len(a))) + len(a)
		}
	}
	return n
}

// HeaderMax is the largest encoded size of an entry's header (version,
// kind, time, seed, command count).
const HeaderMax = 2 + binary.MaxVarintLen64*3

func uvarintLen(x uint64) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

// Decode decodes b into e. The arguments alias b.
func Decode(b []byte, e *Entry) error {
	if len(b) < 2 {
		return ErrCorrupt
	}
	if b[0] < 1 || b[0] > Version {
		return fmt.Errorf("%w %d (this binary reads 1 to %d)", ErrVersion, b[0], Version)
	}
	e.Version = b[0]
	e.Kind = Kind(b[1])
	b = b[2:]
	var k int
	if e.Time, k = binary.Varint(b); k <= 0 {
		return ErrCorrupt
	}
	b = b[k:]
	if e.Seed, k = binary.Uvarint(b); k <= 0 {
		return ErrCorrupt
	}
	b = b[k:]
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return ErrCorrupt
	}
	b = b[k:]
	e.Cmds = make([][][]byte, n)
	for i := range e.Cmds {
		argc, k := binary.Uvarint(b)
		if k <= 0 || argc > uint64(len(b)) {
			return ErrCorrupt
		}
		b = b[k:]
		args := make([][]byte, argc)
		for j := range args {
			l, k := binary.Uvarint(b)
			if k <= 0 || l > uint64(len(b)-k) {
				return ErrCorrupt
			}
			args[j] = b[k : k+int(l) : k+int(l)]
			b = b[k+int(l):]
		}
		e.Cmds[i] = args
	}
	if len(b) != 0 {
		return ErrCorrupt
	}
	return nil
}
