package raftnet

import (
	"bytes"
	"net"
	"testing"

	"github.com/lni/dragonboat/v4/config"
	pb "github.com/lni/dragonboat/v4/raftpb"
)

// FuzzServe feeds arbitrary bytes to the receiving side: whatever a peer
// sends, the transport delivers only well-formed messages and never
// panics.
func FuzzServe(f *testing.F) {
	frame := func(method uint16, payload []byte) []byte {
		b := make([]byte, frameHead+len(payload))
		copy(b[frameHead:], payload)
		putFrameHead(b, method, b[frameHead:], false)
		return b
	}
	batch := pb.MessageBatch{SourceAddress: "a:1", Requests: []pb.Message{{Type: pb.Replicate, ShardID: 1, Entries: []pb.Entry{{Index: 1, Cmd: []byte("x")}}}}}
	bb, _ := batch.Marshal()
	chunk := pb.Chunk{ShardID: 1, ChunkCount: 1, Data: []byte("d")}
	cb, _ := chunk.Marshal()
	f.Add(frame(methodRaft, bb))
	f.Add(append(frame(methodChunk, cb), 0, 0))
	f.Add(frame(methodRaft, []byte{0xff, 0xff, 0xff}))
	f.Add([]byte{0xAE, 0x7D, 0, 100})
	f.Fuzz(func(t *testing.T, in []byte) {
		tr := Factory{}.Create(config.NodeHostConfig{}, func(pb.MessageBatch) {}, func(pb.Chunk) bool { return true }).(*Transport)
		a, b := net.Pipe()
		go func() {
			a.Write(in)
			a.Close()
		}()
		done := make(chan struct{})
		go func() {
			// Answer the poison acknowledgement if one is written.
			var sink bytes.Buffer
			buf := make([]byte, 16)
			for {
				n, err := a.Read(buf)
				sink.Write(buf[:n])
				if err != nil {
					close(done)
					return
				}
			}
		}()
		tr.serve(b)
		b.Close()
		<-done
	})
}
