//go:build !purego

#include "textflag.h"

// func prefetchLines(p unsafe.Pointer, lines int)
// PREFETCHT0 of lines consecutive 64-byte cache lines from p. A hint
// only: it never faults and changes no result.
TEXT ·prefetchLines(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), AX
	MOVQ lines+8(FP), CX
	TESTQ CX, CX
	JLE pfdone
pfloop:
	PREFETCHT0 (AX)
	ADDQ $64, AX
	DECQ CX
	JNZ pfloop
pfdone:
	RET
