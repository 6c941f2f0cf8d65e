package atrest

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lni/vfs"

	"github.com/cairndb/cairn/server/durable"
)

// MarkerFile, in a data directory, records that the directory is
// encrypted at rest. It is itself an encrypted file whose plaintext is
// markerText, so reading it checks the key file before anything else is
// opened.
const MarkerFile = "ENCRYPTED"

const markerText = "cairn data directory encrypted at rest, format 1\n"

// CheckDir checks that a data directory and the key file agree, before the
// node opens anything else in it:
//
//   - no keys, and dir holds the marker: an error (the directory is
//     encrypted; the node needs --encryption-key-file);
//   - keys, and dir holds the marker: the marker must decrypt with them
//     (ErrNoKey, ErrWrongKey, ErrCorrupt otherwise); it is rewritten with
//     the newest key if an older one sealed it, so an old key is never
//     needed for the marker after a rotation;
//   - keys, no marker: if dataPath (the Raft directory) exists the
//     directory holds plaintext data and this is an error; otherwise the
//     directory is new and the marker is written.
func CheckDir(dir, dataPath string, keys *Keyring) error {
	path := filepath.Join(dir, MarkerFile)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("read %s: %w", path, err)
	}
	exists := err == nil
	if keys == nil {
		if exists {
			return fmt.Errorf("data dir %s is encrypted at rest (%s): start the node with --encryption-key-file", dir, MarkerFile)
		}
		return nil
	}
	if !exists {
		if _, err := os.Stat(dataPath); err == nil {
			return fmt.Errorf("data dir %s holds unencrypted data (%s): encryption at rest can only be turned on for a new data dir (restore a backup into an encrypted one)", dir, dataPath)
		}
		return writeMarker(path, keys)
	}
	r, err := NewReader(bytes.NewReader(b), keys)
	if err == nil {
		var got []byte
		if got, err = io.ReadAll(r); err == nil && string(got) != markerText {
			err = ErrCorrupt
		}
		if err == nil && r.h.keyID != keys.Newest() {
			err = writeMarker(path, keys)
		}
	}
	if err != nil {
		return fmt.Errorf("data dir %s: %s: %w", dir, MarkerFile, err)
	}
	return nil
}

func writeMarker(path string, keys *Keyring) error {
	var buf bytes.Buffer
	w, err := NewWriter(&buf, keys)
	if err != nil {
		return err
	}
	w.Write([]byte(markerText))
	if err := w.Close(); err != nil {
		return err
	}
	if err := durable.WriteFile(path, buf.Bytes()); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// VerifyTree reads and authenticates every encrypted file under root
// (plain files, directories and symbolic links are skipped), so that a
// missing or wrong key or a corrupted file stops a node at start with the
// file's name, before Dragonboat, which panics on a log or snapshot it
// cannot read, opens anything. It reads every byte once.
func VerifyTree(root string, keys *Keyring) error {
	fs := NewFS(vfs.Default, keys)
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == root {
				return nil
			}
			return err
		}
		if !d.Type().IsRegular() || Plain(path) {
			return nil
		}
		f, err := fs.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		if _, err := io.Copy(io.Discard, struct{ io.Reader }{f}); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		return nil
	})
}
