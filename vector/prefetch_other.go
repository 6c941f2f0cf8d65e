//go:build !amd64 || purego

package vector

import "unsafe"

// prefetchLines is a no-op where there is no prefetch kernel.
func prefetchLines(p unsafe.Pointer, lines int) {}
