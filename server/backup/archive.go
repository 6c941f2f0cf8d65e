package backup

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/atrest"
	"github.com/cairndb/cairn/server/entry"
)

// The log archive (--log-archive yes) keeps every committed entry of each
// shard in segment files <backup-dir>/log/<shard>/<first index>.seg, so a
// restore can replay the log from a backup up to a moment (PITR).
//
// A segment starts with segMagic (its format version is the magic's last
// digit), the shard ID and the first index (uint64 little endian each),
// then records: payload length (uint32), index (uint64), leader time in
// Unix ms (int64), the entry as Cairn proposed it (empty for Raft's own
// entries), and a CRC-32C of index, time and payload (uint32). A record
// cut short at a segment's end (a crash while appending) ends that
// segment; a record whose checksum fails is corruption.

const (
	segMagic = "CAIRNLG1"
	segExt   = ".seg"
	// segMax is the size at which the writer starts a new segment.
	segMax = 64 << 20
	// maxRecord bounds one record's payload when reading.
	maxRecord = 1 << 30
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// Errors of the archive.
var (
	// ErrArchiveGap is returned when the archive misses entries a replay
	// needs.
	ErrArchiveGap = errors.New("log archive has a gap")
	// ErrArchiveCorrupt is returned for a segment that does not read.
	ErrArchiveCorrupt = errors.New("log archive is corrupt")
	// ErrCompacted is what a LogSource returns (wrapped) when its log no
	// longer holds the index asked for.
	ErrCompacted = errors.New("log compacted past the archived position")
)

// Entry is one committed log entry.
type Entry struct {
	Index uint64
	Time  int64 // leader time, Unix ms (archive records)
	Data  []byte
}

// LogSource is one shard whose committed log the archiver follows.
type LogSource interface {
	ID() uint64
	// Archive tells whether this node should archive the shard now (a
	// single node: while it leads it; in a cluster: every replica the
	// node hosts, see Archiver).
	Archive() bool
	// ReadCommitted returns up to max committed entries from index from
	// on (Data set, Time ignored); ErrCompacted (wrapped) when from is
	// no longer in the log.
	ReadCommitted(from uint64, max int) ([]Entry, error)
	// FirstIndex is the first index the log still holds.
	FirstIndex() (uint64, error)
}

// segment is one segment file's name and first index.
type segment struct {
	first uint64
	path  string
}

// segments lists a shard's segments in index order.
func segments(dir string) ([]segment, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []segment
	for _, e := range ents {
		name := e.Name()
		if e.IsDir() || !strings.HasSuffix(name, segExt) {
			continue
		}
		first, err := strconv.ParseUint(strings.TrimSuffix(name, segExt), 10, 64)
		if err != nil {
			continue
		}
		out = append(out, segment{first: first, path: filepath.Join(dir, name)})
	}
	slices.SortFunc(out, func(a, b segment) int {
		switch {
		case a.first < b.first:
			return -1
		case a.first > b.first:
			return 1
		}
		return 0
	})
	return out, nil
}

// ShardLogDir is the archive directory of a shard under the backup
// directory.
func ShardLogDir(backupDir string, shard uint64) string {
	return filepath.Join(backupDir, LogDir, strconv.FormatUint(shard, 10))
}

// readSegment calls fn for every record of a segment in order; a record
// cut short at the end stops it without error.
func readSegment(path string, keys *atrest.Keyring, fn func(Entry) error) error {
	r, err := openFile(path, keys)
	if err != nil {
		return err
	}
	defer r.Close()
	br := bufio.NewReaderSize(r, 1<<20)
	hdr := make([]byte, len(segMagic)+16)
	if _, err := io.ReadFull(br, hdr); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil // created, never written
		}
		return err
	}
	if string(hdr[:len(segMagic)-1]) != segMagic[:len(segMagic)-1] {
		return fmt.Errorf("%w: %s: not a segment", ErrArchiveCorrupt, path)
	}
	if string(hdr[:len(segMagic)]) != segMagic {
		return fmt.Errorf("%w: %s: segment format %q is newer than this binary's %q", ErrArchiveCorrupt, path, hdr[:len(segMagic)], segMagic)
	}
	var rec [20]byte
	for {
		if _, err := io.ReadFull(br, rec[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		n := binary.LittleEndian.Uint32(rec[:4])
		if n > maxRecord {
			return fmt.Errorf("%w: %s: record of %d bytes", ErrArchiveCorrupt, path, n)
		}
		buf := make([]byte, int(n)+4)
		if _, err := io.ReadFull(br, buf); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		crc := crc32.Update(crc32.Checksum(rec[4:], crcTable), crcTable, buf[:n])
		if crc != binary.LittleEndian.Uint32(buf[n:]) {
			return fmt.Errorf("%w: %s: record checksum mismatch", ErrArchiveCorrupt, path)
		}
		e := Entry{Index: binary.LittleEndian.Uint64(rec[4:12]), Time: int64(binary.LittleEndian.Uint64(rec[12:20]))}
		if n > 0 {
			e.Data = buf[:n]
		}
		if err := fn(e); err != nil {
			return err
		}
	}
}

// errStop ends a replay early.
var errStop = errors.New("stop")

// ReplayArchive calls fn, in index order, for every archived entry of a
// shard after index after, while fn returns true. The first entry must be
// after+1 and the entries contiguous: a missing entry is ErrArchiveGap.
// It returns the last index and time passed to fn (after and 0 when none).
func ReplayArchive(backupDir string, keys *atrest.Keyring, shard, after uint64, fn func(Entry) (bool, error)) (last uint64, lastTime int64, err error) {
	return ReplayArchives([]string{backupDir}, keys, shard, after, fn)
}

// archSeg is one segment of a shard's archive in one of several archive
// directories.
type archSeg struct {
	segment
	dir  int    // index of its directory
	next uint64 // first index of the next segment in that directory (max: none)
}

// shardSegments lists the segments of a shard in every directory, by
// first index (then directory order).
func shardSegments(dirs []string, shard uint64) ([]archSeg, error) {
	var out []archSeg
	for i, d := range dirs {
		segs, err := segments(ShardLogDir(d, shard))
		if err != nil {
			return nil, err
		}
		for j, s := range segs {
			next := ^uint64(0)
			if j+1 < len(segs) {
				next = segs[j+1].first
			}
			out = append(out, archSeg{segment: s, dir: i, next: next})
		}
	}
	slices.SortStableFunc(out, func(a, b archSeg) int { return cmpU64(a.first, b.first) })
	return out, nil
}

func cmpU64(a, b uint64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// ReplayArchives is ReplayArchive over the archives of several
// directories (in a cluster every node archives every shard it hosts, each
// into its own backup directory): the committed entries are the same on
// every replica, so any directory's copy of an index will do, and the
// replay takes each index from whichever directory holds it. An index no
// directory holds is ErrArchiveGap, naming the shard and the missing
// range.
//
// A segment holds a contiguous run of indexes from its first on (a writer
// starts a new segment after a gap), so the replay repeatedly reads, of
// the segments not read yet that start at or before the next index
// needed, the one starting last (it skips the least); each segment is
// read at most once.
func ReplayArchives(dirs []string, keys *atrest.Keyring, shard, after uint64, fn func(Entry) (bool, error)) (last uint64, lastTime int64, err error) {
	segs, err := shardSegments(dirs, shard)
	if err != nil {
		return after, 0, err
	}
	last = after
	used := make([]bool, len(segs))
	// hold[i] is, for a segment whose reading stopped at a hole inside it
	// (a writer never leaves one), the index past the hole: it is read
	// again once the replay gets there from another segment.
	hold := make([]uint64, len(segs))
	for {
		pick := -1
		for i, sg := range segs {
			if sg.first > last+1 {
				break
			}
			if used[i] || hold[i] > last+1 {
				continue
			}
			if sg.next <= last+1 {
				used[i] = true // wholly before what is needed
				continue
			}
			pick = i
		}
		if pick < 0 {
			// Nothing left that holds the next index: a segment starting
			// after it, or one past a hole, means the archive misses
			// entries.
			var end uint64
			for i, sg := range segs {
				at := hold[i]
				if at == 0 {
					at = sg.first
				}
				if !used[i] && at > last+1 && (end == 0 || at < end) {
					end = at
				}
			}
			if end > last+1 {
				return last, lastTime, fmt.Errorf("%w: shard %d: entries %d to %d were not archived (in %s)", ErrArchiveGap, shard, last+1, end-1, strings.Join(dirs, ", "))
			}
			return last, lastTime, nil
		}
		used[pick], hold[pick] = true, 0
		err := readSegment(segs[pick].path, keys, func(e Entry) error {
			if e.Index <= last {
				return nil
			}
			if e.Index != last+1 {
				used[pick], hold[pick] = false, e.Index
				return errSkip
			}
			more, err := fn(e)
			if err != nil {
				return err
			}
			if !more {
				return errStop
			}
			last, lastTime = e.Index, e.Time
			return nil
		})
		switch {
		case errors.Is(err, errStop):
			return last, lastTime, nil
		case errors.Is(err, errSkip):
		case err != nil:
			return last, lastTime, err
		}
	}
}

// errSkip ends reading one segment of a replay.
var errSkip = errors.New("skip")

// ArchivesEnd is ArchiveEnd over several archive directories: the
// highest index any of them holds, and its time.
func ArchivesEnd(dirs []string, keys *atrest.Keyring, shard uint64) (uint64, int64, error) {
	var last uint64
	var t int64
	for _, d := range dirs {
		l, lt, err := ArchiveEnd(d, keys, shard)
		if err != nil {
			return 0, 0, err
		}
		if l > last {
			last, t = l, lt
		}
	}
	return last, t, nil
}

// ArchiveEnd returns the last archived index and its time of a shard
// (0, 0 when nothing is archived).
func ArchiveEnd(backupDir string, keys *atrest.Keyring, shard uint64) (uint64, int64, error) {
	segs, err := segments(ShardLogDir(backupDir, shard))
	if err != nil || len(segs) == 0 {
		return 0, 0, err
	}
	var last uint64
	var t int64
	for i := len(segs) - 1; i >= 0; i-- {
		err := readSegment(segs[i].path, keys, func(e Entry) error {
			if e.Index > last {
				last, t = e.Index, e.Time
			}
			return nil
		})
		if err != nil {
			return 0, 0, err
		}
		if last > 0 {
			return last, t, nil
		}
	}
	return 0, 0, nil
}

// segWriter appends records to a shard's current segment.
type segWriter struct {
	dir      string
	shard    uint64
	keys     *atrest.Keyring
	f        file
	size     int64
	last     uint64 // last index archived
	lastTime int64
	buf      []byte
}

// openSegWriter finds where a shard's archive ends; the next append opens
// a new segment after it.
func openSegWriter(backupDir string, keys *atrest.Keyring, shard uint64) (*segWriter, error) {
	dir := ShardLogDir(backupDir, shard)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	last, t, err := ArchiveEnd(backupDir, keys, shard)
	if err != nil {
		return nil, err
	}
	return &segWriter{dir: dir, shard: shard, keys: keys, last: last, lastTime: t}, nil
}

// startSegment opens a new segment whose first index is first.
func (w *segWriter) startSegment(first uint64) error {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
	path := filepath.Join(w.dir, fmt.Sprintf("%020d%s", first, segExt))
	f, err := createSegment(path, w.keys)
	if err != nil {
		return err
	}
	hdr := append([]byte(segMagic), make([]byte, 16)...)
	binary.LittleEndian.PutUint64(hdr[8:], w.shard)
	binary.LittleEndian.PutUint64(hdr[16:], first)
	if _, err := f.Write(hdr); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := syncDir(w.dir); err != nil {
		f.Close()
		return err
	}
	w.f, w.size = f, int64(len(hdr))
	return nil
}

// append writes entries (contiguous, starting at w.last+1 unless after a
// gap) and fsyncs them.
func (w *segWriter) append(ents []Entry) error {
	if len(ents) == 0 {
		return nil
	}
	if w.f == nil || w.size >= segMax || ents[0].Index != w.last+1 {
		if err := w.startSegment(ents[0].Index); err != nil {
			return err
		}
	}
	w.buf = w.buf[:0]
	t := w.lastTime
	for _, e := range ents {
		if len(e.Data) > 0 {
			var d entry.Entry
			if err := entry.Decode(e.Data, &d); err == nil {
				t = d.Time
			}
		}
		var rec [20]byte
		binary.LittleEndian.PutUint32(rec[:4], uint32(len(e.Data)))
		binary.LittleEndian.PutUint64(rec[4:12], e.Index)
		binary.LittleEndian.PutUint64(rec[12:20], uint64(t))
		crc := crc32.Update(crc32.Checksum(rec[4:], crcTable), crcTable, e.Data)
		w.buf = append(w.buf, rec[:]...)
		w.buf = append(w.buf, e.Data...)
		w.buf = binary.LittleEndian.AppendUint32(w.buf, crc)
	}
	if _, err := w.f.Write(w.buf); err != nil {
		// The segment may end in a partial record now: start a new one.
		w.f.Close()
		w.f = nil
		return err
	}
	if err := w.f.Sync(); err != nil {
		w.f.Close()
		w.f = nil
		return err
	}
	w.size += int64(len(w.buf))
	w.last, w.lastTime = ents[len(ents)-1].Index, t
	return nil
}

func (w *segWriter) close() {
	if w.f != nil {
		w.f.Close()
		w.f = nil
	}
}

// ArchiveStatus is what INFO reports about a shard's archive.
type ArchiveStatus struct {
	Shard    uint64
	Last     uint64 // last index archived
	LastTime int64  // its leader time, Unix ms
	Gaps     int    // entries compacted before they were archived (times)
	Err      string // the last error, "" if the last round succeeded
}

// Archiver follows the committed log of the shards its sources name and
// appends it to the archive. In a cluster every node archives every shard
// it hosts a replica of, from that replica's log, into its own backup
// directory: committed entries are the same on every replica, so the
// nodes need no coordination, and the archive of a shard has no gap
// while some node hosts it and archives. A restore reads the archives of
// all the nodes (ReplayArchives) and takes each index from whichever
// holds it.
type Archiver struct {
	dir      string
	keys     *atrest.Keyring
	sources  func() []LogSource
	log      *slog.Logger
	interval time.Duration

	mu      sync.Mutex
	writers map[uint64]*segWriter
	status  map[uint64]*ArchiveStatus
	quit    chan struct{}
	done    chan struct{}
}

// StartArchiver starts archiving into backupDir/log every interval
// (default 100ms) for the shards sources returns; new segments are
// encrypted with keys when set.
func StartArchiver(backupDir string, keys *atrest.Keyring, sources func() []LogSource, interval time.Duration, log *slog.Logger) *Archiver {
	if interval <= 0 {
		interval = 100 * time.Millisecond
	}
	if log == nil {
		log = slog.Default()
	}
	a := &Archiver{dir: backupDir, keys: keys, sources: sources, log: log, interval: interval,
		writers: map[uint64]*segWriter{}, status: map[uint64]*ArchiveStatus{}, quit: make(chan struct{}), done: make(chan struct{})}
	go a.loop()
	return a
}

// Close stops the archiver after the round in progress.
func (a *Archiver) Close() {
	close(a.quit)
	<-a.done
	a.mu.Lock()
	defer a.mu.Unlock()
	for _, w := range a.writers {
		w.close()
	}
}

// Status returns every shard's archive status, by shard.
func (a *Archiver) Status() []ArchiveStatus {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]ArchiveStatus, 0, len(a.status))
	for _, st := range a.status {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(x, y ArchiveStatus) int { return int(x.Shard) - int(y.Shard) })
	return out
}

// Sync archives everything committed so far (tests; a final round).
func (a *Archiver) Sync() {
	for _, src := range a.sources() {
		if src.Archive() {
			a.follow(src)
		}
	}
}

func (a *Archiver) loop() {
	defer close(a.done)
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		select {
		case <-a.quit:
			return
		case <-t.C:
		}
		a.Sync()
	}
}

// follow archives what src committed since the last round.
func (a *Archiver) follow(src LogSource) {
	a.mu.Lock()
	defer a.mu.Unlock()
	id := src.ID()
	st := a.status[id]
	if st == nil {
		st = &ArchiveStatus{Shard: id}
		a.status[id] = st
	}
	w := a.writers[id]
	if w == nil {
		var err error
		if w, err = openSegWriter(a.dir, a.keys, id); err != nil {
			a.fail(st, fmt.Errorf("open the log archive: %w", err))
			return
		}
		a.writers[id] = w
	}
	for range 64 { // bound one round
		ents, err := src.ReadCommitted(w.last+1, 1024)
		if errors.Is(err, ErrCompacted) {
			first, ferr := src.FirstIndex()
			if ferr != nil {
				a.fail(st, ferr)
				return
			}
			if first <= w.last+1 {
				a.fail(st, err)
				return
			}
			if w.last > 0 {
				// Entries were compacted before they could be saved: a
				// restore cannot replay across them.
				// In a cluster another node's archive may hold them
				// (its replica was there all along).
				st.Gaps++
				a.log.Error("log archive gap: entries were compacted before they were archived here; point-in-time restore into this range needs another node's archive that holds them", "shard", id, "from", w.last+1, "to", first-1)
			}
			ents, err = src.ReadCommitted(first, 1024)
		}
		if err != nil {
			a.fail(st, err)
			return
		}
		if len(ents) == 0 {
			break
		}
		if err := w.append(ents); err != nil {
			a.fail(st, fmt.Errorf("append to the log archive: %w", err))
			return
		}
		st.Last, st.LastTime, st.Err = w.last, w.lastTime, ""
	}
}

func (a *Archiver) fail(st *ArchiveStatus, err error) {
	if st.Err != err.Error() {
		a.log.Error("log archive", "shard", st.Shard, "err", err)
	}
	st.Err = err.Error()
}
