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

// KeyDigest returns a hash of the live value under key at now — its type,
// expiry, encoding flag and content — or 0 when there is none. WATCH
// records it and EXEC compares it at apply time.
func (db *DB) KeyDigest(key []byte, now int64) uint64 {
	it := db.find(key)
	if it == nil || it.Expired(now) {
		return 0
	}
	h := xxhash.Sum64(appendItem(nil, it))
	if h == 0 {
		h = 1
	}
	return h
}
