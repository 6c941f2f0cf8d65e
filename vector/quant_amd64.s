//go:build !purego

#include "textflag.h"

// func dotQ8Sum(a, b []int8) int32
//
// The integer dot product of the first len(a)/16*16 components, 16 a
// step: PUNPCKLBW/PUNPCKHBW of a register with itself and PSRAW $8
// sign-extend the bytes to int16 lanes, PMADDWD (PMADDWL in Go's
// assembler) multiplies lanes and adds pairs into four int32
// accumulators. All of it is SSE2, part of the amd64 baseline, and
// integer arithmetic is exact, so the result equals dotQ8Go's on every
// CPU whatever the order of the sums.
TEXT ·dotQ8Sum(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	PXOR X0, X0
	SHRQ $4, CX
	JZ q8done
q8loop:
	MOVOU 0(SI), X1
	MOVOU 0(DI), X2
	MOVO X1, X3
	MOVO X2, X4
	PUNPCKLBW X1, X1
	PUNPCKHBW X3, X3
	PUNPCKLBW X2, X2
	PUNPCKHBW X4, X4
	PSRAW $8, X1
	PSRAW $8, X3
	PSRAW $8, X2
	PSRAW $8, X4
	PMADDWL X2, X1
	PMADDWL X4, X3
	PADDL X1, X0
	PADDL X3, X0
	ADDQ $16, SI
	ADDQ $16, DI
	DECQ CX
	JNZ q8loop
q8done:
	PSHUFD $0x4E, X0, X1
	PADDL X1, X0
	PSHUFD $0xB1, X0, X1
	PADDL X1, X0
	MOVQ X0, AX
	MOVL AX, ret+48(FP)
	RET
