package geo

import (
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/strs"
	"github.com/cairndb/cairn/server/command/zsets"
)

func newDiff(t *testing.T) *commandtest.Diff {
	d := commandtest.NewDiff(t, Specs, zsets.Specs, keys.Specs, strs.Specs)
	if v, err := d.Redis.Do("SET", "str", "v"); err != nil || v.IsError() {
		t.Fatalf("SET: %v %v", v, err)
	}
	d.H.DB.Put([]byte("str"), []byte("v"), nil, 0)
	return d
}

var sicily = []string{"GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania",
	"12.758489", "38.788135", "edge1", "17.241510", "38.788135", "edge2", "13.583333", "37.316667", "Agrigento",
	"13.361389", "38.115556", "PalermoTwin", "14.015", "37.49", "Caltanissetta", "15.55", "38.19", "Messina"}

// TestDiffDeterministic runs every geo command, option and error path on
// Cairn and on redis-server and compares the replies exactly.
func TestDiffDeterministic(t *testing.T) {
	d := newDiff(t)
	cmds := [][]string{
		sicily,
		{"GEOADD", "Sicily", "NX", "13.361389", "38.115556", "Palermo"}, {"GEOADD", "Sicily", "XX", "CH", "13", "38", "Palermo"},
		{"GEOADD", "Sicily", "CH", "13.361389", "38.115556", "Palermo"}, {"GEOADD", "Sicily", "XX", "NX", "1", "2", "a"},
		{"GEOADD", "Sicily", "1", "2"}, {"GEOADD", "Sicily", "1", "2", "a", "3"}, {"GEOADD", "Sicily", "200", "10", "a"},
		{"GEOADD", "Sicily", "10", "86", "a"}, {"GEOADD", "Sicily", "-180.0000001", "0", "a"}, {"GEOADD", "Sicily", "x", "1", "a"},
		{"GEOADD", "Sicily", "1", "nan", "a"}, {"GEOADD", "Sicily", "inf", "1", "a"}, {"GEOADD", "Sicily", "1", "-inf", "a"},
		{"GEOADD", "Sicily", "1", "2", "ok", "200", "0", "bad"}, {"GEOADD", "Sicily", "CH", "CH", "XX"}, {"GEOADD", "str", "1", "2", "a"},
		{"GEOADD", "edges", "180", "85.05112878", "ne", "-180", "-85.05112878", "sw", "0", "0", "origin", "-0", "-0", "negorigin",
			"179.9999999", "0.0000001", "tiny", "0.00001", "-0.00001", "near"},
		{"ZRANGE", "Sicily", "0", "-1", "WITHSCORES"}, {"ZRANGE", "edges", "0", "-1", "WITHSCORES"},
		// GEOPOS / GEOHASH / GEODIST
		{"GEOPOS", "Sicily", "Palermo", "Catania", "nope", "edge1"}, {"GEOPOS", "edges", "ne", "sw", "origin", "negorigin", "tiny", "near"},
		{"GEOPOS", "nokey", "a", "b"}, {"GEOPOS", "str", "a"}, {"GEOPOS", "Sicily"},
		{"GEOHASH", "Sicily", "Palermo", "Catania", "nope", "edge2"}, {"GEOHASH", "edges", "ne", "sw", "origin", "tiny", "near"},
		{"GEOHASH", "nokey", "a"}, {"GEOHASH", "str", "a"}, {"GEOHASH", "Sicily"},
		{"GEODIST", "Sicily", "Palermo", "Catania"}, {"GEODIST", "Sicily", "Palermo", "Catania", "km"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "MI"}, {"GEODIST", "Sicily", "Palermo", "Catania", "ft"},
		{"GEODIST", "Sicily", "Palermo", "Catania", "yards"}, {"GEODIST", "Sicily", "Palermo", "nope"},
		{"GEODIST", "Sicily", "Palermo", "PalermoTwin"}, {"GEODIST", "nokey", "a", "b"}, {"GEODIST", "nokey", "a", "b", "x"},
		{"GEODIST", "str", "a", "b"}, {"GEODIST", "Sicily", "a", "b", "km", "x"}, {"GEODIST", "edges", "ne", "sw"},
		{"GEODIST", "edges", "origin", "tiny"},
	}
	for _, base := range [][]string{
		{"GEORADIUS", "Sicily", "15", "37", "200", "km"},
		{"GEORADIUS_RO", "Sicily", "15", "37", "100", "km"},
		{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "150", "km"},
		{"GEORADIUSBYMEMBER_RO", "Sicily", "Agrigento", "100000", "m"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
		{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "400", "400", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "300", "200", "mi"},
		{"GEOSEARCH", "Sicily", "BYRADIUS", "300", "km", "FROMMEMBER", "Catania"},
	} {
		for _, opts := range [][]string{{}, {"ASC"}, {"DESC"}, {"WITHDIST"}, {"WITHCOORD", "WITHHASH", "WITHDIST"},
			{"COUNT", "2"}, {"COUNT", "2", "DESC"}, {"COUNT", "3", "ANY"}, {"COUNT", "1", "ANY", "ASC", "WITHDIST"},
			{"COUNT", "0"}, {"COUNT", "-1"}, {"COUNT", "x"}, {"COUNT"}, {"ANY"}, {"withdist", "withcoord", "desc", "count", "100"},
			{"BOGUS"}} {
			cmds = append(cmds, append(append([]string{}, base...), opts...))
		}
	}
	cmds = append(cmds, [][]string{
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "out"}, {"ZRANGE", "out", "0", "-1", "WITHSCORES"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STOREDIST", "out", "COUNT", "3"}, {"ZRANGE", "out", "0", "-1", "WITHSCORES"},
		{"GEORADIUS", "Sicily", "15", "37", "200", "km", "STORE", "out", "WITHDIST"}, {"GEORADIUS", "Sicily", "15", "37", "1", "m", "STORE", "out"},
		{"EXISTS", "out"}, {"GEORADIUS_RO", "Sicily", "15", "37", "200", "km", "STORE", "out"},
		{"GEORADIUSBYMEMBER", "Sicily", "Palermo", "200", "km", "STOREDIST", "out2", "DESC"}, {"ZRANGE", "out2", "0", "-1", "WITHSCORES"},
		{"GEORADIUSBYMEMBER", "Sicily", "nope", "200", "km"}, {"GEORADIUSBYMEMBER", "nokey", "nope", "200", "km"},
		{"GEORADIUSBYMEMBER", "nokey", "nope", "x", "y", "STORE", "out2"}, {"EXISTS", "out2"},
		{"GEORADIUSBYMEMBER", "nokey", "nope", "200", "km", "BOGUS"}, {"GEORADIUS", "nokey", "15", "37", "200", "km"},
		{"GEORADIUS", "nokey", "15", "37", "200", "km", "STORE", "out"}, {"GEORADIUS", "str", "15", "37", "200", "km"},
		{"GEORADIUS", "Sicily", "15", "37", "x", "km"}, {"GEORADIUS", "Sicily", "15", "37", "-1", "km"},
		{"GEORADIUS", "Sicily", "15", "37", "1", "parsecs"}, {"GEORADIUS", "Sicily", "15", "99", "1", "km"},
		{"GEORADIUS", "Sicily", "x", "37", "1", "km"}, {"GEORADIUS", "Sicily", "15", "37", "0", "km"},
		{"GEORADIUS", "Sicily", "13.361389", "38.115556", "0", "km", "WITHDIST"},
		{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"}, {"ZRANGE", "dst", "0", "-1", "WITHSCORES"},
		{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST", "COUNT", "2", "DESC"},
		{"ZRANGE", "dst", "0", "-1", "WITHSCORES"}, {"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "WITHDIST"},
		{"GEOSEARCHSTORE", "dst", "nokey", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"}, {"EXISTS", "dst"},
		{"GEOSEARCHSTORE", "dst", "str", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km"},
		{"GEOSEARCHSTORE", "dst", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STORE", "x"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "200", "km", "STOREDIST"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37"}, {"GEOSEARCH", "Sicily", "BYRADIUS", "1", "km"},
		{"geosearch", "Sicily", "BYRADIUS", "1", "km", "COUNT", "1"}, {"GEOSEARCH", "Sicily", "FROMMEMBER", "x", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "FROMMEMBER", "Palermo", "BYRADIUS", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"}, {"GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYRADIUS", "1", "km"},
		{"GEOSEARCH", "nokey", "FROMMEMBER", "nope", "BYBOX", "1", "1"}, {"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYRADIUS", "1", "km", "BYBOX", "1", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "x", "1", "km"}, {"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "1", "x", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "-1", "1", "km"}, {"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYBOX", "1", "1", "x"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "1", "2", "BYRADIUS", "1"}, {"GEOSEARCH", "Sicily", "FROMLONLAT", "200", "2", "BYRADIUS", "1", "km"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYBOX", "0", "0", "km"},
		{"GEOSEARCH", "Sicily", "FROMMEMBER", "Palermo", "BYRADIUS", "0", "m", "WITHCOORD"},
		{"GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "20000", "km", "WITHDIST"},
		{"GEOSEARCH", "edges", "FROMLONLAT", "0", "0", "BYRADIUS", "5", "m", "WITHDIST", "WITHCOORD"},
		{"GEOSEARCH", "edges", "FROMLONLAT", "179.9", "84", "BYBOX", "5000", "5000", "km", "WITHDIST"},
		{"GEOSEARCH", "edges", "FROMLONLAT", "-179.9", "-84", "BYRADIUS", "5000", "km", "WITHDIST"},
		{"GEOSEARCH", "edges", "FROMLONLAT", "0", "0", "BYRADIUS", "30000", "km", "WITHDIST", "ASC"},
		{"GEOADD"}, {"GEOPOS"}, {"GEODIST", "a", "b"}, {"GEORADIUS", "a", "1", "2", "3"}, {"GEOSEARCH", "a", "b", "c", "d", "e"},
		{"GEOSEARCHSTORE", "a", "b", "c", "d", "e", "f"}, {"TYPE", "Sicily"},
	}...)
	for _, c := range cmds {
		d.Compare(c...)
	}
}

// TestDiffTies checks the order of equidistant results, which follows
// glibc's stable sort for whole results and Redis's pqsort with COUNT.
func TestDiffTies(t *testing.T) {
	d := newDiff(t)
	args := []string{"GEOADD", "t"}
	for i := 0; i < 60; i++ {
		// Points on a few rings around (10, 10): many exact ties.
		lon := []string{"10.001", "9.999", "10", "10", "10.002", "9.998"}[i%6]
		lat := []string{"10", "10", "10.001", "9.999", "10", "10"}[i%6]
		args = append(args, lon, lat, "p"+strconv.Itoa(i))
	}
	d.Compare(args...)
	for _, opts := range [][]string{{"ASC"}, {"DESC"}, {"COUNT", "5"}, {"COUNT", "17", "DESC"}, {"COUNT", "40"},
		{"COUNT", "59"}, {"COUNT", "7", "ANY"}, {"COUNT", "1"}} {
		d.Compare(append([]string{"GEOSEARCH", "t", "FROMLONLAT", "10", "10", "BYRADIUS", "1", "km"}, opts...)...)
		d.Compare(append([]string{"GEORADIUS", "t", "10", "10", "1", "km", "WITHDIST"}, opts...)...)
	}
}

// TestDiffRandom adds random points and runs random searches, comparing
// every reply exactly.
func TestDiffRandom(t *testing.T) {
	d := newDiff(t)
	// The short run in `make test` uses a fixed seed; `make fuzz-diff`
	// (CAIRN_FUZZ_DIFF) draws a new one each run. Random seeds find rare
	// last-digit GEODIST differences (e.g. seed 1796565596678252551:
	// 18499032.3421 vs Redis's .3420, correctly rounded math against
	// glibc's libm), a known difference listed in docs/datatypes.md
	// that must not fail CI at random.
	seed := uint64(1)
	if os.Getenv("CAIRN_FUZZ_DIFF") != "" {
		seed = uint64(time.Now().UnixNano())
	}
	if s := os.Getenv("CAIRN_FUZZ_SEED"); s != "" {
		seed, _ = strconv.ParseUint(s, 10, 64)
	}
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 5))
	dur := 3 * time.Second
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		var err error
		if dur, err = time.ParseDuration(s); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(dur)
	coord := func(lim float64, center, spread float64) string {
		v := center + (rng.Float64()*2-1)*spread
		if v > lim {
			v = lim
		}
		if v < -lim {
			v = -lim
		}
		return strconv.FormatFloat(v, 'f', rng.IntN(8), 64)
	}
	units := []string{"m", "km", "mi", "ft"}
	ops := 0
	for time.Now().Before(deadline) {
		ops++
		k := []string{"g1", "g2", "g3"}[rng.IntN(3)]
		// Clusters at various latitudes, including near the poles and
		// the antimeridian.
		cLon := []float64{0, 13.3, -179.5, 179.5, 100}[rng.IntN(5)]
		cLat := []float64{0, 38.1, 70, -82, 84.9}[rng.IntN(5)]
		spread := []float64{0.001, 0.1, 2, 30}[rng.IntN(4)]
		var args []string
		switch r := rng.IntN(100); {
		case r < 35:
			args = []string{"GEOADD", k}
			for i := 0; i < 1+rng.IntN(20); i++ {
				args = append(args, coord(180, cLon, spread), coord(85.05, cLat, spread), "m"+strconv.Itoa(rng.IntN(400)))
			}
		case r < 40:
			args = []string{"GEODIST", k, "m" + strconv.Itoa(rng.IntN(400)), "m" + strconv.Itoa(rng.IntN(400)), units[rng.IntN(4)]}
		case r < 45:
			args = []string{pick(rng, "GEOPOS", "GEOHASH"), k, "m" + strconv.Itoa(rng.IntN(400)), "m" + strconv.Itoa(rng.IntN(400))}
		default:
			args = []string{"GEOSEARCH", k}
			if rng.IntN(3) == 0 {
				args = append(args, "FROMMEMBER", "m"+strconv.Itoa(rng.IntN(400)))
			} else {
				args = append(args, "FROMLONLAT", coord(180, cLon, spread), coord(85, cLat, spread))
			}
			dist := strconv.FormatFloat(rng.Float64()*spread*200, 'f', 3, 64)
			if rng.IntN(2) == 0 {
				args = append(args, "BYRADIUS", dist, units[rng.IntN(4)])
			} else {
				args = append(args, "BYBOX", dist, strconv.FormatFloat(rng.Float64()*spread*200, 'f', 3, 64), units[rng.IntN(4)])
			}
			if rng.IntN(2) == 0 {
				args = append(args, pick(rng, "ASC", "DESC"))
			}
			if rng.IntN(3) == 0 {
				args = append(args, "COUNT", strconv.Itoa(1+rng.IntN(30)))
				if rng.IntN(3) == 0 {
					args = append(args, "ANY")
				}
			}
			args = append(args, "WITHDIST", "WITHHASH")
			if rng.IntN(2) == 0 {
				args = append(args, "WITHCOORD")
			}
			if rng.IntN(5) == 0 {
				args[0] = "GEOSEARCHSTORE"
				args = append([]string{args[0], "dst"}, args[1:len(args)-2]...)
				if args[len(args)-1] == "WITHCOORD" {
					args = args[:len(args)-1]
				}
				if rng.IntN(2) == 0 {
					args = append(args, "STOREDIST")
				}
			}
		}
		if args[0] == "GEOSEARCH" && !hasOrder(args) {
			// Unsorted results come in box order, which is exact too.
			d.Compare(args...)
		} else {
			d.Compare(args...)
		}
		if args[0] == "GEOSEARCHSTORE" {
			compareStored(t, d, "dst")
		}
		if t.Failed() {
			t.Fatalf("stopping after the first difference (seed %d, op %d): %q", seed, ops, args)
		}
	}
	t.Logf("%d commands", ops)
}

// compareStored compares a stored result: same members in the same order,
// scores equal but for the last bit of STOREDIST distances (glibc's asin
// is not always correctly rounded; Cairn's is).
func compareStored(t *testing.T, d *commandtest.Diff, key string) {
	t.Helper()
	want, err := d.Redis.Do("ZRANGE", key, "0", "-1", "WITHSCORES")
	if err != nil {
		t.Fatal(err)
	}
	got := d.H.Do("ZRANGE", key, "0", "-1", "WITHSCORES").RESP2()
	if len(got.Elems) != len(want.Elems) {
		t.Errorf("stored %s:\n  cairn: %s\n  redis: %s", key, got, want)
		return
	}
	for i := 0; i < len(got.Elems); i += 2 {
		g, w := got.Elems[i+1].Str, want.Elems[i+1].Str
		gf, _ := strconv.ParseFloat(string(g), 64)
		wf, _ := strconv.ParseFloat(string(w), 64)
		if string(got.Elems[i].Str) != string(want.Elems[i].Str) || math.Abs(gf-wf) > 2e-15*math.Abs(wf) {
			t.Errorf("stored %s at %d:\n  cairn: %s\n  redis: %s", key, i/2, got, want)
			return
		}
	}
}

func pick(rng *rand.Rand, xs ...string) string { return xs[rng.IntN(len(xs))] }

func hasOrder(args []string) bool {
	for _, a := range args {
		if a == "ASC" || a == "DESC" || a == "COUNT" {
			return true
		}
	}
	return false
}
