package backup

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/atrest"
)

// Every byte of a backup (snapshot files, the directory file, log
// segments) is written through createFile or createSegment and read
// through openFile: the one seam where encryption at rest wraps the
// streams. With a keyring (the node's --encryption-key-file) files are
// written in server/atrest's format (AES-256-GCM chunks under a per-file
// key from the keyring's newest key); without one, in plaintext. A reader
// tells the two apart by the file's header, so a node with a key still
// reads backups taken before it had one. Manifests stay plaintext: they
// hold names, positions, sizes and checksums, no user data, and they say
// whether the files are encrypted (so a restore without the key fails
// with a clear error before reading anything). Nothing else in the
// package opens a backup file.

// ErrNeedKey is returned for an encrypted backup file read without keys.
var ErrNeedKey = errors.New("backup is encrypted: give the key file it was written with (--encryption-key-file)")

// encMagic starts every encrypted file (atrest's header).
const encMagic = "CAIRNENC"

// file is a backup file being written.
type file interface {
	io.Writer
	// Sync makes what was written durable.
	Sync() error
	Close() error
}

// createFile creates (truncating) the file at path for writing once,
// front to back: Sync ends the stream (encrypted: seals the last chunk).
func createFile(path string, keys *atrest.Keyring) (file, error) {
	of, err := os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	f := &trickleFile{File: of} // writeback.go
	if keys == nil {
		return f, nil
	}
	w, err := atrest.NewWriter(f, keys)
	if err != nil {
		f.Close()
		return nil, err
	}
	return &encFile{f: f, w: w}, nil
}

// encFile is an encrypted stream being written.
type encFile struct {
	f      *trickleFile
	w      *atrest.Writer
	sealed bool
}

func (e *encFile) Write(p []byte) (int, error) { return e.w.Write(p) }

func (e *encFile) Sync() error {
	if !e.sealed {
		e.sealed = true
		if err := e.w.Close(); err != nil {
			return err
		}
	}
	return e.f.Sync()
}

func (e *encFile) Close() error { return e.f.Close() }

// createSegment creates a log segment, appended to and fsynced batch by
// batch (encrypted: through atrest.FS, which re-seals the last chunk).
func createSegment(path string, keys *atrest.Keyring) (file, error) {
	if keys == nil {
		return os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	}
	return atrest.NewFS(vfs.Default, keys).Create(path)
}

// openFile opens the file at path for reading, decrypting it when it is
// encrypted.
func openFile(path string, keys *atrest.Keyring) (io.ReadCloser, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	var head [len(encMagic)]byte
	n, _ := io.ReadFull(f, head[:])
	if !bytes.Equal(head[:n], []byte(encMagic)) {
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			f.Close()
			return nil, err
		}
		return f, nil
	}
	f.Close()
	if keys == nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), ErrNeedKey)
	}
	r, err := atrest.NewFS(vfs.Default, keys).Open(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return r, nil
}

// syncDir fsyncs a directory, so the names created or renamed in it are
// durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// writeFileSynced writes data to path (encrypted with keys, if any) and
// fsyncs it.
func writeFileSynced(path string, data []byte, keys *atrest.Keyring) error {
	f, err := createFile(path, keys)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(filepath.Dir(path))
}

// readFile reads the whole file at path.
func readFile(path string, keys *atrest.Keyring) ([]byte, error) {
	r, err := openFile(path, keys)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// WriteFile writes a file (encrypted with keys, if any) through write,
// fsyncs it and its directory, and returns the plaintext's size and
// SHA-256 (hex). cairn restore writes a restored cluster's shard states
// with it.
func WriteFile(path string, keys *atrest.Keyring, write func(io.Writer) error) (int64, string, error) {
	f, err := createFile(path, keys)
	if err != nil {
		return 0, "", err
	}
	cw := &countingHash{w: f, h: sha256.New()}
	err = write(cw)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = syncDir(filepath.Dir(path))
	}
	if err != nil {
		return 0, "", err
	}
	return cw.n, hex.EncodeToString(cw.h.Sum(nil)), nil
}

// OpenFile opens a file WriteFile wrote (decrypting it with keys when it
// is encrypted; ErrNeedKey without keys).
func OpenFile(path string, keys *atrest.Keyring) (io.ReadCloser, error) {
	return openFile(path, keys)
}

// FileSHA256 reads a file WriteFile wrote and returns its plaintext's
// SHA-256 (hex).
func FileSHA256(path string, keys *atrest.Keyring) (string, error) {
	r, err := openFile(path, keys)
	if err != nil {
		return "", err
	}
	defer r.Close()
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
