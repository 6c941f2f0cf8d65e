package atrest

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/cairndb/cairn/server/durable"
)

// Standalone files (backups, exports) use the same format as the files of
// the encrypting FS, written and read sequentially: a file written by
// Writer can be opened through FS and the other way round.
//
// Like every file of the format, a stream authenticates each chunk's
// content and position but not where the stream ends: a file cut at a
// chunk boundary reads as a shorter file. A caller that must detect that
// (a backup) records the length or a checksum of the plaintext inside it.

// Writer encrypts a stream with the keyring's newest key.
type Writer struct {
	w   io.Writer
	h   *header
	i   int64
	buf []byte
	out []byte
	err error
}

// NewWriter writes the header to w and returns a Writer whose plaintext is
// sealed into w chunk by chunk. Close seals the last chunk; it does not
// close w.
func NewWriter(w io.Writer, keys *Keyring) (*Writer, error) {
	h, hb, err := keys.newHeader()
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hb); err != nil {
		return nil, err
	}
	return &Writer{w: w, h: h, buf: make([]byte, 0, ChunkPlain)}, nil
}

// Write implements io.Writer.
func (w *Writer) Write(p []byte) (int, error) {
	if w.err != nil {
		return 0, w.err
	}
	n := 0
	for len(p) > 0 {
		k := copy(w.buf[len(w.buf):cap(w.buf)], p)
		w.buf = w.buf[:len(w.buf)+k]
		p, n = p[k:], n+k
		if len(w.buf) == ChunkPlain {
			if err := w.flush(); err != nil {
				return n, err
			}
		}
	}
	return n, nil
}

func (w *Writer) flush() error {
	if len(w.buf) == 0 {
		return nil
	}
	w.out, w.err = w.h.seal(w.out[:0], w.i, w.buf)
	if w.err == nil {
		_, w.err = w.w.Write(w.out)
	}
	w.i++
	w.buf = w.buf[:0]
	return w.err
}

// Close seals the last, partial chunk.
func (w *Writer) Close() error {
	if w.err != nil {
		return w.err
	}
	err := w.flush()
	w.err = errors.New("atrest: writer closed")
	return err
}

// Reader decrypts a stream written by Writer (or by FS).
type Reader struct {
	r    io.Reader
	h    *header
	i    int64
	c    []byte
	p    []byte
	off  int
	done bool
	err  error
}

// NewReader reads and checks the header of r (ErrNoKey, ErrWrongKey,
// ErrNotEncrypted, ErrCorrupt) and returns the plaintext reader. Every
// chunk is authenticated before any of its bytes are returned.
func NewReader(r io.Reader, keys *Keyring) (*Reader, error) {
	hb := make([]byte, HeaderSize)
	if n, err := io.ReadFull(r, hb); err != nil {
		if n >= len(magic) && string(hb[:len(magic)]) != magic || n == 0 {
			return nil, ErrNotEncrypted
		}
		return nil, fmt.Errorf("%w (truncated header)", ErrCorrupt)
	}
	h, err := keys.parseHeader("stream", hb)
	if err != nil {
		return nil, err
	}
	return &Reader{r: r, h: h, c: make([]byte, ChunkSize)}, nil
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	for r.off == len(r.p) {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		n, err := io.ReadFull(r.r, r.c)
		switch {
		case errors.Is(err, io.EOF):
			return 0, io.EOF
		case errors.Is(err, io.ErrUnexpectedEOF):
			r.done = true
		case err != nil:
			r.err = err
			return 0, err
		}
		if r.p, err = r.h.open(r.p[:0], r.i, r.c[:n]); err != nil {
			r.err = fmt.Errorf("chunk %d: %w", r.i, err)
			return 0, r.err
		}
		r.i++
		r.off = 0
	}
	n := copy(p, r.p[r.off:])
	r.off += n
	return n, nil
}

// EncryptFile writes src's content encrypted to dst (replaced durably:
// temporary file, fsync, rename, directory fsync).
func EncryptFile(src, dst string, keys *Keyring) error {
	return convert(src, dst, func(in io.Reader, out io.Writer) error {
		w, err := NewWriter(out, keys)
		if err != nil {
			return err
		}
		if _, err := io.Copy(w, in); err != nil {
			return err
		}
		return w.Close()
	})
}

// DecryptFile writes the plaintext of the encrypted file src to dst
// (replaced durably). A wrong key or a corrupted src is an error and
// leaves dst untouched.
func DecryptFile(src, dst string, keys *Keyring) error {
	return convert(src, dst, func(in io.Reader, out io.Writer) error {
		r, err := NewReader(in, keys)
		if err != nil {
			return err
		}
		_, err = io.Copy(out, r)
		return err
	})
}

func convert(src, dst string, f func(io.Reader, io.Writer) error) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	tmp, err := os.CreateTemp(filepath.Dir(dst), "."+filepath.Base(dst)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	err = f(in, tmp)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("%s: %w", src, err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return err
	}
	return durable.SyncDir(filepath.Dir(dst))
}
