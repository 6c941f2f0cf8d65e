// Package durable writes the small files Cairn keeps beside its Raft log
// (node.id, Dragonboat's flag file, the config file) so that a crash or a
// power cut leaves either the old or the new content, never a torn or
// empty file, and so that the change itself survives: the data is fsynced
// before the rename and the directory after it.
package durable

import (
	"os"
	"path/filepath"
)

// WriteFile replaces path with data: path+".tmp" is written and fsynced,
// renamed over path, and the directory is fsynced. An existing file's
// permissions are kept (0644 for a new one). The temporary name is fixed,
// so one torn by a crash is overwritten by the next write rather than left
// behind; callers serialize writes to one path.
func WriteFile(path string, data []byte) error {
	mode := os.FileMode(0o644)
	if st, err := os.Stat(path); err == nil {
		mode = st.Mode().Perm()
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	defer os.Remove(tmp) // a no-op once renamed
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(filepath.Dir(path))
}

// SyncDir fsyncs a directory, making the creation, removal or renaming of
// its entries durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}
