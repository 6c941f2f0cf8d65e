package web

import (
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"
)

type vecField struct {
	Name, Algorithm, Metric string
	Dim                     int
}

type indexInfo struct {
	Name       string
	Docs       string
	Indexing   string
	Percent    string
	Attributes []string
	Vectors    []vecField
	Err        string
}

type vectorsView struct {
	Indexes []indexInfo
}

func vectorsData(d *Dashboard, c *gin.Context) (any, error) {
	conn := sess(c).conn
	ctx := c.Request.Context()
	var v vectorsView
	r, err := conn.Do(ctx, "FT._LIST")
	if err != nil {
		return v, err
	}
	for _, n := range list(r) {
		v.Indexes = append(v.Indexes, ftInfo(c, str(n)))
	}
	return v, nil
}

// ftInfo reads FT.INFO name into the figures the page shows.
func ftInfo(c *gin.Context, name string) indexInfo {
	ix := indexInfo{Name: name}
	r, err := sess(c).conn.Do(c.Request.Context(), "FT.INFO", name)
	if err != nil {
		ix.Err = errText(err)
		return ix
	}
	m := pairs(r)
	ix.Docs, ix.Indexing, ix.Percent = str(m["num_docs"]), str(m["indexing"]), str(m["percent_indexed"])
	for _, a := range list(m["attributes"]) {
		am := map[string]string{}
		flat := list(a)
		for i := 0; i+1 < len(flat); i += 2 {
			am[strings.ToLower(str(flat[i]))] = str(flat[i+1])
		}
		desc := am["identifier"] + " " + am["type"]
		if am["attribute"] != "" && am["attribute"] != am["identifier"] {
			desc = am["identifier"] + " AS " + am["attribute"] + " " + am["type"]
		}
		ix.Attributes = append(ix.Attributes, desc)
		if strings.EqualFold(am["type"], "VECTOR") {
			dim, _ := strconv.Atoi(am["dim"])
			name := am["attribute"]
			if name == "" {
				name = am["identifier"]
			}
			ix.Vectors = append(ix.Vectors, vecField{Name: name, Algorithm: am["algorithm"], Metric: am["distance_metric"], Dim: dim})
		}
	}
	return ix
}

// parseVector reads "0.1, 0.2 0.3" or "[0.1,0.2]" as float32 values.
func parseVector(s string) ([]float32, error) {
	s = strings.Trim(strings.TrimSpace(s), "[]")
	parts := strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\t' || r == '\r' })
	if len(parts) == 0 {
		return nil, badInput{"invalid vector: no numbers"}
	}
	out := make([]float32, len(parts))
	for i, p := range parts {
		f, err := strconv.ParseFloat(p, 32)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, badInput{fmt.Sprintf("invalid vector: element %d (%q) is not a finite number", i+1, p)}
		}
		out[i] = float32(f)
	}
	return out, nil
}

// vectorHandler runs KNN queries.
type vectorHandler struct{ d *Dashboard }

type knnReq struct {
	Field  string `json:"field"`
	K      int    `json:"k"`
	Vector string `json:"vector"` // numbers, or
	Key    string `json:"key"`    // a hash whose Field holds the query vector
}

type knnHit struct {
	Key    string  `json:"key"`
	Score  string  `json:"score"`
	Fields []field `json:"fields"`
}

// knn runs FT.SEARCH index "*=>[KNN k @field $vec AS __score]" PARAMS 2
// vec <blob> SORTBY __score DIALECT 2 with the pasted vector or the
// vector stored in a picked key.
func (h vectorHandler) knn(c *gin.Context) {
	var req knnReq
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON {\"field\":..., \"k\":10, \"vector\":\"0.1,0.2\" or \"key\":...}"})
		return
	}
	if req.K == 0 {
		req.K = 10
	}
	if req.K < 1 || req.K > 1000 {
		c.JSON(http.StatusBadRequest, gin.H{"error": "k must be between 1 and 1000"})
		return
	}
	ix := ftInfo(c, c.Param("name"))
	if ix.Err != "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": ix.Err})
		return
	}
	var vf *vecField
	for i := range ix.Vectors {
		if req.Field == "" || ix.Vectors[i].Name == req.Field {
			vf = &ix.Vectors[i]
			break
		}
	}
	if vf == nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("index %q has no vector field %q", ix.Name, req.Field)})
		return
	}
	var blob string
	switch {
	case req.Key != "":
		v, ok := h.d.query(c, "HGET", req.Key, vf.Name)
		if !ok {
			return
		}
		if v == nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("key %q has no field %q", req.Key, vf.Name)})
			return
		}
		blob = str(v)
		if vf.Dim > 0 && len(blob) != 4*vf.Dim {
			c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("invalid vector: key %q holds %d bytes, the field needs %d float32 (%d bytes)", req.Key, len(blob), vf.Dim, 4*vf.Dim)})
			return
		}
	default:
		vec, err := parseVector(req.Vector)
		if err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
			return
		}
		if vf.Dim > 0 && len(vec) != vf.Dim {
			c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("invalid vector: %d numbers, field %s has DIM %d", len(vec), vf.Name, vf.Dim)})
			return
		}
		blob = encodeFloat32(vec)
	}
	q := fmt.Sprintf("*=>[KNN %d @%s $vec AS __score]", req.K, vf.Name)
	r, ok := h.d.act(c, "FT.SEARCH", ix.Name, q, "PARAMS", 2, "vec", blob, "SORTBY", "__score", "LIMIT", 0, req.K, "DIALECT", 2)
	if !ok {
		return
	}
	res := list(r)
	var hits []knnHit
	total := int64(0)
	if len(res) > 0 {
		total = toInt(res[0])
	}
	for i := 1; i+1 < len(res); i += 2 {
		hit := knnHit{Key: str(res[i])}
		fl := list(res[i+1])
		for j := 0; j+1 < len(fl); j += 2 {
			name := str(fl[j])
			if name == "__score" {
				hit.Score = str(fl[j+1])
				continue
			}
			f := showValue(str(fl[j+1]))
			f.Name = name
			hit.Fields = append(hit.Fields, f)
		}
		hits = append(hits, hit)
	}
	c.JSON(http.StatusOK, gin.H{"total": total, "hits": hits, "query": q})
}
