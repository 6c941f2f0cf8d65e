package ft

import (
	"math"
	"reflect"
	"testing"

	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
)

// TestAggDocsWire: FT._AGGROWS's documents survive the wire exactly
// (distances bit for bit, the LOAD * hash in order, fields by name).
func TestAggDocsWire(t *testing.T) {
	docs := []AggDoc{
		{Key: "a", Dist: search.Dists{{Name: "__v_score", D: 1.1}, {Name: "r", D: math.SmallestNonzeroFloat32}}, Fields: map[string]string{"n": "3", "tag": ""}},
		{Key: "b", Dist: search.Dists{{Name: "__v_score", D: math.MaxFloat32}}, All: [][2]string{{"z", "1"}, {"a", "\x00\xff"}}},
		{Key: "c"},
	}
	enc := reply.Append(nil, encodeDocs("__v_score", docs))
	v, rest, err := reply.Decode(enc)
	if err != nil || len(rest) != 0 {
		t.Fatalf("decode: %v (%d left)", err, len(rest))
	}
	score, got, err := DecodeAggDocs(v)
	if err != nil || score != "__v_score" || !reflect.DeepEqual(got, docs) {
		t.Fatalf("round trip: %q %+v %v\nwant %+v", score, got, err, docs)
	}
	if _, _, err := DecodeAggDocs(reply.Array(reply.BulkString("x"))); err == nil {
		t.Fatal("a malformed reply decoded")
	}
}

// TestAggMergeRun: shards' documents merge as one index orders them (KNN:
// the K nearest by distance then key; otherwise by key), and the pipeline
// then runs over the merge as on one node.
func TestAggMergeRun(t *testing.T) {
	args := split("FT.AGGREGATE idx * PARAMS 2 q xxxx GROUPBY 1 @t REDUCE AVG 1 @n AS avg SORTBY 2 @avg DESC")
	args[2] = []byte("*=>[KNN 3 @v $q]")
	knn, err := ParseAggregate(args)
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"t", "n"}; !reflect.DeepEqual(knn.need, want) {
		t.Fatalf("need %v, want %v", knn.need, want)
	}
	d := func(key string, dist float32, tag, n string) AggDoc {
		return AggDoc{Key: key, Dist: search.Dists{{Name: "__v_score", D: dist}}, Fields: map[string]string{"t": tag, "n": n}}
	}
	parts := [][]AggDoc{
		{d("k2", 0.5, "x", "1"), d("k9", 2, "y", "100")},
		{d("k1", 0.5, "y", "7"), d("k3", 1, "x", "4")},
		{},
	}
	m := knn.Merge("__v_score", parts)
	var keys []string
	for _, x := range m {
		keys = append(keys, x.Key)
	}
	if want := []string{"k1", "k2", "k3"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("KNN merge %v, want %v", keys, want)
	}
	// y: 7; x: (1+4)/2.
	want := reply.Array(reply.Int(2),
		reply.Array(reply.BulkString("t"), reply.BulkString("y"), reply.BulkString("avg"), reply.BulkString("7")),
		reply.Array(reply.BulkString("t"), reply.BulkString("x"), reply.BulkString("avg"), reply.BulkString("2.5")))
	if got := knn.Run(m); !reply.Equal(got.Elems[0], want) {
		t.Fatalf("pipeline: %v, want %v", got.Elems[0], want)
	}
	flt, err := ParseAggregate(split("FT.AGGREGATE idx @t:{x|y} LOAD 1 @n"))
	if err != nil {
		t.Fatal(err)
	}
	keys = nil
	for _, x := range flt.Merge("", parts) {
		keys = append(keys, x.Key)
	}
	if want := []string{"k1", "k2", "k3", "k9"}; !reflect.DeepEqual(keys, want) {
		t.Fatalf("filter merge %v, want %v", keys, want)
	}
}

// TestAggNeed: a shard sends the fields the pipeline reads from documents:
// LOAD'ed ones wherever LOAD stands, and the @names read before the first
// GROUPBY (its own keys and reducer arguments included); after it rows
// have no document.
func TestAggNeed(t *testing.T) {
	p, err := ParseAggregate(split("FT.AGGREGATE idx * APPLY @a+@b AS x FILTER @x>@c SORTBY 2 @d DESC " +
		"GROUPBY 2 @x @e REDUCE SUM 1 @f REDUCE COUNT 0 APPLY @g AS h SORTBY 1 @k LOAD 1 @l"))
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"a", "b", "x", "c", "d", "e", "f", "l"}; !reflect.DeepEqual(p.need, want) {
		t.Fatalf("need %v, want %v", p.need, want)
	}
}
