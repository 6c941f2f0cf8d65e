package server

import "time"

// SetBackupIntervals shortens the archiver's polling and the backup
// schedule's checks (tests).
func SetBackupIntervals(c *Config, archive, check time.Duration) {
	c.archiveInterval, c.backupCheckInterval = archive, check
}
