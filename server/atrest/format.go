package atrest

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// The file format, version 1:
//
//	header  HeaderSize bytes:
//	  0  magic "CAIRNENC"
//	  8  format version, uint16 big endian (1)
//	 10  physical chunk size, uint32 big endian (ChunkSize)
//	 14  key id, uint32 big endian
//	 18  salt, 32 random bytes, new for every file
//	 50  key fingerprint, 8 bytes (keys.go)
//	 58  header MAC: HMAC-SHA256(key, bytes 0..57), first 16 bytes
//	 74  zeros up to HeaderSize
//	chunks, chunk i at HeaderSize + i*ChunkSize:
//	  nonce (12 random bytes) | AES-256-GCM ciphertext of up to
//	  ChunkPlain bytes | tag (16 bytes)
//
// Chunk i is sealed with the file key HKDF-SHA256(key, salt, "cairn atrest
// v1 chunks") and the chunk index (uint64 big endian) as additional data,
// so a chunk cannot be moved to another place or another file. Every
// chunk but the last is full; the plaintext size follows from the
// physical size. A chunk that is rewritten (an append to a partial last
// chunk) gets a fresh random nonce: with a per-file key, nonces repeat
// only with negligible probability.
const (
	// HeaderSize is the size of the file header; chunks start after it,
	// aligned to 4 KiB so that a chunk rewrite is one page write.
	HeaderSize = 4096
	// ChunkSize is the physical size of a full chunk.
	ChunkSize = 4096
	nonceSize = 12
	tagSize   = 16
	// Overhead is the bytes a chunk adds to its plaintext.
	Overhead = nonceSize + tagSize
	// ChunkPlain is the plaintext a full chunk holds.
	ChunkPlain = ChunkSize - Overhead

	magic         = "CAIRNENC"
	formatVersion = 1
	headerUsed    = 74
)

// header is a parsed file header with the file's AEAD.
type header struct {
	keyID uint32
	salt  [32]byte
	aead  cipher.AEAD
}

// newHeader makes the header of a new file, encrypted with k's newest key.
func (k *Keyring) newHeader() (*header, []byte, error) {
	h := &header{keyID: k.newest}
	if _, err := rand.Read(h.salt[:]); err != nil {
		return nil, nil, err
	}
	key := k.keys[h.keyID]
	b := make([]byte, HeaderSize)
	copy(b, magic)
	binary.BigEndian.PutUint16(b[8:], formatVersion)
	binary.BigEndian.PutUint32(b[10:], ChunkSize)
	binary.BigEndian.PutUint32(b[14:], h.keyID)
	copy(b[18:50], h.salt[:])
	fp := fingerprint(key)
	copy(b[50:58], fp[:])
	copy(b[58:74], headerMAC(key, b[:58]))
	var err error
	if h.aead, err = fileAEAD(key, h.salt[:]); err != nil {
		return nil, nil, err
	}
	return h, b, nil
}

// parseHeader checks a file header against the keyring. name is only for
// error messages.
func (k *Keyring) parseHeader(name string, b []byte) (*header, error) {
	if len(b) < headerUsed || string(b[:8]) != magic {
		return nil, fmt.Errorf("%s: %w (no %s header)", name, ErrNotEncrypted, magic)
	}
	if v := binary.BigEndian.Uint16(b[8:]); v != formatVersion {
		return nil, fmt.Errorf("%s: encryption format version %d is not supported by this build (it reads version %d)", name, v, formatVersion)
	}
	if cs := binary.BigEndian.Uint32(b[10:]); cs != ChunkSize {
		return nil, fmt.Errorf("%s: %w (chunk size %d in header)", name, ErrCorrupt, cs)
	}
	h := &header{keyID: binary.BigEndian.Uint32(b[14:])}
	copy(h.salt[:], b[18:50])
	key, ok := k.keys[h.keyID]
	if !ok {
		return nil, fmt.Errorf("%s: %w (key id %d; the key file holds ids %v)", name, ErrNoKey, h.keyID, k.IDs())
	}
	fp := fingerprint(key)
	if !hmac.Equal(fp[:], b[50:58]) {
		return nil, fmt.Errorf("%s: %w (key id %d)", name, ErrWrongKey, h.keyID)
	}
	if !hmac.Equal(headerMAC(key, b[:58]), b[58:74]) {
		return nil, fmt.Errorf("%s: %w (header)", name, ErrCorrupt)
	}
	var err error
	if h.aead, err = fileAEAD(key, h.salt[:]); err != nil {
		return nil, err
	}
	return h, nil
}

func headerMAC(key, b []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(b)
	return m.Sum(nil)[:16]
}

func fileAEAD(key, salt []byte) (cipher.AEAD, error) {
	fk, err := hkdf.Key(sha256.New, key, salt, "cairn atrest v1 chunks", KeySize)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(fk)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal appends chunk i's physical bytes for plaintext p to dst.
func (h *header) seal(dst []byte, i int64, p []byte) ([]byte, error) {
	var nonce [nonceSize]byte
	if _, err := rand.Read(nonce[:]); err != nil {
		return nil, err
	}
	var ad [8]byte
	binary.BigEndian.PutUint64(ad[:], uint64(i))
	dst = append(dst, nonce[:]...)
	return h.aead.Seal(dst, nonce[:], p, ad[:]), nil
}

// open decrypts chunk i's physical bytes c, appending the plaintext to dst.
func (h *header) open(dst []byte, i int64, c []byte) ([]byte, error) {
	if len(c) <= Overhead {
		return nil, ErrCorrupt
	}
	var ad [8]byte
	binary.BigEndian.PutUint64(ad[:], uint64(i))
	out, err := h.aead.Open(dst, c[:nonceSize], c[nonceSize:], ad[:])
	if err != nil {
		return nil, ErrCorrupt
	}
	return out, nil
}
