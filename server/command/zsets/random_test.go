package zsets

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// fuzzDuration is how long the random differential tests run: a few
// seconds by default, longer with CAIRN_FUZZ_DIFF=<duration>.
func fuzzDuration(t *testing.T, def time.Duration) time.Duration {
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CAIRN_FUZZ_DIFF: %v", err)
		}
		return d
	}
	return def
}

// TestDiffRandom runs seeded random sequences of sorted-set commands over
// a few keys on Cairn and on redis-server and compares every reply
// exactly, except where Redis's answer is random (ZRANDMEMBER: checked for
// validity) or undefined (lex ranges over a skiplist whose scores differ:
// skipped), and ZSCAN over a skiplist (whole iterations compared as sets).
func TestDiffRandom(t *testing.T) {
	d := newDiff(t)
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("CAIRN_FUZZ_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d (CAIRN_FUZZ_SEED to repeat)", seed)
	rng := rand.New(rand.NewPCG(seed, 99))
	deadline := time.Now().Add(fuzzDuration(t, 3*time.Second))
	keys := []string{"k1", "k2", "k3", "big", "str", "none"}
	members := []string{"a", "b", "c", "d", "e", "f", "g", "", "ab", "b\x00", "B", "m:1", "m:2", "10", "-3", "x y"}
	long := strings.Repeat("L", 65)
	scores := []string{"0", "1", "-1", "2", "2.5", "-0", "0.1", "0.2", "1e20", "-1e20", "inf", "-inf", "3", "3.0",
		"123456789012345678", "1e-310", "0x10", "4e18", "x", "nan", " 1", "7", "100"}
	incrs := []string{"1", "-1", "0.1", "inf", "-inf", "2.5", "-0", "1e308", "x", "nan"}
	bounds := []string{"-inf", "+inf", "0", "1", "(1", "2", "(2.5", "3", "(100", "x", "", "(", "5", "-1", "inf", "(inf", "1e20"}
	lexb := []string{"-", "+", "[a", "(a", "[b", "(b", "[", "(", "[m:", "(m:2", "[B", "x", "", "[c", "(g"}
	ranks := []string{"0", "1", "-1", "2", "-2", "5", "-5", "100", "-100", "x"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	bigPool := make([]string, 300)
	for i := range bigPool {
		bigPool[i] = "p" + strconv.Itoa(i)
	}
	member := func(k string) string {
		if k == "big" {
			return pick(bigPool)
		}
		if rng.IntN(60) == 0 {
			return long
		}
		return pick(members)
	}
	key := func() string { return pick(keys) }
	ops := 0
	kinds := map[string]int{}
	for time.Now().Before(deadline) {
		ops++
		k := key()
		var args []string
		switch r := rng.IntN(100); {
		case r < 16:
			args = []string{"ZADD", k}
			for _, o := range []string{"NX", "XX", "GT", "LT", "CH", "INCR"} {
				if rng.IntN(9) == 0 {
					args = append(args, o)
				}
			}
			n := 1 + rng.IntN(3)
			if k == "big" {
				n = 1 + rng.IntN(60)
			}
			for i := 0; i < n; i++ {
				args = append(args, pick(scores), member(k))
			}
			if rng.IntN(30) == 0 {
				args = args[:len(args)-1]
			}
		case r < 20:
			args = []string{"ZINCRBY", k, pick(incrs), member(k)}
		case r < 26:
			args = []string{"ZREM", k}
			for i := 0; i < 1+rng.IntN(4); i++ {
				args = append(args, member(k))
			}
		case r < 30:
			args = []string{pick([]string{"ZCARD", "ZSCORE", "ZRANK", "ZREVRANK", "ZMSCORE"}), k}
			if args[0] != "ZCARD" {
				args = append(args, member(k))
			}
			if args[0] == "ZMSCORE" {
				args = append(args, member(k))
			}
		case r < 40:
			args = []string{"ZRANGE", k, pick(ranks), pick(ranks)}
			switch rng.IntN(3) {
			case 1:
				args[2], args[3] = pick(bounds), pick(bounds)
				args = append(args, "BYSCORE")
			case 2:
				args[2], args[3] = pick(lexb), pick(lexb)
				args = append(args, "BYLEX")
			}
			if rng.IntN(3) == 0 {
				args = append(args, "REV")
			}
			if rng.IntN(3) == 0 {
				args = append(args, "LIMIT", pick(ranks), pick(ranks))
			}
			if rng.IntN(2) == 0 {
				args = append(args, "WITHSCORES")
			}
		case r < 46:
			c := pick([]string{"ZRANGEBYSCORE", "ZREVRANGEBYSCORE", "ZCOUNT", "ZREMRANGEBYSCORE"})
			args = []string{c, k, pick(bounds), pick(bounds)}
			if c[1] == 'R' && c != "ZREMRANGEBYSCORE" {
				if rng.IntN(2) == 0 {
					args = append(args, "WITHSCORES")
				}
				if rng.IntN(2) == 0 {
					args = append(args, "LIMIT", pick(ranks), pick(ranks))
				}
			}
		case r < 52:
			c := pick([]string{"ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX"})
			args = []string{c, k, pick(lexb), pick(lexb)}
			if strings.HasPrefix(c, "ZR") && c != "ZREMRANGEBYLEX" && rng.IntN(2) == 0 {
				args = append(args, "LIMIT", pick(ranks), pick(ranks))
			}
		case r < 56:
			args = []string{pick([]string{"ZREVRANGE", "ZREMRANGEBYRANK"}), k, pick(ranks), pick(ranks)}
			if args[0] == "ZREVRANGE" && rng.IntN(2) == 0 {
				args = append(args, "WITHSCORES")
			}
		case r < 62:
			args = []string{pick([]string{"ZPOPMIN", "ZPOPMAX"}), k}
			if rng.IntN(2) == 0 {
				args = append(args, pick([]string{"0", "1", "2", "5", "-1", "x"}))
			}
		case r < 66:
			n := 1 + rng.IntN(3)
			args = []string{"ZMPOP", strconv.Itoa(n)}
			for i := 0; i < n; i++ {
				args = append(args, key())
			}
			args = append(args, pick([]string{"MIN", "MAX"}))
			if rng.IntN(2) == 0 {
				args = append(args, "COUNT", pick([]string{"1", "2", "10", "0"}))
			}
		case r < 68:
			// Blocking pops only when Redis would not block.
			k2 := key()
			if ex, _ := d.Redis.Do("EXISTS", k, k2); ex.Int == 0 {
				continue
			}
			if rng.IntN(2) == 0 {
				args = []string{pick([]string{"BZPOPMIN", "BZPOPMAX"}), k, k2, "1"}
			} else {
				args = []string{"BZMPOP", "1", "2", k, k2, pick([]string{"MIN", "MAX"}), "COUNT", "2"}
			}
		case r < 80:
			c := pick([]string{"ZUNION", "ZINTER", "ZDIFF", "ZUNIONSTORE", "ZINTERSTORE", "ZDIFFSTORE", "ZINTERCARD"})
			n := 1 + rng.IntN(3)
			args = []string{c}
			if strings.HasSuffix(c, "STORE") {
				args = append(args, key())
			}
			args = append(args, strconv.Itoa(n))
			for i := 0; i < n; i++ {
				args = append(args, key())
			}
			if c != "ZINTERCARD" && !strings.HasPrefix(c, "ZDIFF") {
				if rng.IntN(2) == 0 {
					args = append(args, "WEIGHTS")
					for i := 0; i < n; i++ {
						args = append(args, pick([]string{"1", "2", "-1", "0", "0.5", "inf", "-inf"}))
					}
				}
				if rng.IntN(2) == 0 {
					args = append(args, "AGGREGATE", pick([]string{"SUM", "MIN", "MAX"}))
				}
			}
			if c == "ZINTERCARD" && rng.IntN(2) == 0 {
				args = append(args, "LIMIT", pick([]string{"0", "1", "2"}))
			}
			if !strings.HasSuffix(c, "STORE") && c != "ZINTERCARD" && rng.IntN(2) == 0 {
				args = append(args, "WITHSCORES")
			}
		case r < 84:
			args = []string{"ZRANGESTORE", key(), k, pick(ranks), pick(ranks)}
			if rng.IntN(2) == 0 {
				args[3], args[4] = pick(bounds), pick(bounds)
				args = append(args, "BYSCORE")
			}
			if rng.IntN(3) == 0 {
				args = append(args, "REV")
			}
		case r < 92:
			args = []string{"ZRANDMEMBER", k}
			if rng.IntN(4) != 0 {
				args = append(args, strconv.Itoa(rng.IntN(41)-20))
				if rng.IntN(2) == 0 {
					args = append(args, "WITHSCORES")
				}
			}
			compareRand(t, d, args)
			continue
		case r < 95:
			args = []string{"ZSCAN", k, "0"}
			if rng.IntN(2) == 0 {
				args = append(args, "MATCH", pick([]string{"*", "a*", "?", "p1*", "[a-c]"}))
			}
			if skiplist(d, k) {
				compareScan(t, d, k, args[3:]...)
				continue
			}
		case r < 97:
			args = []string{"SET", "str", "v"}
		default:
			args = []string{"DEL", k}
		}
		if isLex(args) && skiplistMixed(d, args) {
			continue
		}
		_, want := d.Compare(args...)
		kinds[args[0]+" "+strconv.Itoa(int(want.Kind))]++
		if t.Failed() {
			t.Fatalf("stopping after the first difference (seed %d, op %d)", seed, ops)
		}
	}
	for _, k := range keys {
		d.Compare("ZRANGE", k, "0", "-1", "WITHSCORES")
		d.Compare("TYPE", k)
		if it := d.H.DB.Peek([]byte(k)); it != nil && it.Type() == keyspace.TypeZSet {
			checkEncoding(t, d, k)
		}
	}
	t.Logf("%d commands; reply kinds %v", ops, kinds)
}

func isLex(args []string) bool {
	switch args[0] {
	case "ZRANGEBYLEX", "ZREVRANGEBYLEX", "ZLEXCOUNT", "ZREMRANGEBYLEX":
		return true
	case "ZRANGE":
		for _, a := range args {
			if a == "BYLEX" {
				return true
			}
		}
	}
	return false
}

// skiplistMixed tells whether the key of a lex command is a skiplist whose
// scores differ: Redis's answer then depends on its skiplist's shape.
func skiplistMixed(d *commandtest.Diff, args []string) bool {
	it := d.H.DB.Peek([]byte(args[1]))
	if it == nil {
		return false
	}
	z, ok := it.Obj.(*keyspace.ZSet)
	if !ok || z.IsListpack() {
		return false
	}
	return z.At(0).Score != z.At(z.Len()-1).Score
}

func skiplist(d *commandtest.Diff, k string) bool {
	it := d.H.DB.Peek([]byte(k))
	if it == nil {
		return false
	}
	z, ok := it.Obj.(*keyspace.ZSet)
	return ok && !z.IsListpack()
}

// compareRand runs a ZRANDMEMBER on both. Errors, nils and the reply's
// shape must be identical; a count covering the whole set must match
// exactly (Redis returns it from the top down); otherwise the members
// must exist with their scores, be distinct for a positive count, and
// number what Redis returns.
func compareRand(t *testing.T, d *commandtest.Diff, args []string) {
	t.Helper()
	want, err := d.Redis.Do(args...)
	if err != nil {
		t.Fatal(err)
	}
	got := d.H.Do(args...).RESP2()
	if want.Kind != got.Kind || len(want.Elems) != len(got.Elems) || want.Kind == reply.KindError || want.Kind == reply.KindNil {
		if !reply.Equal(got, want) {
			t.Errorf("%q:\n  cairn: %s\n  redis: %s", args, got, want)
		}
		return
	}
	all, err := d.Redis.Do("ZRANGE", args[1], "0", "-1", "WITHSCORES")
	if err != nil {
		t.Fatal(err)
	}
	contents := map[string]string{}
	for i := 0; i+1 < len(all.Elems); i += 2 {
		contents[string(all.Elems[i].Str)] = string(all.Elems[i+1].Str)
	}
	if got.Kind == reply.KindBulk {
		if _, ok := contents[string(got.Str)]; !ok {
			t.Errorf("%q: cairn returned %q, not in the set", args, got.Str)
		}
		return
	}
	withScores := len(args) == 4
	count, _ := strconv.Atoi(args[2])
	if count >= len(contents) {
		if !reply.Equal(got, want) {
			t.Errorf("%q (whole set):\n  cairn: %s\n  redis: %s", args, got, want)
		}
		return
	}
	step := 1
	if withScores {
		step = 2
	}
	seen := map[string]bool{}
	for i := 0; i < len(got.Elems); i += step {
		m := string(got.Elems[i].Str)
		s, ok := contents[m]
		if !ok || withScores && string(got.Elems[i+1].Str) != s {
			t.Errorf("%q: cairn returned %q, not in the set (or wrong score)", args, m)
		}
		if count > 0 && seen[m] {
			t.Errorf("%q: cairn repeated %q", args, m)
		}
		seen[m] = true
	}
}
