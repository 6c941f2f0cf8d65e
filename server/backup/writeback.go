package backup

import (
	"os"

	"golang.org/x/sys/unix"
)

// Writeback. A backup writes its snapshot file (~115 MB for 1M keys) far
// faster than the disk takes it; left to itself the kernel queues it all
// as dirty pages and the final fsync pushes it in one burst, during which
// the Raft log's fsyncs (every durable write waits on one) queue behind
// it. Like RocksDB's bytes_per_sync, the file is written back as it goes:
// after every writebackStep bytes the kernel is told to start writing
// that range (sync_file_range WRITE, which does not wait), and the range
// before it is waited for, so at most two steps are ever dirty and the
// disk sees a steady trickle. Waiting blocks the backup goroutine only.

// writebackStep is how much is written between writeback requests.
const writebackStep = 4 << 20

// trickleFile is an *os.File written front to back with writeback as it
// goes. Sync still makes the whole file durable.
type trickleFile struct {
	*os.File
	off     int64 // bytes written
	started int64 // writeback requested up to here
	waited  int64 // written back up to here
	failed  bool  // sync_file_range unsupported: plain writes
}

func (t *trickleFile) Write(p []byte) (int, error) {
	n, err := t.File.Write(p)
	t.off += int64(n)
	if !t.failed && t.off-t.started >= writebackStep {
		fd := int(t.File.Fd())
		// Wait for the previous step (started a step ago), then start
		// this one.
		if t.started > t.waited {
			if e := unix.SyncFileRange(fd, t.waited, t.started-t.waited,
				unix.SYNC_FILE_RANGE_WAIT_BEFORE|unix.SYNC_FILE_RANGE_WRITE|unix.SYNC_FILE_RANGE_WAIT_AFTER); e != nil {
				t.failed = true
			}
			t.waited = t.started
		}
		if e := unix.SyncFileRange(fd, t.started, t.off-t.started, unix.SYNC_FILE_RANGE_WRITE); e != nil {
			t.failed = true
		}
		t.started = t.off
	}
	return n, err
}
