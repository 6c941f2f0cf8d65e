package rdb

import "github.com/cairndb/cairn/server/lzf"

// LZFCompress is lzf.Compress.
func LZFCompress(in []byte, outLen int) []byte { return lzf.Compress(in, outLen) }

// LZFDecompress is lzf.Decompress.
func LZFDecompress(in []byte, outLen int) []byte { return lzf.Decompress(in, outLen) }
