package shard

import "github.com/lni/vfs"

// LargestSnapshot exposes the disk guard's snapshot-size probe.
func LargestSnapshot(fs vfs.FS, dir string) uint64 { return largestSnapshot(fs, dir, 0) }
