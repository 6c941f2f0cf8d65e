package keyspace

import "encoding/binary"

func init() { RegisterCodec(TypeStream, encodeStreamSnap, decodeStreamSnap) }

func appendSnapID(dst []byte, id StreamID) []byte {
	dst = binary.AppendUvarint(dst, id.Ms)
	return binary.AppendUvarint(dst, id.Seq)
}

func readSnapID(sr *SnapReader) StreamID { return StreamID{sr.Uvarint(), sr.Uvarint()} }

// encodeStreamSnap writes a stream whole: its nodes (Redis listpacks),
// counters, groups with their pending entries and consumers.
func encodeStreamSnap(dst []byte, o Object) []byte {
	s := o.(*Stream)
	dst = binary.AppendUvarint(dst, uint64(s.nodes.Len()))
	s.nodes.Scan(func(n *streamNode) bool {
		dst = appendSnapID(dst, n.master)
		dst = appendBytes(dst, n.lp)
		return true
	})
	dst = binary.AppendUvarint(dst, s.length)
	dst = appendSnapID(dst, s.LastID)
	dst = appendSnapID(dst, s.FirstID)
	dst = appendSnapID(dst, s.MaxDeletedID)
	dst = binary.AppendUvarint(dst, s.EntriesAdded)
	dst = binary.AppendUvarint(dst, uint64(len(s.groups)))
	for _, g := range s.groups {
		dst = appendString(dst, g.Name)
		dst = appendSnapID(dst, g.LastID)
		dst = binary.AppendVarint(dst, g.EntriesRead)
		dst = binary.AppendUvarint(dst, uint64(g.pel.Len()))
		g.pel.Scan(func(pe PendingEntry) bool {
			dst = appendSnapID(dst, pe.ID)
			dst = appendString(dst, pe.Consumer)
			dst = binary.AppendVarint(dst, pe.DeliveryTime)
			dst = binary.AppendUvarint(dst, pe.DeliveryCount)
			return true
		})
		dst = binary.AppendUvarint(dst, uint64(len(g.consumers)))
		for _, c := range g.consumers {
			dst = appendString(dst, c.Name)
			dst = binary.AppendVarint(dst, c.SeenTime)
			dst = binary.AppendVarint(dst, c.ActiveTime)
		}
	}
	return dst
}

func decodeStreamSnap(sr *SnapReader) Object {
	s := NewStream()
	n := sr.Uvarint()
	for i := uint64(0); i < n && sr.Err() == nil; i++ {
		master := readSnapID(sr)
		lp := sr.Bytes()
		if sr.Err() != nil {
			break
		}
		if err := s.LoadNode(master, lp); err != nil {
			sr.Fail(err)
		}
	}
	length := sr.Uvarint()
	s.LastID = readSnapID(sr)
	s.FirstID = readSnapID(sr)
	s.MaxDeletedID = readSnapID(sr)
	s.EntriesAdded = sr.Uvarint()
	ng := sr.Uvarint()
	for i := uint64(0); i < ng && sr.Err() == nil; i++ {
		name := sr.Bytes()
		last := readSnapID(sr)
		read := sr.Varint()
		g := s.CreateGroup(name, last, read)
		if g == nil {
			sr.Fail(ErrBadStream)
			break
		}
		np := sr.Uvarint()
		for j := uint64(0); j < np && sr.Err() == nil; j++ {
			pe := PendingEntry{ID: readSnapID(sr), Consumer: string(sr.Bytes()), DeliveryTime: sr.Varint(), DeliveryCount: sr.Uvarint()}
			if _, dup := g.pel.Set(pe); dup || pe.Consumer == "" {
				sr.Fail(ErrBadStream)
			}
		}
		nc := sr.Uvarint()
		for j := uint64(0); j < nc && sr.Err() == nil; j++ {
			name := sr.Bytes()
			c := g.CreateConsumer(name, sr.Varint())
			if c == nil {
				sr.Fail(ErrBadStream)
				break
			}
			c.ActiveTime = sr.Varint()
		}
		if sr.Err() != nil {
			break
		}
		g.pel.Scan(func(pe PendingEntry) bool {
			c := g.Consumer([]byte(pe.Consumer))
			if c == nil {
				sr.Fail(ErrBadStream)
				return false
			}
			c.pel.Set(pe.ID)
			return true
		})
	}
	if sr.Err() != nil {
		return nil
	}
	if err := s.CheckLoaded(length); err != nil {
		sr.Fail(err)
		return nil
	}
	return s
}
