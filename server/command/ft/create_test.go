package ft

import (
	"strings"
	"testing"

	"github.com/cairndb/cairn/server/search"
	"github.com/cairndb/cairn/vector"
)

func split(s string) [][]byte {
	var out [][]byte
	for _, w := range strings.Fields(s) {
		out = append(out, []byte(w))
	}
	return out
}

func TestParseCreate(t *testing.T) {
	d, err := ParseCreate(split("idx ON HASH PREFIX 2 a: b: SKIPINITIALSCAN SCHEMA title AS t TEXT SORTABLE tags TAG SEPARATOR ; CASESENSITIVE " +
		"n NUMERIC SORTABLE v VECTOR HNSW 14 TYPE FLOAT16 DIM 8 DISTANCE_METRIC COSINE M 8 EF_CONSTRUCTION 50 EF_RUNTIME 20 EPSILON 0.5"))
	if err != nil {
		t.Fatal(err)
	}
	if d.Name != "idx" || len(d.Prefixes) != 2 || !d.SkipInitialScan || len(d.Fields) != 4 {
		t.Fatalf("%+v", d)
	}
	if f := d.Fields[0]; f.Identifier != "title" || f.Attribute != "t" || f.Type != search.Text || !f.Sortable {
		t.Fatalf("text %+v", f)
	}
	if f := d.Fields[1]; f.Type != search.Tag || f.Separator != ';' || !f.CaseSensitive {
		t.Fatalf("tag %+v", f)
	}
	want := vector.Config{Algorithm: vector.HNSW, Type: vector.Float16, Dim: 8, Metric: vector.Cosine, M: 8, EFConstruction: 50, EFRuntime: 20, Epsilon: 0.5}
	if f := d.Fields[3]; f.Type != search.Vector || f.Vec != want {
		t.Fatalf("vector %+v", f.Vec)
	}
	for args, msg := range map[string]string{
		"i":                       "No schema found",
		"i SCHEMA":                "Fields arguments are missing",
		"i SCHEMA a":              "Field `a` does not have a type",
		"i SCHEMA a GEO":          "Field type GEO is not supported",
		"i SCHEMA a TEXT a TAG":   "Duplicate field in schema - a",
		"i ON JSON SCHEMA a TEXT": "JSON indexes are not supported",
		"i FOO SCHEMA a TEXT":     "Unknown argument `FOO`",
		"i SCHEMA v VECTOR HNSW 6 TYPE FLOAT32 DIM 4 DISTANCE_METRIC L1":     "Bad arguments for vector similarity HNSW index type: Bad arguments for argument DISTANCE_METRIC: Unknown argument `L1`",
		"i SCHEMA v VECTOR FLAT 4 TYPE FLOAT32 DIM 4":                        "Bad arguments for vector similarity FLAT index type: Missing mandatory parameter: cannot create FLAT index without specifying DISTANCE_METRIC argument",
		"i SCHEMA v VECTOR FLAT 8 TYPE FLOAT32 DIM 4 DISTANCE_METRIC L2 M 4": "Bad arguments for vector similarity FLAT index type: Unknown argument `M`",
		"i SCHEMA v VECTOR HNSW 3 TYPE FLOAT32 DIM":                          "Bad arguments for vector similarity number of parameters: Value is outside acceptable bounds",
		"i SCHEMA t TEXT WEIGHT abc":                                         "Bad arguments for weight: Could not convert argument to expected type",
	} {
		if _, err := ParseCreate(split(args)); err == nil || err.Error() != msg {
			t.Errorf("%q: %v, want %q", args, err, msg)
		}
	}
}

func TestParseCreateText(t *testing.T) {
	d, err := ParseCreate(split("i STOPWORDS 2 Foo bar SCHEMA t TEXT WEIGHT 2.5 SORTABLE b TEXT NOSTEM"))
	if err != nil {
		t.Fatal(err)
	}
	if !d.CustomStopWords || strings.Join(d.StopWords, ",") != "foo,bar" {
		t.Fatalf("stop words %+v", d)
	}
	if f := d.Fields[0]; f.Weight != 2.5 || !f.Sortable || d.Fields[1].Weight != 0 {
		t.Fatalf("fields %+v", d.Fields)
	}
	if d, err = ParseCreate(split("i STOPWORDS 0 SCHEMA t TEXT")); err != nil || !d.CustomStopWords || len(d.StopWords) != 0 {
		t.Fatalf("STOPWORDS 0: %+v %v", d, err)
	}
}

// FuzzParseCreate: no argument list panics FT.CREATE's parser (it runs at
// apply time).
func FuzzParseCreate(f *testing.F) {
	f.Add("i PREFIX 1 a: SCHEMA t TAG SEPARATOR , v VECTOR HNSW 6 TYPE FLOAT32 DIM 2 DISTANCE_METRIC L2 n NUMERIC")
	f.Add("i SCHEMA x AS y TEXT SORTABLE UNF")
	f.Fuzz(func(t *testing.T, s string) {
		args := split(s)
		if len(args) == 0 {
			return
		}
		ParseCreate(args)
	})
}
