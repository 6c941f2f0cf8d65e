package backup

import (
	"io"
	"os"
	"path/filepath"
)

// Every byte of a backup (snapshot files, manifests, log segments) is
// written through createFile and read through openFile: the one seam where
// encryption at rest will wrap the streams. Nothing else in the package
// opens a backup file.

// file is a backup file being written.
type file interface {
	io.Writer
	// Sync makes what was written durable.
	Sync() error
	Close() error
}

// createFile creates (truncating) the file at path for writing.
func createFile(path string) (file, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
}

// appendFile opens the file at path for appending (log segments).
func appendFile(path string) (file, error) {
	return os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
}

// openFile opens the file at path for reading.
func openFile(path string) (io.ReadCloser, error) {
	return os.Open(path)
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

// writeFileSynced writes data to path and fsyncs it.
func writeFileSynced(path string, data []byte) error {
	f, err := createFile(path)
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
func readFile(path string) ([]byte, error) {
	r, err := openFile(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}
