package server

import (
	"testing"

	"github.com/lni/vfs"
)

// TestMkdirSyncedSurvivesPowerLoss: a data directory created by Start
// must still exist after a power cut that forgets every unsynced change.
func TestMkdirSyncedSurvivesPowerLoss(t *testing.T) {
	fs := vfs.NewStrictMem()
	if err := mkdirSynced(fs, "/var/lib/cairn/data"); err != nil {
		t.Fatal(err)
	}
	if err := mkdirSynced(fs, "/var/lib/cairn/data"); err != nil {
		t.Fatal("existing dir:", err)
	}
	fs.ResetToSyncedState()
	if _, err := fs.Stat("/var/lib/cairn/data"); err != nil {
		t.Fatalf("data dir lost at power cut: %v", err)
	}

	// Without the directory fsyncs the same cut loses it (the test can
	// tell the difference).
	fs.MkdirAll("/var/lib/other/data", 0o755)
	fs.ResetToSyncedState()
	if _, err := fs.Stat("/var/lib/other"); err == nil {
		t.Fatal("strict FS kept an unsynced directory")
	}
}
