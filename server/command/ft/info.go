package ft

import (
	"slices"
	"strconv"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
)

func bs(s string) reply.Value { return reply.BulkString(s) }

// mb formats a byte count in megabytes, as FT.INFO's *_sz_mb fields.
func mb(n int64) reply.Value {
	return reply.Double(strconv.FormatFloat(float64(n)/(1<<20), 'g', -1, 64))
}

// ftInfo implements FT.INFO index: the index's definition and statistics
// with the field names client libraries look up (a flat list of pairs in
// RESP2, a map in RESP3). Indexing is synchronous at apply time, so
// indexing is 0 and percent_indexed 1 whenever the reply is given.
func ftInfo(c *command.Ctx, args [][]byte) (reply.Value, error) {
	ix, err := lookup(c, args[1], "Unknown Index name")
	if err != nil {
		return reply.Value{}, err
	}
	d := &ix.Def
	prefixes := []reply.Value{}
	for _, p := range d.Prefixes {
		prefixes = append(prefixes, bs(p))
	}
	if len(d.Prefixes) == 0 {
		prefixes = append(prefixes, bs(""))
	}
	var attrs []reply.Value
	for i := range d.Fields {
		attrs = append(attrs, attribute(&d.Fields[i]))
	}
	opts := []reply.Value{}
	if d.SkipInitialScan {
		opts = append(opts, bs("SKIPINITIALSCAN"))
	}
	vec := ix.VectorBytes()
	indexing := int64(0)
	if ix.Scanning {
		indexing = 1
	}
	docs := int64(ix.NumDocs())
	errs := reply.Map(
		bs("indexing failures"), reply.Int(ix.Failures),
		bs("last indexing error"), bs(orNA(ix.LastError)),
		bs("last indexing error key"), bs(orNA(ix.LastErrorKey)),
	)
	return reply.Map(
		bs("index_name"), bs(d.Name),
		bs("index_options"), reply.Array(opts...),
		bs("index_definition"), reply.Map(
			bs("key_type"), bs("HASH"),
			bs("prefixes"), reply.Array(prefixes...),
			bs("default_score"), reply.Double("1"),
		),
		bs("attributes"), reply.Array(attrs...),
		bs("num_docs"), reply.Int(docs),
		bs("max_doc_id"), reply.Int(int64(ix.MaxDocID)),
		bs("num_terms"), reply.Int(0),
		bs("num_records"), reply.Int(docs*int64(len(d.Fields))),
		bs("inverted_sz_mb"), mb(0),
		bs("vector_index_sz_mb"), mb(vec),
		bs("total_inverted_index_blocks"), reply.Int(0),
		bs("offset_vectors_sz_mb"), mb(0),
		bs("doc_table_size_mb"), mb(docs*48),
		bs("sortable_values_size_mb"), mb(0),
		bs("key_table_size_mb"), mb(docs*32),
		bs("records_per_doc_avg"), reply.Double(strconv.Itoa(len(d.Fields))),
		bs("bytes_per_record_avg"), reply.Double("0"),
		bs("offsets_per_term_avg"), reply.Double("0"),
		bs("offset_bits_per_record_avg"), reply.Double("0"),
		bs("hash_indexing_failures"), reply.Int(ix.Failures),
		bs("total_indexing_time"), reply.Double("0"),
		bs("indexing"), reply.Int(indexing),
		bs("percent_indexed"), reply.Double(strconv.FormatFloat(ix.PercentIndexed(), 'g', -1, 64)),
		bs("number_of_uses"), reply.Int(0),
		bs("cleaning"), reply.Int(0),
		bs("gc_stats"), reply.Map(
			bs("bytes_collected"), reply.Int(0),
			bs("total_ms_run"), reply.Int(0),
			bs("total_cycles"), reply.Int(0),
			bs("average_cycle_time_ms"), bs("nan"),
			bs("last_run_time_ms"), reply.Int(0),
		),
		bs("cursor_stats"), reply.Map(
			bs("global_idle"), reply.Int(0),
			bs("global_total"), reply.Int(0),
			bs("index_capacity"), reply.Int(128),
			bs("index_total"), reply.Int(0),
		),
		bs("dialect_stats"), reply.Map(
			bs("dialect_1"), reply.Int(0),
			bs("dialect_2"), reply.Int(0),
			bs("dialect_3"), reply.Int(0),
			bs("dialect_4"), reply.Int(0),
		),
		bs("Index Errors"), errs,
	), nil
}

func orNA(s string) string {
	if s == "" {
		return "N/A"
	}
	return s
}

// attribute describes one schema field as FT.INFO lists it.
func attribute(f *search.Field) reply.Value {
	out := []reply.Value{
		bs("identifier"), bs(f.Identifier),
		bs("attribute"), bs(f.Attribute),
		bs("type"), bs(f.Type.String()),
	}
	switch f.Type {
	case search.Text:
		w := f.Weight
		if w == 0 {
			w = 1
		}
		out = append(out, bs("WEIGHT"), bs(strconv.FormatFloat(w, 'g', -1, 64)))
	case search.Tag:
		out = append(out, bs("SEPARATOR"), bs(string(f.Separator)))
	case search.Vector:
		v := f.Vec
		out = append(out,
			bs("algorithm"), bs(v.Algorithm.String()),
			bs("data_type"), bs(v.Type.String()),
			bs("dim"), reply.Int(int64(v.Dim)),
			bs("distance_metric"), bs(v.Metric.String()),
		)
		if v.Algorithm.String() == "HNSW" {
			m, efc, efr, eps := v.M, v.EFConstruction, v.EFRuntime, v.Epsilon
			if m == 0 {
				m = 16
			}
			if efc == 0 {
				efc = 200
			}
			if efr == 0 {
				efr = 10
			}
			if eps == 0 {
				eps = 0.01
			}
			out = append(out,
				bs("M"), reply.Int(int64(m)),
				bs("ef_construction"), reply.Int(int64(efc)),
				bs("ef_runtime"), reply.Int(int64(efr)),
				bs("epsilon"), bs(strconv.FormatFloat(eps, 'g', -1, 64)),
			)
		}
	}
	// Flags: bare words in RESP2, a "flags" list in RESP3's map.
	var flags []reply.Value
	if f.Type == search.Tag && f.CaseSensitive {
		flags = append(flags, bs("CASESENSITIVE"))
	}
	if f.Sortable {
		flags = append(flags, bs("SORTABLE"))
	}
	r2 := reply.Array(append(slices.Clone(out), flags...)...)
	r3 := reply.Map(append(out, bs("flags"), reply.Array(flags...))...)
	return reply.ByProto(r2, r3)
}
