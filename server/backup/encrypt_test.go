package backup

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/atrest"
)

func testKeys(t *testing.T, id uint32, fill byte) *atrest.Keyring {
	t.Helper()
	k, err := atrest.NewKeyring(map[uint32][]byte{id: bytes.Repeat([]byte{fill}, atrest.KeySize)})
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// grepTree reports the files under root holding needle.
func grepTree(t *testing.T, root string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if b, _ := os.ReadFile(p); bytes.Contains(b, needle) {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

// TestEncrypted_BackupAndArchive: with a keyring every snapshot, directory
// and log segment file is encrypted (the recognizable value is in none of
// them), the backup verifies and reads back with the key, and without the
// key or with a wrong one reading is a clear error, never garbage.
func TestEncrypted_BackupAndArchive(t *testing.T) {
	secret := "SECRET-VALUE-0123456789"
	keys := testKeys(t, 1, 7)
	s := newStore(t)
	s.Keys = keys
	s.Directory = func() ([]byte, error) { return []byte(`{"config":{"x":"` + secret + `"}}`), nil }
	data := []byte("SNAP" + strings.Repeat(secret, 500))
	m, err := s.Create("enc", []Source{fakeSource{id: 1, data: data, idx: 7}}, false)
	if err != nil {
		t.Fatal(err)
	}
	if !m.Encrypted || m.KeyID != 1 || m.Directory != DirectoryFile {
		t.Fatalf("manifest %+v", m)
	}
	// The archive too.
	lg := &memLog{first: 1}
	for i := uint64(1); i <= 5; i++ {
		lg.ents = append(lg.ents, Entry{Index: i, Data: []byte(secret)})
	}
	a := StartArchiver(s.Dir, keys, func() []LogSource { return []LogSource{lg} }, time.Hour, nil)
	a.Sync()
	a.Close()
	if hits := grepTree(t, s.Dir, []byte(secret)); len(hits) != 0 {
		t.Fatalf("plaintext found in %v", hits)
	}
	if _, err := s.Info("enc", true); err != nil {
		t.Fatalf("Info with the key: %v", err)
	}
	dir, err := ReadDirectory(s.Path("enc"), m, keys)
	if err != nil || !bytes.Contains(dir, []byte(secret)) {
		t.Fatalf("ReadDirectory: %q %v", dir, err)
	}
	n := 0
	if _, _, err := ReplayArchive(s.Dir, keys, 3, 0, func(e Entry) (bool, error) {
		if string(e.Data) != secret {
			t.Fatalf("entry %d: %q", e.Index, e.Data)
		}
		n++
		return true, nil
	}); err != nil || n != 5 {
		t.Fatalf("replay: %d entries, %v", n, err)
	}
	// Without the key: ErrNeedKey; with another key id: ErrNoKey; same
	// id, other key: ErrWrongKey.
	for _, c := range []struct {
		keys *atrest.Keyring
		want error
	}{{nil, ErrNeedKey}, {testKeys(t, 2, 7), atrest.ErrNoKey}, {testKeys(t, 1, 8), atrest.ErrWrongKey}} {
		s2 := &Store{Dir: s.Dir, Load: fakeLoad, Keys: c.keys}
		if _, err := s2.Info("enc", true); !errors.Is(err, c.want) {
			t.Fatalf("Info with keys %v: %v, want %v", c.keys, err, c.want)
		}
		if _, _, err := ReplayArchive(s.Dir, c.keys, 3, 0, func(Entry) (bool, error) { return true, nil }); !errors.Is(err, c.want) {
			t.Fatalf("replay with keys %v: %v, want %v", c.keys, err, c.want)
		}
	}
	// A backup taken without a key still reads on a node that has one.
	s.Keys = nil
	if _, err := s.Create("plain", src(), false); err != nil {
		t.Fatal(err)
	}
	s.Keys = keys
	if _, err := s.Info("plain", true); err != nil {
		t.Fatalf("plain backup with a key: %v", err)
	}
}
