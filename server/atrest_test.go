package server_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/atrest"
	"github.com/cairndb/cairn/server/servertest"
)

func writeKeyFile(t *testing.T, keys map[uint32][]byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "keys")
	if err := os.WriteFile(path, atrest.FormatKeys(keys), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func key(b byte) []byte { return bytes.Repeat([]byte{b}, atrest.KeySize) }

// grepDir lists the files under dir whose bytes contain needle.
func grepDir(t *testing.T, dir string, needle []byte) []string {
	t.Helper()
	var hits []string
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return nil
		}
		if b, err := os.ReadFile(path); err == nil && bytes.Contains(b, needle) {
			hits = append(hits, path)
		}
		return nil
	})
	return hits
}

// TestEncryptionAtRest: a recognizable value written to an encrypted node
// is in no file under the data dir (log, snapshot, anything), and is read
// back after a restart with the key; a restart without the key or with
// the wrong one is refused with a clear error; a key rotation keeps old
// files readable; a corrupted file stops the start with an error.
func TestEncryptionAtRest(t *testing.T) {
	const secret = "CAIRN-RECOGNIZABLE-4f1c9e"
	keyFile := writeKeyFile(t, map[uint32][]byte{1: key(1)})
	n := servertest.Start(t, func(c *server.Config) {
		c.EncryptionKeyFile = keyFile
		c.SnapshotEntries = 50
	})
	c := n.Client(t)
	pipe := c.Pipeline()
	for i := 0; i < 200; i++ {
		pipe.Set(ctx, "k"+strconv.Itoa(i), secret+strconv.Itoa(i), 0)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		t.Fatal(err)
	}
	if err := c.Set(ctx, "the-key-"+secret, secret, 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Save(ctx).Err(); err != nil { // a snapshot on disk too
		t.Fatal(err)
	}
	c.Set(ctx, "after-save", secret, 0)
	cfg := n.Cfg
	n.Close()
	if hits := grepDir(t, cfg.Dir, []byte(secret)); len(hits) > 0 {
		t.Fatalf("plaintext value found on disk in %v", hits)
	}
	if hits := grepDir(t, cfg.Dir, []byte("4f1c9e")); len(hits) > 0 {
		t.Fatalf("plaintext fragment found on disk in %v", hits)
	}

	// Restart with the key: the values are there.
	n2 := servertest.Restart(t, cfg)
	c2 := n2.Client(t)
	if got := c2.Get(ctx, "k199").Val(); got != secret+"199" {
		t.Fatalf("k199 = %q after restart", got)
	}
	if got := c2.Get(ctx, "after-save").Val(); got != secret {
		t.Fatalf("after-save = %q after restart", got)
	}
	n2.Close()

	// No key, a wrong key, a key file without the key: clear errors.
	for _, tc := range []struct {
		name, keyFile, want string
	}{
		{"no key", "", "start the node with --encryption-key-file"},
		{"wrong key", writeKeyFile(t, map[uint32][]byte{1: key(2)}), "wrong key"},
		{"missing key id", writeKeyFile(t, map[uint32][]byte{2: key(2)}), "does not hold the key"},
		{"missing file", filepath.Join(t.TempDir(), "nope"), "encryption key file"},
	} {
		bad := cfg
		bad.EncryptionKeyFile = tc.keyFile
		bad.Port = servertest.FreePort(t)
		if node, err := server.Start(bad); err == nil {
			node.Close()
			t.Fatalf("%s: started", tc.name)
		} else if !strings.Contains(err.Error(), tc.want) {
			t.Fatalf("%s: error %q, want it to say %q", tc.name, err, tc.want)
		}
	}

	// Rotation: key 2 is added; old files stay readable, new ones use key
	// 2; then key 1 can go once a snapshot and compaction replaced them?
	// Not guaranteed (the log keeps entries behind the snapshot), so only
	// the first half is asserted here; atrest's tests cover dropping keys.
	cfg.EncryptionKeyFile = writeKeyFile(t, map[uint32][]byte{1: key(1), 2: key(2)})
	n3 := servertest.Restart(t, cfg)
	c3 := n3.Client(t)
	if got := c3.Get(ctx, "k0").Val(); got != secret+"0" {
		t.Fatalf("k0 = %q after rotation", got)
	}
	c3.Set(ctx, "rotated", secret, 0)
	if err := c3.Save(ctx).Err(); err != nil {
		t.Fatal(err)
	}
	n3.Close()
	ids := keyIDsUnder(t, cfg.Dir)
	if !ids[2] {
		t.Fatalf("no file encrypted with the new key 2: %v", ids)
	}
	n4 := servertest.Restart(t, cfg)
	if got := n4.Client(t).Get(ctx, "rotated").Val(); got != secret {
		t.Fatalf("rotated = %q", got)
	}
	n4.Close()

	// A corrupted snapshot: the start fails with an error, no panic.
	var logs []string
	filepath.Walk(cfg.Dir, func(path string, fi os.FileInfo, err error) error {
		if err == nil && !fi.IsDir() && strings.HasSuffix(path, ".gbsnap") && fi.Size() > atrest.HeaderSize+atrest.ChunkSize {
			logs = append(logs, path)
		}
		return nil
	})
	if len(logs) == 0 {
		t.Fatal("no snapshot file found")
	}
	for _, p := range logs {
		b, _ := os.ReadFile(p)
		for off := atrest.HeaderSize + 100; off < len(b); off += atrest.ChunkSize {
			b[off] ^= 0xff // every chunk
		}
		os.WriteFile(p, b, 0o644)
	}
	cfg.Port = servertest.FreePort(t)
	if node, err := server.Start(cfg); err == nil {
		node.Close()
		t.Fatal("started on a corrupted snapshot")
	} else if !errors.Is(err, atrest.ErrCorrupt) && !strings.Contains(err.Error(), "corrupted") {
		t.Fatalf("corrupted snapshot: error %q does not say so", err)
	}
}

// keyIDsUnder reports the key ids of the encrypted files under dir.
func keyIDsUnder(t *testing.T, dir string) map[uint32]bool {
	ids := map[uint32]bool{}
	filepath.Walk(dir, func(path string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() || fi.Size() < atrest.HeaderSize {
			return nil
		}
		b, _ := os.ReadFile(path)
		if string(b[:8]) == "CAIRNENC" {
			ids[uint32(b[14])<<24|uint32(b[15])<<16|uint32(b[16])<<8|uint32(b[17])] = true
		}
		return nil
	})
	return ids
}
