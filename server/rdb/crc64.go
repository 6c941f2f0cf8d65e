package rdb

import "hash/crc64"

// jonesPoly is the Jones CRC-64 polynomial (0xad93d23594c935a9) in the
// reflected form hash/crc64 expects.
const jonesPoly = 0x95ac9329ac4bc9b5

var jonesTable = crc64.MakeTable(jonesPoly)

// CRC64 extends crc with p using Redis's CRC-64 (Jones polynomial,
// reflected, initial value 0, no final xor), as src/crc64.c computes it.
// CRC64(0, []byte("123456789")) is 0xe9c6d914c4b8d9ca.
func CRC64(crc uint64, p []byte) uint64 {
	// hash/crc64 inverts the register on entry and exit; undo both so the
	// register starts at crc and is returned as is.
	return ^crc64.Update(^crc, jonesTable, p)
}
