package rdb

// The RDB file format, as Redis 7.0's rdbSave writes it and rdbLoad reads
// it:
//
//	"REDIS" <version, 4 ASCII digits>
//	AUX <name> <value>                  (0xFA, any number)
//	SELECTDB <db>                       (0xFE)
//	RESIZEDB <keys> <keys with expiry>  (0xFB, a hint)
//	[EXPIRETIME_MS <8 bytes LE>] [IDLE <len> | FREQ <byte>] <type> <key> <value>
//	...
//	EOF                                 (0xFF)
//	<CRC64 of everything before, 8 bytes LE; 0 when the writer disabled it>
//
// A value is what a DUMP payload holds before its footer, so the file
// writer takes DUMP payloads and the reader hands out DUMP payloads: the
// network tool (server/rdbtool) moves them with DUMP and RESTORE.
//
// The reader refuses, with an error naming the reason, what Cairn cannot
// hold: module data (MODULE_AUX opcode, module value types), function
// libraries, a database other than 0, value types it has no decoder for,
// and files from RDB versions newer than MaxVersion. It validates every
// value with the same decoders RESTORE uses, so a file that parses loads.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/cairndb/cairn/server/keyspace"
)

// RDB file opcodes (src/rdb.h).
const (
	opFunction2   = 0xF5
	opFunction    = 0xF6
	opModuleAux   = 0xF7
	opIdle        = 0xF8
	opFreq        = 0xF9
	opAux         = 0xFA
	opResizeDB    = 0xFB
	opExpireMS    = 0xFC
	opExpire      = 0xFD
	opSelectDB    = 0xFE
	opEOF         = 0xFF
	fileMagic     = "REDIS"
	fileHeaderLen = 9
)

// Errors of the file reader. Each is wrapped with the position and detail.
var (
	// ErrFileFormat: the file is not an RDB file, is truncated, or a
	// value in it does not decode.
	ErrFileFormat = errors.New("rdb file: bad format")
	// ErrFileChecksum: the CRC64 at the end does not match the content.
	ErrFileChecksum = errors.New("rdb file: checksum mismatch")
	// ErrFileVersion: the file's RDB version is newer than MaxVersion.
	ErrFileVersion = errors.New("rdb file: RDB version not supported")
	// ErrFileUnsupported: the file holds data Cairn cannot load (modules,
	// functions, a database other than 0, an unknown value type).
	ErrFileUnsupported = errors.New("rdb file: content not supported")
)

// Aux is one AUX field of an RDB file (redis-ver, ctime, ...).
type Aux struct {
	Name, Value string
}

// Entry is one key of an RDB file.
type Entry struct {
	Key []byte
	// ExpireMs is the absolute expiry in Unix milliseconds; 0 when the
	// key has none.
	ExpireMs int64
	// Idle is the LRU idle time in seconds (IDLE opcode), -1 if absent.
	Idle int64
	// Freq is the LFU counter (FREQ opcode), -1 if absent.
	Freq int
	// Type is the RDB value type byte.
	Type byte
	// Object is the serialized value after the type byte, aliasing the
	// file.
	Object []byte
	// version is the file's RDB version, written in the payload footer.
	version uint16
}

// Payload returns the entry's value as a DUMP payload, for RESTORE.
func (e *Entry) Payload() []byte {
	out := make([]byte, 0, len(e.Object)+11)
	out = append(out, e.Type)
	out = append(out, e.Object...)
	out = binary.LittleEndian.AppendUint16(out, e.version)
	return binary.LittleEndian.AppendUint64(out, CRC64(0, out))
}

// File is a parsed RDB file.
type File struct {
	Version int
	Aux     []Aux
	Entries []Entry
	// Expires counts the entries with an expiry.
	Expires int
	// Checksummed is false when the file's CRC64 was 0 (written with
	// rdbchecksum no, or before RDB version 5) and so was not checked.
	Checksummed bool
}

// AuxValue returns the value of the named AUX field, "" if absent.
func (f *File) AuxValue(name string) string {
	for _, a := range f.Aux {
		if a.Name == name {
			return a.Value
		}
	}
	return ""
}

// ParseFile parses and validates a whole RDB file held in b: its header,
// every opcode and every value (decoded as RESTORE would decode it), the
// EOF marker and the checksum. The entries alias b. progress, if not nil,
// is called now and then with the number of bytes parsed.
//
// Nothing is returned unless the whole file is valid, so a caller that
// loads the entries only after ParseFile succeeds never loads half a file.
func ParseFile(b []byte, progress func(done int)) (*File, error) {
	if len(b) < fileHeaderLen || string(b[:5]) != fileMagic {
		return nil, fmt.Errorf("%w: no REDIS header (not an RDB file)", ErrFileFormat)
	}
	ver, err := strconv.Atoi(string(b[5:fileHeaderLen]))
	if err != nil || ver < 1 {
		return nil, fmt.Errorf("%w: bad RDB version %q", ErrFileFormat, b[5:fileHeaderLen])
	}
	if ver > MaxVersion {
		return nil, fmt.Errorf("%w: the file is RDB version %d (written by a Redis newer than 7.2); Cairn reads versions up to %d", ErrFileVersion, ver, MaxVersion)
	}
	f := &File{Version: ver}
	r := &Reader{b: b, pos: fileHeaderLen}
	fail := func(what string, err error) error {
		if errors.Is(err, ErrFileUnsupported) || errors.Is(err, ErrFileFormat) {
			return fmt.Errorf("%w (at byte %d)", err, r.pos)
		}
		if r.pos >= len(b) {
			return fmt.Errorf("%w: truncated file (ends inside %s)", ErrFileFormat, what)
		}
		return fmt.Errorf("%w: bad %s at byte %d (the file is corrupted or truncated)", ErrFileFormat, what, r.pos)
	}
	seen := map[string]struct{}{}
	expire, idle, freq := int64(0), int64(-1), -1
	db := uint64(0)
	nextProgress := 1 << 20
	for {
		if progress != nil && r.pos >= nextProgress {
			progress(r.pos)
			nextProgress = r.pos + 1<<20
		}
		op, err := r.Byte()
		if err != nil {
			return nil, fmt.Errorf("%w: truncated file (no EOF marker)", ErrFileFormat)
		}
		switch op {
		case opEOF:
			if err := f.checkTail(r); err != nil {
				return nil, err
			}
			if progress != nil {
				progress(len(b))
			}
			return f, nil
		case opAux:
			name, err := r.String()
			if err != nil {
				return nil, fail("AUX field", err)
			}
			value, err := r.String()
			if err != nil {
				return nil, fail("AUX field", err)
			}
			f.Aux = append(f.Aux, Aux{string(name), string(value)})
		case opSelectDB:
			if db, err = r.Len(); err != nil {
				return nil, fail("SELECTDB", err)
			}
			if db != 0 {
				return nil, fmt.Errorf("%w: the file holds database %d; Cairn has only database 0 (export one database, or move keys to db 0 first)", ErrFileUnsupported, db)
			}
		case opResizeDB:
			n, err := r.Len()
			if err != nil {
				return nil, fail("RESIZEDB", err)
			}
			// Size the entries by the hint, bounded so that a lying
			// hint costs no more than a few times the file's size (the
			// entries then grow as they come).
			if n = min(n, uint64(len(b)/16)); f.Entries == nil {
				f.Entries = make([]Entry, 0, n)
				seen = make(map[string]struct{}, n)
			}
			if _, err := r.Len(); err != nil {
				return nil, fail("RESIZEDB", err)
			}
		case opExpireMS:
			p, err := r.Bytes(8)
			if err != nil {
				return nil, fail("expire time", err)
			}
			expire = int64(binary.LittleEndian.Uint64(p))
		case opExpire:
			p, err := r.Bytes(4)
			if err != nil {
				return nil, fail("expire time", err)
			}
			expire = int64(int32(binary.LittleEndian.Uint32(p))) * 1000
		case opIdle:
			n, err := r.Len()
			if err != nil {
				return nil, fail("IDLE", err)
			}
			idle = int64(n)
		case opFreq:
			c, err := r.Byte()
			if err != nil {
				return nil, fail("FREQ", err)
			}
			freq = int(c)
		case opModuleAux:
			return nil, fmt.Errorf("%w: the file holds module data (MODULE_AUX at byte %d); Cairn does not run Redis modules", ErrFileUnsupported, r.pos-1)
		case opFunction, opFunction2:
			return nil, fmt.Errorf("%w: the file holds function libraries (FUNCTION LOAD); Cairn does not load them from RDB (delete them with FUNCTION FLUSH before saving)", ErrFileUnsupported)
		default:
			key, err := r.String()
			if err != nil {
				return nil, fail("key", err)
			}
			start := r.pos
			if err := r.skipValue(op, key); err != nil {
				return nil, fail(fmt.Sprintf("value of key %q", key), err)
			}
			if _, dup := seen[string(key)]; dup {
				return nil, fmt.Errorf("%w: key %q appears twice", ErrFileFormat, key)
			}
			seen[string(key)] = struct{}{}
			e := Entry{Key: key, ExpireMs: expire, Idle: idle, Freq: freq,
				Type: op, Object: b[start:r.pos], version: uint16(ver)}
			if expire != 0 {
				f.Expires++
			}
			f.Entries = append(f.Entries, e)
			expire, idle, freq = 0, -1, -1
		}
	}
}

// checkTail reads the checksum after EOF (RDB version 5 on) and checks it.
func (f *File) checkTail(r *Reader) error {
	if f.Version < 5 {
		return nil
	}
	end := r.pos
	p, err := r.Bytes(8)
	if err != nil {
		return fmt.Errorf("%w: truncated file (no checksum after EOF)", ErrFileFormat)
	}
	want := binary.LittleEndian.Uint64(p)
	if want == 0 {
		return nil
	}
	if got := CRC64(0, r.b[:end]); got != want {
		return fmt.Errorf("%w: computed %#x, file says %#x (the file is corrupted)", ErrFileChecksum, got, want)
	}
	f.Checksummed = true
	return nil
}

// skipValue decodes the value of RDB type t at the reader's position with
// RESTORE's decoder and leaves the reader after it.
func (r *Reader) skipValue(t byte, key []byte) (err error) {
	if t == TypeModule || t == TypeModule2 {
		return fmt.Errorf("%w: key %q holds a module value; Cairn does not run Redis modules", ErrFileUnsupported, key)
	}
	dec := decoders[t]
	if dec == nil {
		return fmt.Errorf("%w: key %q has RDB value type %d, which Cairn does not know", ErrFileUnsupported, key, t)
	}
	defer func() {
		if p := recover(); p != nil {
			err = ErrBadFormat
		}
	}()
	_, _, err = dec(r, t)
	return err
}

// FileWriter writes an RDB file of RDB version Version (Redis 7.0's): the
// header and AUX fields, database 0, one record per key taken from DUMP
// payloads, then EOF and the checksum. Errors are sticky: after the first,
// every call returns it.
type FileWriter struct {
	w   *bufio.Writer
	crc uint64
	buf []byte
	val []byte
	err error
	// Keys counts the keys written.
	Keys int
}

// NewFileWriter writes the header and aux fields to w, then selects
// database 0 with the given size hints (RESIZEDB: keys, keys with expiry).
func NewFileWriter(w io.Writer, aux []Aux, keys, expires uint64) *FileWriter {
	fw := &FileWriter{w: bufio.NewWriterSize(w, 1<<16)}
	b := fmt.Appendf(nil, "%s%04d", fileMagic, Version)
	for _, a := range aux {
		b = append(b, opAux)
		b = AppendString(b, []byte(a.Name))
		b = AppendString(b, []byte(a.Value))
	}
	b = append(b, opSelectDB)
	b = AppendLen(b, 0)
	b = append(b, opResizeDB)
	b = AppendLen(b, keys)
	b = AppendLen(b, expires)
	fw.write(b)
	return fw
}

func (fw *FileWriter) write(b []byte) {
	if fw.err != nil {
		return
	}
	fw.crc = CRC64(fw.crc, b)
	_, fw.err = fw.w.Write(b)
}

// WriteKey writes one key from its DUMP payload (as DUMP returns it);
// expireMs is its absolute expiry in Unix milliseconds, 0 for none. The
// payload's footer is checked: its checksum must match and its version
// must be at most Version (so a Redis 7.0 loader understands the value).
func (fw *FileWriter) WriteKey(key []byte, expireMs int64, payload []byte) error {
	if fw.err != nil {
		return fw.err
	}
	if err := Verify(payload); err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	n := len(payload) - 10
	if v := binary.LittleEndian.Uint16(payload[n:]); v > Version {
		return fmt.Errorf("key %q: DUMP payload is RDB version %d, newer than the file's %d", key, v, Version)
	}
	if n < 1 {
		return fmt.Errorf("key %q: %w", key, ErrChecksum)
	}
	if isVSetPayload(payload[:n]) {
		return fmt.Errorf("key %q: %w", key, ErrVectorSetFile)
	}
	return fw.writeRecord(key, expireMs, payload[0], payload[1:n])
}

// WriteObject writes one key from its value (str for a string, else obj),
// encoded as DUMP encodes it; expireMs as for WriteKey.
func (fw *FileWriter) WriteObject(key []byte, expireMs int64, str []byte, obj keyspace.Object) error {
	if fw.err != nil {
		return fw.err
	}
	if _, ok := obj.(*keyspace.VectorSet); ok {
		return fmt.Errorf("key %q: %w", key, ErrVectorSetFile)
	}
	val, err := EncodeValue(fw.val[:0], str, obj)
	fw.val = val
	if err != nil {
		return fmt.Errorf("key %q: %w", key, err)
	}
	return fw.writeRecord(key, expireMs, val[0], val[1:])
}

// writeRecord writes [EXPIRETIME_MS] <type> <key> <object>.
func (fw *FileWriter) writeRecord(key []byte, expireMs int64, typ byte, object []byte) error {
	if typ > TypeStreamListpack2 || typ == TypeModule || typ == TypeModule2 {
		return fmt.Errorf("key %q: %w: value type %d cannot be written to an RDB %d file", key, ErrUnsupported, typ, Version)
	}
	b := fw.buf[:0]
	if expireMs != 0 {
		b = append(b, opExpireMS)
		b = binary.LittleEndian.AppendUint64(b, uint64(expireMs))
	}
	b = append(b, typ)
	b = AppendString(b, key)
	fw.buf = b
	fw.write(b)
	fw.write(object)
	fw.Keys++
	return fw.err
}

// Close writes EOF and the checksum and flushes. It does not close the
// underlying writer.
func (fw *FileWriter) Close() error {
	fw.write([]byte{opEOF})
	if fw.err != nil {
		return fw.err
	}
	if _, err := fw.w.Write(binary.LittleEndian.AppendUint64(nil, fw.crc)); err != nil {
		return err
	}
	return fw.w.Flush()
}
