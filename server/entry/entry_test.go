package entry

import (
	"bytes"
	"fmt"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := &Entry{Kind: Commands, Time: 1700000000123, Seed: 42, Cmds: [][][]byte{
		{[]byte("SET"), []byte("k"), []byte("v")},
		{[]byte("INCR"), []byte("")},
	}}
	b := Append(nil, in)
	if len(b) > Size(in) {
		t.Fatalf("Size %d < encoded %d", Size(in), len(b))
	}
	var out Entry
	if err := Decode(b, &out); err != nil {
		t.Fatal(err)
	}
	if out.Kind != in.Kind || out.Time != in.Time || out.Seed != in.Seed || len(out.Cmds) != 2 {
		t.Fatalf("got %+v, want %+v", out, in)
	}
	for i := range in.Cmds {
		for j := range in.Cmds[i] {
			if !bytes.Equal(in.Cmds[i][j], out.Cmds[i][j]) {
				t.Fatalf("cmd %d arg %d: got %q want %q", i, j, out.Cmds[i][j], in.Cmds[i][j])
			}
		}
	}
}

func FuzzDecode(f *testing.F) {
	f.Add(Append(nil, &Entry{Kind: Commands, Time: 5, Cmds: [][][]byte{{[]byte("GET"), []byte("a")}}}))
	f.Add([]byte{1, 1, 0, 0, 255, 255, 255, 255, 15})
	f.Fuzz(func(t *testing.T, b []byte) {
		var e Entry
		if Decode(b, &e) != nil {
			return
		}
		var e2 Entry
		if err := Decode(Append(nil, &e), &e2); err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		if len(e2.Cmds) != len(e.Cmds) {
			t.Fatalf("re-decode: %d commands, want %d", len(e2.Cmds), len(e.Cmds))
		}
		for i := range e.Cmds {
			if len(e2.Cmds[i]) != len(e.Cmds[i]) || cap(e.Cmds[i]) != len(e.Cmds[i]) {
				t.Fatalf("command %d: %d args (cap %d), re-decoded %d", i, len(e.Cmds[i]), cap(e.Cmds[i]), len(e2.Cmds[i]))
			}
			for j := range e.Cmds[i] {
				if !bytes.Equal(e.Cmds[i][j], e2.Cmds[i][j]) {
					t.Fatalf("command %d arg %d differs after re-decoding", i, j)
				}
			}
		}
	})
}

// TestDecodeLongCommands: commands of any length come out whole, each
// with no spare capacity, so appending to one command's arguments (as a
// handler may) can never overwrite the next command's.
func TestDecodeLongCommands(t *testing.T) {
	var in Entry
	in.Kind = Commands
	for _, n := range []int{1, 3, 10, 0, 3, 200, 2, 3, 3, 50} {
		cmd := make([][]byte, n)
		for j := range cmd {
			cmd[j] = []byte(fmt.Sprintf("c%d-a%d", len(in.Cmds), j))
		}
		in.Cmds = append(in.Cmds, cmd)
	}
	var out Entry
	if err := Decode(Append(nil, &in), &out); err != nil {
		t.Fatal(err)
	}
	if len(out.Cmds) != len(in.Cmds) {
		t.Fatalf("%d commands, want %d", len(out.Cmds), len(in.Cmds))
	}
	for i := range in.Cmds {
		if len(out.Cmds[i]) != len(in.Cmds[i]) || cap(out.Cmds[i]) != len(in.Cmds[i]) {
			t.Fatalf("command %d: len %d cap %d, want %d", i, len(out.Cmds[i]), cap(out.Cmds[i]), len(in.Cmds[i]))
		}
	}
	_ = append(out.Cmds[1], []byte("extra"))
	for i := range in.Cmds {
		for j := range in.Cmds[i] {
			if !bytes.Equal(in.Cmds[i][j], out.Cmds[i][j]) {
				t.Fatalf("cmd %d arg %d: got %q want %q", i, j, out.Cmds[i][j], in.Cmds[i][j])
			}
		}
	}
}
