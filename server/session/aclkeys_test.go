package session

import (
	"reflect"
	"testing"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/hashes"
	"github.com/cairndb/cairn/server/command/keys"
	"github.com/cairndb/cairn/server/command/lists"
	"github.com/cairndb/cairn/server/command/strs"
)

// TestACLKeyScratchMatches: the connection's allocation-free key
// extraction for the ACL check answers what aclKeys (spec.Keys and
// keyFlagsOf) answers, for every command and argument count, including
// variadic and stepped key positions.
func TestACLKeyScratchMatches(t *testing.T) {
	tbl := command.NewTable(Specs, strs.Specs, keys.Specs, hashes.Specs, lists.Specs)
	var k aclKeyScratch
	for _, sp := range tbl.All() {
		for _, specs := range [][]*command.Spec{{sp}, sp.Sub} {
			for _, s := range specs {
				for n := 1; n <= 9; n++ {
					if (s.Arity > 0 && n != s.Arity) || (s.Arity < 0 && n < -s.Arity) {
						continue // the arity check refuses it before ACL
					}
					args := make([][]byte, n)
					for i := range args {
						args[i] = []byte{'a' + byte(i)}
					}
					k.spec, k.args = s, args
					gotPos, gotPerm := k.keys()
					wantPos, wantPerm := aclKeys(s, args)()
					if len(gotPos) == 0 && len(wantPos) == 0 {
						continue
					}
					if !reflect.DeepEqual(gotPos, wantPos) || !reflect.DeepEqual(gotPerm, wantPerm) {
						t.Fatalf("%s with %d args: keys %v %v, want %v %v", s.Name, n, gotPos, gotPerm, wantPos, wantPerm)
					}
				}
			}
		}
	}
}

func BenchmarkACLKeys(b *testing.B) {
	tbl := command.NewTable(Specs, strs.Specs)
	sp := tbl.Lookup([]byte("get"))
	args := [][]byte{[]byte("get"), []byte("key:1")}
	var k aclKeyScratch
	b.ReportAllocs()
	for b.Loop() {
		k.spec, k.args = sp, args
		k.keys()
	}
}
