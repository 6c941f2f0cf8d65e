package shard

// newerSnapshot tells whether a state-machine snapshot header names a
// format newer than snapHeader ("CAIRNSM" and a version digit), which a
// newer binary wrote: this binary must stop, not guess.
func newerSnapshot(hdr []byte) bool {
	n := len(snapHeader)
	return len(hdr) == n && string(hdr[:n-1]) == snapHeader[:n-1] && hdr[n-1] > snapHeader[n-1] && hdr[n-1] <= '9'
}
