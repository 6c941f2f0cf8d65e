package keyspace

import (
	"bytes"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
)

// checkList verifies l's invariants and that it holds exactly want.
func checkList(t *testing.T, l *List, want [][]byte, what string) {
	t.Helper()
	if l.Len() != len(want) {
		t.Fatalf("%s: len %d, want %d", what, l.Len(), len(want))
	}
	total := 0
	for i, c := range l.chunks() {
		if c.n <= 0 {
			t.Fatalf("%s: chunk %d has %d entries", what, i, c.n)
		}
		lpsz, ok := validateChunk(c.buf[c.start:c.end], uint64(c.n))
		if !ok {
			t.Fatalf("%s: chunk %d is corrupt", what, i)
		}
		if !c.plain && int(c.lpsz) != lpsz {
			t.Fatalf("%s: chunk %d lpsz %d, want %d", what, i, c.lpsz, lpsz)
		}
		if c.lo > c.start || c.end > c.hi || int(c.hi) > len(c.buf) {
			t.Fatalf("%s: chunk %d bounds lo %d start %d end %d hi %d cap %d", what, i, c.lo, c.start, c.end, c.hi, len(c.buf))
		}
		total += int(c.n)
	}
	if total != l.n {
		t.Fatalf("%s: chunks hold %d, n %d", what, total, l.n)
	}
	if !l.quick && l.Chunks() > 1 {
		t.Fatalf("%s: listpack with %d chunks", what, l.Chunks())
	}
	var got [][]byte
	l.Each(func(s []byte) bool { got = append(got, s); return true })
	if !equalLists(got, want) {
		t.Fatalf("%s:\n got %q\nwant %q", what, got, want)
	}
	var rev [][]byte
	it := l.Iter(true)
	for s, ok := it.Next(); ok; s, ok = it.Next() {
		rev = append(rev, s)
	}
	for i := range rev {
		if !bytes.Equal(rev[i], want[len(want)-1-i]) {
			t.Fatalf("%s: reverse iteration differs at %d", what, i)
		}
	}
	if len(rev) != len(want) {
		t.Fatalf("%s: reverse iteration gave %d", what, len(rev))
	}
}

func equalLists(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

func randElem(r *rand.Rand) []byte {
	switch r.IntN(6) {
	case 0:
		return []byte(strconv.Itoa(r.IntN(100000) - 50000))
	case 1:
		return bytes.Repeat([]byte{'a' + byte(r.IntN(3))}, r.IntN(300))
	case 2:
		return bytes.Repeat([]byte("z"), 2000+r.IntN(20000))
	default:
		return []byte(strconv.Itoa(r.IntN(8)))
	}
}

// TestListModel runs random operations on lists and on a plain slice
// model, with clones and aliasing readers along the way, checking
// contents and invariants after every step.
func TestListModel(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	type pair struct {
		l *List
		m [][]byte
	}
	lists := []pair{{NewList(), nil}}
	var aliases []struct {
		got  []byte
		want string
	}
	maxNodes := 0
	defer func() { t.Logf("up to %d nodes", maxNodes) }()
	for step := 0; step < 40000; step++ {
		pi := r.IntN(len(lists))
		p := &lists[pi]
		l := p.l
		e := randElem(r)
		what := "step " + strconv.Itoa(step)
		switch op := r.IntN(20); {
		case op < 4:
			l.GrowCheck(len(e), 1)
			l.PushFront(e)
			p.m = append([][]byte{append([]byte(nil), e...)}, p.m...)
		case op < 8:
			l.GrowCheck(len(e), 1)
			l.PushBack(e)
			p.m = append(p.m, append([]byte(nil), e...))
		case op < 10:
			if s := l.PopFront(); s != nil {
				if !bytes.Equal(s, p.m[0]) {
					t.Fatalf("%s: popped %q, want %q", what, s, p.m[0])
				}
				p.m = p.m[1:]
				l.ShrinkCheck()
			}
		case op < 12:
			if s := l.PopBack(); s != nil {
				if !bytes.Equal(s, p.m[len(p.m)-1]) {
					t.Fatalf("%s: popped %q", what, s)
				}
				p.m = p.m[:len(p.m)-1]
				l.ShrinkCheck()
			}
		case op == 12 && len(p.m) > 0:
			i := r.IntN(len(p.m))
			l.GrowCheck(len(e), 1)
			l.Set(i, e)
			p.m[i] = append([]byte(nil), e...)
			l.ShrinkCheck()
		case op == 13 && len(p.m) > 0:
			pivot := p.m[r.IntN(len(p.m))]
			after := r.IntN(2) == 0
			l.GrowCheck(len(e), 1)
			if !l.Insert(pivot, e, after) {
				t.Fatalf("%s: pivot not found", what)
			}
			for i := range p.m {
				if bytes.Equal(p.m[i], pivot) {
					if after {
						i++
					}
					p.m = append(p.m[:i], append([][]byte{append([]byte(nil), e...)}, p.m[i:]...)...)
					break
				}
			}
		case op == 14 && len(p.m) > 0:
			target := []byte(strconv.Itoa(r.IntN(8)))
			count := int64(r.IntN(4))
			fromTail := r.IntN(2) == 0
			n := l.Remove(target, count, fromTail)
			var kept [][]byte
			var removed int64
			idx := make([]int, len(p.m))
			for i := range idx {
				idx[i] = i
				if fromTail {
					idx[i] = len(p.m) - 1 - i
				}
			}
			drop := map[int]bool{}
			for _, i := range idx {
				if bytes.Equal(p.m[i], target) && (count == 0 || removed < count) {
					drop[i] = true
					removed++
				}
			}
			for i := range p.m {
				if !drop[i] {
					kept = append(kept, p.m[i])
				}
			}
			if n != removed {
				t.Fatalf("%s: removed %d, want %d", what, n, removed)
			}
			p.m = kept
			l.ShrinkCheck()
		case op == 15 && len(p.m) > 0:
			left, right := r.IntN(len(p.m)+1), 0
			if rest := len(p.m) - left; rest > 0 {
				right = r.IntN(rest + 1)
			}
			l.Trim(left, right)
			p.m = p.m[left : len(p.m)-right]
			l.ShrinkCheck()
		case op == 16 && len(p.m) > 0:
			// An aliasing reader: the bytes must never change.
			start := r.IntN(len(p.m))
			n := 1 + r.IntN(len(p.m)-start)
			i := start
			l.Range(start, n, false, func(s []byte) {
				aliases = append(aliases, struct {
					got  []byte
					want string
				}{s, string(p.m[i])})
				i++
			})
			if i != start+n {
				t.Fatalf("%s: range gave %d", what, i-start)
			}
			i = start + n - 1
			l.Range(start+n-1, n, true, func(s []byte) {
				if !bytes.Equal(s, p.m[i]) {
					t.Fatalf("%s: reverse range at %d", what, i)
				}
				i--
			})
		case op == 17 && len(lists) < 6:
			// A clone (COPY, or a snapshot's copy-on-write).
			lists = append(lists, pair{l.Clone().(*List), append([][]byte(nil), p.m...)})
		case op == 18 && len(p.m) > 0:
			i := r.IntN(len(p.m))
			if s, ok := l.Index(i); !ok || !bytes.Equal(s, p.m[i]) {
				t.Fatalf("%s: index %d", what, i)
			}
			if s, ok := l.Index(i - len(p.m)); !ok || !bytes.Equal(s, p.m[i]) {
				t.Fatalf("%s: negative index %d", what, i)
			}
		case op == 19 && len(lists) > 1:
			lists = append(lists[:pi], lists[pi+1:]...)
			continue
		}
		checkList(t, p.l, p.m, what)
		maxNodes = max(maxNodes, p.l.Chunks())
		if p.l.Len() == 0 {
			p.l = NewList()
		}
		if step%100 == 0 {
			for i := range lists {
				checkList(t, lists[i].l, lists[i].m, what+" other list")
			}
			for _, a := range aliases {
				if string(a.got) != a.want {
					t.Fatalf("%s: an aliased element changed from %q to %q", what, a.want, a.got)
				}
			}
			if len(aliases) > 10000 {
				aliases = aliases[:0]
			}
		}
	}
}

// TestListEncoding checks Redis 7.2's conversions: listpack up to 8 KB,
// quicklist beyond, and back when a single node shrinks to 4 KB.
func TestListEncoding(t *testing.T) {
	l := NewList()
	for i := 0; i < 128; i++ {
		l.GrowCheck(1, 1)
		l.PushBack([]byte("a"))
	}
	if l.Encoding() != "listpack" {
		t.Fatalf("128 small entries: %s", l.Encoding())
	}
	big := []byte(strings.Repeat("x", 8000))
	l.GrowCheck(len(big), 1)
	l.PushBack(big)
	if l.Encoding() != "quicklist" || l.Chunks() != 2 {
		t.Fatalf("after a big push: %s with %d nodes", l.Encoding(), l.Chunks())
	}
	l.PopBack()
	l.ShrinkCheck()
	if l.Encoding() != "listpack" {
		t.Fatalf("after the pop: %s with %d nodes", l.Encoding(), l.Chunks())
	}
	// An element that alone fills a listpack converts at once.
	l2 := NewList()
	l2.GrowCheck(8186, 1)
	if l2.Encoding() != "quicklist" {
		t.Fatal("8186 bytes should not fit a listpack")
	}
	l3 := NewList()
	l3.GrowCheck(8185, 1)
	if l3.Encoding() != "listpack" {
		t.Fatal("8185 bytes fit a listpack")
	}
}

func TestListSnapshotRoundTrip(t *testing.T) {
	db := New()
	r := rand.New(rand.NewPCG(3, 4))
	want := map[string][][]byte{}
	for k := 0; k < 20; k++ {
		l := NewList()
		var m [][]byte
		n := 1 + r.IntN(1<<uint(r.IntN(12)))
		for i := 0; i < n; i++ {
			e := randElem(r)
			l.GrowCheck(len(e), 1)
			l.PushBack(e)
			m = append(m, e)
		}
		key := "l" + strconv.Itoa(k)
		db.Put([]byte(key), nil, l, 0)
		want[key] = m
	}
	var buf bytes.Buffer
	snap := db.Snapshot()
	if _, err := snap.WriteTo(&buf); err != nil {
		t.Fatal(err)
	}
	db2 := New()
	if err := db2.Load(bytes.NewReader(buf.Bytes())); err != nil {
		t.Fatal(err)
	}
	if db.Digest() != db2.Digest() {
		t.Fatal("digest differs after a round trip")
	}
	for key, m := range want {
		it := db2.Peek([]byte(key))
		l := it.Obj.(*List)
		orig := db.Peek([]byte(key)).Obj.(*List)
		if l.Encoding() != orig.Encoding() || l.Chunks() != orig.Chunks() {
			t.Fatalf("%s: %s/%d nodes, was %s/%d", key, l.Encoding(), l.Chunks(), orig.Encoding(), orig.Chunks())
		}
		checkList(t, l, m, key)
	}
	// Corrupt snapshots fail, never panic.
	b := buf.Bytes()
	for i := 0; i < 200; i++ {
		c := append([]byte(nil), b...)
		c[len(snapMagic)+r.IntN(len(c)-len(snapMagic))] ^= byte(1 + r.IntN(255))
		New().Load(bytes.NewReader(c)) //nolint:errcheck // must not panic
	}
}

// TestListSnapshotWhileWriting serializes a snapshot in another goroutine
// while lists keep changing (run it with -race): the snapshot sees the
// lists as they were.
func TestListSnapshotWhileWriting(t *testing.T) {
	db := New()
	for k := 0; k < 10; k++ {
		l := NewList()
		for i := 0; i < 500*k+1; i++ {
			l.GrowCheck(4, 1)
			l.PushBack([]byte(strconv.Itoa(i)))
		}
		db.Put([]byte("l"+strconv.Itoa(k)), nil, l, 0)
	}
	want := db.Digest()
	snap := db.Snapshot()
	done := make(chan uint64)
	go func() {
		var buf bytes.Buffer
		snap.WriteTo(&buf) //nolint:errcheck // bytes.Buffer
		db2 := New()
		if err := db2.Load(&buf); err != nil {
			t.Error(err)
		}
		done <- db2.Digest()
	}()
	for i := 0; i < 5000; i++ {
		it := db.Mutable(db.Peek([]byte("l" + strconv.Itoa(i%10))))
		l := it.Obj.(*List)
		l.Range(0, l.Len(), false, func([]byte) {})
		l.PushFront([]byte("new"))
		l.PopBack()
		l.PushBack([]byte("x"))
		if i%3 == 0 {
			l.Set(l.Len()/2, []byte("mid"))
		}
	}
	if got := <-done; got != want {
		t.Fatal("the snapshot changed under writes")
	}
}

// TestListQueueMemory runs a long queue (push at the tail, pop at the
// head) and checks that the node deque and buffers stay bounded.
func TestListQueueMemory(t *testing.T) {
	l := NewList()
	l.GrowCheck(1<<20, 1)
	e := bytes.Repeat([]byte("q"), 100)
	for i := 0; i < 1000; i++ {
		l.PushBack(e)
	}
	for i := 0; i < 300000; i++ {
		l.PushBack(e)
		l.PopFront()
		if i%3 == 0 { // a stack at the other end, too
			l.PushFront(e)
			l.PopFront()
		}
	}
	if cap(l.c) > 64 || l.Chunks() > 20 {
		t.Fatalf("deque of %d slots, %d nodes for 1000 elements", cap(l.c), l.Chunks())
	}
	total := 0
	for _, c := range l.chunks() {
		total += cap(c.buf)
	}
	if total > 3*1000*len(e) {
		t.Fatalf("%d bytes of buffers for %d bytes of elements", total, 1000*len(e))
	}
}

// TestListFill: list-max-listpack-size as Redis 7.2's quicklist fill: a
// positive size counts entries per node, a negative one picks the node's
// byte limit (-1 4 KB ... -5 64 KB); the listpack converts past it and back
// once a single node is within half of it.
func TestListFill(t *testing.T) {
	push := func(fill int64, n, size int) *List {
		cfg := DefaultConfig()
		cfg.ListMaxListpackSize = fill
		l := NewList()
		l.SetLimits(&cfg)
		e := make([]byte, size)
		for range n {
			l.GrowCheck(size, 1)
			l.PushBack(e)
		}
		return l
	}
	for _, tc := range []struct {
		fill          int64
		n, size       int
		enc           string
		minChunks     int
		maxChunks     int
		shrinkTo      int
		shrinkEncoded string
	}{
		{fill: 2, n: 2, size: 1, enc: "listpack", minChunks: 1, maxChunks: 1},
		{fill: 2, n: 3, size: 1, enc: "quicklist", minChunks: 2, maxChunks: 2, shrinkTo: 1, shrinkEncoded: "listpack"},
		{fill: 0, n: 3, size: 1, enc: "quicklist", minChunks: 3, maxChunks: 3},
		{fill: 1000, n: 200, size: 100, enc: "quicklist", minChunks: 3, maxChunks: 3}, // the 8 KB safety limit
		{fill: -1, n: 30, size: 100, enc: "listpack", minChunks: 1, maxChunks: 1},
		{fill: -1, n: 50, size: 100, enc: "quicklist", minChunks: 2, maxChunks: 2},
		{fill: -5, n: 600, size: 100, enc: "listpack", minChunks: 1, maxChunks: 1},
		{fill: -9, n: 700, size: 100, enc: "quicklist", minChunks: 2, maxChunks: 2},
	} {
		l := push(tc.fill, tc.n, tc.size)
		if l.Encoding() != tc.enc || l.Chunks() < tc.minChunks || l.Chunks() > tc.maxChunks || l.Len() != tc.n {
			t.Errorf("fill %d, %d x %d bytes: %s with %d nodes", tc.fill, tc.n, tc.size, l.Encoding(), l.Chunks())
		}
		if tc.shrinkTo > 0 {
			for l.Len() > tc.shrinkTo {
				l.PopFront()
				l.ShrinkCheck()
			}
			if l.Encoding() != tc.shrinkEncoded {
				t.Errorf("fill %d shrunk to %d: %s", tc.fill, tc.shrinkTo, l.Encoding())
			}
		}
	}
}
