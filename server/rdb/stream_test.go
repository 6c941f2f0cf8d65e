package rdb

import (
	"encoding/binary"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/keyspace"
)

func streamDump(s *keyspace.Stream) string {
	var b strings.Builder
	s.Range(keyspace.StreamID{}, keyspace.MaxStreamID, false, func(id keyspace.StreamID, fv [][]byte) bool {
		b.WriteString(id.String())
		for _, f := range fv {
			b.WriteString(" " + string(f))
		}
		b.WriteString(";")
		return true
	})
	b.WriteString(strconv.FormatUint(s.Length(), 10) + s.LastID.String() + s.FirstID.String() + s.MaxDeletedID.String() +
		strconv.FormatUint(s.EntriesAdded, 10) + "#" + strconv.Itoa(s.NodeCount()))
	for _, g := range s.Groups() {
		b.WriteString("|" + g.Name + g.LastID.String() + strconv.FormatInt(g.EntriesRead, 10))
		g.AscendPending(keyspace.StreamID{}, func(pe keyspace.PendingEntry) bool {
			b.WriteString(pe.ID.String() + pe.Consumer + strconv.FormatInt(pe.DeliveryTime, 10) + strconv.FormatUint(pe.DeliveryCount, 10))
			return true
		})
		for _, c := range g.Consumers() {
			b.WriteString("/" + c.Name + strconv.FormatInt(c.SeenTime, 10) + strconv.Itoa(c.PendingLen()))
		}
	}
	return b.String()
}

func sampleStream() *keyspace.Stream {
	s := keyspace.NewStream()
	for i := 1; i <= 130; i++ {
		s.Append(keyspace.StreamID{Ms: uint64(i)}, [][]byte{[]byte("f"), []byte("v" + strconv.Itoa(i)), []byte("n"), []byte(strconv.Itoa(i))})
	}
	s.Delete([]keyspace.StreamID{{Ms: 2}, {Ms: 120}})
	g := s.CreateGroup([]byte("g1"), keyspace.StreamID{Ms: 5}, 5)
	c := g.CreateConsumer([]byte("c1"), 1700000000000)
	g.CreateConsumer([]byte("123"), 1700000000001)
	for i := 3; i <= 5; i++ {
		g.Deliver(keyspace.StreamID{Ms: uint64(i)}, c, int64(1700000000000+i))
	}
	s.CreateGroup([]byte("g2"), keyspace.StreamID{}, keyspace.InvalidEntriesRead)
	return s
}

func TestStreamRoundTrip(t *testing.T) {
	for _, s := range []*keyspace.Stream{sampleStream(), keyspace.NewStream()} {
		p, err := Dump(nil, s)
		if err != nil {
			t.Fatal(err)
		}
		if p[0] != TypeStreamListpack2 {
			t.Fatalf("type %d", p[0])
		}
		_, obj, err := Restore(p)
		if err != nil {
			t.Fatal(err)
		}
		got := obj.(*keyspace.Stream)
		if err := got.Verify(); err != nil {
			t.Fatal(err)
		}
		if streamDump(got) != streamDump(s) {
			t.Errorf("stream changed through DUMP/RESTORE:\n%s\n%s", streamDump(got), streamDump(s))
		}
	}
}

// streamPayload re-encodes a type-19 body as Redis 6.2 (15, no first ID,
// max deleted ID, entries-added or entries-read) or 7.2 (21, consumers
// with an active time) would write it.
func streamPayload(t *testing.T, s *keyspace.Stream, typ byte) []byte {
	t.Helper()
	var dst []byte
	dst = append(dst, typ)
	dst = AppendLen(dst, uint64(s.NodeCount()))
	s.EachNode(func(m keyspace.StreamID, lp []byte) bool {
		dst = AppendString(dst, appendNodeKey(nil, m))
		dst = AppendString(dst, lp)
		return true
	})
	dst = AppendLen(dst, s.Length())
	dst = AppendLen(dst, s.LastID.Ms)
	dst = AppendLen(dst, s.LastID.Seq)
	if typ != TypeStreamListpacks {
		for _, id := range []keyspace.StreamID{s.FirstID, s.MaxDeletedID} {
			dst = AppendLen(dst, id.Ms)
			dst = AppendLen(dst, id.Seq)
		}
		dst = AppendLen(dst, s.EntriesAdded)
	}
	dst = AppendLen(dst, uint64(len(s.Groups())))
	for _, g := range s.Groups() {
		dst = AppendString(dst, []byte(g.Name))
		dst = AppendLen(dst, g.LastID.Ms)
		dst = AppendLen(dst, g.LastID.Seq)
		if typ != TypeStreamListpacks {
			dst = AppendLen(dst, uint64(g.EntriesRead))
		}
		dst = AppendLen(dst, uint64(g.PendingLen()))
		g.AscendPending(keyspace.StreamID{}, func(pe keyspace.PendingEntry) bool {
			dst = appendNodeKey(dst, pe.ID)
			dst = binary.LittleEndian.AppendUint64(dst, uint64(pe.DeliveryTime))
			dst = AppendLen(dst, pe.DeliveryCount)
			return true
		})
		dst = AppendLen(dst, uint64(len(g.Consumers())))
		for _, c := range g.Consumers() {
			dst = AppendString(dst, []byte(c.Name))
			dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime))
			if typ == TypeStreamListpack3 {
				dst = binary.LittleEndian.AppendUint64(dst, uint64(c.SeenTime+7))
			}
			dst = AppendLen(dst, uint64(c.PendingLen()))
			c.AscendPending(keyspace.StreamID{}, func(id keyspace.StreamID) bool {
				dst = appendNodeKey(dst, id)
				return true
			})
		}
	}
	dst = binary.LittleEndian.AppendUint16(dst, 11)
	return binary.LittleEndian.AppendUint64(dst, CRC64(0, dst))
}

func TestStreamOlderAndNewerFormats(t *testing.T) {
	s := sampleStream()
	// Redis 7.2's format: the same stream, with consumers' active times.
	_, obj, err := Restore(streamPayload(t, s, TypeStreamListpack3))
	if err != nil {
		t.Fatal(err)
	}
	got := obj.(*keyspace.Stream)
	if streamDump(got) != streamDump(s) {
		t.Errorf("v3 stream differs:\n%s\n%s", streamDump(got), streamDump(s))
	}
	if c := got.Group([]byte("g1")).Consumer([]byte("c1")); c.ActiveTime != c.SeenTime+7 {
		t.Errorf("active time %d", c.ActiveTime)
	}
	// Redis 5 to 6.2: counters are derived as Redis derives them.
	_, obj, err = Restore(streamPayload(t, s, TypeStreamListpacks))
	if err != nil {
		t.Fatal(err)
	}
	got = obj.(*keyspace.Stream)
	if err := got.Verify(); err != nil {
		t.Fatal(err)
	}
	if got.EntriesAdded != got.Length() || !got.MaxDeletedID.IsZero() || got.FirstID != (keyspace.StreamID{Ms: 1}) {
		t.Errorf("v1 counters: added %d deleted %v first %v", got.EntriesAdded, got.MaxDeletedID, got.FirstID)
	}
	// No tombstone recorded: the group's read counter is estimated.
	if g := got.Group([]byte("g1")); g.EntriesRead != keyspace.InvalidEntriesRead {
		t.Errorf("v1 entries-read %d", g.EntriesRead)
	}
	if g := got.Group([]byte("g2")); g.EntriesRead != 0 {
		t.Errorf("v1 entries-read of a group at 0-0: %d", g.EntriesRead)
	}
}

func TestStreamCorruptPayloads(t *testing.T) {
	p, err := Dump(nil, sampleStream())
	if err != nil {
		t.Fatal(err)
	}
	body := p[:len(p)-10]
	for i := 0; i < len(body); i++ {
		for _, x := range []byte{0, 1, 0x40, 0x80, 0xc0, 0xff} {
			c := append([]byte(nil), body...)
			c[i] ^= x
			if _, obj, err := DecodeValue(c); err == nil {
				if s, ok := obj.(*keyspace.Stream); ok {
					// The recorded first ID is taken as is, as Redis does.
					if first, ok := s.FirstEntryID(); ok {
						s.FirstID = first
					}
					if err := s.Verify(); err != nil {
						t.Fatalf("byte %d ^%x: corrupt stream accepted: %v", i, x, err)
					}
				}
			}
		}
		if _, _, err := DecodeValue(body[:i]); err == nil {
			t.Fatalf("truncated at %d accepted", i)
		}
	}
}
