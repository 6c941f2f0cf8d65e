// Package atrest encrypts Cairn's files at rest with AES-256-GCM.
//
// Three pieces live here:
//
//   - the key file (--encryption-key-file): a versioned text file holding
//     one or more 256-bit keys, each with a numeric id; the highest id
//     encrypts new files, every key in the file can decrypt (Keyring);
//   - the file format: a 4 KiB header naming the format version, the key
//     id and a per-file random salt, then 4 KiB chunks each sealed with
//     AES-256-GCM under a key derived for that file (format.go);
//   - a vfs.FS (github.com/lni/vfs) that stores every file in that format
//     while its users — Dragonboat's tan log DB, its snapshots, the fsync
//     probe — see plaintext (FS), and sequential Writer/Reader for
//     standalone files such as backups (stream.go).
//
// docs/encryption.md describes the format, the threat model and key
// rotation.
package atrest

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
)

// KeySize is the size of a key in bytes (AES-256).
const KeySize = 32

// keyFileMagic opens a key file; the number after it is the key file
// format version.
const keyFileMagic = "cairn-keys"

// keyFileVersion is the only key file version this build reads.
const keyFileVersion = 1

var (
	// ErrNoKey is returned when a file is encrypted with a key id the key
	// file does not hold.
	ErrNoKey = errors.New("atrest: the key file does not hold the key this file is encrypted with")
	// ErrWrongKey is returned when the key file holds a key with the
	// file's key id but it is not the key the file was encrypted with.
	ErrWrongKey = errors.New("atrest: wrong key: the key file's key with this id is not the one the file was encrypted with")
	// ErrCorrupt is returned when a file's header or a chunk fails
	// authentication or has an impossible size.
	ErrCorrupt = errors.New("atrest: encrypted file is corrupted (authentication failed)")
	// ErrNotEncrypted is returned when a file that should be encrypted
	// has no encryption header.
	ErrNotEncrypted = errors.New("atrest: file is not encrypted")
	// ErrBadKeyFile is returned for a key file that cannot be parsed.
	ErrBadKeyFile = errors.New("atrest: bad key file")
)

// Keyring holds the keys of a key file.
type Keyring struct {
	keys   map[uint32][]byte
	newest uint32
}

// LoadKeyFile reads and parses a key file.
func LoadKeyFile(path string) (*Keyring, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read encryption key file: %w", err)
	}
	k, err := ParseKeys(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return k, nil
}

// ParseKeys parses a key file:
//
//	cairn-keys 1
//	# comments and blank lines are ignored
//	key 1 <64 hex digits>
//	key 2 <64 hex digits>
//
// Key ids are positive and unique; the highest encrypts new files.
func ParseKeys(b []byte) (*Keyring, error) {
	k := &Keyring{keys: map[uint32][]byte{}}
	sc := bufio.NewScanner(bytes.NewReader(b))
	line, sawMagic := 0, false
	for sc.Scan() {
		line++
		f := strings.Fields(sc.Text())
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		if !sawMagic {
			if len(f) != 2 || f[0] != keyFileMagic {
				return nil, fmt.Errorf("%w: line %d: the first line must be %q", ErrBadKeyFile, line, keyFileMagic+" 1")
			}
			if v, err := strconv.Atoi(f[1]); err != nil || v != keyFileVersion {
				return nil, fmt.Errorf("%w: key file version %q is not supported (this build reads version %d)", ErrBadKeyFile, f[1], keyFileVersion)
			}
			sawMagic = true
			continue
		}
		if len(f) != 3 || f[0] != "key" {
			return nil, fmt.Errorf("%w: line %d: want \"key <id> <64 hex digits>\"", ErrBadKeyFile, line)
		}
		id, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil || id == 0 {
			return nil, fmt.Errorf("%w: line %d: key id must be a positive integer", ErrBadKeyFile, line)
		}
		key, err := hex.DecodeString(f[2])
		if err != nil || len(key) != KeySize {
			return nil, fmt.Errorf("%w: line %d: a key is %d bytes written as %d hex digits", ErrBadKeyFile, line, KeySize, 2*KeySize)
		}
		if _, dup := k.keys[uint32(id)]; dup {
			return nil, fmt.Errorf("%w: line %d: key id %d appears twice", ErrBadKeyFile, line, id)
		}
		k.keys[uint32(id)] = key
		k.newest = max(k.newest, uint32(id))
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadKeyFile, err)
	}
	if !sawMagic {
		return nil, fmt.Errorf("%w: empty (want a %q line, then key lines)", ErrBadKeyFile, keyFileMagic+" 1")
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: it holds no key", ErrBadKeyFile)
	}
	return k, nil
}

// NewKeyring returns a keyring of the given keys (id -> 32-byte key), for
// tests and tools.
func NewKeyring(keys map[uint32][]byte) (*Keyring, error) {
	k := &Keyring{keys: map[uint32][]byte{}}
	for id, key := range keys {
		if id == 0 || len(key) != KeySize {
			return nil, fmt.Errorf("%w: key %d: ids are positive, keys %d bytes", ErrBadKeyFile, id, KeySize)
		}
		k.keys[id] = append([]byte(nil), key...)
		k.newest = max(k.newest, id)
	}
	if len(k.keys) == 0 {
		return nil, fmt.Errorf("%w: no key", ErrBadKeyFile)
	}
	return k, nil
}

// FormatKeys writes keys in the key file format (ids ascending).
func FormatKeys(keys map[uint32][]byte) []byte {
	ids := make([]int, 0, len(keys))
	for id := range keys {
		ids = append(ids, int(id))
	}
	sort.Ints(ids)
	var b strings.Builder
	fmt.Fprintf(&b, "%s %d\n", keyFileMagic, keyFileVersion)
	for _, id := range ids {
		fmt.Fprintf(&b, "key %d %s\n", id, hex.EncodeToString(keys[uint32(id)]))
	}
	return []byte(b.String())
}

// Newest is the id of the key that encrypts new files.
func (k *Keyring) Newest() uint32 { return k.newest }

// IDs lists the key ids, ascending.
func (k *Keyring) IDs() []uint32 {
	ids := make([]uint32, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// fingerprint identifies a key without revealing it: the first 8 bytes of
// HMAC-SHA256(key, "cairn atrest fingerprint").
func fingerprint(key []byte) [8]byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("cairn atrest fingerprint"))
	var f [8]byte
	copy(f[:], m.Sum(nil))
	return f
}
