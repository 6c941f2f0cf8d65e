package modules

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc64"
	"sort"
)

// The library-set encoding is FUNCTION DUMP's payload and the function
// section of a shard snapshot:
//
//	"CAIRNFN" version-digit
//	uvarint library count
//	per library, in name order: uvarint-prefixed name, the Limits as
//	  (uvarint MaxModuleBytes, uvarint MaxMemoryPages, varint Fuel,
//	  varint InitFuel, uvarint MaxDepth, varint HostCallFuel, uvarint
//	  MaxReplyBytes, uvarint MaxOutputBytes), uvarint-prefixed module code
//	8 bytes little-endian CRC-64 (ECMA) of everything before
//
// Version 2 (written by DumpState only when the replica has cached
// scripts, so a replica without any still writes version 1) appends,
// before the checksum: uvarint script count, then each script's source,
// uvarint-prefixed, in SHA1 order. It is the snapshot's encoding of the
// EVAL script cache; FUNCTION DUMP stays version 1.
//
// A reader meeting a newer version digit refuses with ErrDumpVersion (a
// replica restoring a snapshot halts on it); any other damage is
// ErrBadDump.
const (
	dumpMagic          = "CAIRNFN"
	dumpVersion        = '1'
	dumpVersionScripts = '2'
)

// Dump errors.
var (
	// ErrBadDump is returned for a payload that is not a library-set
	// encoding or fails its checksum (Redis's FUNCTION RESTORE message).
	ErrBadDump = errors.New("ERR DUMP payload version or checksum are wrong")
	// ErrDumpVersion is returned for an encoding written by a newer
	// binary.
	ErrDumpVersion = errors.New("ERR DUMP payload version or checksum are wrong (written by a newer version)")
)

var crcTable = crc64.MakeTable(crc64.ECMA)

// RestorePolicy is FUNCTION RESTORE's policy.
type RestorePolicy uint8

// Restore policies, as Redis names them.
const (
	// RestoreAppend adds the libraries; an existing library name or a
	// function name in use refuses the whole restore.
	RestoreAppend RestorePolicy = iota
	// RestoreReplace replaces libraries of the same name; a function
	// name in use by another library refuses the whole restore.
	RestoreReplace
	// RestoreFlush removes every library first.
	RestoreFlush
)

// Dump encodes the registry's libraries (code and limits), in name order.
// The encoding depends only on the library set, so equal sets on two
// replicas encode to equal bytes.
func (g *Registry) Dump() []byte { return g.dump(false) }

// DumpState encodes the replica's whole state: the libraries and the
// EVAL script cache (version 2 when there are scripts). It is the
// snapshot's function section; RestoreState reads it.
func (g *Registry) DumpState() []byte { return g.dump(true) }

func (g *Registry) dump(withScripts bool) []byte {
	libs := g.List("")
	var scripts []string
	if withScripts {
		scripts = g.scriptSources()
	}
	v := byte(dumpVersion)
	if len(scripts) > 0 {
		v = dumpVersionScripts
	}
	b := append([]byte(dumpMagic), v)
	b = binary.AppendUvarint(b, uint64(len(libs)))
	for _, l := range libs {
		b = appendBytes(b, []byte(l.Name))
		lim := l.Limits
		b = binary.AppendUvarint(b, uint64(lim.MaxModuleBytes))
		b = binary.AppendUvarint(b, uint64(lim.MaxMemoryPages))
		b = binary.AppendVarint(b, lim.Fuel)
		b = binary.AppendVarint(b, lim.InitFuel)
		b = binary.AppendUvarint(b, uint64(lim.MaxDepth))
		b = binary.AppendVarint(b, lim.HostCallFuel)
		b = binary.AppendUvarint(b, uint64(lim.MaxReplyBytes))
		b = binary.AppendUvarint(b, uint64(lim.MaxOutputBytes))
		b = appendBytes(b, l.Code)
	}
	if len(scripts) > 0 {
		b = binary.AppendUvarint(b, uint64(len(scripts)))
		for _, s := range scripts {
			b = appendBytes(b, []byte(s))
		}
	}
	return binary.LittleEndian.AppendUint64(b, crc64.Checksum(b, crcTable))
}

// Digest is a digest of the library set (names, code, limits) and of the
// script cache, for comparing replicas.
func (g *Registry) Digest() uint64 {
	d := g.DumpState()
	return binary.LittleEndian.Uint64(d[len(d)-8:])
}

func appendBytes(b, s []byte) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

// dumpedLib is one decoded library.
type dumpedLib struct {
	name   string
	code   []byte
	limits Limits
}

// decodeDump decodes a library-set encoding.
func decodeDump(data []byte) ([]dumpedLib, error) {
	libs, _, err := decodeState(data)
	return libs, err
}

// decodeState decodes a library-set encoding and the scripts of a
// version 2 one.
func decodeState(data []byte) ([]dumpedLib, []string, error) {
	n := len(dumpMagic) + 1
	if len(data) < n+8 || !bytes.HasPrefix(data, []byte(dumpMagic)) {
		return nil, nil, ErrBadDump
	}
	version := data[n-1]
	if version != dumpVersion && version != dumpVersionScripts {
		if version > dumpVersionScripts && version <= '9' {
			return nil, nil, ErrDumpVersion
		}
		return nil, nil, ErrBadDump
	}
	body := data[:len(data)-8]
	if crc64.Checksum(body, crcTable) != binary.LittleEndian.Uint64(data[len(data)-8:]) {
		return nil, nil, ErrBadDump
	}
	r := bytes.NewReader(body[n:])
	uv := func() uint64 {
		v, err := binary.ReadUvarint(r)
		if err != nil {
			panic(ErrBadDump)
		}
		return v
	}
	sv := func() int64 {
		v, err := binary.ReadVarint(r)
		if err != nil {
			panic(ErrBadDump)
		}
		return v
	}
	str := func() []byte {
		l := uv()
		if l > uint64(r.Len()) {
			panic(ErrBadDump)
		}
		s := make([]byte, l)
		_, _ = r.Read(s)
		return s
	}
	var out []dumpedLib
	var scripts []string
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = ErrBadDump
			}
		}()
		count := uv()
		if count > uint64(r.Len()) {
			panic(ErrBadDump)
		}
		for range count {
			var d dumpedLib
			d.name = string(str())
			d.limits = Limits{
				MaxModuleBytes: int(uv()), MaxMemoryPages: uint32(uv()), Fuel: sv(), InitFuel: sv(),
				MaxDepth: uint32(uv()), HostCallFuel: sv(), MaxReplyBytes: int(uv()), MaxOutputBytes: int(uv()),
			}
			d.code = str()
			out = append(out, d)
		}
		if version == dumpVersionScripts {
			count := uv()
			if count > uint64(r.Len()) {
				panic(ErrBadDump)
			}
			for range count {
				scripts = append(scripts, string(str()))
			}
		}
		if r.Len() != 0 {
			panic(ErrBadDump)
		}
	}()
	return out, scripts, err
}

// RestoreState replaces the registry's libraries and script cache with a
// DumpState encoding (a snapshot's function section).
func (g *Registry) RestoreState(ctx context.Context, data []byte) error {
	_, scripts, err := decodeState(data)
	if err != nil {
		return err
	}
	if err := g.Restore(ctx, data, RestoreFlush); err != nil {
		return err
	}
	g.FlushScripts()
	for _, s := range scripts {
		g.AddScript([]byte(s))
	}
	return nil
}

// Restore loads the libraries of a Dump encoding with their stored limits,
// under policy. Every library is compiled before the registry changes, so
// an error leaves the registry as it was.
func (g *Registry) Restore(ctx context.Context, data []byte, policy RestorePolicy) error {
	dumped, err := decodeDump(data)
	if err != nil {
		return err
	}
	loaded := make([]*Library, 0, len(dumped))
	closeAll := func() {
		for _, l := range loaded {
			_ = l.Close(ctx)
		}
	}
	seen := map[string]bool{}
	for _, d := range dumped {
		if seen[d.name] {
			closeAll()
			return ErrBadDump
		}
		seen[d.name] = true
		lib, err := g.rt.Load(ctx, d.name, d.code, d.limits)
		if err != nil {
			closeAll()
			return fmt.Errorf("%w (library %s)", err, d.name)
		}
		loaded = append(loaded, lib)
	}
	g.mu.Lock()
	libs := map[string]*Library{}
	if policy != RestoreFlush {
		for n, l := range g.libs {
			libs[n] = l
		}
	}
	for _, l := range loaded {
		if libs[l.Name] != nil && policy == RestoreAppend {
			g.mu.Unlock()
			closeAll()
			return &namedError{fmt.Sprintf("ERR Library %s already exists", l.Name), ErrLibraryExists}
		}
		libs[l.Name] = l
	}
	funcs := map[string]*Library{}
	names := make([]string, 0, len(libs))
	for n := range libs {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		for _, f := range libs[n].Functions {
			if funcs[f.Name] != nil {
				g.mu.Unlock()
				closeAll()
				return &namedError{fmt.Sprintf("ERR Function %s already exists", f.Name), ErrFunctionExists}
			}
			funcs[f.Name] = libs[n]
		}
	}
	var dropped []*Library
	for n, l := range g.libs {
		if libs[n] != l {
			dropped = append(dropped, l)
		}
	}
	g.libs, g.funcs = libs, funcs
	g.mu.Unlock()
	for _, l := range dropped {
		_ = l.Close(ctx)
	}
	return nil
}

// DumpLibraries returns the number of libraries in a Dump encoding.
func DumpLibraries(data []byte) (int, error) {
	libs, err := decodeDump(data)
	return len(libs), err
}
