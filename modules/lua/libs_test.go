package lua_test

import (
	"context"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cairndb/cairn/modules"
	"github.com/cairndb/cairn/modules/lua"
	"github.com/cairndb/cairn/modules/lua/luatest"
)

// TestLibsBadInput feeds random and mutated bytes to cjson.decode,
// cmsgpack.unpack and their round trips, and as struct formats: every call ends in a reply (a
// value or a script error), never a trap, and the same input gives the
// same reply twice.
func TestLibsBadInput(t *testing.T) {
	luatest.Ensure(t)
	seeds := []string{
		`{"a":[1,2,{"b":null}],"c":"\u00e9"}`, `[[[[]]]]`, `"\ud83d\ude00"`, `-1.5e300`, `0x1p3`, `nan`,
		"\x93\x01\xa1a\x81\xa1b\xc3", "\xdc\x00\x03\x01\x02\x03", "\xcb\x3f\xf0\x00\x00\x00\x00\x00\x00", "\xdf\xff\xff\xff\xff",
	}
	r := rand.New(rand.NewPCG(1, 2))
	var inputs []string
	for i := 0; i < 150; i++ {
		b := []byte(seeds[r.IntN(len(seeds))])
		for j := r.IntN(4); j >= 0 && len(b) > 0; j-- {
			switch r.IntN(3) {
			case 0:
				b[r.IntN(len(b))] = byte(r.IntN(256))
			case 1:
				b = b[:r.IntN(len(b))]
			default:
				b = append(b, byte(r.IntN(256)))
			}
		}
		inputs = append(inputs, string(b))
	}
	scripts := []string{
		"return cjson.encode(cjson.decode(ARGV[1]))",
		"return cmsgpack.pack(cmsgpack.unpack(ARGV[1]))",
		"return {cmsgpack.unpack_limit(ARGV[1], 2, 1)}",
		"return {struct.unpack(ARGV[1], string.rep('abcdefgh\\0', 20))}",
		"return struct.pack(ARGV[1], 1, 2, 3, 4, 5, 6, 7, 8)",
	}
	for _, src := range scripts {
		for _, in := range inputs {
			s := lua.Script{SHA: modules.ScriptSHA([]byte(src)), Source: []byte(src), Args: [][]byte{[]byte(in)}}
			r1, _, err := lua.Run(context.Background(), &kvHost{}, s)
			if err != nil {
				t.Fatalf("%s on %q: %v", src, in, err)
			}
			r2, _, err := lua.Run(context.Background(), &kvHost{}, s)
			if err != nil || string(r1) != string(r2) {
				t.Fatalf("%s on %q: %q then %q (%v)", src, in, r1, r2, err)
			}
			if strings.HasPrefix(string(r1), "-") && !strings.Contains(string(r1), "user_script") {
				t.Fatalf("%s on %q: error without a script locator: %q", src, in, r1)
			}
		}
	}
}
