package streams

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
)

// fuzzDuration is how long the random differential test runs: a few
// seconds by default, CAIRN_FUZZ_DIFF (a Go duration) when set.
func fuzzDuration(t *testing.T) time.Duration {
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("CAIRN_FUZZ_DIFF: %v", err)
		}
		return d
	}
	return 3 * time.Second
}

// TestDiffRandom runs random stream commands with explicit IDs over a few
// keys on Cairn and redis-server and compares every reply (idle and
// delivery times with a tolerance). Streams grow past Redis's node limits
// (100 entries, 4096 bytes) so approximate trimming and XINFO's node
// counts are compared too.
func TestDiffRandom(t *testing.T) {
	d := newDiff(t)
	seed := uint64(time.Now().UnixNano())
	if v := os.Getenv("CAIRN_STREAM_SEED"); v != "" {
		seed, _ = strconv.ParseUint(v, 10, 64)
	}
	history := map[string][]string{}
	var lastKey string
	log := func(args []string) {
		var parts []string
		for _, a := range args {
			if len(a) > 20 {
				a = a[:8] + "..." + strconv.Itoa(len(a))
			}
			parts = append(parts, a)
		}
		k := args[1]
		if args[0] == "XINFO" || args[0] == "XGROUP" || args[0] == "XREADGROUP" || args[0] == "XREAD" {
			k = args[2]
			if args[0] == "XREADGROUP" || args[0] == "XREAD" {
				k = args[len(args)-2]
			}
		}
		lastKey = k
		history[k] = append(history[k], strings.Join(parts, " "))
		if len(history[k]) > 80 {
			history[k] = history[k][1:]
		}
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 11))
	keyNames := []string{"s1", "s2", "s3", "str", "none"}
	groups := []string{"g1", "g2", "g3"}
	consumers := []string{"c1", "c2", "c3", "c4"}
	fields := []string{"a", "b", "c", "f", "123"}
	pick := func(xs []string) string { return xs[rng.IntN(len(xs))] }
	ms := map[string]int{}
	value := func() string {
		switch rng.IntN(20) {
		case 0:
			return strings.Repeat("v", 60+rng.IntN(600))
		case 1:
			return strconv.Itoa(rng.IntN(100000) - 500)
		case 2:
			return ""
		}
		return "v" + strconv.Itoa(rng.IntN(100))
	}
	anyID := func(k string) string {
		switch rng.IntN(12) {
		case 0:
			return "-"
		case 1:
			return "+"
		case 2:
			return "(" + strconv.Itoa(rng.IntN(ms[k]+2))
		case 3:
			return "x"
		}
		id := strconv.Itoa(rng.IntN(ms[k] + 3))
		if rng.IntN(2) == 0 {
			id += "-" + strconv.Itoa(rng.IntN(4))
		}
		return id
	}
	trimOpts := func(k string) []string {
		var o []string
		if rng.IntN(2) == 0 {
			o = append(o, "MAXLEN")
		} else {
			o = append(o, "MINID")
		}
		switch rng.IntN(3) {
		case 0:
			o = append(o, "~")
		case 1:
			o = append(o, "=")
		}
		if o[0] == "MAXLEN" {
			o = append(o, strconv.Itoa(rng.IntN(300)))
		} else {
			o = append(o, strconv.Itoa(rng.IntN(ms[k]+2)))
		}
		if o[1] == "~" && rng.IntN(3) == 0 {
			o = append(o, "LIMIT", strconv.Itoa(rng.IntN(250)))
		}
		return o
	}
	deadline := time.Now().Add(fuzzDuration(t))
	n := 0
	for time.Now().Before(deadline) {
		n++
		k := pick(keyNames)
		var args []string
		timed := false
		switch r := rng.IntN(100); {
		case r < 30: // XADD bursts
			burst := 1
			if rng.IntN(5) == 0 {
				burst = 20 + rng.IntN(80)
			}
			for i := 0; i < burst; i++ {
				ms[k] += rng.IntN(3)
				id := strconv.Itoa(ms[k]) + "-*"
				if rng.IntN(20) == 0 {
					id = strconv.Itoa(ms[k]-rng.IntN(3)) + "-" + strconv.Itoa(rng.IntN(3))
				}
				args = []string{"XADD", k}
				if rng.IntN(10) == 0 {
					args = append(args, trimOpts(k)...)
				}
				if rng.IntN(30) == 0 {
					args = append(args, "NOMKSTREAM")
				}
				args = append(args, id)
				nf := 1 + rng.IntN(3)
				for j := 0; j < nf; j++ {
					args = append(args, pick(fields), value())
				}
				log(args)
				d.Compare(args...)
			}
			continue
		case r < 38:
			args = []string{"XDEL", k}
			for j := rng.IntN(4); j >= 0; j-- {
				args = append(args, strconv.Itoa(rng.IntN(ms[k]+2))+"-"+strconv.Itoa(rng.IntN(3)))
			}
		case r < 43:
			args = append([]string{"XTRIM", k}, trimOpts(k)...)
		case r < 50:
			args = []string{"XRANGE", k, anyID(k), anyID(k)}
			if rng.IntN(2) == 0 {
				args[0] = "XREVRANGE"
			}
			if rng.IntN(2) == 0 {
				args = append(args, "COUNT", strconv.Itoa(rng.IntN(10)))
			}
		case r < 53:
			args = []string{"XLEN", k}
		case r < 58:
			args = []string{"XINFO", "STREAM", k}
		case r < 62:
			args = []string{"XINFO", "GROUPS", k}
		case r < 66:
			id := pick([]string{"$", "0", "-", strconv.Itoa(rng.IntN(ms[k] + 2))})
			args = []string{"XGROUP", "CREATE", k, pick(groups), id}
			if rng.IntN(4) == 0 {
				args = append(args, "MKSTREAM")
			}
			if rng.IntN(4) == 0 {
				args = append(args, "ENTRIESREAD", strconv.Itoa(rng.IntN(20)-1))
			}
		case r < 68:
			args = []string{"XGROUP", "SETID", k, pick(groups), pick([]string{"$", "0", strconv.Itoa(rng.IntN(ms[k] + 2))})}
			if rng.IntN(3) == 0 {
				args = append(args, "ENTRIESREAD", strconv.Itoa(rng.IntN(20)-1))
			}
		case r < 69:
			args = []string{"XGROUP", "DESTROY", k, pick(groups)}
		case r < 70:
			args = []string{"XGROUP", pick([]string{"CREATECONSUMER", "DELCONSUMER"}), k, pick(groups), pick(consumers)}
		case r < 80:
			args = []string{"XREADGROUP", "GROUP", pick(groups), pick(consumers)}
			if rng.IntN(2) == 0 {
				args = append(args, "COUNT", strconv.Itoa(rng.IntN(8)))
			}
			if rng.IntN(6) == 0 {
				args = append(args, "NOACK")
			}
			id := ">"
			if rng.IntN(4) == 0 {
				id = strconv.Itoa(rng.IntN(ms[k] + 2))
			}
			args = append(args, "STREAMS", k, id)
		case r < 84:
			args = []string{"XACK", k, pick(groups)}
			for j := rng.IntN(4); j >= 0; j-- {
				args = append(args, strconv.Itoa(rng.IntN(ms[k]+2))+"-"+strconv.Itoa(rng.IntN(3)))
			}
		case r < 87:
			args = []string{"XPENDING", k, pick(groups)}
			if rng.IntN(2) == 0 {
				args = append(args, anyID(k), anyID(k), strconv.Itoa(rng.IntN(10)))
				if rng.IntN(2) == 0 {
					args = append(args, pick(consumers))
				}
				timed = true
			}
		case r < 90:
			args = []string{"XCLAIM", k, pick(groups), pick(consumers), "0"}
			for j := rng.IntN(3); j >= 0; j-- {
				args = append(args, strconv.Itoa(rng.IntN(ms[k]+2))+"-"+strconv.Itoa(rng.IntN(3)))
			}
			for _, o := range []string{"JUSTID", "FORCE"} {
				if rng.IntN(3) == 0 {
					args = append(args, o)
				}
			}
			if rng.IntN(3) == 0 {
				args = append(args, "RETRYCOUNT", strconv.Itoa(rng.IntN(5)))
			}
			if rng.IntN(4) == 0 {
				args = append(args, "LASTID", strconv.Itoa(rng.IntN(ms[k]+2)))
			}
		case r < 93:
			args = []string{"XAUTOCLAIM", k, pick(groups), pick(consumers), "0", anyID(k)}
			if rng.IntN(2) == 0 {
				args = append(args, "COUNT", strconv.Itoa(1+rng.IntN(5)))
			}
			if rng.IntN(3) == 0 {
				args = append(args, "JUSTID")
			}
		case r < 95:
			args = []string{"XREAD", "COUNT", strconv.Itoa(1 + rng.IntN(5)), "STREAMS", k, pick([]string{"0", "$", strconv.Itoa(rng.IntN(ms[k] + 2))})}
		case r < 96:
			args = []string{"XSETID", k, strconv.Itoa(ms[k]+rng.IntN(3)) + "-" + strconv.Itoa(rng.IntN(3))}
			if rng.IntN(2) == 0 {
				args = append(args, "ENTRIESADDED", strconv.Itoa(rng.IntN(500)))
			}
		case r < 98:
			args = []string{"XINFO", "STREAM", k, "FULL", "COUNT", strconv.Itoa(rng.IntN(5))}
			timed = true
		default:
			args = []string{"XINFO", "CONSUMERS", k, pick(groups)}
			timed = true
		}
		log(args)
		if timed {
			compareTimed(t, d, args...)
		} else {
			d.Compare(args...)
		}
		if t.Failed() {
			t.Fatalf("after %d commands (seed %d); last ones:\n%s", n, seed, strings.Join(history[lastKey], "\n"))
		}
	}
	t.Logf("%d commands", n)
	for _, k := range keyNames {
		d.Compare("XRANGE", k, "-", "+")
		compareTimed(t, d, "XINFO", "STREAM", k, "FULL", "COUNT", "0")
	}
	checkDump(t, d, keyNames)
}

// checkDump moves every stream both ways with DUMP and RESTORE: Redis's
// payload restores in Cairn and Cairn's in Redis, with equal contents.
func checkDump(t *testing.T, d *commandtest.Diff, keys []string) {
	t.Helper()
	for _, k := range keys {
		want, err := d.Redis.Do("DUMP", k)
		if err != nil {
			t.Fatal(err)
		}
		got := d.H.Do("DUMP", k)
		if want.Kind == 0 || got.IsError() || want.IsError() {
			if got.Kind != want.Kind {
				t.Errorf("DUMP %s: cairn %s, redis %s", k, got, want)
			}
			continue
		}
		// Payloads hold delivery and seen times, which follow each side's
		// clock: compare bytes only for streams without groups.
		groups, _ := d.Redis.Do("XINFO", "GROUPS", k)
		if len(groups.Elems) == 0 && string(got.Str) != string(want.Str) {
			t.Errorf("DUMP %s differs:\n  cairn %q\n  redis %q", k, got.Str, want.Str)
		}
		// Redis's payload into Cairn, Cairn's into Redis.
		if v := d.H.Do("RESTORE", k+":fromredis", "0", string(want.Str)); v.IsError() {
			t.Errorf("RESTORE redis payload of %s: %s", k, v)
		}
		if v, err := d.Redis.Do("RESTORE", k+":fromcairn", "0", string(got.Str)); err != nil || v.IsError() {
			t.Errorf("redis RESTORE cairn payload of %s: %s %v", k, v, err)
		}
		if v, err := d.Redis.Do("RESTORE", k+":fromredis", "0", string(want.Str)); err != nil || v.IsError() {
			t.Fatalf("redis RESTORE: %s %v", v, err)
		}
		d.H.Do("RESTORE", k+":fromcairn", "0", string(got.Str))
		for _, suffix := range []string{":fromredis", ":fromcairn"} {
			d.Compare("XRANGE", k+suffix, "-", "+")
			compareTimed(t, d, "XINFO", "STREAM", k+suffix, "FULL", "COUNT", "0")
			compareTimed(t, d, "XINFO", "GROUPS", k+suffix)
		}
	}
}
