//go:build !purego

package vector

import "unsafe"

// prefetchLines asks the CPU to load lines cache lines from p into its
// caches (prefetch_amd64.s). It is only a hint: no fault, no result
// changes, so determinism is unaffected.
//
//go:noescape
func prefetchLines(p unsafe.Pointer, lines int)
