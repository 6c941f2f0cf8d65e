package modules

import (
	"errors"
	"fmt"
)

// errTruncated is returned by the binary reader when the module ends in the
// middle of a value.
var errTruncated = errors.New("unexpected end of module")

// Wasm section ids (core spec 5.5.2).
const (
	secCustom    = 0
	secType      = 1
	secImport    = 2
	secFunction  = 3
	secTable     = 4
	secMemory    = 5
	secGlobal    = 6
	secExport    = 7
	secStart     = 8
	secElement   = 9
	secCode      = 10
	secData      = 11
	secDataCount = 12
)

// Value types as encoded in the binary format.
const (
	valI32       = 0x7F
	valI64       = 0x7E
	valF32       = 0x7D
	valF64       = 0x7C
	valV128      = 0x7B
	valFuncref   = 0x70
	valExternref = 0x6F
)

// reader decodes the Wasm binary format: LEB128 integers, names and raw
// bytes, from a byte slice with a cursor.
type reader struct {
	b   []byte
	pos int
}

// eof reports whether every byte was consumed.
func (r *reader) eof() bool { return r.pos >= len(r.b) }

// byte1 reads one byte.
func (r *reader) byte1() (byte, error) {
	if r.pos >= len(r.b) {
		return 0, errTruncated
	}
	c := r.b[r.pos]
	r.pos++
	return c, nil
}

// bytes reads n raw bytes.
func (r *reader) bytes(n int) ([]byte, error) {
	if n < 0 || n > len(r.b)-r.pos {
		return nil, errTruncated
	}
	s := r.b[r.pos : r.pos+n]
	r.pos += n
	return s, nil
}

// u32 reads an unsigned LEB128 value of at most 32 bits.
func (r *reader) u32() (uint32, error) {
	var v uint64
	for shift := 0; shift < 35; shift += 7 {
		c, err := r.byte1()
		if err != nil {
			return 0, err
		}
		v |= uint64(c&0x7F) << shift
		if c&0x80 == 0 {
			if v > 0xFFFFFFFF {
				return 0, errors.New("integer too large")
			}
			return uint32(v), nil
		}
	}
	return 0, errors.New("integer representation too long")
}

// sleb skips a signed LEB128 value of at most maxBits bits and returns it.
func (r *reader) sleb(maxBits int) (int64, error) {
	var v int64
	shift := 0
	for {
		c, err := r.byte1()
		if err != nil {
			return 0, err
		}
		v |= int64(c&0x7F) << shift
		shift += 7
		if c&0x80 == 0 {
			if shift < 64 && c&0x40 != 0 {
				v |= -1 << shift
			}
			return v, nil
		}
		if shift >= maxBits+7 {
			return 0, errors.New("integer representation too long")
		}
	}
}

// name reads a length-prefixed UTF-8 name.
func (r *reader) name() (string, error) {
	n, err := r.u32()
	if err != nil {
		return "", err
	}
	b, err := r.bytes(int(n))
	return string(b), err
}

// appendU32 appends v as unsigned LEB128.
func appendU32(b []byte, v uint32) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if v != 0 {
			b = append(b, c|0x80)
			continue
		}
		return append(b, c)
	}
}

// appendS64 appends v as signed LEB128.
func appendS64(b []byte, v int64) []byte {
	for {
		c := byte(v & 0x7F)
		v >>= 7
		if (v == 0 && c&0x40 == 0) || (v == -1 && c&0x40 != 0) {
			return append(b, c)
		}
		b = append(b, c|0x80)
	}
}

// appendName appends a length-prefixed name.
func appendName(b []byte, s string) []byte {
	b = appendU32(b, uint32(len(s)))
	return append(b, s...)
}

// section is one top-level section of a module, its payload unparsed.
type section struct {
	id   byte
	body []byte
}

// funcType is a function signature.
type funcType struct {
	params, results []byte
}

// equal reports whether two signatures are the same.
func (f funcType) equal(o funcType) bool {
	return string(f.params) == string(o.params) && string(f.results) == string(o.results)
}

// String renders the signature in WAT-like form for error messages.
func (f funcType) String() string {
	return fmt.Sprintf("(%s) -> (%s)", valNames(f.params), valNames(f.results))
}

// valNames renders value types for error messages.
func valNames(v []byte) string {
	s := ""
	for i, t := range v {
		if i > 0 {
			s += " "
		}
		switch t {
		case valI32:
			s += "i32"
		case valI64:
			s += "i64"
		case valF32:
			s += "f32"
		case valF64:
			s += "f64"
		default:
			s += fmt.Sprintf("0x%02x", t)
		}
	}
	return s
}

// importEntry is one import of a module.
type importEntry struct {
	module, field string
	kind          byte
	typeIdx       uint32 // for functions
}

// exportEntry is one export of a module.
type exportEntry struct {
	name  string
	kind  byte
	index uint32
}

// globalEntry is one defined global: its type, mutability and the raw init
// expression (including the terminating end opcode).
type globalEntry struct {
	valType byte
	mutable bool
	init    []byte
}

// memLimits is the memory section's single memory.
type memLimits struct {
	min    uint32
	max    uint32
	hasMax bool
}

// parsedModule is the subset of a module's structure the loader needs.
type parsedModule struct {
	sections    []section
	types       []funcType
	imports     []importEntry
	funcs       []uint32 // type index of each defined function
	globals     []globalEntry
	exports     []exportEntry
	memory      *memLimits
	importFuncs int
	codeBodies  [][]byte
	start       int64 // the start function's index, or -1
}

// parseModule splits a module into sections and decodes the ones the
// loader inspects or rewrites. It does not validate instruction typing;
// wazero does that when compiling the rewritten module.
func parseModule(b []byte) (*parsedModule, error) {
	if len(b) < 8 || string(b[:4]) != "\x00asm" {
		return nil, errors.New("not a WebAssembly module (bad magic)")
	}
	if string(b[4:8]) != "\x01\x00\x00\x00" {
		return nil, errors.New("unsupported WebAssembly binary version")
	}
	m := &parsedModule{start: -1}
	r := &reader{b: b, pos: 8}
	lastID := byte(0)
	for !r.eof() {
		id, err := r.byte1()
		if err != nil {
			return nil, err
		}
		size, err := r.u32()
		if err != nil {
			return nil, err
		}
		body, err := r.bytes(int(size))
		if err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
		if id > secDataCount {
			return nil, fmt.Errorf("unsupported section id %d", id)
		}
		if id != secCustom {
			if order(id) <= order(lastID) && lastID != 0 {
				return nil, fmt.Errorf("section %d out of order", id)
			}
			lastID = id
		}
		m.sections = append(m.sections, section{id: id, body: body})
		if err := m.decode(id, body); err != nil {
			return nil, fmt.Errorf("section %d: %w", id, err)
		}
	}
	if len(m.codeBodies) != len(m.funcs) {
		return nil, errors.New("function and code section counts differ")
	}
	return m, nil
}

// order gives the position a non-custom section must take; the data count
// section sits between element and code.
func order(id byte) int {
	switch id {
	case secDataCount:
		return int(secElement)*2 + 1
	default:
		return int(id) * 2
	}
}

// decode fills m from one section's body.
func (m *parsedModule) decode(id byte, body []byte) error {
	r := &reader{b: body}
	switch id {
	case secCustom, secElement, secData, secDataCount, secTable:
		return nil
	case secStart:
		idx, err := r.u32()
		if err != nil {
			return err
		}
		m.start = int64(idx)
	case secType:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			form, err := r.byte1()
			if err != nil {
				return err
			}
			if form != 0x60 {
				return fmt.Errorf("unsupported type form 0x%02x", form)
			}
			var ft funcType
			for j := 0; j < 2; j++ {
				c, err := r.u32()
				if err != nil {
					return err
				}
				v, err := r.bytes(int(c))
				if err != nil {
					return err
				}
				if j == 0 {
					ft.params = v
				} else {
					ft.results = v
				}
			}
			m.types = append(m.types, ft)
		}
	case secImport:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			var im importEntry
			if im.module, err = r.name(); err != nil {
				return err
			}
			if im.field, err = r.name(); err != nil {
				return err
			}
			if im.kind, err = r.byte1(); err != nil {
				return err
			}
			switch im.kind {
			case 0:
				if im.typeIdx, err = r.u32(); err != nil {
					return err
				}
				m.importFuncs++
			default:
				// Only function imports are ever allowed; the caller refuses
				// the rest by kind, so their descriptors need no decoding
				// beyond this point.
				m.imports = append(m.imports, im)
				return nil
			}
			m.imports = append(m.imports, im)
		}
	case secFunction:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			t, err := r.u32()
			if err != nil {
				return err
			}
			m.funcs = append(m.funcs, t)
		}
	case secMemory:
		n, err := r.u32()
		if err != nil {
			return err
		}
		if n > 1 {
			return errors.New("more than one memory")
		}
		if n == 1 {
			flags, err := r.byte1()
			if err != nil {
				return err
			}
			if flags > 1 {
				return errors.New("shared or 64-bit memory is not supported")
			}
			ml := &memLimits{hasMax: flags == 1}
			if ml.min, err = r.u32(); err != nil {
				return err
			}
			if ml.hasMax {
				if ml.max, err = r.u32(); err != nil {
					return err
				}
			}
			m.memory = ml
		}
	case secGlobal:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			var g globalEntry
			if g.valType, err = r.byte1(); err != nil {
				return err
			}
			mut, err := r.byte1()
			if err != nil {
				return err
			}
			g.mutable = mut == 1
			start := r.pos
			if err := skipConstExpr(r); err != nil {
				return err
			}
			g.init = body[start:r.pos]
			m.globals = append(m.globals, g)
		}
	case secExport:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			var e exportEntry
			if e.name, err = r.name(); err != nil {
				return err
			}
			if e.kind, err = r.byte1(); err != nil {
				return err
			}
			if e.index, err = r.u32(); err != nil {
				return err
			}
			m.exports = append(m.exports, e)
		}
	case secCode:
		n, err := r.u32()
		if err != nil {
			return err
		}
		for i := uint32(0); i < n; i++ {
			size, err := r.u32()
			if err != nil {
				return err
			}
			b, err := r.bytes(int(size))
			if err != nil {
				return err
			}
			m.codeBodies = append(m.codeBodies, b)
		}
	}
	if !r.eof() {
		return errors.New("trailing bytes in section")
	}
	return nil
}

// skipConstExpr skips a constant expression up to and including its end.
func skipConstExpr(r *reader) error {
	for {
		op, err := r.byte1()
		if err != nil {
			return err
		}
		if op == 0x0B {
			return nil
		}
		if _, err := skipImmediates(r, op); err != nil {
			return err
		}
	}
}
