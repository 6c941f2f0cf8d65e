package atrest

import (
	"bytes"
	"errors"
	"io"
	"math/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/lni/vfs"
)

func testKeys(t *testing.T, ids ...uint32) *Keyring {
	t.Helper()
	m := map[uint32][]byte{}
	for _, id := range ids {
		m[id] = bytes.Repeat([]byte{byte(id)}, KeySize)
	}
	k, err := NewKeyring(m)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func readAll(t *testing.T, fs vfs.FS, name string) []byte {
	t.Helper()
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b, err := io.ReadAll(f)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFS_RandomOps drives an encrypted file with appends, WriteAt
// anywhere (also past the end), reads and reopenings, against a plain
// byte slice, on the OS and on an in-memory file system; the physical
// file never holds the plaintext.
func TestFS_RandomOps(t *testing.T) {
	for _, c := range []struct {
		name  string
		inner vfs.FS
		dir   string
	}{{"os", vfs.Default, t.TempDir()}, {"mem", vfs.NewMem(), "/"}} {
		t.Run(c.name, func(t *testing.T) {
			fs := NewFS(c.inner, testKeys(t, 1))
			name := filepath.Join(c.dir, "f")
			rng := rand.New(rand.NewSource(1))
			var want []byte
			f, err := fs.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			marker := []byte("RECOGNIZABLE-PLAINTEXT")
			for step := 0; step < 400; step++ {
				switch rng.Intn(6) {
				case 0, 1: // append (Write at the position, which is the end)
					if _, err := f.Seek(0, io.SeekEnd); err != nil {
						t.Fatal(err)
					}
					p := randBytes(rng, marker)
					if _, err := f.Write(p); err != nil {
						t.Fatal(err)
					}
					want = append(want, p...)
				case 2: // WriteAt somewhere, maybe past the end
					p := randBytes(rng, marker)
					off := rng.Int63n(int64(len(want)) + 3*ChunkPlain)
					if _, err := f.WriteAt(p, off); err != nil {
						t.Fatal(err)
					}
					if end := off + int64(len(p)); end > int64(len(want)) {
						want = append(want, make([]byte, end-int64(len(want)))...)
					}
					copy(want[off:], p)
				case 3: // ReadAt through another handle
					if len(want) == 0 {
						continue
					}
					off := rng.Int63n(int64(len(want)))
					n := rng.Intn(3*ChunkPlain) + 1
					r, err := fs.Open(name)
					if err != nil {
						t.Fatal(err)
					}
					got := make([]byte, n)
					k, err := r.ReadAt(got, off)
					if off+int64(n) > int64(len(want)) {
						if !errors.Is(err, io.EOF) {
							t.Fatalf("ReadAt past the end: err %v", err)
						}
					} else if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got[:k], want[off:off+int64(k)]) {
						t.Fatalf("step %d: ReadAt(%d, %d) differs", step, off, n)
					}
					r.Close()
				case 4: // sizes
					st, err := fs.Stat(name)
					if err != nil {
						t.Fatal(err)
					}
					if st.Size() != int64(len(want)) {
						t.Fatalf("Stat size %d, want %d", st.Size(), len(want))
					}
				case 5: // close and reopen for appending
					if err := f.Sync(); err != nil {
						t.Fatal(err)
					}
					f.Close()
					if f, err = fs.OpenForAppend(name); err != nil {
						t.Fatal(err)
					}
				}
			}
			f.Close()
			if got := readAll(t, fs, name); !bytes.Equal(got, want) {
				t.Fatalf("content differs: %d bytes, want %d", len(got), len(want))
			}
			raw := readAll(t, c.inner, name)
			if bytes.Contains(raw, marker) {
				t.Fatal("the physical file holds the plaintext")
			}
			// The stream reader reads what the FS wrote.
			r, err := NewReader(bytes.NewReader(raw), fs.keys)
			if err != nil {
				t.Fatal(err)
			}
			if got, err := io.ReadAll(r); err != nil || !bytes.Equal(got, want) {
				t.Fatalf("stream read: %v, equal %v", err, bytes.Equal(got, want))
			}
		})
	}
}

func randBytes(rng *rand.Rand, marker []byte) []byte {
	n := []int{1, 17, 100, ChunkPlain - 3, ChunkPlain, 2*ChunkPlain + 5, 9000}[rng.Intn(7)]
	p := make([]byte, n)
	rng.Read(p)
	if n > len(marker) {
		copy(p, marker)
	}
	return p
}

// TestFS_FreshNonce: rewriting a chunk (an append to a partial chunk)
// seals it under a new nonce.
func TestFS_FreshNonce(t *testing.T) {
	mem := vfs.NewMem()
	fs := NewFS(mem, testKeys(t, 1))
	f, _ := fs.Create("/f")
	f.Write([]byte("a"))
	n1 := append([]byte(nil), readAll(t, mem, "/f")[HeaderSize:HeaderSize+nonceSize]...)
	f.Write([]byte("b"))
	n2 := readAll(t, mem, "/f")[HeaderSize : HeaderSize+nonceSize]
	f.Close()
	if bytes.Equal(n1, n2) {
		t.Fatal("chunk 0 rewritten under the same nonce")
	}
	if got := readAll(t, fs, "/f"); string(got) != "ab" {
		t.Fatalf("got %q", got)
	}
}

func writeFile(t *testing.T, fs vfs.FS, name string, p []byte) {
	t.Helper()
	f, err := fs.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(p); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestFS_KeysAndCorruption: a missing key, a wrong key, a plaintext file
// and a flipped bit are each a clear error; after a rotation old files
// stay readable and new ones use the new key.
func TestFS_KeysAndCorruption(t *testing.T) {
	mem := vfs.NewMem()
	old := NewFS(mem, testKeys(t, 1))
	data := bytes.Repeat([]byte("secret value "), 1000)
	writeFile(t, old, "/a", data)

	// Rotation: key 2 encrypts new files, key 1 still reads old ones.
	rot := NewFS(mem, testKeys(t, 1, 2))
	if got := readAll(t, rot, "/a"); !bytes.Equal(got, data) {
		t.Fatal("old file unreadable after rotation")
	}
	writeFile(t, rot, "/b", data)
	if id := keyIDOf(t, mem, "/b"); id != 2 {
		t.Fatalf("new file key id %d, want 2", id)
	}
	if id := keyIDOf(t, mem, "/a"); id != 1 {
		t.Fatalf("old file key id %d, want 1", id)
	}
	// Dropping key 1: /a is refused, /b still reads.
	only2 := NewFS(mem, testKeys(t, 2))
	if _, err := only2.Open("/a"); !errors.Is(err, ErrNoKey) {
		t.Fatalf("open with key 1 missing: %v, want ErrNoKey", err)
	}
	if got := readAll(t, only2, "/b"); !bytes.Equal(got, data) {
		t.Fatal("new file unreadable")
	}
	// A different key under the same id.
	wrong, _ := NewKeyring(map[uint32][]byte{1: bytes.Repeat([]byte{9}, KeySize)})
	if _, err := NewFS(mem, wrong).Open("/a"); !errors.Is(err, ErrWrongKey) {
		t.Fatalf("wrong key: %v, want ErrWrongKey", err)
	}
	// A plaintext file.
	writeFile(t, mem, "/plain", bytes.Repeat([]byte("x"), 5000))
	if _, err := old.Open("/plain"); !errors.Is(err, ErrNotEncrypted) {
		t.Fatalf("plaintext file: %v, want ErrNotEncrypted", err)
	}
	// A flipped bit in chunk 1: opening works, reading that chunk fails.
	raw := readAll(t, mem, "/a")
	raw[HeaderSize+ChunkSize+100] ^= 1
	writeFile(t, mem, "/a", raw)
	f, err := old.Open("/a")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(f); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupted chunk: %v, want ErrCorrupt", err)
	}
	f.Close()
	// A flipped bit in the header.
	raw[20] ^= 1
	writeFile(t, mem, "/a", raw)
	if _, err := old.Open("/a"); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("corrupted header: %v, want ErrCorrupt", err)
	}
}

// TestFS_TornTail: a last chunk cut short or garbled (a power cut during
// an append) ends the file before it, and a writer reopening the file
// cuts it off; a torn header reads as an empty file.
func TestFS_TornTail(t *testing.T) {
	dir := t.TempDir()
	fs := NewFS(vfs.Default, testKeys(t, 1))
	name := filepath.Join(dir, "f")
	data := bytes.Repeat([]byte("0123456789"), 1000) // 2 full chunks + a partial one
	writeFile(t, fs, name, data)
	raw, _ := os.ReadFile(name)
	full := 2 * ChunkPlain
	for _, torn := range [][]byte{
		raw[:HeaderSize+2*ChunkSize+10],                     // stub shorter than a chunk's overhead
		raw[:len(raw)-5],                                    // last chunk cut short
		append(raw[:len(raw):len(raw)], make([]byte, 7)...), // garbage appended to the last chunk
	} {
		os.WriteFile(name, torn, 0o644)
		if got := readAll(t, fs, name); !bytes.Equal(got, data[:full]) {
			t.Fatalf("torn tail: read %d bytes, want the %d before the torn chunk", len(got), full)
		}
		if st, err := fs.Stat(name); err != nil || st.Size() != int64(full) {
			t.Fatalf("torn tail: Stat %v, %v", st, err)
		}
		f, err := fs.OpenForAppend(name)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte("tail"))
		f.Close()
		if got := readAll(t, fs, name); string(got) != string(data[:full])+"tail" {
			t.Fatalf("append after a torn tail: %d bytes", len(got))
		}
	}
	os.WriteFile(name, raw[:100], 0o644) // torn header
	if got := readAll(t, fs, name); len(got) != 0 {
		t.Fatalf("torn header read as %d bytes", len(got))
	}
	// Garbled chunk before the last: an error, not a shorter file.
	bad := append([]byte(nil), raw...)
	bad[HeaderSize+ChunkSize+1] ^= 1
	os.WriteFile(name, bad, 0o644)
	f, err := fs.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(f); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("garbled middle chunk: %v", err)
	}
	f.Close()
}

func keyIDOf(t *testing.T, fs vfs.FS, name string) uint32 {
	raw := readAll(t, fs, name)
	h, err := testKeys(t, 1, 2).parseHeader(name, raw[:HeaderSize])
	if err != nil {
		t.Fatal(err)
	}
	return h.keyID
}

// TestStream round-trips the standalone file API and refuses a wrong key.
func TestStream(t *testing.T) {
	dir := t.TempDir()
	keys := testKeys(t, 3)
	src, enc, dec := filepath.Join(dir, "src"), filepath.Join(dir, "enc"), filepath.Join(dir, "dec")
	data := bytes.Repeat([]byte("backup payload "), 3000)
	os.WriteFile(src, data, 0o644)
	if err := EncryptFile(src, enc, keys); err != nil {
		t.Fatal(err)
	}
	if raw, _ := os.ReadFile(enc); bytes.Contains(raw, []byte("backup payload")) {
		t.Fatal("encrypted file holds plaintext")
	}
	if err := DecryptFile(enc, dec, keys); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dec); !bytes.Equal(got, data) {
		t.Fatal("round trip differs")
	}
	os.Remove(dec)
	if err := DecryptFile(enc, dec, testKeys(t, 4)); !errors.Is(err, ErrNoKey) {
		t.Fatalf("wrong key: %v", err)
	}
	if _, err := os.Stat(dec); !os.IsNotExist(err) {
		t.Fatal("a failed decryption left a file")
	}
	// The encrypted file opens through the FS too.
	if got := readAll(t, NewFS(vfs.Default, keys), enc); !bytes.Equal(got, data) {
		t.Fatal("FS read of a stream-written file differs")
	}
}

func TestParseKeys(t *testing.T) {
	good := "# test\ncairn-keys 1\nkey 1 " + string(bytes.Repeat([]byte("ab"), 32)) + "\nkey 7 " + string(bytes.Repeat([]byte("cd"), 32)) + "\n"
	k, err := ParseKeys([]byte(good))
	if err != nil || k.Newest() != 7 || len(k.IDs()) != 2 {
		t.Fatalf("ParseKeys: %v %v", k, err)
	}
	if k2, err := ParseKeys(FormatKeys(k.keys)); err != nil || k2.Newest() != 7 {
		t.Fatalf("FormatKeys round trip: %v", err)
	}
	for _, bad := range []string{
		"", "key 1 00\n", "cairn-keys 2\nkey 1 " + string(bytes.Repeat([]byte("ab"), 32)),
		"cairn-keys 1\n", "cairn-keys 1\nkey 0 " + string(bytes.Repeat([]byte("ab"), 32)),
		"cairn-keys 1\nkey 1 abcd", "cairn-keys 1\nkey 1 " + string(bytes.Repeat([]byte("ab"), 32)) + "\nkey 1 " + string(bytes.Repeat([]byte("ab"), 32)),
	} {
		if _, err := ParseKeys([]byte(bad)); !errors.Is(err, ErrBadKeyFile) {
			t.Errorf("ParseKeys(%q): %v, want ErrBadKeyFile", bad, err)
		}
	}
}

func TestCheckDir(t *testing.T) {
	dir := t.TempDir()
	raft := filepath.Join(dir, "raft")
	if err := CheckDir(dir, raft, nil); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(raft, 0o755)
	if err := CheckDir(dir, raft, testKeys(t, 1)); err == nil {
		t.Fatal("a plaintext data dir was accepted with a key")
	}
	os.Remove(raft)
	if err := CheckDir(dir, raft, testKeys(t, 1)); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(raft, 0o755)
	if err := CheckDir(dir, raft, nil); err == nil {
		t.Fatal("an encrypted data dir was accepted without a key")
	}
	if err := CheckDir(dir, raft, testKeys(t, 2)); !errors.Is(err, ErrNoKey) {
		t.Fatalf("missing key: %v", err)
	}
	// Rotation rewrites the marker with the newest key, so key 1 can go.
	if err := CheckDir(dir, raft, testKeys(t, 1, 2)); err != nil {
		t.Fatal(err)
	}
	if err := CheckDir(dir, raft, testKeys(t, 2)); err != nil {
		t.Fatalf("after rotation: %v", err)
	}
}

// BenchmarkAppend measures a small append (a Raft batch of a few SETs)
// to an encrypted file vs the plain file system: the CPU cost of
// re-sealing the partial last chunk, without fsync.
func BenchmarkAppend(b *testing.B) {
	for _, enc := range []bool{false, true} {
		name := "plain"
		if enc {
			name = "encrypted"
		}
		b.Run(name, func(b *testing.B) {
			var fs vfs.FS = vfs.Default
			if enc {
				k, _ := NewKeyring(map[uint32][]byte{1: bytes.Repeat([]byte{1}, KeySize)})
				fs = NewFS(vfs.Default, k)
			}
			f, err := fs.Create(filepath.Join(b.TempDir(), "f"))
			if err != nil {
				b.Fatal(err)
			}
			defer f.Close()
			p := bytes.Repeat([]byte("x"), 120)
			b.SetBytes(int64(len(p)))
			for b.Loop() {
				if _, err := f.Write(p); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
