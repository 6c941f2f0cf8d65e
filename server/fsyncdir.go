package server

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/lni/vfs"
)

// mkdirSynced creates dir and any missing parents on fs (nil: the OS) and
// fsyncs the parent of each directory it created, so a power cut right
// after the first acknowledged write cannot take the new data directory's
// entry (and with it the Raft log) away. Dragonboat does the same for the
// directories it creates below dir.
func mkdirSynced(fs vfs.FS, dir string) error {
	if fs == nil {
		fs = vfs.Default
	}
	var missing []string
	for d := filepath.Clean(dir); filepath.Dir(d) != d; d = filepath.Dir(d) {
		if _, err := fs.Stat(d); err == nil {
			break
		} else if !errors.Is(err, os.ErrNotExist) {
			return err
		}
		missing = append(missing, d)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := fs.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, d := range missing {
		parent, err := fs.OpenDir(filepath.Dir(d))
		if err != nil {
			return err
		}
		err = parent.Sync()
		if cerr := parent.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}
