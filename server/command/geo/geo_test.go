package geo

import (
	"fmt"
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/command/zsets"
	"github.com/cairndb/cairn/server/keyspace"
)

func TestGeoTable(t *testing.T) {
	h := commandtest.New(t, Specs, zsets.Specs)
	for _, c := range [][]string{
		{"2", "GEOADD", "Sicily", "13.361389", "38.115556", "Palermo", "15.087269", "37.502669", "Catania"},
		{"166274.1516", "GEODIST", "Sicily", "Palermo", "Catania"},
		{"166.2742", "GEODIST", "Sicily", "Palermo", "Catania", "km"},
		{"[sqc8b49rny0 sqdtr74hyu0 (nil)]", "GEOHASH", "Sicily", "Palermo", "Catania", "x"},
		{"[[13.36138933897018433 38.11555639549629859] (nil)]", "GEOPOS", "Sicily", "Palermo", "x"},
		{"[Catania]", "GEOSEARCH", "Sicily", "FROMLONLAT", "15", "37", "BYRADIUS", "100", "km"},
		{"[[Catania 56.4413] [Palermo 190.4424]]", "GEORADIUS", "Sicily", "15", "37", "200", "km", "WITHDIST", "ASC"},
		{"(error) ERR invalid longitude,latitude pair 200.000000,1.000000", "GEOADD", "Sicily", "200", "1", "x"},
		{"(error) ERR unsupported unit provided. please use M, KM, FT, MI", "GEODIST", "Sicily", "Palermo", "Catania", "yd"},
		{"2", "GEOSEARCHSTORE", "dst", "Sicily", "FROMMEMBER", "Palermo", "BYBOX", "500", "500", "km", "STOREDIST"},
		{"[Palermo 0 Catania 166.27415156960032]", "ZRANGE", "dst", "0", "-1", "WITHSCORES"},
	} {
		h.Check(c[0], c[1:]...)
	}
	// GEOADD raises ZADD's event; a store raises its own.
	c := &command.Ctx{DB: h.DB, Now: h.Now, NotifyMask: command.ClassBit(command.ClassZSet) | command.ClassBit(command.ClassGeneric)}
	for _, args := range [][]string{
		{"GEOADD", "g", "1", "2", "a"}, {"GEORADIUS", "g", "1", "2", "10", "km", "STORE", "o"}, {"GEOSEARCHSTORE", "o", "g", "FROMMEMBER", "a", "BYRADIUS", "1", "m"},
	} {
		argv := make([][]byte, len(args))
		for i, a := range args {
			argv[i] = []byte(a)
		}
		s, err := h.Table.Resolve(argv)
		if err != nil {
			t.Fatal(err)
		}
		if v := command.Exec(s, c, argv); v.IsError() {
			t.Fatalf("%q: %s", args, v)
		}
	}
	var ev []string
	for _, e := range c.Events {
		ev = append(ev, fmt.Sprintf("%s@%s", e.Name, e.Key))
	}
	if got := strings.Join(ev, " "); got != "zadd@g georadiusstore@o geosearchstore@o" {
		t.Errorf("events %q", got)
	}
	spec := h.Table.Lookup([]byte("georadius"))
	argv := [][]byte{[]byte("georadius"), []byte("src"), []byte("1"), []byte("2"), []byte("3"), []byte("km"), []byte("STORE"), []byte("d1"), []byte("STOREDIST"), []byte("d2")}
	// Both destinations, as Redis 7.0's COMMAND GETKEYS (key specs).
	if got := fmt.Sprint(spec.Keys(argv)); got != "[1 7 9]" {
		t.Errorf("GEORADIUS keys %s", got)
	}
}

// FuzzGeo runs geo commands with arbitrary arguments: no panic, well-formed
// errors, and a failing command changes nothing.
func FuzzGeo(f *testing.F) {
	f.Add(uint8(0), []byte("13.3"), []byte("38.1"), []byte("a"), []byte("BYRADIUS"), []byte("10"), []byte("km"))
	f.Add(uint8(4), []byte("FROMLONLAT"), []byte("15"), []byte("37"), []byte("BYBOX"), []byte("1e3"), []byte("5"))
	f.Add(uint8(6), []byte("15"), []byte("37"), []byte("200"), []byte("km"), []byte("COUNT"), []byte("1"))
	f.Fuzz(func(t *testing.T, cmd uint8, a, b, c, d, e, g []byte) {
		h := commandtest.New(t, Specs, zsets.Specs)
		z := keyspace.NewZSet()
		for i, p := range [][2]float64{{13.361389, 38.115556}, {15.087269, 37.502669}, {-179.9, 84}, {0, 0}} {
			z.Set([]byte{byte('a' + i)}, float64(encodeScore(p[0], p[1])))
		}
		h.DB.Put([]byte("g"), nil, z, 0)
		spec := Specs[int(cmd)%len(Specs)]
		args := [][]byte{[]byte(spec.Name), []byte("g"), a, b, c, d, e, g}
		before := h.DB.Digest()
		v := h.DoBytes(args)
		if v.IsError() {
			if !strings.HasPrefix(string(v.Str), "ERR ") && !strings.HasPrefix(string(v.Str), "WRONGTYPE ") {
				t.Fatalf("%q: malformed error %q", args, v.Str)
			}
			if h.DB.Digest() != before {
				t.Fatalf("%q failed but changed the keyspace", args)
			}
		}
	})
}
