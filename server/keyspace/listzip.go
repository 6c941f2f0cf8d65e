package keyspace

import "github.com/cairndb/cairn/server/lzf"

// list-compress-depth: as Redis's quicklist, the nodes of a quicklist
// further than depth nodes from both ends are kept LZF-compressed, the
// `depth` nodes at each end never are. It changes memory only: replies,
// OBJECT ENCODING, snapshots and DUMP are the same.
//
// Readers (under the read lock, possibly concurrent) never change a
// chunk: view decompresses into a fresh buffer. Writers decompress the
// chunks they change (inflate; a change in the middle of the list
// decompresses them all), then settle compresses what lies in the
// compressed zone again.

const (
	// listMinCompress is Redis's MIN_COMPRESS_BYTES: smaller nodes are
	// not compressed.
	listMinCompress = 48
	// listMinImprove is MIN_COMPRESS_IMPROVE: compression must save at
	// least this much.
	listMinImprove = 8
)

// view returns c, or for a compressed chunk a decompressed copy that no
// one writes into.
func (c *chunk) view() *chunk {
	if c.z == nil {
		return c
	}
	b := lzf.Decompress(c.z, int(c.end))
	if b == nil {
		panic("keyspace: corrupt compressed list node")
	}
	v := *c
	v.buf, v.z, v.exposed, v.shared = b, nil, 1, true
	return &v
}

// inflate decompresses c in place.
func (l *List) inflate(c *chunk) {
	if c.z == nil {
		return
	}
	v := c.view()
	c.buf, c.z = v.buf, nil
	c.start, c.lo, c.hi = 0, 0, c.end
	c.exposed, c.shared = 0, false
	l.zn--
}

// deflate compresses c if that is worth it, as __quicklistCompressNode.
func (l *List) deflate(c *chunk) {
	live := int(c.end - c.start)
	if c.z != nil || c.plain || live < listMinCompress {
		return
	}
	z := lzf.Compress(c.buf[c.start:c.end], live-listMinImprove)
	if z == nil {
		return
	}
	// The old buffer stays valid for readers that alias it.
	c.z = append(make([]byte, 0, len(z)), z...)
	c.buf = nil
	c.start, c.end, c.lo, c.hi = 0, int32(live), 0, int32(live)
	c.exposed, c.shared = 1, true
	l.zn++
}

// inflateAll decompresses every chunk (before a change in the middle of
// the list).
func (l *List) inflateAll() {
	if l.zn == 0 {
		return
	}
	live := l.chunks()
	for i := range live {
		l.inflate(&live[i])
	}
	l.unsettled = true
}

// settle restores the compression invariant after a change: chunks within
// depth of an end are plain, the others compressed. After a push or pop
// only the chunks at the zone's borders can be out of place; after
// anything else every chunk is checked.
func (l *List) settle() {
	depth := int(l.depth)
	nc := l.Chunks()
	if !l.quick || depth <= 0 || nc <= 2*depth {
		if l.zn > 0 {
			live := l.chunks()
			for i := range live {
				l.inflate(&live[i])
			}
		}
		l.unsettled = false
		return
	}
	live := l.chunks()
	if l.unsettled {
		for i := range live {
			if i < depth || i >= nc-depth {
				l.inflate(&live[i])
			} else {
				l.deflate(&live[i])
			}
		}
		l.unsettled = false
		return
	}
	for i := 0; i < depth; i++ {
		l.inflate(&live[i])
		l.inflate(&live[nc-1-i])
	}
	l.deflate(&live[depth])
	l.deflate(&live[nc-1-depth])
}
