package entry

import (
	"bytes"
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
	})
}
