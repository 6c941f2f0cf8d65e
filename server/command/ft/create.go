package ft

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/search"
	"github.com/cairndb/cairn/vector"
)

// ftCreate implements
//
//	FT.CREATE index [ON HASH] [PREFIX count prefix ...] [SKIPINITIALSCAN]
//	  SCHEMA field [AS alias] TEXT|TAG|NUMERIC|VECTOR [options] ...
//
// At apply time: the definition is validated completely before anything
// is created, then existing hashes are indexed (unless SKIPINITIALSCAN).
func ftCreate(c *command.Ctx, args [][]byte) (reply.Value, error) {
	reg, err := registry(c)
	if err != nil {
		return reply.Value{}, err
	}
	def, err := ParseCreate(args[1:])
	if err != nil {
		return reply.Value{}, err
	}
	def.Seed = c.Seed
	if err := reg.Create(def, c.DB, c.Now); err != nil {
		return reply.Value{}, command.Msg(err.Error())
	}
	c.Dirty++
	return reply.OK, nil
}

func upper(b []byte) string { return strings.ToUpper(string(b)) }

// ParseCreate parses FT.CREATE's arguments (from the index name on).
func ParseCreate(args [][]byte) (search.Definition, error) {
	var d search.Definition
	d.Name = string(args[0])
	i := 1
	for ; i < len(args); i++ {
		switch upper(args[i]) {
		case "ON":
			if i+1 >= len(args) {
				return d, command.Msg("Bad arguments for ON: Expected an argument, but none provided")
			}
			i++
			switch upper(args[i]) {
			case "HASH":
			case "JSON":
				return d, command.Msg("JSON indexes are not supported")
			default:
				return d, command.Msg("Invalid ON argument: " + string(args[i]))
			}
		case "PREFIX":
			if i+1 >= len(args) {
				return d, command.Msg("Bad arguments for PREFIX: Expected an argument, but none provided")
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+1+n >= len(args) {
				return d, command.Msg("Bad arguments for PREFIX: Value is outside acceptable bounds")
			}
			for _, p := range args[i+2 : i+2+n] {
				d.Prefixes = append(d.Prefixes, string(p))
			}
			i += 1 + n
		case "SKIPINITIALSCAN":
			d.SkipInitialScan = true
		case "NOOFFSETS", "NOHL", "NOFIELDS", "NOFREQS", "MAXTEXTFIELDS", "ASYNC":
		case "LANGUAGE", "LANGUAGE_FIELD", "SCORE", "SCORE_FIELD", "PAYLOAD_FIELD", "TEMPORARY":
			i++
		case "STOPWORDS":
			if i+1 >= len(args) {
				return d, command.Msg("Bad arguments for STOPWORDS: Expected an argument, but none provided")
			}
			n, err := strconv.Atoi(string(args[i+1]))
			if err != nil || n < 0 || i+1+n >= len(args) {
				return d, command.Msg("Bad arguments for STOPWORDS: Value is outside acceptable bounds")
			}
			d.CustomStopWords, d.StopWords = true, []string{}
			for _, w := range args[i+2 : i+2+n] {
				d.StopWords = append(d.StopWords, strings.ToLower(string(w)))
			}
			i += 1 + n
		case "FILTER":
			return d, command.Msg("FILTER expressions are not supported")
		case "SCHEMA":
			if err := parseSchema(&d, args[i+1:]); err != nil {
				return d, err
			}
			return d, nil
		default:
			return d, command.Msg("Unknown argument `" + string(args[i]) + "`")
		}
	}
	return d, command.Msg("No schema found")
}

func parseSchema(d *search.Definition, args [][]byte) error {
	if len(args) == 0 {
		return command.Msg("Fields arguments are missing")
	}
	seen := map[string]bool{}
	for i := 0; i < len(args); {
		f := search.Field{Identifier: string(args[i])}
		f.Attribute = f.Identifier
		i++
		if i+1 < len(args) && upper(args[i]) == "AS" {
			f.Attribute = string(args[i+1])
			i += 2
		}
		if i >= len(args) {
			return command.Msg("Field `" + f.Identifier + "` does not have a type")
		}
		if seen[f.Attribute] {
			return command.Msg("Duplicate field in schema - " + f.Attribute)
		}
		seen[f.Attribute] = true
		typ := upper(args[i])
		i++
		switch typ {
		case "TEXT":
			f.Type = search.Text
		case "TAG":
			f.Type = search.Tag
			f.Separator = ','
		case "NUMERIC":
			f.Type = search.Numeric
		case "VECTOR":
			f.Type = search.Vector
			n, err := parseVector(&f, args[i:])
			if err != nil {
				return err
			}
			i += n
		case "GEO", "GEOSHAPE":
			return command.Msg("Field type " + typ + " is not supported")
		default:
			return command.Msg("Invalid field type for field `" + f.Identifier + "`")
		}
		// Field options.
	opts:
		for i < len(args) {
			switch upper(args[i]) {
			case "SORTABLE":
				f.Sortable = true
				if i+1 < len(args) && upper(args[i+1]) == "UNF" {
					i++
				}
			case "NOINDEX", "NOSTEM", "INDEXMISSING", "INDEXEMPTY", "WITHSUFFIXTRIE":
			case "CASESENSITIVE":
				if f.Type != search.Tag {
					break opts
				}
				f.CaseSensitive = true
			case "SEPARATOR":
				if f.Type != search.Tag {
					break opts
				}
				if i+1 >= len(args) || len(args[i+1]) != 1 {
					return command.Msg("Tag separator must be a single character")
				}
				f.Separator = args[i+1][0]
				i++
			case "WEIGHT":
				if f.Type != search.Text || i+1 >= len(args) {
					break opts
				}
				w, err := strconv.ParseFloat(string(args[i+1]), 64)
				if err != nil || w != w {
					return command.Msg("Bad arguments for weight: Could not convert argument to expected type")
				}
				f.Weight = w
				i++
			case "PHONETIC":
				if f.Type != search.Text || i+1 >= len(args) {
					break opts
				}
				i++
			default:
				break opts
			}
			i++
		}
		d.Fields = append(d.Fields, f)
	}
	return nil
}

// parseVector parses `HNSW|FLAT count name value ...` and returns how many
// arguments it used.
func parseVector(f *search.Field, args [][]byte) (int, error) {
	if len(args) < 2 {
		return 0, command.Msg("Bad arguments for vector similarity algorithm: Expected an argument, but none provided")
	}
	alg, err := vector.ParseAlgorithm(string(args[0]))
	if err != nil {
		return 0, command.Msg("Bad arguments for vector similarity algorithm: Unknown argument `" + string(args[0]) + "`")
	}
	name := alg.String()
	bad := func(msg string) error {
		return command.Msg(fmt.Sprintf("Bad arguments for vector similarity %s index type: %s", name, msg))
	}
	n, err := strconv.Atoi(string(args[1]))
	if err != nil || n < 0 || n%2 != 0 || 2+n > len(args) {
		return 0, command.Msg("Bad arguments for vector similarity number of parameters: Value is outside acceptable bounds")
	}
	cfg := vector.Config{Algorithm: alg}
	var haveType, haveDim, haveMetric bool
	num := func(v []byte, what string, lo int) (int, error) {
		x, err := strconv.Atoi(string(v))
		if err != nil || x < lo {
			return 0, bad("Bad arguments for argument " + what + ": Value is outside acceptable bounds")
		}
		return x, nil
	}
	for j := 2; j < 2+n; j += 2 {
		k, v := upper(args[j]), args[j+1]
		switch k {
		case "TYPE":
			t, err := vector.ParseElemType(string(v))
			if err != nil {
				return 0, bad("Bad arguments for argument TYPE: Unknown argument `" + string(v) + "`")
			}
			cfg.Type, haveType = t, true
		case "DIM":
			if cfg.Dim, err = num(v, "DIM", 1); err != nil {
				return 0, err
			}
			if cfg.Dim > vector.MaxDim {
				return 0, bad("Bad arguments for argument DIM: Value is outside acceptable bounds")
			}
			haveDim = true
		case "DISTANCE_METRIC":
			m, err := vector.ParseMetric(string(v))
			if err != nil {
				return 0, bad("Bad arguments for argument DISTANCE_METRIC: Unknown argument `" + string(v) + "`")
			}
			cfg.Metric, haveMetric = m, true
		case "INITIAL_CAP":
			if cfg.InitialCap, err = num(v, "INITIAL_CAP", 0); err != nil {
				return 0, err
			}
		case "BLOCK_SIZE":
			if alg != vector.FLAT {
				return 0, bad("Unknown argument `BLOCK_SIZE`")
			}
			if cfg.BlockSize, err = num(v, "BLOCK_SIZE", 1); err != nil {
				return 0, err
			}
		case "M", "EF_CONSTRUCTION", "EF_RUNTIME", "EPSILON":
			if alg != vector.HNSW {
				return 0, bad("Unknown argument `" + k + "`")
			}
			switch k {
			case "M":
				if cfg.M, err = num(v, "M", 2); err != nil || cfg.M > vector.MaxM {
					return 0, bad("Bad arguments for argument M: Value is outside acceptable bounds")
				}
			case "EF_CONSTRUCTION":
				if cfg.EFConstruction, err = num(v, "EF_CONSTRUCTION", 1); err != nil || cfg.EFConstruction > vector.MaxEF {
					return 0, bad("Bad arguments for argument EF_CONSTRUCTION: Value is outside acceptable bounds")
				}
			case "EF_RUNTIME":
				if cfg.EFRuntime, err = num(v, "EF_RUNTIME", 1); err != nil || cfg.EFRuntime > vector.MaxEF {
					return 0, bad("Bad arguments for argument EF_RUNTIME: Value is outside acceptable bounds")
				}
			case "EPSILON":
				e, err := strconv.ParseFloat(string(v), 64)
				if err != nil || !(e > 0) || e > 1e6 {
					return 0, bad("Bad arguments for argument EPSILON: Value is outside acceptable bounds")
				}
				cfg.Epsilon = e
			}
		default:
			return 0, bad("Unknown argument `" + string(args[j]) + "`")
		}
	}
	switch {
	case !haveType:
		return 0, bad("Missing mandatory parameter: cannot create " + name + " index without specifying TYPE argument")
	case !haveDim:
		return 0, bad("Missing mandatory parameter: cannot create " + name + " index without specifying DIM argument")
	case !haveMetric:
		return 0, bad("Missing mandatory parameter: cannot create " + name + " index without specifying DISTANCE_METRIC argument")
	}
	if err := cfg.Validate(); err != nil {
		return 0, bad(err.Error())
	}
	f.Vec = cfg
	return 2 + n, nil
}
