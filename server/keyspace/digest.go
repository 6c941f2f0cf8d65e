package keyspace

import "github.com/cespare/xxhash/v2"

// Digest returns a 64-bit hash of db's content: every key in key order with
// its type, expiry, Raw flag and value (a hash's encoding and its fields in
// iteration order). Keys that have expired but are not yet removed are
// included. Access times and statistics are not. Two replicas that applied
// the same log have the same digest; tests use it to compare DBs.
func (db *DB) Digest() uint64 { return digest(db.tree.Scan) }

// Digest returns the Digest the DB had when the snapshot was taken. It may
// be called while the DB keeps changing.
func (s *Snapshot) Digest() uint64 { return digest(s.tree.Scan) }

func digest(scan func(func(*Item) bool)) uint64 {
	d := xxhash.New()
	var buf []byte
	scan(func(it *Item) bool {
		buf = appendItem(buf[:0], it)
		d.Write(buf)
		return true
	})
	return d.Sum64()
}
