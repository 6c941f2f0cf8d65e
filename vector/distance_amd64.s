//go:build !purego

#include "textflag.h"

// Sixteen float32 accumulators in X0..X3: lane k of Xj is accumulator
// 4*j+k, which sums the terms of indexes i with i%16 == 4*j+k. SUBPS,
// MULPS and ADDPS round each operation exactly as the scalar code does.

// func l2Lanes(a, b []float32, acc *[16]float32)
TEXT ·l2Lanes(SB), NOSPLIT, $0-56
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	MOVQ acc+48(FP), DX
	MOVUPS 0(DX), X0
	MOVUPS 16(DX), X1
	MOVUPS 32(DX), X2
	MOVUPS 48(DX), X3
	SHRQ $4, CX
	JZ l2done
l2loop:
	MOVUPS 0(SI), X4
	MOVUPS 16(SI), X5
	MOVUPS 32(SI), X6
	MOVUPS 48(SI), X7
	MOVUPS 0(DI), X8
	MOVUPS 16(DI), X9
	MOVUPS 32(DI), X10
	MOVUPS 48(DI), X11
	SUBPS X8, X4
	SUBPS X9, X5
	SUBPS X10, X6
	SUBPS X11, X7
	MULPS X4, X4
	MULPS X5, X5
	MULPS X6, X6
	MULPS X7, X7
	ADDPS X4, X0
	ADDPS X5, X1
	ADDPS X6, X2
	ADDPS X7, X3
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ l2loop
l2done:
	MOVUPS X0, 0(DX)
	MOVUPS X1, 16(DX)
	MOVUPS X2, 32(DX)
	MOVUPS X3, 48(DX)
	RET

// func dotLanes(a, b []float32, acc *[16]float32)
TEXT ·dotLanes(SB), NOSPLIT, $0-56
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	MOVQ acc+48(FP), DX
	MOVUPS 0(DX), X0
	MOVUPS 16(DX), X1
	MOVUPS 32(DX), X2
	MOVUPS 48(DX), X3
	SHRQ $4, CX
	JZ dotdone
dotloop:
	MOVUPS 0(SI), X4
	MOVUPS 16(SI), X5
	MOVUPS 32(SI), X6
	MOVUPS 48(SI), X7
	MOVUPS 0(DI), X8
	MOVUPS 16(DI), X9
	MOVUPS 32(DI), X10
	MOVUPS 48(DI), X11
	MULPS X8, X4
	MULPS X9, X5
	MULPS X10, X6
	MULPS X11, X7
	ADDPS X4, X0
	ADDPS X5, X1
	ADDPS X6, X2
	ADDPS X7, X3
	ADDQ $64, SI
	ADDQ $64, DI
	DECQ CX
	JNZ dotloop
dotdone:
	MOVUPS X0, 0(DX)
	MOVUPS X1, 16(DX)
	MOVUPS X2, 32(DX)
	MOVUPS X3, 48(DX)
	RET
