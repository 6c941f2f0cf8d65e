package backup

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeSource writes a fixed payload as its "snapshot".
type fakeSource struct {
	id   uint64
	data []byte
	idx  uint64
}

func (f fakeSource) ID() uint64      { return f.id }
func (f fakeSource) Slots() [][2]int { return [][2]int{{0, 16383}} }
func (f fakeSource) WriteSnapshot(w io.Writer) (Point, error) {
	_, err := w.Write(f.data)
	return Point{Index: f.idx, Time: 1000}, err
}

// fakeLoad "loads" a payload: it must start with "SNAP" and reports its
// length as the digest and the index after the prefix.
func fakeLoad(r io.Reader) (Loaded, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Loaded{}, err
	}
	if !bytes.HasPrefix(b, []byte("SNAP")) {
		return Loaded{}, errors.New("bad header")
	}
	return Loaded{Index: 7, Digest: uint64(len(b)), Keys: 1}, nil
}

func newStore(t *testing.T) *Store {
	return &Store{Dir: filepath.Join(t.TempDir(), "b"), Load: fakeLoad, Mode: "single", SnapshotFormat: "TEST"}
}

func src() []Source {
	return []Source{fakeSource{id: 1, data: []byte("SNAP" + strings.Repeat("x", 1000)), idx: 7}}
}

// TestCreate_CorruptionNotListed: a snapshot file that differs on disk
// from what was written (here a byte flipped between write and verify)
// fails the backup; it is not listed and no directory is left.
func TestCreate_CorruptionNotListed(t *testing.T) {
	for _, off := range []int64{1, 500} { // header (load fails), body (checksum)
		s := newStore(t)
		s.afterWrite = func(path string) {
			b, _ := os.ReadFile(path)
			b[off] ^= 1
			os.WriteFile(path, b, 0o644)
		}
		if _, err := s.Create("x", src(), false); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("offset %d: Create = %v, want ErrCorrupt", off, err)
		}
		if l, _ := s.List(); len(l) != 0 {
			t.Fatalf("corrupted backup listed: %+v", l)
		}
		ents, _ := os.ReadDir(s.Dir)
		if len(ents) != 0 {
			t.Fatalf("left behind: %v", ents)
		}
	}
}

// TestCreate_IndexMismatch: a file that loads at another index than the
// source reported is refused.
func TestCreate_IndexMismatch(t *testing.T) {
	s := newStore(t)
	_, err := s.Create("x", []Source{fakeSource{id: 1, data: []byte("SNAP"), idx: 8}}, false)
	if !errors.Is(err, ErrCorrupt) {
		t.Fatalf("Create = %v", err)
	}
}

// TestStore_ListInfoDeletePrune covers the manifest round trip, a newer
// format, and retention against the store's clock.
func TestStore_ListInfoDeletePrune(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 12, 6, 10, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	if _, err := s.Create("old", src(), false); err != nil {
		t.Fatal(err)
	}
	now = now.Add(3 * 24 * time.Hour)
	m, err := s.Create("", src(), true)
	if err != nil || m.Name != "auto-20261209T100000Z" || !m.Scheduled {
		t.Fatalf("generated: %+v, %v", m, err)
	}
	if m2, err := s.Create("", src(), true); err != nil || m2.Name != "auto-20261209T100000Z-2" {
		t.Fatalf("second generated name: %+v, %v", m2, err)
	}
	l, err := s.List()
	if err != nil || len(l) != 3 || l[0].Name != "old" {
		t.Fatalf("List = %v, %v", l, err)
	}
	if m, err := s.Info("old", true); err != nil || m.Shards[0].Digest != FormatDigest(1004) || m.Shards[0].Keys != 1 {
		t.Fatalf("Info = %+v, %v", m, err)
	}
	deleted, err := s.Prune(2)
	if err != nil || len(deleted) != 1 || deleted[0] != "old" {
		t.Fatalf("Prune(2) = %v, %v", deleted, err)
	}
	if _, err := s.Info("old", false); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Info of pruned: %v", err)
	}
	if d, _ := s.Prune(0); len(d) != 0 {
		t.Fatal("retention 0 deleted backups")
	}
	// A manifest from a newer format is refused, not guessed at.
	p := filepath.Join(s.Dir, "auto-20261209T100000Z", ManifestFile)
	b, _ := os.ReadFile(p)
	os.WriteFile(p, bytes.Replace(b, []byte(fmt.Sprintf(`"format": %d`, FormatVersion)), []byte(`"format": 9`), 1), 0o644)
	if _, err := s.Info("auto-20261209T100000Z", false); !errors.Is(err, ErrNewer) {
		t.Fatalf("newer manifest: %v", err)
	}
	if err := s.Delete("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete nope: %v", err)
	}
	if err := s.Delete("../x"); !errors.Is(err, ErrBadName) {
		t.Fatalf("Delete ../x: %v", err)
	}
}

func TestWindow(t *testing.T) {
	at := func(hm string) time.Time {
		tt, _ := time.Parse("2006-01-02 15:04", "2026-12-06 "+hm)
		return tt
	}
	w, err := ParseWindow("02:00-03:30")
	if err != nil || w.String() != "02:00-03:30" {
		t.Fatal(w, err)
	}
	for hm, want := range map[string]bool{"01:59": false, "02:00": true, "03:29": true, "03:30": false} {
		if in, _ := w.Contains(at(hm)); in != want {
			t.Errorf("%s in %s = %v", hm, w, in)
		}
	}
	w, _ = ParseWindow("23:00-01:00")
	if in, day := w.Contains(at("00:30")); !in || day != "2026-12-05" {
		t.Errorf("past midnight: %v %s", in, day)
	}
	if in, day := w.Contains(at("23:30")); !in || day != "2026-12-06" {
		t.Errorf("before midnight: %v %s", in, day)
	}
	for _, bad := range []string{"", "2:00-3:00", "02:00", "24:00-01:00", "02:60-03:00", "02:00-02:00"} {
		if _, err := ParseWindow(bad); err == nil {
			t.Errorf("ParseWindow(%q) accepted", bad)
		}
	}
}

// TestSchedule_OncePerWindow: checks inside the window take one backup;
// outside it none.
func TestSchedule_OncePerWindow(t *testing.T) {
	s := newStore(t)
	now := time.Date(2026, 12, 6, 1, 0, 0, 0, time.UTC)
	s.Now = func() time.Time { return now }
	w, _ := ParseWindow("02:00-03:00")
	sc := &Schedule{Store: s, Window: &w, Sources: src}
	sc.Tick()
	now = now.Add(70 * time.Minute) // 02:10
	sc.Tick()
	now = now.Add(10 * time.Minute)
	sc.Tick()
	now = now.Add(24 * time.Hour) // next day's window
	sc.Tick()
	l, _ := s.List()
	if len(l) != 2 {
		t.Fatalf("%d backups, want 2: %+v", len(l), l)
	}
}

// memLog is a LogSource over a slice, compacted below first.
type memLog struct {
	ents  []Entry
	first uint64
}

func (m *memLog) ID() uint64    { return 3 }
func (m *memLog) Archive() bool { return true }
func (m *memLog) FirstIndex() (uint64, error) {
	return m.first, nil
}
func (m *memLog) ReadCommitted(from uint64, max int) ([]Entry, error) {
	if from < m.first {
		return nil, fmt.Errorf("%w: first %d", ErrCompacted, m.first)
	}
	var out []Entry
	for _, e := range m.ents {
		if e.Index >= from && len(out) < max {
			out = append(out, e)
		}
	}
	return out, nil
}

// TestArchive_ReplayGapCorrupt: the archiver saves what the log holds;
// a replay sees every entry once, in order, across restarts of the
// archiver; entries compacted before they were archived are a gap that
// a replay across them reports; a flipped byte is corruption.
func TestArchive_ReplayGapCorrupt(t *testing.T) {
	dir := t.TempDir()
	lg := &memLog{first: 1}
	for i := uint64(1); i <= 10; i++ {
		lg.ents = append(lg.ents, Entry{Index: i, Data: nil})
	}
	a := StartArchiver(dir, nil, func() []LogSource { return []LogSource{lg} }, time.Hour, nil)
	a.Sync()
	a.Close()
	for i := uint64(11); i <= 20; i++ {
		lg.ents = append(lg.ents, Entry{Index: i})
	}
	a = StartArchiver(dir, nil, func() []LogSource { return []LogSource{lg} }, time.Hour, nil)
	a.Sync()
	if st := a.Status(); len(st) != 1 || st[0].Last != 20 || st[0].Gaps != 0 {
		t.Fatalf("status %+v", st)
	}
	var got []uint64
	last, _, err := ReplayArchive(dir, nil, 3, 4, func(e Entry) (bool, error) {
		got = append(got, e.Index)
		return e.Index < 15, nil
	})
	if err != nil || last != 14 || len(got) != 11 || got[0] != 5 { // 15 was refused
		t.Fatalf("replay: last %d, got %v, %v", last, got, err)
	}
	// Compaction overtakes the archiver: 21..29 are lost.
	for i := uint64(21); i <= 40; i++ {
		lg.ents = append(lg.ents, Entry{Index: i})
	}
	lg.first = 30
	a.Sync()
	a.Close()
	if st := a.Status(); st[0].Last != 40 || st[0].Gaps != 1 {
		t.Fatalf("status after gap %+v", st)
	}
	if _, _, err := ReplayArchive(dir, nil, 3, 10, func(Entry) (bool, error) { return true, nil }); !errors.Is(err, ErrArchiveGap) {
		t.Fatalf("replay across the gap: %v", err)
	}
	if n, _, err := ReplayArchive(dir, nil, 3, 29, func(Entry) (bool, error) { return true, nil }); err != nil || n != 40 {
		t.Fatalf("replay after the gap: %d, %v", n, err)
	}
	if end, _, _ := ArchiveEnd(dir, nil, 3); end != 40 {
		t.Fatalf("ArchiveEnd = %d", end)
	}
	// Corruption in a record.
	segs, _ := segments(ShardLogDir(dir, 3))
	b, _ := os.ReadFile(segs[0].path)
	b[len(segMagic)+16+12] ^= 1
	os.WriteFile(segs[0].path, b, 0o644)
	if _, _, err := ReplayArchive(dir, nil, 3, 0, func(Entry) (bool, error) { return true, nil }); !errors.Is(err, ErrArchiveCorrupt) {
		t.Fatalf("corrupt segment: %v", err)
	}
}

// TestArchive_TornTail: a record cut short at a segment's end (a crash
// while appending) ends the segment; the archiver resumes after the last
// whole record.
func TestArchive_TornTail(t *testing.T) {
	dir := t.TempDir()
	w, err := openSegWriter(dir, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.append([]Entry{{Index: 1, Data: []byte("a")}, {Index: 2, Data: []byte("bb")}}); err != nil {
		t.Fatal(err)
	}
	w.close()
	segs, _ := segments(ShardLogDir(dir, 1))
	b, _ := os.ReadFile(segs[0].path)
	os.WriteFile(segs[0].path, b[:len(b)-3], 0o644)
	w, err = openSegWriter(dir, nil, 1)
	if err != nil || w.last != 1 {
		t.Fatalf("resume at %d, %v", w.last, err)
	}
	if err := w.append([]Entry{{Index: 2, Data: []byte("bb")}, {Index: 3}}); err != nil {
		t.Fatal(err)
	}
	w.close()
	var data []string
	last, _, err := ReplayArchive(dir, nil, 1, 0, func(e Entry) (bool, error) {
		data = append(data, string(e.Data))
		return true, nil
	})
	if err != nil || last != 3 || strings.Join(data, ",") != "a,bb," {
		t.Fatalf("replay %d %q %v", last, data, err)
	}
}

// TestPrune_Archive: retention also deletes the log segments that end
// before the oldest backup's index; the one a replay needs stays.
func TestPrune_Archive(t *testing.T) {
	s := newStore(t)
	w, err := openSegWriter(s.Dir, nil, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range [][2]uint64{{1, 3}, {4, 7}, {8, 10}} {
		if err := w.startSegment(r[0]); err != nil {
			t.Fatal(err)
		}
		var ents []Entry
		for i := r[0]; i <= r[1]; i++ {
			ents = append(ents, Entry{Index: i})
		}
		if err := w.append(ents); err != nil {
			t.Fatal(err)
		}
	}
	w.close()
	if _, err := s.Create("b", src(), false); err != nil { // at index 7
		t.Fatal(err)
	}
	if _, err := s.Prune(1); err != nil {
		t.Fatal(err)
	}
	segs, _ := segments(ShardLogDir(s.Dir, 1))
	if len(segs) != 1 || segs[0].first != 8 {
		t.Fatalf("segments left: %+v", segs)
	}
	if last, _, err := ReplayArchive(s.Dir, nil, 1, 7, func(Entry) (bool, error) { return true, nil }); err != nil || last != 10 {
		t.Fatalf("replay after pruning: %d, %v", last, err)
	}
}

// writeSegs writes, into dir's archive of shard 7, one segment per run of
// indexes (each run contiguous), entry i holding "e<i>".
func writeSegs(t *testing.T, dir string, runs ...[2]uint64) {
	t.Helper()
	for _, r := range runs {
		w, err := openSegWriter(dir, nil, 7)
		if err != nil {
			t.Fatal(err)
		}
		w.last = r[0] - 1 // as after a restart there
		var ents []Entry
		for i := r[0]; i <= r[1]; i++ {
			ents = append(ents, Entry{Index: i, Data: fmt.Appendf(nil, "e%d", i)})
		}
		w.f = nil
		if err := w.append(ents); err != nil {
			t.Fatal(err)
		}
		w.close()
	}
}

// TestArchive_ReplaySeveralDirs: the archives of several nodes make one
// log: each index is taken from whichever directory holds it (a node
// that missed a range while its replica was away is covered by another),
// every entry once and in order; a range no directory holds is a gap
// naming the shard and the range; ArchivesEnd is the furthest any
// directory reaches.
func TestArchive_ReplaySeveralDirs(t *testing.T) {
	a, b, c := t.TempDir(), t.TempDir(), t.TempDir()
	writeSegs(t, a, [2]uint64{1, 10}, [2]uint64{31, 40}) // away for 11..30
	writeSegs(t, b, [2]uint64{5, 12}, [2]uint64{13, 25}) // joined at 5, left after 25
	writeSegs(t, c, [2]uint64{20, 35})                   // joined at 20
	replay := func(dirs []string, after uint64) ([]uint64, uint64, error) {
		var got []uint64
		last, _, err := ReplayArchives(dirs, nil, 7, after, func(e Entry) (bool, error) {
			if string(e.Data) != fmt.Sprintf("e%d", e.Index) {
				return false, fmt.Errorf("entry %d holds %q", e.Index, e.Data)
			}
			got = append(got, e.Index)
			return true, nil
		})
		return got, last, err
	}
	for _, after := range []uint64{0, 3, 11, 24, 33} {
		got, last, err := replay([]string{a, b, c}, after)
		if err != nil || last != 40 || len(got) != int(40-after) {
			t.Fatalf("after %d: last %d, %d entries, %v", after, last, len(got), err)
		}
		for i, x := range got {
			if x != after+1+uint64(i) {
				t.Fatalf("after %d: entry %d is index %d", after, i, x)
			}
		}
	}
	if end, _, err := ArchivesEnd([]string{b, c}, nil, 7); err != nil || end != 35 {
		t.Fatalf("ArchivesEnd = %d, %v", end, err)
	}
	// Without c, 26..30 are in no directory.
	_, last, err := replay([]string{a, b}, 0)
	if !errors.Is(err, ErrArchiveGap) || last != 25 || !strings.Contains(err.Error(), "shard 7: entries 26 to 30 were not archived") {
		t.Fatalf("replay across a gap: last %d, %v", last, err)
	}
	// Without b, nothing holds 11..19.
	if _, _, err := replay([]string{c, a}, 2); !errors.Is(err, ErrArchiveGap) || !strings.Contains(err.Error(), "entries 11 to 19") {
		t.Fatalf("replay across a gap: %v", err)
	}
	// A segment of a newer format stops the replay (and ArchivesEnd)
	// with an error naming it; it is never skipped.
	segs, _ := segments(ShardLogDir(c, 7))
	raw, _ := os.ReadFile(segs[0].path)
	raw[len(segMagic)-1] = '9'
	os.WriteFile(segs[0].path, raw, 0o644)
	if _, _, err := replay([]string{a, b, c}, 0); err == nil || !strings.Contains(err.Error(), `segment format "CAIRNLG9" is newer than this binary's "CAIRNLG1"`) {
		t.Fatalf("replay of a newer segment: %v", err)
	}
	if _, _, err := ArchivesEnd([]string{a, c}, nil, 7); err == nil || !strings.Contains(err.Error(), "newer") {
		t.Fatalf("ArchivesEnd over a newer segment: %v", err)
	}
	raw[len(segMagic)-1] = '1'
	os.WriteFile(segs[0].path, raw, 0o644)
	// A replay that stops early (fn returns false) is no error.
	var n int
	if last, _, err := ReplayArchives([]string{c, b, a}, nil, 7, 0, func(e Entry) (bool, error) { n++; return e.Index < 28, nil }); err != nil || last != 27 || n != 28 {
		t.Fatalf("stopped replay: last %d, n %d, %v", last, n, err)
	}
}
