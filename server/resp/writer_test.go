package resp

import (
	"testing"

	"github.com/cairndb/cairn/server/reply"
)

// TestByProto: a KindByProto reply is its RESP2 form for RESP2 clients and
// its RESP3 form for RESP3 clients, also nested, and survives the log codec.
func TestByProto(t *testing.T) {
	v := reply.Array(reply.ByProto(
		reply.Array(reply.Int(1), reply.BulkString("k")),
		reply.Map(reply.BulkString("total_results"), reply.Int(1)),
	))
	if got, want := string(AppendValue(nil, v, 2)), "*1\r\n*2\r\n:1\r\n$1\r\nk\r\n"; got != want {
		t.Fatalf("RESP2 %q, want %q", got, want)
	}
	if got, want := string(AppendValue(nil, v, 3)), "*1\r\n%1\r\n$13\r\ntotal_results\r\n:1\r\n"; got != want {
		t.Fatalf("RESP3 %q, want %q", got, want)
	}
	if got := v.RESP2(); !reply.Equal(got, reply.Array(reply.Array(reply.Int(1), reply.BulkString("k")))) {
		t.Fatalf("Value.RESP2 %v", got)
	}
	dec, rest, err := reply.Decode(reply.Append(nil, v))
	if err != nil || len(rest) != 0 || !reply.Equal(dec, v) {
		t.Fatalf("codec round trip: %v %v", dec, err)
	}
}
