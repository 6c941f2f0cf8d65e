package rdb

import (
	"encoding/binary"

	"github.com/cairndb/cairn/server/keyspace"
)

func init() {
	register(keyspace.TypeStream, encodeStream, decodeStream,
		TypeStreamListpacks, TypeStreamListpack2, TypeStreamListpack3)
}

func appendNodeKey(dst []byte, id keyspace.StreamID) []byte {
	dst = binary.BigEndian.AppendUint64(dst, id.Ms)
	return binary.BigEndian.AppendUint64(dst, id.Seq)
}

// encodeStream writes a stream as Redis 7.0 does (RDB_TYPE_STREAM_LISTPACKS_2):
// the nodes (16-byte big-endian master ID and listpack, both as strings),
// the length, last ID, first ID, largest deleted ID and entries-added
// counter, then each group: name, last ID, entries-read, the pending list
// (raw ID, delivery time in ms as 8 bytes LE, delivery count) and the
// consumers (name, seen time, IDs of their pending entries).
func encodeStream(dst []byte, _ []byte, obj keyspace.Object) (byte, []byte, error) {
	s, ok := obj.(*keyspace.Stream)
	if !ok {
		return 0, dst, ErrUnsupported
	}
	dst = AppendLen(dst, uint64(s.NodeCount()))
	var key []byte
	s.EachNode(func(master keyspace.StreamID, lp []byte) bool {
		key = appendNodeKey(key[:0], master)
		dst = AppendString(dst, key)
		dst = AppendString(dst, lp)
		return true
	})
	dst = AppendLen(dst, s.Length())
	for _, id := range []keyspace.StreamID{s.LastID, s.FirstID, s.MaxDeletedID} {
		dst = AppendLen(dst, id.Ms)
		dst = AppendLen(dst, id.Seq)
	}
	dst = AppendLen(dst, s.EntriesAdded)
	groups := s.Groups()
	dst = AppendLen(dst, uint64(len(groups)))
	for _, g := range groups {
		dst = AppendString(dst, []byte(g.Name))
		dst = AppendLen(dst, g.LastID.Ms)
		dst = AppendLen(dst, g.LastID.Seq)
		dst = AppendLen(dst, uint64(g.EntriesRead))
		dst = AppendLen(dst, uint64(g.PendingLen()))
		g.AscendPending(keyspace.StreamID{}, func(pe keyspace.PendingEntry) bool {
			dst = appendNodeKey(dst, pe.ID)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(pe.DeliveryTime))
			dst = AppendLen(dst, pe.DeliveryCount)
			return true
		})
		consumers := g.Consumers()
		dst = AppendLen(dst, uint64(len(consumers)))
		for _, c := range consumers {
			dst = AppendString(dst, []byte(c.Name))
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime))
			dst = AppendLen(dst, uint64(c.PendingLen()))
			c.AscendPending(keyspace.StreamID{}, func(id keyspace.StreamID) bool {
				dst = appendNodeKey(dst, id)
				return true
			})
		}
	}
	return TypeStreamListpack2, dst, nil
}

func (r *Reader) rawID() (keyspace.StreamID, error) {
	b, err := r.Bytes(16)
	if err != nil {
		return keyspace.StreamID{}, err
	}
	return keyspace.StreamID{Ms: binary.BigEndian.Uint64(b), Seq: binary.BigEndian.Uint64(b[8:])}, nil
}

func (r *Reader) millis() (int64, error) {
	b, err := r.Bytes(8)
	if err != nil {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(b)), nil
}

func (r *Reader) lenID() (keyspace.StreamID, error) {
	ms, err := r.Len()
	if err != nil {
		return keyspace.StreamID{}, err
	}
	seq, err := r.Len()
	return keyspace.StreamID{Ms: ms, Seq: seq}, err
}

// decodeStream reads a stream in the formats of Redis 5 to 6.2
// (RDB_TYPE_STREAM_LISTPACKS), 7.0 (_2) and 7.2 (_3, whose consumers also
// carry an active time). Every listpack is validated fully.
func decodeStream(r *Reader, t byte) ([]byte, keyspace.Object, error) {
	s := keyspace.NewStream()
	nodes, err := r.Len()
	if err != nil {
		return nil, nil, err
	}
	for ; nodes > 0; nodes-- {
		key, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		if len(key) != 16 {
			return nil, nil, ErrBadFormat
		}
		master := keyspace.StreamID{Ms: binary.BigEndian.Uint64(key), Seq: binary.BigEndian.Uint64(key[8:])}
		lp, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		if err := s.LoadNode(master, lp); err != nil {
			return nil, nil, ErrBadFormat
		}
	}
	length, err := r.Len()
	if err != nil {
		return nil, nil, err
	}
	if s.LastID, err = r.lenID(); err != nil {
		return nil, nil, err
	}
	if t >= TypeStreamListpack2 {
		if s.FirstID, err = r.lenID(); err != nil {
			return nil, nil, err
		}
		if s.MaxDeletedID, err = r.lenID(); err != nil {
			return nil, nil, err
		}
		if s.EntriesAdded, err = r.Len(); err != nil {
			return nil, nil, err
		}
	} else {
		s.EntriesAdded = length
		if first, ok := s.FirstEntryID(); ok {
			s.FirstID = first
		} else {
			s.FirstID = keyspace.MaxStreamID // streamGetEdgeID on an empty stream
		}
	}
	ngroups, err := r.Len()
	if err != nil {
		return nil, nil, err
	}
	for ; ngroups > 0; ngroups-- {
		name, err := r.String()
		if err != nil {
			return nil, nil, err
		}
		last, err := r.lenID()
		if err != nil {
			return nil, nil, err
		}
		var read int64
		if t >= TypeStreamListpack2 {
			n, err := r.Len()
			if err != nil {
				return nil, nil, err
			}
			read = int64(n)
		} else {
			read = s.EstimateDistance(last)
		}
		g := s.CreateGroup(name, last, read)
		if g == nil {
			return nil, nil, ErrBadFormat
		}
		npel, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		for ; npel > 0; npel-- {
			id, err := r.rawID()
			if err != nil {
				return nil, nil, err
			}
			ms, err := r.millis()
			if err != nil {
				return nil, nil, err
			}
			count, err := r.Len()
			if err != nil {
				return nil, nil, err
			}
			if g.LoadPending(id, ms, count) != nil {
				return nil, nil, ErrBadFormat
			}
		}
		ncons, err := r.Len()
		if err != nil {
			return nil, nil, err
		}
		for ; ncons > 0; ncons-- {
			cname, err := r.String()
			if err != nil {
				return nil, nil, err
			}
			seen, err := r.millis()
			if err != nil {
				return nil, nil, err
			}
			active := seen
			if t >= TypeStreamListpack3 {
				if active, err = r.millis(); err != nil {
					return nil, nil, err
				}
			}
			c := g.CreateConsumer(cname, seen)
			if c == nil {
				return nil, nil, ErrBadFormat
			}
			c.ActiveTime = active
			n, err := r.Len()
			if err != nil {
				return nil, nil, err
			}
			for ; n > 0; n-- {
				id, err := r.rawID()
				if err != nil {
					return nil, nil, err
				}
				if g.LoadConsumerPending(c, id) != nil {
					return nil, nil, ErrBadFormat
				}
			}
		}
	}
	if s.CheckLoaded(length) != nil {
		return nil, nil, ErrBadFormat
	}
	return nil, s, nil
}
