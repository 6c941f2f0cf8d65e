package server_test

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/servertest"
)

// ftRedisPy drives redis-py's redis.commands.search against the node:
// create, search with and without filters, info, aliases, drop.
const ftRedisPy = `
import struct, sys
import redis
from redis.commands.search.field import TagField, NumericField, TextField, VectorField
from redis.commands.search.indexDefinition import IndexDefinition, IndexType
from redis.commands.search.query import Query

r = redis.Redis(port=int(sys.argv[1]))
ft = r.ft("py")
ft.create_index([TextField("title"), TagField("color"), NumericField("price", sortable=True),
    VectorField("v", "HNSW", {"TYPE": "FLOAT32", "DIM": 2, "DISTANCE_METRIC": "L2"})],
    definition=IndexDefinition(prefix=["py:"], index_type=IndexType.HASH))
for i in range(10):
    r.hset("py:%d" % i, mapping={"title": "thing %d" % i, "color": ["red", "blue"][i % 2], "price": i, "v": struct.pack("<2f", i, 0)})
q = Query("(@color:{red})=>[KNN 2 @v $vec AS dist]").sort_by("dist").return_fields("dist", "price").dialect(2)
res = ft.search(q, query_params={"vec": struct.pack("<2f", 4.9, 0)})
got = [(d.id, d.price) for d in res.docs]
assert got == [("py:4", "4"), ("py:6", "6")], got
res = ft.search(Query("@price:[2 5] -@color:{blue}").sort_by("price", asc=False).paging(0, 5))
assert res.total == 2 and [d.id for d in res.docs] == ["py:4", "py:2"], res
info = ft.info()
assert info["index_name"] == "py" and int(info["num_docs"]) == 10, info
ft.aliasadd("pyal")
assert r.ft("pyal").search(Query("*").paging(0, 0)).total == 10
ft.dropindex(delete_documents=True)
assert r.exists("py:1") == 0
# Text relevance: TFIDF by default (title WEIGHT 2: world counts 2 in
# pyt:1, whose max term frequency is 3; idf(world) = logb(1+4/2) = 1),
# WITHSCORES and SCORER.
ft2 = r.ft("pyt")
ft2.create_index([TextField("title", weight=2.0), TextField("body")],
    definition=IndexDefinition(prefix=["pyt:"], index_type=IndexType.HASH))
r.hset("pyt:1", mapping={"title": "hello world", "body": "hello there, friend"})
r.hset("pyt:2", mapping={"title": "goodbye", "body": "hello hello hello"})
r.hset("pyt:3", mapping={"title": "other", "body": "world peace"})
res = ft2.search(Query("world").with_scores())
got = [(d.id, round(float(d.score), 4)) for d in res.docs]
assert got == [("pyt:1", 0.6667), ("pyt:3", 0.5)], got
res = ft2.search(Query("world").scorer("BM25").with_scores())
assert [d.id for d in res.docs] == ["pyt:1", "pyt:3"] and res.docs[0].score > res.docs[1].score, res
ft2.dropindex(delete_documents=True)
print("ok")
`

// TestFT_RedisPy runs the redis-py script; it skips when python3 or its
// redis module is missing.
func TestFT_RedisPy(t *testing.T) {
	// The first python3 that has redis-py (Debian's python3-redis lives
	// in /usr/bin/python3's dist-packages, which a pyenv shim on PATH
	// does not see).
	py := ""
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		p, err := exec.LookPath(cand)
		if err == nil && exec.Command(p, "-c", "import redis.commands.search").Run() == nil {
			py = p
			break
		}
	}
	if py == "" {
		t.Skip("no python3 with the redis module (python3-redis): skipping the redis-py FT test")
	}
	n := servertest.Start(t)
	port := n.Addr()[strings.LastIndexByte(n.Addr(), ':')+1:]
	if _, err := strconv.Atoi(port); err != nil {
		t.Fatal(n.Addr())
	}
	out, err := exec.Command(py, "-c", ftRedisPy, port).CombinedOutput()
	if err != nil || strings.TrimSpace(string(out)) != "ok" {
		t.Fatalf("redis-py: %v\n%s", err, out)
	}
}
