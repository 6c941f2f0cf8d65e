package server_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/servertest"
)

func vsetVec(i int) []any {
	return []any{"VALUES", 3, float64(i%7) + 0.5, float64(i%5) - 2, float64(i % 3)}
}

// TestVSet_GoRedis drives the vector-set commands through go-redis's Do
// with RESP2 and RESP3, and checks they are keys like any other: TYPE,
// OBJECT ENCODING, EXPIRE, RENAME, MULTI, DEL, FLUSHALL.
func TestVSet_GoRedis(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	for _, proto := range []int{2, 3} {
		t.Run(fmt.Sprint("RESP", proto), func(t *testing.T) {
			c := n.Client(t, func(o *redis.Options) { o.Protocol = proto })
			c.FlushAll(ctx)
			do := func(want any, args ...any) {
				t.Helper()
				got, err := c.Do(ctx, args...).Result()
				if err != nil {
					got = "error: " + err.Error()
				}
				if !reflect.DeepEqual(got, want) {
					t.Errorf("%v: got %#v, want %#v", args, got, want)
				}
			}
			yes, no := any(int64(1)), any(int64(0))
			if proto == 3 {
				yes, no = true, false
			}
			do(yes, "VADD", "vs", "VALUES", 2, 1, 0, "a", "NOQUANT", "SETATTR", `{"n": 1}`)
			do(yes, "VADD", "vs", "VALUES", 2, 0, 1, "b", "NOQUANT", "SETATTR", `{"n": 2}`)
			do(no, "VADD", "vs", "VALUES", 2, 1, 0, "a", "NOQUANT")
			do("vectorset", "TYPE", "vs")
			do("raw", "OBJECT", "ENCODING", "vs")
			do(int64(2), "VCARD", "vs")
			do([]any{"a", "b"}, "VSIM", "vs", "ELE", "a")
			scores := any([]any{"a", "1", "b", "0.5"})
			if proto == 3 {
				scores = map[any]any{"a": 1.0, "b": 0.5}
			}
			do(scores, "VSIM", "vs", "ELE", "a", "WITHSCORES")
			do([]any{"b"}, "VSIM", "vs", "VALUES", 2, 1, 0, "FILTER", ".n >= 2")
			do("error: ERR syntax error in FILTER expression near: ~~", "VSIM", "vs", "ELE", "a", "FILTER", ".n > 1 and ~~")
			do("error: ERR Vector dimension mismatch - got 3 but set has 2", "VADD", "vs", "VALUES", 3, 1, 2, 3, "c", "NOQUANT")
			do("error: ERR invalid option after element", "VADD", "vs", "VALUES", 2, 1, 2, "c", "NOQUANT", "FOO")
			do(`{"n": 2}`, "VGETATTR", "vs", "b")
			info, err := c.Do(ctx, "VINFO", "vs").Result()
			if err != nil {
				t.Fatal(err)
			}
			if proto == 3 {
				m := info.(map[any]any)
				if m["quant-type"] != "f32" || m["size"] != int64(2) || m["vector-dim"] != int64(2) {
					t.Errorf("VINFO: %v", m)
				}
			} else if l := info.([]any); len(l) != 18 || l[0] != "quant-type" || l[1] != "f32" {
				t.Errorf("VINFO: %v", l)
			}
			// VLINKS and VRANGE through go-redis's typed methods (RESP2
			// arrays and RESP3 maps both parse).
			// One list per level of a's, top level first: a's level comes
			// from the entry's seed, so the count varies; with two
			// elements, b is a's neighbour on level 0 only when a has
			// more levels than b, and on every level they share otherwise.
			if links, err := c.VLinks(ctx, "vs", "a").Result(); err != nil || len(links) == 0 || !reflect.DeepEqual(links[len(links)-1], []string{"b"}) {
				t.Errorf("VLinks: %v %v", links, err)
			}
			if ls, err := c.VLinksWithScores(ctx, "vs", "a").Result(); err != nil || len(ls) == 0 || len(ls[len(ls)-1]) != 1 || ls[len(ls)-1][0].Name != "b" || ls[len(ls)-1][0].Score != 0.5 {
				t.Errorf("VLinksWithScores: %v %v", ls, err)
			}
			if r, err := c.VRange(ctx, "vs", "(a", "+", 10).Result(); err != nil || !reflect.DeepEqual(r, []string{"b"}) {
				t.Errorf("VRange: %v %v", r, err)
			}
			// Q8 (the default) stored quantized: VEMB gives the dequantized
			// vector back, VINFO says int8.
			do(yes, "VADD", "q8", "VALUES", 2, 3, -4, "x")
			emb, err := c.VEmb(ctx, "q8", "x", false).Result()
			if err != nil || len(emb) != 2 {
				t.Fatalf("VEmb q8: %v %v", emb, err)
			}
			for i, want := range []float64{3, -4} {
				got, _ := strconv.ParseFloat(fmt.Sprint(emb[i]), 64)
				if math.Abs(got-want) > 5.0/127 {
					t.Errorf("VEmb q8[%d] = %v, want %v within a quantization step", i, emb[i], want)
				}
			}
			// A key like any other.
			do(int64(1), "EXPIRE", "vs", 100)
			if ttl := c.TTL(ctx, "vs").Val(); ttl <= 0 {
				t.Errorf("TTL %v", ttl)
			}
			do("OK", "RENAME", "vs", "vs2")
			do(int64(2), "VCARD", "vs2")
			do(int64(0), "VCARD", "vs")
			do("error: WRONGTYPE Operation against a key holding the wrong kind of value", "GET", "vs2")
			c.Set(ctx, "str", "x", 0)
			do("error: WRONGTYPE Operation against a key holding the wrong kind of value", "VADD", "str", "VALUES", 1, 1, "a")
			// MULTI: the reply of a write is its committed result.
			cmds, err := c.TxPipelined(ctx, func(p redis.Pipeliner) error {
				p.Do(ctx, "VADD", "vs2", "VALUES", 2, 1, 1, "c", "NOQUANT")
				p.Do(ctx, "VREM", "vs2", "a")
				p.Do(ctx, "VSIM", "vs2", "VALUES", 2, 1, 0, "COUNT", 1)
				return nil
			})
			if err != nil || len(cmds) != 3 {
				t.Fatal(err)
			}
			if got := cmds[2].(*redis.Cmd).Val(); !reflect.DeepEqual(got, []any{"c"}) {
				t.Errorf("VSIM in MULTI: %v", got)
			}
			// DUMP / RESTORE (Cairn's own module payload, graph included).
			payload, err := c.Dump(ctx, "vs2").Result()
			if err != nil {
				t.Fatal(err)
			}
			do("OK", "RESTORE", "vs5", 0, payload)
			do(c.Do(ctx, "VSIM", "vs2", "VALUES", 2, 1, 0, "WITHSCORES").Val(), "VSIM", "vs5", "VALUES", 2, 1, 0, "WITHSCORES")
			do(c.Do(ctx, "VINFO", "vs2").Val(), "VINFO", "vs5")
			do("error: ERR DUMP payload version or checksum are wrong", "RESTORE", "vs6", 0, payload[:len(payload)-1]+"x")
			do(int64(1), "DEL", "vs2")
			do(int64(0), "EXISTS", "vs2")
			do(yes, "VADD", "vs3", "VALUES", 1, 1, "a")
			do("OK", "FLUSHALL")
			do(int64(0), "VCARD", "vs3")
		})
	}
}

// TestVSet_RestartFromSnapshot: a vector set is in the snapshot; a
// restarted node (snapshot plus log tail) answers identically.
func TestVSet_RestartFromSnapshot(t *testing.T) {
	n := servertest.Start(t)
	ctx := context.Background()
	c := n.Client(t)
	for i := range 300 {
		args := append([]any{"VADD", "emb"}, vsetVec(i)...)
		args = append(args, "e"+strconv.Itoa(i), "SETATTR", fmt.Sprintf(`{"i": %d}`, i))
		if err := c.Do(ctx, args...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	query := func(c *redis.Client) any {
		v, err := c.Do(ctx, "VSIM", "emb", "VALUES", 3, 2.5, 0, 1, "WITHSCORES", "COUNT", 20, "FILTER", ".i % 3 == 1").Result()
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	if err := c.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	// Log tail after the snapshot.
	c.Do(ctx, "VREM", "emb", "e4")
	c.Do(ctx, "VADD", "emb", "VALUES", 3, 2.5, 0, 1, "tail", "SETATTR", `{"i": 1}`)
	c.Do(ctx, "EXPIRE", "emb", 3600)
	want := query(c)
	wantInfo := c.Do(ctx, "VINFO", "emb").Val()
	cfg := n.Cfg
	n.Close()
	start := time.Now()
	n = servertest.Restart(t, cfg)
	c = n.Client(t)
	if got := query(c); !reflect.DeepEqual(got, want) {
		t.Fatalf("after restart %v, want %v", got, want)
	}
	t.Logf("restart to first VSIM: %v", time.Since(start))
	if got := c.Do(ctx, "VINFO", "emb").Val(); !reflect.DeepEqual(got, wantInfo) {
		t.Fatalf("VINFO after restart %v, want %v", got, wantInfo)
	}
	if l := query(c).([]any); len(l) < 8 || l[6] != "tail" || l[7] != "1" {
		t.Fatalf("the tail's element (equal to the query) is not among the first hits: %v", l)
	}
}
