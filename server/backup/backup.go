// Package backup keeps a node's backups: each backup is a directory
// <dir>/<name>/ holding, per shard, the state machine's snapshot stream
// (the format Raft snapshots use, header CAIRNSM6) and a versioned
// manifest (manifest.json) that records where each shard stood, its state
// digest and every file's size and SHA-256. A backup is written under a
// temporary name, fsynced, verified by reading every file back (checksum,
// and a decode of every part that yields the recorded digest: the server's
// Loader digests the keyspace item by item), and only then renamed
// to its name: a directory under its own name is a complete backup.
//
// The package also archives committed log entries (archive.go) for
// point-in-time restore, schedules daily backups in a window and deletes
// the ones past retention (schedule.go). It does no network I/O and knows
// no Raft: the server passes shards as Sources and LogSources.
package backup

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/atrest"
)

// FormatVersion is the manifest format this binary writes and the newest
// it reads. Format 2 adds cluster backups (the directory file, mode
// "cluster") and encryption (Encrypted, KeyID); format 1 manifests are
// read as before.
const FormatVersion = 2

// DirectoryFile is the name of a cluster backup's directory file: the
// cluster directory (slot map, shards, nodes, replicated configuration
// with the ACL users, FT definitions) as JSON, without the cluster secret.
const DirectoryFile = "directory.json"

// ManifestFile is the manifest's name inside a backup directory.
const ManifestFile = "manifest.json"

// LogDir is the directory of the log archive under the backup directory.
const LogDir = "log"

// tmpPrefix starts the name of a backup being written.
const tmpPrefix = ".tmp-"

// Errors returned by the Store; messages are shown to operators.
var (
	// ErrNotFound is returned for a backup name that does not exist.
	ErrNotFound = errors.New("no such backup")
	// ErrExists is returned when a backup of that name exists already.
	ErrExists = errors.New("a backup with this name already exists")
	// ErrBadName is returned for a name that is not a valid backup name.
	ErrBadName = errors.New("invalid backup name (letters, digits, '.', '_' and '-', at most 128, not starting with '.')")
	// ErrCorrupt is returned when a backup's files do not match its
	// manifest.
	ErrCorrupt = errors.New("backup is corrupt")
	// ErrNewer is returned for a backup written by a newer format.
	ErrNewer = errors.New("backup format is newer than this binary's")
	// ErrBusy is returned when a backup is already being taken.
	ErrBusy = errors.New("a backup is already in progress")
)

// Manifest describes one backup (manifest.json).
type Manifest struct {
	// Format is the manifest format version (FormatVersion).
	Format int `json:"format"`
	// Name is the backup's name (its directory's).
	Name string `json:"name"`
	// Created is when the backup was started (UTC).
	Created time.Time `json:"created"`
	// Duration is how long taking and verifying it took.
	Duration string `json:"duration"`
	// Node is the number of the node that took it (0 outside cluster
	// mode) and RaftAddr its Raft address; Cluster identifies the
	// cluster ("" outside cluster mode).
	Node     uint64 `json:"node"`
	RaftAddr string `json:"raft_addr,omitempty"`
	Cluster  string `json:"cluster,omitempty"`
	// Mode is "single" (single-node mode) or "cluster".
	Mode string `json:"mode"`
	// SnapshotFormat is the header of the snapshot streams (CAIRNSM6).
	SnapshotFormat string `json:"snapshot_format"`
	// Scheduled is set for a backup the schedule took.
	Scheduled bool `json:"scheduled,omitempty"`
	// Encrypted is set when the backup's files (not this manifest) are
	// encrypted at rest (server/atrest's format); KeyID is the key's id
	// in the key file.
	Encrypted bool   `json:"encrypted,omitempty"`
	KeyID     uint32 `json:"key_id,omitempty"`
	// Directory, DirectorySize and DirectorySHA256 describe the
	// directory file of a cluster backup (DirectoryFile; "" outside
	// cluster mode): size and checksum of its plaintext.
	Directory       string `json:"directory,omitempty"`
	DirectorySize   int64  `json:"directory_size,omitempty"`
	DirectorySHA256 string `json:"directory_sha256,omitempty"`
	// Shards lists one entry per shard backed up, by shard ID.
	Shards []Shard `json:"shards"`
}

// Shard is one shard's part of a backup.
type Shard struct {
	ID uint64 `json:"shard"`
	// Index is the log index the snapshot is at; Time the leader time of
	// that entry (Unix ms).
	Index uint64 `json:"log_index"`
	Time  int64  `json:"time_ms"`
	// Slots are the hash-slot ranges the shard owned (inclusive).
	Slots [][2]int `json:"slots"`
	// Digest is the state digest (hex) at Index; Keys the key count.
	Digest string `json:"digest"`
	Keys   int    `json:"keys"`
	// File is the snapshot file's name; Size and SHA256 its length and
	// checksum.
	File   string `json:"file"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// Point is where a Source's snapshot stands.
type Point struct {
	Index uint64
	Time  int64 // Unix ms
}

// Source is one shard the server can back up.
type Source interface {
	// ID is the shard's ID.
	ID() uint64
	// Slots are the slot ranges it owns (inclusive).
	Slots() [][2]int
	// WriteSnapshot writes a point-in-time snapshot stream of the shard
	// to w, holding up writes for no more than taking the view.
	WriteSnapshot(w io.Writer) (Point, error)
}

// Loaded is what loading a snapshot stream yields.
type Loaded struct {
	Index  uint64
	Digest uint64
	Keys   int
}

// Loader loads a snapshot stream into a scratch state machine, proving it
// decodes, and reports its index and state digest.
type Loader func(r io.Reader) (Loaded, error)

// Store is a node's backup directory.
type Store struct {
	// Dir is the backup directory. Required.
	Dir string
	// Load verifies snapshot files. Required.
	Load Loader
	// Node, RaftAddr and Cluster are recorded in manifests; Mode is
	// "single" or "cluster".
	Node     uint64
	RaftAddr string
	Cluster  string
	Mode     string
	// SnapshotFormat is recorded in manifests.
	SnapshotFormat string
	// Keys, if set, encrypts every backup file written (the node's
	// --encryption-key-file) and decrypts the ones read.
	Keys *atrest.Keyring
	// Directory, if set (cluster mode), returns the cluster directory to
	// record (DirectoryFile). It is called after every shard is written,
	// so the configuration it records is at least as new as any shard's.
	Directory func() ([]byte, error)
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Log receives what an operator wants to know. Default slog.Default().
	Log *slog.Logger
	// CPUShare paces backups (pace.go): the share of wall time the
	// verifying load works (the encode phase gets twice as much, up to
	// all). 0: DefaultCPUShare; 1 or more (or negative): flat out.
	CPUShare float64

	// afterWrite, for tests, runs after each snapshot file is written and
	// before it is verified (corruption injection).
	afterWrite func(path string)

	mu   sync.Mutex // one backup at a time
	busy bool

	stats stats // figures for metrics (stats.go)
}

func (s *Store) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Store) log() *slog.Logger {
	if s.Log != nil {
		return s.Log
	}
	return slog.Default()
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]{0,127}$`)

// ValidName tells whether name can name a backup.
func ValidName(name string) bool { return nameRE.MatchString(name) && name != LogDir }

// Create takes a backup named name ("" generates one from the time) of
// the given shards: it writes every shard's snapshot into a temporary
// directory, fsyncs, verifies every file by reading it back, writes the
// manifest and renames the directory to name.
func (s *Store) Create(name string, srcs []Source, scheduled bool) (*Manifest, error) {
	s.mu.Lock()
	if s.busy {
		s.mu.Unlock()
		return nil, ErrBusy
	}
	s.busy = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		s.busy = false
		s.mu.Unlock()
	}()

	start := s.now()
	if err := os.MkdirAll(s.Dir, 0o755); err != nil {
		s.stats.record(false, 0, 0, time.Time{})
		return nil, fmt.Errorf("create backup dir: %w", err)
	}
	if name == "" {
		name = s.genName(start, scheduled)
	} else if !ValidName(name) {
		return nil, ErrBadName
	}
	final := filepath.Join(s.Dir, name)
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	return s.create(name, final, start, srcs, scheduled)
}

// create takes the backup Create validated, and records its figures.
func (s *Store) create(name, final string, start time.Time, srcs []Source, scheduled bool) (m *Manifest, err error) {
	t0 := time.Now()
	defer func() {
		var size int64
		if err == nil {
			size = m.DirectorySize
			for _, sh := range m.Shards {
				size += sh.Size
			}
		}
		s.stats.record(err == nil, time.Since(t0), size, time.Now())
		if err != nil {
			s.log().Error("backup failed", "backup", name, "node", s.Node, "err", err, "scheduled", scheduled)
		}
	}()
	var rnd [6]byte
	rand.Read(rnd[:])
	tmp := filepath.Join(s.Dir, tmpPrefix+name+"-"+hex.EncodeToString(rnd[:]))
	if err := os.Mkdir(tmp, 0o755); err != nil {
		return nil, fmt.Errorf("create backup: %w", err)
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	m = &Manifest{Format: FormatVersion, Name: name, Created: start, Node: s.Node, RaftAddr: s.RaftAddr, Cluster: s.Cluster, Mode: s.Mode, SnapshotFormat: s.SnapshotFormat, Scheduled: scheduled}
	if s.Keys != nil {
		m.Encrypted, m.KeyID = true, s.Keys.Newest()
	}
	if len(srcs) == 0 {
		return nil, errors.New("nothing to back up: no shard")
	}
	encShare, verShare := s.shares()
	enc, ver := newPacer(encShare), newPacer(verShare)
	s.log().Info("backup started", "backup", name, "node", s.Node, "shards", len(srcs), "scheduled", scheduled, "cpu_share", verShare)
	for _, src := range srcs {
		t := time.Now()
		sh, err := s.writeShard(tmp, src, enc, ver)
		if err != nil {
			return nil, fmt.Errorf("shard %d: %w", src.ID(), err)
		}
		s.log().Info("backup: shard written and verified", "backup", name, "node", s.Node, "shard", sh.ID, "log_index", sh.Index,
			"keys", sh.Keys, "size", sh.Size, "duration", time.Since(t).Round(time.Millisecond).String())
		m.Shards = append(m.Shards, sh)
	}
	if s.Directory != nil {
		data, err := s.Directory()
		if err != nil {
			return nil, fmt.Errorf("directory: %w", err)
		}
		if err := writeFileSynced(filepath.Join(tmp, DirectoryFile), data, s.Keys); err != nil {
			return nil, fmt.Errorf("write the directory: %w", err)
		}
		sum := sha256.Sum256(data)
		m.Directory, m.DirectorySize, m.DirectorySHA256 = DirectoryFile, int64(len(data)), hex.EncodeToString(sum[:])
		if _, err := ReadDirectory(tmp, m, s.Keys); err != nil {
			return nil, err
		}
	}
	slices.SortFunc(m.Shards, func(a, b Shard) int { return int(a.ID) - int(b.ID) })
	m.Duration = s.now().Sub(start).Round(time.Millisecond).String()
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := writeFileSynced(filepath.Join(tmp, ManifestFile), append(data, '\n'), nil); err != nil {
		return nil, fmt.Errorf("write manifest: %w", err)
	}
	if _, err := os.Stat(final); err == nil {
		return nil, fmt.Errorf("%w: %s", ErrExists, name)
	}
	if err := os.Rename(tmp, final); err != nil {
		return nil, fmt.Errorf("complete backup: %w", err)
	}
	ok = true
	if err := syncDir(s.Dir); err != nil {
		return nil, fmt.Errorf("complete backup: %w", err)
	}
	var paused time.Duration
	if enc != nil {
		paused += enc.slept
	}
	if ver != nil {
		paused += ver.slept
	}
	s.log().Info("backup complete", "backup", name, "node", s.Node, "shards", len(m.Shards), "duration", m.Duration, "scheduled", scheduled,
		"paced_pause", paused.Round(time.Millisecond).String(), "cpu_share", verShare)
	return m, nil
}

// Busy tells whether a backup is being taken.
func (s *Store) Busy() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.busy
}

// genName returns a name for a backup started at t that does not exist.
func (s *Store) genName(t time.Time, scheduled bool) string {
	base := "backup-"
	if scheduled {
		base = "auto-"
	}
	base += t.Format("20060102T150405Z")
	name := base
	for i := 2; ; i++ {
		if _, err := os.Stat(filepath.Join(s.Dir, name)); err != nil {
			return name
		}
		name = base + "-" + strconv.Itoa(i)
	}
}

// countingHash counts and hashes what is written through it.
type countingHash struct {
	w io.Writer
	h hash.Hash
	n int64
}

func (c *countingHash) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.h.Write(p[:n])
	c.n += int64(n)
	return n, err
}

// writeShard writes one shard's snapshot into dir and verifies it.
// enc and ver (nil: flat out) pace writing and verifying.
func (s *Store) writeShard(dir string, src Source, enc, ver *pacer) (Shard, error) {
	sh := Shard{ID: src.ID(), Slots: src.Slots(), File: fmt.Sprintf("shard-%d.snap", src.ID())}
	path := filepath.Join(dir, sh.File)
	f, err := createFile(path, s.Keys)
	if err != nil {
		return sh, err
	}
	cw := &countingHash{w: f, h: sha256.New()}
	var w io.Writer = cw
	if enc != nil {
		w = pacedWriter{cw, enc}
	}
	p, err := src.WriteSnapshot(w)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return sh, fmt.Errorf("write snapshot: %w", err)
	}
	sh.Index, sh.Time, sh.Size, sh.SHA256 = p.Index, p.Time, cw.n, hex.EncodeToString(cw.h.Sum(nil))
	if s.afterWrite != nil {
		s.afterWrite(path)
	}
	// Read it back: the bytes on disk must be the bytes written, and they
	// must load.
	l, err := verifyFile(dir, sh, s.Load, s.Keys, ver)
	if err != nil {
		return sh, err
	}
	if l.Index != sh.Index {
		return sh, fmt.Errorf("%w: %s loads at index %d, written at %d", ErrCorrupt, sh.File, l.Index, sh.Index)
	}
	sh.Digest, sh.Keys = FormatDigest(l.Digest), l.Keys
	return sh, nil
}

// FormatDigest is how manifests write a state digest.
func FormatDigest(d uint64) string { return fmt.Sprintf("%016x", d) }

// VerifyFile checks the snapshot file of sh in the backup directory dir:
// its size and SHA-256 must be the manifest's, and load (if not nil) must
// read it. The checksum is checked before load's result is returned, so a
// file that loads but differs by a byte is still refused.
//
// keys decrypts an encrypted file (nil: it must be plaintext).
func VerifyFile(dir string, sh Shard, load Loader, keys *atrest.Keyring) (Loaded, error) {
	return verifyFile(dir, sh, load, keys, nil)
}

// verifyFile is VerifyFile with the load paced by p (nil: flat out).
func verifyFile(dir string, sh Shard, load Loader, keys *atrest.Keyring, p *pacer) (Loaded, error) {
	if sh.File == "" || sh.File != filepath.Base(sh.File) || strings.HasPrefix(sh.File, ".") {
		return Loaded{}, fmt.Errorf("%w: bad file name %q in manifest", ErrCorrupt, sh.File)
	}
	r, err := openFile(filepath.Join(dir, sh.File), keys)
	if err != nil {
		if errors.Is(err, ErrNeedKey) || errors.Is(err, atrest.ErrNoKey) || errors.Is(err, atrest.ErrWrongKey) {
			return Loaded{}, err
		}
		return Loaded{}, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	defer r.Close()
	h := sha256.New()
	tr := &countingReader{r: io.TeeReader(r, h)}
	var l Loaded
	if load != nil {
		var lr io.Reader = tr
		if p != nil {
			lr = pacedReader{tr, p}
		}
		l, err = load(lr)
		if err != nil {
			// A checksum mismatch explains a load failure best.
			io.Copy(io.Discard, tr)
			if tr.n != sh.Size || hex.EncodeToString(h.Sum(nil)) != sh.SHA256 {
				return l, fmt.Errorf("%w: %s: checksum mismatch", ErrCorrupt, sh.File)
			}
			return l, fmt.Errorf("%w: %s does not load: %v", ErrCorrupt, sh.File, err)
		}
	}
	if _, err := io.Copy(io.Discard, tr); err != nil {
		return l, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if tr.n != sh.Size {
		return l, fmt.Errorf("%w: %s has %d bytes, manifest says %d", ErrCorrupt, sh.File, tr.n, sh.Size)
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != sh.SHA256 {
		return l, fmt.Errorf("%w: %s: checksum mismatch (sha256 %s, manifest %s)", ErrCorrupt, sh.File, got, sh.SHA256)
	}
	return l, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// ReadManifest reads and checks the manifest of the backup directory dir.
func ReadManifest(dir string) (*Manifest, error) {
	data, err := readFile(filepath.Join(dir, ManifestFile), nil)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			if _, serr := os.Stat(dir); serr != nil {
				return nil, fmt.Errorf("%w: %s", ErrNotFound, dir)
			}
		}
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%w: manifest: %v", ErrCorrupt, err)
	}
	if m.Format > FormatVersion {
		return nil, fmt.Errorf("%w (format %d, this binary reads up to %d)", ErrNewer, m.Format, FormatVersion)
	}
	if m.Format < 1 || len(m.Shards) == 0 {
		return nil, fmt.Errorf("%w: manifest: no format or no shard", ErrCorrupt)
	}
	return &m, nil
}

// Path returns the directory of the backup name.
func (s *Store) Path(name string) string { return filepath.Join(s.Dir, name) }

// List returns the manifests of the complete backups, oldest first.
// Directories whose manifest does not read (not a backup, a newer
// format) are skipped; backups being written are not listed.
func (s *Store) List() ([]*Manifest, error) {
	ents, err := os.ReadDir(s.Dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, err
	}
	var out []*Manifest
	for _, e := range ents {
		if !e.IsDir() || !ValidName(e.Name()) {
			continue
		}
		m, err := ReadManifest(filepath.Join(s.Dir, e.Name()))
		if err != nil {
			continue
		}
		out = append(out, m)
	}
	slices.SortFunc(out, func(a, b *Manifest) int {
		if c := a.Created.Compare(b.Created); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return out, nil
}

// Info returns the manifest of a backup after verifying its files (sizes
// and checksums; with verify also a full load).
func (s *Store) Info(name string, load bool) (*Manifest, error) {
	if !ValidName(name) {
		return nil, ErrBadName
	}
	dir := s.Path(name)
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, err
	}
	var ld Loader
	if load {
		ld = s.Load
	}
	for _, sh := range m.Shards {
		if _, err := VerifyFile(dir, sh, ld, s.Keys); err != nil {
			return m, err
		}
	}
	if m.Directory != "" {
		if _, err := ReadDirectory(dir, m, s.Keys); err != nil {
			return m, err
		}
	}
	return m, nil
}

// ReadDirectory reads the directory file of the backup in dir (nil for a
// backup without one), checking its size and SHA-256 against m.
func ReadDirectory(dir string, m *Manifest, keys *atrest.Keyring) ([]byte, error) {
	if m.Directory == "" {
		return nil, nil
	}
	if m.Directory != DirectoryFile {
		return nil, fmt.Errorf("%w: bad directory file name %q in manifest", ErrCorrupt, m.Directory)
	}
	data, err := readFile(filepath.Join(dir, m.Directory), keys)
	if err != nil {
		if errors.Is(err, ErrNeedKey) || errors.Is(err, atrest.ErrNoKey) || errors.Is(err, atrest.ErrWrongKey) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, m.Directory, err)
	}
	sum := sha256.Sum256(data)
	if int64(len(data)) != m.DirectorySize || hex.EncodeToString(sum[:]) != m.DirectorySHA256 {
		return nil, fmt.Errorf("%w: %s: checksum mismatch", ErrCorrupt, m.Directory)
	}
	return data, nil
}

// Delete removes a backup.
func (s *Store) Delete(name string) error {
	if !ValidName(name) {
		return ErrBadName
	}
	dir := s.Path(name)
	if _, err := os.Stat(filepath.Join(dir, ManifestFile)); err != nil {
		return fmt.Errorf("%w: %s", ErrNotFound, name)
	}
	// The manifest goes first: a half-deleted backup is not listed.
	if err := os.Remove(filepath.Join(dir, ManifestFile)); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	s.log().Info("backup deleted", "backup", name, "node", s.Node)
	return syncDir(s.Dir)
}

// Prune deletes the backups created more than days days ago (days 0: none)
// and leftovers of backups that were interrupted more than an hour ago.
// It returns the names deleted.
func (s *Store) Prune(days int) ([]string, error) {
	now := s.now()
	var deleted []string
	if days > 0 {
		all, err := s.List()
		if err != nil {
			return nil, err
		}
		limit := now.Add(-time.Duration(days) * 24 * time.Hour)
		for _, m := range all {
			if !m.Created.Before(limit) {
				continue
			}
			if err := s.Delete(m.Name); err != nil {
				return deleted, fmt.Errorf("delete expired backup %s: %w", m.Name, err)
			}
			s.log().Info("backup expired and deleted", "backup", m.Name, "created", m.Created, "retention_days", days)
			deleted = append(deleted, m.Name)
		}
	}
	if days > 0 {
		if err := s.pruneArchive(); err != nil {
			return deleted, fmt.Errorf("prune the log archive: %w", err)
		}
	}
	s.mu.Lock()
	busy := s.busy
	s.mu.Unlock()
	if ents, err := os.ReadDir(s.Dir); err == nil && !busy {
		for _, e := range ents {
			if !e.IsDir() || !strings.HasPrefix(e.Name(), tmpPrefix) {
				continue
			}
			if fi, err := e.Info(); err == nil && now.Sub(fi.ModTime()) > time.Hour {
				os.RemoveAll(filepath.Join(s.Dir, e.Name()))
			}
		}
	}
	return deleted, nil
}

// pruneArchive deletes the log segments that end before the oldest
// backup's log index of their shard: no restore can replay them. A shard
// no remaining backup covers keeps its archive.
func (s *Store) pruneArchive() error {
	all, err := s.List()
	if err != nil || len(all) == 0 {
		return err
	}
	oldest := map[uint64]uint64{}
	for _, m := range all {
		for _, sh := range m.Shards {
			if o, ok := oldest[sh.ID]; !ok || sh.Index < o {
				oldest[sh.ID] = sh.Index
			}
		}
	}
	for id, idx := range oldest {
		segs, err := segments(ShardLogDir(s.Dir, id))
		if err != nil {
			return err
		}
		// Segment i holds indexes below segs[i+1].first; a replay after
		// idx needs idx+1 on.
		for i := 0; i+1 < len(segs); i++ {
			if segs[i+1].first > idx+1 {
				break
			}
			if err := os.Remove(segs[i].path); err != nil {
				return err
			}
			s.log().Info("log archive segment before the oldest backup deleted", "shard", id, "segment", filepath.Base(segs[i].path))
		}
	}
	return nil
}
