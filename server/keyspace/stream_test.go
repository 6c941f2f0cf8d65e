package keyspace

import (
	"strconv"
	"strings"
	"testing"
)

func streamDump(s *Stream) string {
	var b strings.Builder
	s.Range(StreamID{}, MaxStreamID, false, func(id StreamID, fv [][]byte) bool {
		b.WriteString(id.String())
		for _, f := range fv {
			b.WriteString(" " + string(f))
		}
		b.WriteString(";")
		return true
	})
	b.WriteString(strconv.FormatUint(s.Length(), 10) + s.LastID.String() + s.FirstID.String() + s.MaxDeletedID.String() +
		strconv.FormatUint(s.EntriesAdded, 10) + "#" + strconv.Itoa(s.NodeCount()))
	s.EachNode(func(m StreamID, lp []byte) bool {
		b.WriteString(m.String() + ":" + string(lp))
		return true
	})
	for _, g := range s.Groups() {
		b.WriteString("|" + g.Name + g.LastID.String() + strconv.FormatInt(g.EntriesRead, 10))
		g.AscendPending(StreamID{}, func(pe PendingEntry) bool {
			b.WriteString(pe.ID.String() + pe.Consumer + strconv.FormatInt(pe.DeliveryTime, 10) + strconv.FormatUint(pe.DeliveryCount, 10))
			return true
		})
		for _, c := range g.Consumers() {
			b.WriteString("/" + c.Name + strconv.FormatInt(c.SeenTime, 10) + strconv.FormatInt(c.ActiveTime, 10) + strconv.Itoa(c.PendingLen()))
		}
	}
	return b.String()
}

func testStream(t testing.TB) *Stream {
	s := NewStream()
	for i := 1; i <= 250; i++ {
		fv := [][]byte{[]byte("f"), []byte("v" + strconv.Itoa(i))}
		if i%7 == 0 {
			fv = append(fv, []byte("n"), []byte(strconv.Itoa(i*1000)))
		}
		if i%50 == 0 {
			fv = append(fv, []byte("big"), []byte(strings.Repeat("x", 300)))
		}
		s.Append(StreamID{Ms: uint64(i), Seq: uint64(i % 3)}, fv)
	}
	s.Delete([]StreamID{{Ms: 1, Seq: 1}, {Ms: 120, Seq: 0}, {Ms: 99, Seq: 0}})
	g := s.CreateGroup([]byte("g"), StreamID{Ms: 10}, 10)
	c1 := g.CreateConsumer([]byte("alice"), 1000)
	c2 := g.CreateConsumer([]byte("bob"), 2000)
	g.CreateConsumer([]byte("idle"), 3000)
	for i := 2; i <= 10; i++ {
		c := c1
		if i%2 == 0 {
			c = c2
		}
		g.Deliver(StreamID{Ms: uint64(i), Seq: uint64(i % 3)}, c, int64(5000+i))
	}
	s.CreateGroup([]byte("empty"), StreamID{}, InvalidEntriesRead)
	if err := s.Verify(); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestStreamSnapshotRoundTrip(t *testing.T) {
	db := New()
	s := testStream(t)
	db.Put([]byte("s"), nil, s, 0)
	db.Put([]byte("empty"), nil, NewStream(), 0)
	db2 := load(t, serialize(t, db.Snapshot()))
	for _, k := range []string{"s", "empty"} {
		got := db2.Peek([]byte(k)).Obj.(*Stream)
		want := db.Peek([]byte(k)).Obj.(*Stream)
		if err := got.Verify(); err != nil {
			t.Fatal(err)
		}
		if streamDump(got) != streamDump(want) {
			t.Errorf("%s changed through a snapshot", k)
		}
	}
}

func TestStreamRange(t *testing.T) {
	s := testStream(t)
	count := 0
	var prev StreamID
	s.Range(StreamID{}, MaxStreamID, false, func(id StreamID, _ [][]byte) bool {
		if count > 0 && !prev.Less(id) {
			t.Fatalf("out of order %v after %v", id, prev)
		}
		prev = id
		count++
		return true
	})
	if count != 247 || s.Len() != 247 {
		t.Fatalf("count %d len %d", count, s.Len())
	}
	rev := 0
	s.Range(StreamID{Ms: 50}, StreamID{Ms: 60, Seq: 5}, true, func(id StreamID, _ [][]byte) bool {
		if id.Ms < 50 || id.Ms > 60 {
			t.Fatalf("out of range %v", id)
		}
		rev++
		return true
	})
	if rev != 11 {
		t.Fatalf("rev %d", rev)
	}
	if fv, ok := s.Get(StreamID{Ms: 7, Seq: 1}); !ok || string(fv[3]) != "7000" {
		t.Fatalf("get %q %v", fv, ok)
	}
	if _, ok := s.Get(StreamID{Ms: 120}); ok {
		t.Fatal("deleted entry found")
	}
}

func TestRaxNodes(t *testing.T) {
	cases := []struct {
		masters []uint64
		want    int
	}{
		{nil, 1}, {[]uint64{1}, 2}, {[]uint64{1, 101}, 6}, {[]uint64{1, 101, 201}, 8}, {[]uint64{1, 101, 201, 301}, 11},
	}
	for _, tc := range cases {
		s := NewStream()
		for _, m := range tc.masters {
			s.nodes.Set(&streamNode{master: StreamID{Ms: m}, owner: s.token})
		}
		if got := s.RaxNodes(); got != tc.want {
			t.Errorf("%v: %d nodes, want %d", tc.masters, got, tc.want)
		}
	}
}

func TestLoadNodeRejects(t *testing.T) {
	src := testStream(t)
	var nodes [][]byte
	var masters []StreamID
	src.EachNode(func(m StreamID, lp []byte) bool {
		nodes = append(nodes, lp)
		masters = append(masters, m)
		return true
	})
	// Every truncation and every single-byte corruption either fails or
	// yields a valid node.
	lp := nodes[0]
	for i := 0; i < len(lp); i++ {
		s := NewStream()
		if s.LoadNode(masters[0], lp[:i]) == nil {
			t.Fatalf("truncated node (%d bytes) loaded", i)
		}
		for _, x := range []byte{0, 1, 0x7f, 0x80, 0xc0, 0xe0, 0xf0, 0xf1, 0xf4, 0xff} {
			c := append([]byte(nil), lp...)
			c[i] = x
			s := NewStream()
			if s.LoadNode(masters[0], c) == nil {
				s.LastID = MaxStreamID
				s.FirstID, _ = s.FirstEntryID()
				if err := s.Verify(); err != nil {
					t.Fatalf("corrupt node loaded: %v", err)
				}
				s.Range(StreamID{}, MaxStreamID, true, func(StreamID, [][]byte) bool { return true })
			}
		}
	}
	s := NewStream()
	if s.LoadNode(masters[1], nodes[1]) != nil || s.LoadNode(masters[0], nodes[0]) == nil {
		t.Fatal("nodes out of order accepted")
	}
}

// TestStreamSnapshotConcurrent serializes a snapshot while the stream
// keeps changing (run with -race): the snapshot holds the stream as it was.
func TestStreamSnapshotConcurrent(t *testing.T) {
	db := New()
	db.Put([]byte("s"), nil, testStream(t), 0)
	want := streamDump(db.Peek([]byte("s")).Obj.(*Stream))
	snap := db.Snapshot()
	done := make(chan []byte)
	go func() { done <- serialize(t, snap) }()
	for i := 0; i < 2000; i++ {
		s := db.Mutable(db.Peek([]byte("s"))).Obj.(*Stream)
		switch i % 5 {
		case 0, 1:
			s.Append(StreamID{Ms: uint64(1000 + i)}, [][]byte{[]byte("f"), []byte("x")})
		case 2:
			s.Delete([]StreamID{{Ms: uint64(i / 10), Seq: uint64(i % 3)}})
		case 3:
			g := s.Group([]byte("g"))
			g.Deliver(StreamID{Ms: uint64(i)}, g.Consumer([]byte("alice")), int64(i))
		case 4:
			s.Trim(TrimArgs{Strategy: TrimMaxLen, MaxLen: 200})
		}
	}
	got := load(t, <-done).Peek([]byte("s")).Obj.(*Stream)
	if streamDump(got) != want {
		t.Fatal("the snapshot saw later changes")
	}
}
