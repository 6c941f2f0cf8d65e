//go:build !purego

#include "textflag.h"

// Sixteen float32 accumulators in X0..X3: lane k of Xj is accumulator
// 4*j+k, which sums the terms of indexes i with i%16 == 4*j+k. SUBPS,
// MULPS and ADDPS round each operation exactly as the scalar code does.

// func l2Sum(a, b []float32) float32
TEXT ·l2Sum(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
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
	// reduce16: w=8 (X0 += X2, X1 += X3), w=4 (X0 += X1), w=2 (lanes
	// 0,1 += lanes 2,3), w=1 (lane 0 += lane 1). IEEE addition is
	// commutative, so a+b here equals b+a in reduce16.
	ADDPS X2, X0
	ADDPS X3, X1
	ADDPS X1, X0
	MOVAPS X0, X1
	MOVHLPS X0, X1
	ADDPS X1, X0
	MOVAPS X0, X1
	SHUFPS $0x55, X1, X1
	ADDSS X1, X0
	MOVSS X0, ret+48(FP)
	RET

// func dotSum(a, b []float32) float32
TEXT ·dotSum(SB), NOSPLIT, $0-52
	MOVQ a_base+0(FP), SI
	MOVQ a_len+8(FP), CX
	MOVQ b_base+24(FP), DI
	XORPS X0, X0
	XORPS X1, X1
	XORPS X2, X2
	XORPS X3, X3
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
	// reduce16: w=8 (X0 += X2, X1 += X3), w=4 (X0 += X1), w=2 (lanes
	// 0,1 += lanes 2,3), w=1 (lane 0 += lane 1). IEEE addition is
	// commutative, so a+b here equals b+a in reduce16.
	ADDPS X2, X0
	ADDPS X3, X1
	ADDPS X1, X0
	MOVAPS X0, X1
	MOVHLPS X0, X1
	ADDPS X1, X0
	MOVAPS X0, X1
	SHUFPS $0x55, X1, X1
	ADDSS X1, X0
	MOVSS X0, ret+48(FP)
	RET
