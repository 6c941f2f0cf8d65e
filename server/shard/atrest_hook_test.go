package shard

import (
	"bytes"
	"os"

	"github.com/cairndb/cairn/server/atrest"
)

// CAIRN_TEST_ATREST=1 runs the package's tests with every host's files
// encrypted at rest (HostConfig.Encryption), over the OS or the tests'
// in-memory and fault-injecting file systems alike:
//
//	CAIRN_TEST_ATREST=1 go test -run 'PowerLoss|Restart|Snapshot' ./server/shard/
func init() {
	if os.Getenv("CAIRN_TEST_ATREST") != "1" {
		return
	}
	k, err := atrest.NewKeyring(map[uint32][]byte{1: bytes.Repeat([]byte{7}, atrest.KeySize)})
	if err != nil {
		panic(err)
	}
	testEncryption = k
}

// AtRestTests reports whether the tests run encrypted (CAIRN_TEST_ATREST).
func AtRestTests() bool { return testEncryption != nil }
