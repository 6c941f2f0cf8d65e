// Package slot computes Redis Cluster hash slots: CRC16 (XMODEM) of the key,
// or of its {hash tag}, modulo 16384.
package slot

// Count is the number of hash slots.
const Count = 16384

var table [256]uint16

func init() {
	for i := range table {
		crc := uint16(i) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
		table[i] = crc
	}
}

// CRC16 returns the CRC16-XMODEM checksum of b, as Redis Cluster uses it.
func CRC16(b []byte) uint16 {
	var crc uint16
	for _, c := range b {
		crc = crc<<8 ^ table[byte(crc>>8)^c]
	}
	return crc
}

// Of returns the hash slot of key, honouring hash tags: if the key holds a
// '{' followed later by a '}' with at least one byte between them, only
// those bytes are hashed.
func Of(key []byte) uint16 {
	return CRC16(tag(key)) & (Count - 1)
}

// OfString is Of for a string key.
func OfString(key string) uint16 {
	for i := 0; i < len(key); i++ {
		if key[i] == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j == i+1 {
						break
					}
					key = key[i+1 : j]
					goto hash
				}
			}
			break
		}
	}
hash:
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc = crc<<8 ^ table[byte(crc>>8)^key[i]]
	}
	return crc & (Count - 1)
}

func tag(key []byte) []byte {
	for i, c := range key {
		if c == '{' {
			for j := i + 1; j < len(key); j++ {
				if key[j] == '}' {
					if j == i+1 {
						return key
					}
					return key[i+1 : j]
				}
			}
			return key
		}
	}
	return key
}
