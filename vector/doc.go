// Package vector is Cairn's vector-search engine: FLAT (exact) and HNSW
// (approximate) nearest-neighbour indexes over float32 vectors keyed by
// string, the distance metrics RediSearch reports (squared L2, 1-dot,
// 1-cosine), decoding of FLOAT32/FLOAT64/FLOAT16/BFLOAT16 blobs, filtered
// KNN and range queries, copy-on-write snapshots with a versioned codec,
// and a graph digest for comparing replicas.
//
// The package does no network and no file I/O (only io.Reader/io.Writer
// codecs) and nothing non-deterministic: the same sequence of calls
// produces the same graph, bit for bit, on every replica. See DESIGN.md.
package vector
