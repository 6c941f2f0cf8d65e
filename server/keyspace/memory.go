package keyspace

// Memory accounting (maxmemory).
//
// The DB keeps UsedMemory, an exact count of the bytes of its state under a
// fixed size model: it depends only on the logical content (keys, values,
// encodings, expiry times), never on the Go heap, slice capacities or
// allocation history, so every replica that applied the same log — and a
// replica that loaded a snapshot of that state — reports the same number,
// and maxmemory decisions taken at apply time agree everywhere.
//
// Every write path that may change an item first takes the item's size out
// of the count and marks it pending (put, PutItem, Mutable, SetExpire);
// SettleMemory, called by the applier after each command, measures pending
// items again and adds them back. Measuring is O(1): containers maintain
// their payload byte counts as they change. Removing an item subtracts its
// size at once.
//
// The model (bytes):
//
//	every key        memItem + len(key)   (Item, B-tree slot, hash-index slot)
//	with an expiry   + memExpiry          (expiry-index entry)
//	string           + len(value)
//	hash listpack    + memObject + listpack length
//	hash hashtable   + memObject + per field memHashField + name + value
//	set intset       + memObject + 8 per member
//	set hashtable    + memObject + per member memSetMember + length
//	zset listpack    + memObject + listpack length
//	zset skiplist    + memObject + per member memZSetMember + length
//	list             + memObject + per element memListElem + length
//	stream           + memObject + listpack nodes' length + per node memStreamNode
//	                   + per group memGroup + name + per pending entry memPending
//	                   + per consumer memConsumer + name + per consumer pending entry memConsumerPending
//
// The constants approximate Cairn's real structures on 64-bit Go.
const (
	memItem            = 128
	memExpiry          = 48
	memObject          = 48
	memHashField       = 72
	memSetMember       = 32
	memZSetMember      = 88
	memListElem        = 3
	memStreamNode      = 80
	memGroup           = 128
	memPending         = 64
	memConsumer        = 96
	memConsumerPending = 24
)

// Item.acct states: 0 is an item whose size is not in DB.used (new, or
// removed).
const (
	itemIn      uint8 = 1 // its size is in DB.used
	itemPending uint8 = 2 // in DB.pend: measured and added by SettleMemory
	itemGone    uint8 = 4 // with itemPending: removed meanwhile, skip it
)

// MemSize returns the item's size under the memory model.
func (it *Item) MemSize() int64 {
	n := int64(memItem + len(it.Key))
	if it.ExpireAt != 0 {
		n += memExpiry
	}
	if it.Obj == nil {
		return n + int64(len(it.Str))
	}
	return n + objectMem(it.Obj, false)
}

// objectMem is an object's size; recount measures it element by element
// instead of trusting the maintained counters (for tests).
func objectMem(o Object, recount bool) int64 {
	n := int64(memObject)
	switch o := o.(type) {
	case *Hash:
		if o.ht == nil {
			return n + int64(len(o.lp))
		}
		b := o.hb
		if recount {
			b = 0
			o.ht.Scan(func(f *Field) bool { b += len(f.Name) + len(f.Value); return true })
		}
		return n + int64(o.ht.Len())*memHashField + int64(b)
	case *Set:
		if o.kind == kindInts {
			return n + 8*int64(len(o.ints))
		}
		b := o.bytes
		if recount {
			b = 0
			o.Each(func(m []byte) bool { b += len(m); return true })
		}
		return n + int64(o.Len())*memSetMember + int64(b)
	case *ZSet:
		if o.sk == nil {
			return n + int64(len(o.lp))
		}
		b := o.sk.bytes
		if recount {
			b = 0
			o.Each(func(e ZEntry) bool { b += len(e.Member); return true })
		}
		return n + int64(o.Len())*memZSetMember + int64(b)
	case *List:
		b := o.bytes
		if recount {
			b = 0
			o.Each(func(s []byte) bool { b += len(s); return true })
		}
		return n + int64(o.n)*memListElem + int64(b)
	case *Stream:
		b := o.lpBytes
		if recount {
			b = 0
			o.nodes.Scan(func(nd *streamNode) bool { b += len(nd.lp); return true })
		}
		n += int64(b) + int64(o.nodes.Len())*memStreamNode
		for _, g := range o.groups {
			n += memGroup + int64(len(g.Name)) + int64(g.pel.Len())*memPending
			for _, c := range g.consumers {
				n += memConsumer + int64(len(c.Name)) + int64(c.pel.Len())*memConsumerPending
			}
		}
		return n
	case *VectorSet:
		return n + o.memSize()
	}
	return n + int64(o.Len())*16
}

// payload returns the total length of the chunk's elements.
func (c *chunk) payload() int {
	c = c.view() // a compressed chunk (list-compress-depth) is read uncompressed
	n := 0
	for p := c.start; p < c.end; {
		var e []byte
		e, p = entryAt(c.buf, p)
		n += len(e)
	}
	return n
}

// markMem takes it's size out of DB.used and queues it to be measured
// again by SettleMemory. Call it before changing an item.
func (db *DB) markMem(it *Item) {
	switch it.acct {
	case itemIn:
		db.used -= it.MemSize()
	case 0:
	default: // pending, maybe removed meanwhile and now put back
		it.acct = itemPending
		return
	}
	it.acct = itemPending
	db.pend = append(db.pend, it)
}

// unaccount takes an item that leaves the DB out of DB.used.
func (db *DB) unaccount(it *Item) {
	switch it.acct {
	case itemIn:
		db.used -= it.MemSize()
		it.acct = 0
	case 0:
	default:
		it.acct |= itemGone
	}
}

// SettleMemory brings UsedMemory up to date with the items changed since
// the last call. The applier calls it after each command; it costs O(1)
// per item changed.
func (db *DB) SettleMemory() {
	for i, it := range db.pend {
		if it.acct&itemGone == 0 {
			db.used += it.MemSize()
			it.acct = itemIn
		} else {
			it.acct = 0
		}
		db.pend[i] = nil
	}
	db.pend = db.pend[:0]
}

// UsedMemory returns the accounted size of the dataset in bytes, as of the
// last SettleMemory (used_memory_dataset; compared against maxmemory).
func (db *DB) UsedMemory() int64 { return db.used }

// RecountMemory measures the whole dataset from scratch, element by
// element, without the maintained counters. Tests compare it with
// UsedMemory after SettleMemory.
func (db *DB) RecountMemory() int64 {
	var n int64
	db.tree.Scan(func(it *Item) bool {
		m := int64(memItem + len(it.Key))
		if it.ExpireAt != 0 {
			m += memExpiry
		}
		if it.Obj == nil {
			m += int64(len(it.Str))
		} else {
			m += objectMem(it.Obj, true)
		}
		n += m
		return true
	})
	return n
}
