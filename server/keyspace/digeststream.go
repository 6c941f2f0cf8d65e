package keyspace

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"unsafe"

	"github.com/cespare/xxhash/v2"
)

// DigestSnapshot reads a keyspace snapshot stream (Snapshot.WriteTo's
// format) and returns what StateDigest and Len would return on a DB that
// Load had loaded it into, with cfg as the DB's configuration — without
// building the DB: each item is decoded as Load decodes it, digested and
// dropped, so the memory used stays that of one item. A backup's
// verification uses it. Items must come in strictly ascending key-tree
// order (lessRef), as snapshots are written; anything else is ErrBadSnapshot.
func DigestSnapshot(r io.Reader, cfg *Config) (stateDigest uint64, keys int, err error) {
	sr := &snapReader{r: bufio.NewReaderSize(r, 1<<20)}
	magic := make([]byte, len(snapMagic))
	if _, err := io.ReadFull(sr.r, magic); err != nil || !readableMagic(magic) {
		if v := magic[len(magic)-1]; err == nil && string(magic[:len(magic)-1]) == snapMagic[:len(snapMagic)-1] && v > snapMagic[len(snapMagic)-1] && v <= '9' {
			return 0, 0, fmt.Errorf("%w: %w: %q", ErrBadSnapshot, ErrSnapshotVersion, magic)
		}
		return 0, 0, fmt.Errorf("%w: magic", ErrBadSnapshot)
	}
	items := xxhash.New() // Digest's hash
	// StateDigest hashes Digest and the configuration before the items'
	// encodings, and Digest is known only at the end: keep the encodings,
	// interned, one byte per item.
	var encs []byte
	var names []string
	index := map[string]byte{}
	var buf []byte
	var prev []byte
	prevOrd, first := uint64(0), true
	var scratch Item
	var kb, vb []byte
	for {
		t := Type(sr.byte())
		if sr.err != nil {
			return 0, 0, fmt.Errorf("%w: %v", ErrBadSnapshot, sr.err)
		}
		if t == TypeNone {
			break
		}
		var it *Item
		var err error
		if t == TypeString {
			// Most items: decoded into reused buffers, no allocation
			// (a backup verifies 1M keys while the node serves writes,
			// and garbage here means GC cycles over the whole heap).
			it, err = sr.stringItem(&scratch, &kb, &vb)
		} else {
			it, err = sr.item(t)
		}
		if err != nil {
			return 0, 0, err
		}
		ord := it.order()
		if !first && !lessRef(ref{prevOrd, &Item{Key: unsafe.String(unsafe.SliceData(prev), len(prev))}}, ref{ord, it}) {
			return 0, 0, fmt.Errorf("%w: key %q after %q: not in key order", ErrBadSnapshot, it.Key, prev)
		}
		prev, prevOrd, first = append(prev[:0], it.Key...), ord, false
		buf = appendItem(buf[:0], it)
		items.Write(buf)
		if it.Obj != nil {
			e := it.Obj.Encoding()
			i, ok := index[e]
			if !ok {
				if len(names) == 255 {
					return 0, 0, fmt.Errorf("%w: too many encodings", ErrBadSnapshot)
				}
				i = byte(len(names))
				index[e] = i
				names = append(names, e)
			}
			encs = append(encs, i)
		}
		keys++
	}
	d := xxhash.New()
	var head []byte
	head = binary.AppendUvarint(head, items.Sum64())
	head = AppendConfig(head, cfg)
	d.Write(head)
	for _, i := range encs {
		d.WriteString(names[i])
	}
	return d.Sum64(), keys, nil
}
