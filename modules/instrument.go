package modules

import (
	"errors"
	"fmt"
)

// Export names the rewriter adds so the runtime can read and reset the
// injected counters and the module's own mutable globals.
const (
	exportFuel   = "cairn.fuel"
	exportDepth  = "cairn.depth"
	exportGlobal = "cairn.global." // followed by the global's index
	exportStart  = "cairn.start"   // the module's start function
	// The write tracker's globals (see trackPages), when the rewriter adds
	// it: the page of the last store, the count of pages recorded (or
	// trackOverflow), and the recorded pages.
	exportTrackLast = "cairn.track.last"
	exportTrackN    = "cairn.track.n"
	exportTrackPage = "cairn.track.page." // followed by the slot's index
	// exportSettle is not added by the rewriter: a module may export it
	// (type () -> ()) to run once after _initialize, before the snapshot.
	exportSettle = "cairn.settle"
)

// Opcodes the rewriter looks at.
const (
	opUnreachable = 0x00
	opBlock       = 0x02
	opLoop        = 0x03
	opIf          = 0x04
	opElse        = 0x05
	opEnd         = 0x0B
	opBr          = 0x0C
	opReturn      = 0x0F
	opLocalGet    = 0x20
	opLocalSet    = 0x21
	opLocalTee    = 0x22
	opGlobalGet   = 0x23
	opGlobalSet   = 0x24
	opI32Const    = 0x41
	opI64Const    = 0x42
	opBrIf        = 0x0D
	opCall        = 0x10
	opI32Eqz      = 0x45
	opI32Eq       = 0x46
	opI32Ne       = 0x47
	opI32GtU      = 0x4B
	opI32GeU      = 0x4F
	opI32And      = 0x71
	opI32ShrU     = 0x76
	opI32WrapI64  = 0xA7
	opI64ExtendU  = 0xAD
	opI64Add      = 0x7C
	opI64ShrU     = 0x88
	opI64LtS      = 0x53
	opI32Add      = 0x6A
	opI32Sub      = 0x6B
	opI64Sub      = 0x7D
)

// opFlags describes what an instruction does to state the reset must
// restore.
type opFlags uint8

const (
	// flagMutatesTables marks table.set/grow/fill/copy/init and elem.drop.
	flagMutatesTables opFlags = 1 << iota
	// flagDropsData marks data.drop.
	flagDropsData
)

// skipImmediates consumes the immediates of opcode op (already read) and
// reports state-mutating instructions the snapshot reset cannot undo.
// Instructions outside the supported feature set are refused.
func skipImmediates(r *reader, op byte) (opFlags, error) {
	var err error
	switch {
	case op == 0x00 || op == 0x01 || op == opElse || op == opEnd || op == opReturn:
	case op == opBlock || op == opLoop || op == opIf:
		err = skipBlockType(r)
	case op == opBr || op == 0x0D: // br, br_if
		_, err = r.u32()
	case op == 0x0E: // br_table
		var n uint32
		if n, err = r.u32(); err == nil {
			for i := uint32(0); i <= n && err == nil; i++ {
				_, err = r.u32()
			}
		}
	case op == 0x10: // call
		_, err = r.u32()
	case op == 0x11: // call_indirect
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
	case op == 0x12 || op == 0x13 || op == 0x14 || op == 0x15:
		return 0, fmt.Errorf("tail calls and typed function references are not supported (opcode 0x%02x)", op)
	case op == 0x1A || op == 0x1B: // drop, select
	case op == 0x1C: // select t*
		var n uint32
		if n, err = r.u32(); err == nil {
			_, err = r.bytes(int(n))
		}
	case op >= 0x20 && op <= 0x25: // local.*, global.*, table.get
		_, err = r.u32()
	case op == 0x26: // table.set
		_, err = r.u32()
		return flagMutatesTables, err
	case op >= 0x28 && op <= 0x3E: // loads and stores: memarg
		err = skipMemarg(r)
	case op == 0x3F || op == 0x40: // memory.size, memory.grow
		_, err = r.byte1()
	case op == opI32Const:
		_, err = r.sleb(32)
	case op == opI64Const:
		_, err = r.sleb(64)
	case op == 0x43:
		_, err = r.bytes(4)
	case op == 0x44:
		_, err = r.bytes(8)
	case op >= 0x45 && op <= 0xC4: // numeric, including sign extension
	case op == 0xD0: // ref.null
		_, err = r.byte1()
	case op == 0xD1: // ref.is_null
	case op == 0xD2: // ref.func
		_, err = r.u32()
	case op == 0xFC:
		return skipMisc(r)
	case op == 0xFD:
		err = skipSIMD(r)
	case op == 0xFE:
		return 0, errors.New("threads and atomics are not supported")
	default:
		return 0, fmt.Errorf("unknown opcode 0x%02x", op)
	}
	return 0, err
}

// skipBlockType consumes a block type: empty, one value type or a type
// index (a signed 33-bit LEB).
func skipBlockType(r *reader) error {
	if r.pos >= len(r.b) {
		return errTruncated
	}
	switch r.b[r.pos] {
	case 0x40, valI32, valI64, valF32, valF64, valV128, valFuncref, valExternref:
		r.pos++
		return nil
	}
	_, err := r.sleb(33)
	return err
}

// skipMemarg consumes an alignment and an offset.
func skipMemarg(r *reader) error {
	if _, err := r.u32(); err != nil {
		return err
	}
	_, err := r.u32()
	return err
}

// skipMisc consumes a 0xFC-prefixed instruction.
func skipMisc(r *reader) (opFlags, error) {
	sub, err := r.u32()
	if err != nil {
		return 0, err
	}
	switch {
	case sub <= 7: // saturating truncation
		return 0, nil
	case sub == 8: // memory.init
		if _, err = r.u32(); err == nil {
			_, err = r.byte1()
		}
		return 0, err
	case sub == 9: // data.drop
		_, err = r.u32()
		return flagDropsData, err
	case sub == 10: // memory.copy
		_, err = r.bytes(2)
		return 0, err
	case sub == 11: // memory.fill
		_, err = r.byte1()
		return 0, err
	case sub == 12 || sub == 14: // table.init, table.copy
		if _, err = r.u32(); err == nil {
			_, err = r.u32()
		}
		return flagMutatesTables, err
	case sub == 13 || sub == 15 || sub == 17: // elem.drop, table.grow, table.fill
		_, err = r.u32()
		return flagMutatesTables, err
	case sub == 16: // table.size
		_, err = r.u32()
		return 0, err
	}
	return 0, fmt.Errorf("unknown opcode 0xfc %d", sub)
}

// skipSIMD consumes a 0xFD-prefixed (128-bit SIMD) instruction.
func skipSIMD(r *reader) error {
	sub, err := r.u32()
	if err != nil {
		return err
	}
	switch {
	case sub <= 11 || sub == 92 || sub == 93: // loads, store, load_zero
		return skipMemarg(r)
	case sub == 12 || sub == 13: // v128.const, i8x16.shuffle
		_, err = r.bytes(16)
	case sub >= 21 && sub <= 34: // extract/replace lane
		_, err = r.byte1()
	case sub >= 84 && sub <= 91: // load/store lane
		if err = skipMemarg(r); err == nil {
			_, err = r.byte1()
		}
	}
	return err
}

// instrumentOptions are the limits baked into the rewritten code.
type instrumentOptions struct {
	initFuel int64  // the fuel global's initial value (instantiation budget)
	maxDepth uint32 // deepest allowed call nesting
	maxPages uint32 // memory maximum written into the memory section
	// trackWrites adds the write tracker (trackPages).
	trackWrites bool
}

// instrumented is the result of rewriting a module.
type instrumented struct {
	code          []byte   // the rewritten module
	globalExports []string // export names of the module's mutable globals
	mutatesTables bool     // code mutates tables or drops data segments
	tracked       bool     // the write tracker was added
}

// The write tracker. With instrumentOptions.trackWrites, every store and
// every bulk memory write (memory.fill, memory.copy, memory.init) records
// the 4 KiB pages it writes in globals, so the reset after a call copies
// those pages from the snapshot and nothing else, without asking the
// kernel (instance.reset). A store first compares its page with the last
// page recorded (one global, the common case: the same stack page again)
// and only otherwise calls the added function $mark, which records the
// page in one of trackSlots slot globals, or sets the count to
// trackOverflow when they are full: the reset then falls back to the
// whole-memory ways. A store that straddles a page boundary writes at
// most 15 bytes past its page; the reset copies trackSlack bytes more than
// each page for that. The tracking does not charge fuel and does not
// change what the guest computes: only which bytes the reset copies.
const (
	trackShift    = 12 // 4 KiB pages
	trackSlots    = 8
	trackOverflow = trackSlots + 1
	trackSlack    = 16
)

// trackIndexes are the indexes the tracking code refers to.
type trackIndexes struct {
	last, n, slot0  uint32 // globals
	mark, markRange uint32 // functions
}

// instrument rewrites a parsed module for metering:
//   - a mutable i64 global (exported as cairn.fuel) is decremented at every
//     function entry by the function's straight-line cost and at every loop
//     header by the loop body's cost; a negative value traps;
//   - a mutable i32 global (exported as cairn.depth) counts call nesting: it
//     is incremented in every function's prologue, trapping above maxDepth,
//     and decremented on every exit (the body is wrapped in a block whose
//     label `return` is rewritten to branch to);
//   - every defined mutable global is exported so the runtime can snapshot
//     and restore it;
//   - the memory maximum is clamped to maxPages;
//   - the start section is replaced by an export (cairn.start) the runtime
//     calls right after instantiation, as the start section would.
func instrument(m *parsedModule, opt instrumentOptions) (*instrumented, error) {
	out := &instrumented{}
	nGlobals := uint32(len(m.globals)) // no global imports are allowed
	fuelIdx, depthIdx := nGlobals, nGlobals+1
	var track *trackIndexes
	if opt.trackWrites && m.memory != nil && len(m.codeBodies) > 0 {
		nf := uint32(m.importFuncs + len(m.funcs))
		track = &trackIndexes{last: nGlobals + 2, n: nGlobals + 3, slot0: nGlobals + 4, mark: nf, markRange: nf + 1}
		out.tracked = true
	}
	addedGlobals := uint32(2)
	if track != nil {
		addedGlobals += 2 + trackSlots
	}

	// Wrapper block types for multi-value results need a [] -> results type.
	types := m.types
	blockTypeFor := func(ft funcType) []byte {
		switch len(ft.results) {
		case 0:
			return []byte{0x40}
		case 1:
			return []byte{ft.results[0]}
		}
		want := funcType{results: ft.results}
		for i, t := range types {
			if t.equal(want) {
				return appendS64(nil, int64(i))
			}
		}
		types = append(types, want)
		return appendS64(nil, int64(len(types)-1))
	}
	typeIndex := func(want funcType) uint32 {
		for i, t := range types {
			if t.equal(want) {
				return uint32(i)
			}
		}
		types = append(types, want)
		return uint32(len(types) - 1)
	}
	var markType, markRangeType uint32
	if track != nil {
		markType = typeIndex(funcType{params: []byte{valI32}})
		markRangeType = typeIndex(funcType{params: []byte{valI32, valI32}})
	}

	bodies := make([][]byte, len(m.codeBodies))
	for i, body := range m.codeBodies {
		ti := m.funcs[i]
		if int(ti) >= len(m.types) {
			return nil, fmt.Errorf("function %d: type index out of range", i)
		}
		nb, flags, err := instrumentBody(body, blockTypeFor(m.types[ti]), fuelIdx, depthIdx, opt.maxDepth,
			track, uint32(len(m.types[ti].params)))
		if err != nil {
			return nil, fmt.Errorf("function %d: %w", m.importFuncs+i, err)
		}
		if flags != 0 {
			out.mutatesTables = true
		}
		bodies[i] = nb
	}

	var code []byte
	code = append(code, "\x00asm\x01\x00\x00\x00"...)
	emit := func(id byte, body []byte) {
		code = append(code, id)
		code = appendU32(code, uint32(len(body)))
		code = append(code, body...)
	}
	have := map[byte]bool{}
	for _, s := range m.sections {
		have[s.id] = true
	}
	// Synthesize the sections the rewrite needs when the module lacks them,
	// in their canonical positions.
	var sections []section
	for _, s := range m.sections {
		if s.id != secCustom {
			for _, missing := range []byte{secType, secGlobal, secExport} {
				if !have[missing] && order(missing) < order(s.id) {
					sections = append(sections, section{id: missing})
					have[missing] = true
				}
			}
		}
		sections = append(sections, s)
	}
	for _, missing := range []byte{secType, secGlobal, secExport} {
		if !have[missing] {
			sections = append(sections, section{id: missing})
		}
	}
	for _, s := range sections {
		switch s.id {
		case secType:
			var b []byte
			b = appendU32(b, uint32(len(types)))
			for _, t := range types {
				b = append(b, 0x60)
				b = appendU32(b, uint32(len(t.params)))
				b = append(b, t.params...)
				b = appendU32(b, uint32(len(t.results)))
				b = append(b, t.results...)
			}
			emit(secType, b)
		case secMemory:
			var b []byte
			if m.memory == nil {
				emit(secMemory, s.body)
				continue
			}
			max := opt.maxPages
			if m.memory.hasMax && m.memory.max < max {
				max = m.memory.max
			}
			b = appendU32(b, 1)
			b = append(b, 1)
			b = appendU32(b, m.memory.min)
			b = appendU32(b, max)
			emit(secMemory, b)
		case secGlobal:
			var b []byte
			b = appendU32(b, nGlobals+addedGlobals)
			for _, g := range m.globals {
				b = append(b, g.valType)
				if g.mutable {
					b = append(b, 1)
				} else {
					b = append(b, 0)
				}
				b = append(b, g.init...)
			}
			b = append(b, valI64, 1, opI64Const)
			b = appendS64(b, opt.initFuel)
			b = append(b, opEnd)
			b = append(b, valI32, 1, opI32Const, 0, opEnd)
			if track != nil {
				b = append(b, valI32, 1, opI32Const, 0x7F, opEnd) // last: -1, no page
				for range 1 + trackSlots {                        // n, the slots
					b = append(b, valI32, 1, opI32Const, 0, opEnd)
				}
			}
			emit(secGlobal, b)
		case secExport:
			var b []byte
			n := len(m.exports) + int(addedGlobals)
			if m.start >= 0 {
				n++
			}
			for _, g := range m.globals {
				if g.mutable {
					n++
				}
			}
			b = appendU32(b, uint32(n))
			for _, e := range m.exports {
				b = appendName(b, e.name)
				b = append(b, e.kind)
				b = appendU32(b, e.index)
			}
			for i, g := range m.globals {
				if g.mutable {
					name := fmt.Sprintf("%s%d", exportGlobal, i)
					out.globalExports = append(out.globalExports, name)
					b = appendName(b, name)
					b = append(b, 3)
					b = appendU32(b, uint32(i))
				}
			}
			if m.start >= 0 {
				b = appendName(b, exportStart)
				b = append(b, 0)
				b = appendU32(b, uint32(m.start))
			}
			b = appendName(b, exportFuel)
			b = append(b, 3)
			b = appendU32(b, fuelIdx)
			b = appendName(b, exportDepth)
			b = append(b, 3)
			b = appendU32(b, depthIdx)
			if track != nil {
				b = appendName(b, exportTrackLast)
				b = append(b, 3)
				b = appendU32(b, track.last)
				b = appendName(b, exportTrackN)
				b = append(b, 3)
				b = appendU32(b, track.n)
				for i := range uint32(trackSlots) {
					b = appendName(b, fmt.Sprintf("%s%d", exportTrackPage, i))
					b = append(b, 3)
					b = appendU32(b, track.slot0+i)
				}
			}
			emit(secExport, b)
		case secFunction:
			if track == nil {
				emit(secFunction, s.body)
				continue
			}
			b := appendU32(nil, uint32(len(m.funcs)+2))
			for _, ti := range m.funcs {
				b = appendU32(b, ti)
			}
			b = appendU32(b, markType)
			b = appendU32(b, markRangeType)
			emit(secFunction, b)
		case secCode:
			var b []byte
			if track != nil {
				bodies = append(bodies, markBody(track), markRangeBody(track))
			}
			b = appendU32(b, uint32(len(bodies)))
			for _, body := range bodies {
				b = appendU32(b, uint32(len(body)))
				b = append(b, body...)
			}
			emit(secCode, b)
		case secStart:
			// Dropped: the runtime calls the start function through its
			// export, so a trap in it can be classified from the counters.
		default:
			emit(s.id, s.body)
		}
	}
	out.code = code
	return out, nil
}

// Fixed costs charged in addition to the counted instructions.
const (
	costCall = 4 // function entry (the prologue itself)
	costLoop = 1 // loop header
)

// appendCharge emits code that subtracts cost from the fuel global and
// traps when the result is negative.
func appendCharge(b []byte, fuelIdx uint32, cost int64) []byte {
	b = append(b, opGlobalGet)
	b = appendU32(b, fuelIdx)
	b = append(b, opI64Const)
	b = appendS64(b, cost)
	b = append(b, opI64Sub, opGlobalSet)
	b = appendU32(b, fuelIdx)
	b = append(b, opGlobalGet)
	b = appendU32(b, fuelIdx)
	b = append(b, opI64Const, 0, opI64LtS, opIf, 0x40, opUnreachable, opEnd)
	return b
}

// markBody is $mark (param $p i32): it makes $p the last page, and
// records it in the first free slot unless a slot holds it already; with
// every slot taken it sets the count to trackOverflow.
func markBody(t *trackIndexes) []byte {
	b := []byte{0} // no locals
	b = append(b, opLocalGet, 0)
	b = appendIdx(b, opGlobalSet, t.last)
	b = appendIdx(b, opGlobalGet, t.n)
	b = append(b, opI32Const, trackSlots, opI32GtU, opIf, 0x40, opReturn, opEnd)
	for i := range uint32(trackSlots) {
		// n > i && slot[i] == p: recorded already.
		b = appendIdx(b, opGlobalGet, t.n)
		b = append(b, opI32Const, byte(i), opI32GtU, opLocalGet, 0)
		b = appendIdx(b, opGlobalGet, t.slot0+i)
		b = append(b, opI32Eq, opI32And, opIf, 0x40, opReturn, opEnd)
	}
	for i := range uint32(trackSlots) {
		// n == i: slot[i] = p, n = i+1.
		b = appendIdx(b, opGlobalGet, t.n)
		b = append(b, opI32Const, byte(i), opI32Eq, opIf, 0x40, opLocalGet, 0)
		b = appendIdx(b, opGlobalSet, t.slot0+i)
		b = append(b, opI32Const, byte(i+1))
		b = appendIdx(b, opGlobalSet, t.n)
		b = append(b, opReturn, opEnd)
	}
	b = append(b, opI32Const, trackOverflow)
	b = appendIdx(b, opGlobalSet, t.n)
	return append(b, opEnd)
}

// markRangeBody is $markRange (param $d i32) (param $len i32): it records
// the pages of [d, d+len) through $mark, or overflows when they are more
// than the slots.
func markRangeBody(t *trackIndexes) []byte {
	const d, n, p, e = 0, 1, 2, 3
	b := []byte{1, 2, valI32} // locals $p, $e
	b = append(b, opLocalGet, n, opI32Eqz, opIf, 0x40, opReturn, opEnd)
	b = append(b, opLocalGet, d, opI32Const, trackShift, opI32ShrU, opLocalSet, p)
	// e = (d + len - 1) >> shift, computed in 64 bits.
	b = append(b, opLocalGet, d, opI64ExtendU, opLocalGet, n, opI64ExtendU, opI64Add,
		opI64Const, 1, opI64Sub, opI64Const, trackShift, opI64ShrU, opI32WrapI64, opLocalSet, e)
	// More pages than slots: overflow.
	b = append(b, opLocalGet, e, opLocalGet, p, opI32Sub, opI32Const, trackSlots, opI32GeU,
		opIf, 0x40, opI32Const, trackOverflow)
	b = appendIdx(b, opGlobalSet, t.n)
	b = append(b, opReturn, opEnd)
	// for { mark(p); if p == e { break }; p++ }
	b = append(b, opBlock, 0x40, opLoop, 0x40, opLocalGet, p)
	b = appendIdx(b, opCall, t.mark)
	b = append(b, opLocalGet, p, opLocalGet, e, opI32Eq, opBrIf, 1,
		opLocalGet, p, opI32Const, 1, opI32Add, opLocalSet, p, opBr, 0, opEnd, opEnd, opEnd)
	return b
}

// appendIdx appends op and its one index immediate (a local, global or
// function index).
func appendIdx(b []byte, op byte, idx uint32) []byte {
	return appendU32(append(b, op), idx)
}

// storeValType is the type of the value a store instruction writes, or 0
// when op (with SIMD sub-opcode sub) is not a store.
func storeValType(op byte, sub uint32) byte {
	switch op {
	case 0x36, 0x3A, 0x3B: // i32.store, i32.store8, i32.store16
		return valI32
	case 0x37, 0x3C, 0x3D, 0x3E: // i64.store, i64.store8/16/32
		return valI64
	case 0x38:
		return valF32
	case 0x39:
		return valF64
	case 0xFD:
		if sub == 11 || (sub >= 88 && sub <= 91) { // v128.store, v128.storeN_lane
			return valV128
		}
	}
	return 0
}

// instrumentBody rewrites one function body (locals + expression). It
// decodes the expression twice: the first pass counts the instructions in
// each metering scope (the function body outside loops, and each loop's
// body outside nested loops); the second copies the instructions, inserting
// the charges and the depth bookkeeping and turning `return` into a branch
// to the wrapper block.
//
// With track, stores and bulk memory writes also record the pages they
// write (see trackPages): the values are parked in added locals while the
// address's page is computed. nParams is the function's parameter count
// (the added locals come after the parameters and the declared locals).
func instrumentBody(body []byte, blockType []byte, fuelIdx, depthIdx, maxDepth uint32, track *trackIndexes, nParams uint32) ([]byte, opFlags, error) {
	r := &reader{b: body}
	nLocalDecls, err := r.u32()
	if err != nil {
		return nil, 0, err
	}
	declStart := r.pos
	nLocals := uint64(nParams)
	for i := uint32(0); i < nLocalDecls; i++ {
		n, err := r.u32()
		if err != nil {
			return nil, 0, err
		}
		nLocals += uint64(n)
		if _, err := r.byte1(); err != nil {
			return nil, 0, err
		}
	}
	exprStart := r.pos

	// Pass 1: per-scope instruction counts, in the order scopes open.
	var costs []int64
	var scopeStack []int // index into costs of the current scope
	type frame struct{ loop bool }
	var frames []frame
	var flags opFlags
	costs = append(costs, 0)
	scopeStack = append(scopeStack, 0)
	ended := false
	for !r.eof() {
		if ended {
			return nil, 0, errors.New("code after the function's end")
		}
		op, err := r.byte1()
		if err != nil {
			return nil, 0, err
		}
		if op == opGlobalGet || op == opGlobalSet {
			// The module's own globals only: the indexes from fuelIdx on
			// are the rewriter's (fuel, depth, the write tracker), which
			// the module's code must not reach (wazero validates the
			// rewritten module, where they exist).
			if idx, err := (&reader{b: r.b, pos: r.pos}).u32(); err == nil && idx >= fuelIdx {
				return nil, 0, fmt.Errorf("global index %d out of range", idx)
			}
		}
		f, err := skipImmediates(r, op)
		if err != nil {
			return nil, 0, err
		}
		flags |= f
		costs[scopeStack[len(scopeStack)-1]]++
		switch op {
		case opBlock, opIf:
			frames = append(frames, frame{})
		case opLoop:
			frames = append(frames, frame{loop: true})
			costs = append(costs, costLoop)
			scopeStack = append(scopeStack, len(costs)-1)
		case opEnd:
			if len(frames) == 0 {
				ended = true
				continue
			}
			if frames[len(frames)-1].loop {
				scopeStack = scopeStack[:len(scopeStack)-1]
			}
			frames = frames[:len(frames)-1]
		}
	}
	if !ended {
		return nil, 0, errTruncated
	}

	// Pass 2: emit.
	out := make([]byte, 0, len(body)+len(body)/4+64)
	// The tracker's locals: the address, its page, an i32 value (or the
	// second operand of a bulk write) and the length of a bulk write, then
	// one each for an i64, f32, f64 and v128 value.
	var lAddr, lPage, lI32, lLen uint32
	lVal := map[byte]uint32{}
	if track != nil {
		if nLocals+8 > 50000 {
			return nil, 0, errors.New("too many locals")
		}
		base := uint32(nLocals)
		lAddr, lPage, lI32, lLen = base, base+1, base+2, base+3
		lVal[valI32] = lI32
		lVal[valI64], lVal[valF32], lVal[valF64], lVal[valV128] = base+4, base+5, base+6, base+7
		out = appendU32(out, nLocalDecls+5)
		out = append(out, body[declStart:exprStart]...)
		out = append(out, 4, valI32, 1, valI64, 1, valF32, 1, valF64, 1, valV128)
	} else {
		out = append(out, body[:exprStart]...)
	}
	out = appendCharge(out, fuelIdx, costs[0]+costCall)
	out = append(out, opGlobalGet)
	out = appendU32(out, depthIdx)
	out = append(out, opI32Const, 1, opI32Add, opGlobalSet)
	out = appendU32(out, depthIdx)
	out = append(out, opGlobalGet)
	out = appendU32(out, depthIdx)
	out = append(out, opI32Const)
	out = appendS64(out, int64(maxDepth))
	out = append(out, opI32GtU, opIf, 0x40, opUnreachable, opEnd)
	out = append(out, opBlock)
	out = append(out, blockType...)

	r.pos = exprStart
	depth := 0 // open structured instructions inside the original body
	nextScope := 1
	for {
		start := r.pos
		op, _ := r.byte1()
		_, _ = skipImmediates(r, op)
		switch op {
		case opReturn:
			out = append(out, opBr)
			out = appendU32(out, uint32(depth))
			continue
		case opBlock, opIf:
			depth++
		case opLoop:
			depth++
			out = append(out, body[start:r.pos]...)
			out = appendCharge(out, fuelIdx, costs[nextScope])
			nextScope++
			continue
		case 0x36, 0x37, 0x38, 0x39, 0x3A, 0x3B, 0x3C, 0x3D, 0x3E, 0xFD, 0xFC:
			if track == nil {
				break
			}
			ir := &reader{b: body, pos: start + 1}
			var sub uint32
			if op == 0xFD || op == 0xFC {
				sub, _ = ir.u32()
			}
			if op == 0xFC {
				if sub != 8 && sub != 10 && sub != 11 { // memory.init, copy, fill
					break
				}
				// [dst, src or value, len]: record [dst, dst+len).
				out = appendIdx(out, opLocalSet, lLen)
				out = appendIdx(out, opLocalSet, lI32)
				out = appendIdx(out, opLocalTee, lAddr)
				out = appendIdx(out, opLocalGet, lLen)
				out = appendIdx(out, opCall, track.markRange)
				out = appendIdx(out, opLocalGet, lAddr)
				out = appendIdx(out, opLocalGet, lI32)
				out = appendIdx(out, opLocalGet, lLen)
				out = append(out, body[start:r.pos]...)
				continue
			}
			vt := storeValType(op, sub)
			if vt == 0 {
				break
			}
			ir.u32() // alignment
			offset, _ := ir.u32()
			// [addr, value]: record the page of addr+offset. A sum past
			// 4 GiB wraps here, but then the store itself traps.
			out = appendIdx(out, opLocalSet, lVal[vt])
			out = appendIdx(out, opLocalTee, lAddr)
			if offset != 0 {
				out = append(out, opI32Const)
				out = appendS64(out, int64(int32(offset)))
				out = append(out, opI32Add)
			}
			out = append(out, opI32Const, trackShift, opI32ShrU)
			out = appendIdx(out, opLocalTee, lPage)
			out = appendIdx(out, opGlobalGet, track.last)
			out = append(out, opI32Ne, opIf, 0x40)
			out = appendIdx(out, opLocalGet, lPage)
			out = appendIdx(out, opCall, track.mark)
			out = append(out, opEnd)
			out = appendIdx(out, opLocalGet, lAddr)
			out = appendIdx(out, opLocalGet, lVal[vt])
			out = append(out, body[start:r.pos]...)
			continue
		case opEnd:
			if depth == 0 {
				// The function's end: close the wrapper, then the epilogue.
				out = append(out, opEnd, opGlobalGet)
				out = appendU32(out, depthIdx)
				out = append(out, opI32Const, 1, opI32Sub, opGlobalSet)
				out = appendU32(out, depthIdx)
				out = append(out, opEnd)
				return out, flags, nil
			}
			depth--
		}
		out = append(out, body[start:r.pos]...)
	}
}
