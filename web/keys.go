package web

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

const (
	keysPage      = 100  // keys listed per page
	maxPattern    = 1024 // longest SCAN pattern accepted
	maxShownValue = 64 << 10
	maxShownItems = 500
)

var scanTypes = map[string]bool{"": true, "string": true, "list": true, "set": true, "zset": true,
	"hash": true, "stream": true}

// checkPattern refuses SCAN patterns that are too long or malformed (an
// unclosed [ class or a trailing lone backslash).
func checkPattern(p string) error {
	if len(p) > maxPattern {
		return badInput{fmt.Sprintf("pattern too long (%d bytes, at most %d)", len(p), maxPattern)}
	}
	in := false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			if i == len(p)-1 {
				return badInput{"malformed pattern: trailing backslash"}
			}
			i++
		case c == '[' && !in:
			in = true
		case c == ']' && in:
			in = false
		}
	}
	if in {
		return badInput{"malformed pattern: unclosed ["}
	}
	return nil
}

type keyRow struct {
	Key, Type string
}

type keysView struct {
	Pattern, Type string
	Cursor        string // this page's cursor
	Next          string // the next page's cursor, "" at the end
	Keys          []keyRow
	Key           *keyValue // the key opened in the viewer
}

func keysData(d *Dashboard, c *gin.Context) (any, error) {
	pattern := c.DefaultQuery("pattern", "*")
	typ := strings.ToLower(c.Query("type"))
	cursor := c.DefaultQuery("cursor", "0")
	if err := checkPattern(pattern); err != nil {
		return keysView{Pattern: pattern, Type: typ}, err
	}
	if !scanTypes[typ] {
		return keysView{Pattern: pattern}, badInput{fmt.Sprintf("unknown type %q (string, list, set, zset, hash, stream)", typ)}
	}
	if _, err := strconv.ParseUint(cursor, 10, 64); err != nil {
		return keysView{Pattern: pattern, Type: typ}, badInput{"cursor must be a number"}
	}
	v := keysView{Pattern: pattern, Type: typ, Cursor: cursor}
	ctx := c.Request.Context()
	conn := sess(c).conn
	seen := map[string]bool{}
	cur := cursor
	for i := 0; i < 50 && len(v.Keys) < keysPage; i++ {
		args := []any{"SCAN", cur, "MATCH", pattern, "COUNT", keysPage}
		if typ != "" {
			args = append(args, "TYPE", typ)
		}
		r, err := conn.Do(ctx, args...)
		if err != nil {
			return v, err
		}
		parts := list(r)
		if len(parts) != 2 {
			return v, fmt.Errorf("unexpected SCAN reply")
		}
		cur = str(parts[0])
		for _, k := range list(parts[1]) {
			if ks := str(k); !seen[ks] {
				seen[ks] = true
				v.Keys = append(v.Keys, keyRow{Key: ks, Type: typ})
			}
		}
		if cur == "0" {
			break
		}
	}
	if cur != "0" {
		v.Next = cur
	}
	if typ == "" {
		for i := range v.Keys {
			t, err := conn.Do(ctx, "TYPE", v.Keys[i].Key)
			if err != nil {
				return v, err
			}
			v.Keys[i].Type = str(t)
		}
	}
	if k := c.Query("key"); k != "" {
		kv, err := readKey(ctx, conn, k)
		if err != nil {
			return v, err
		}
		v.Key = kv
	}
	return v, nil
}

// field is one shown element of a value: an optional name (hash field,
// zset score, stream entry id) and the value rendered for people.
type field struct {
	Name  string `json:"name,omitempty"`
	Value string `json:"value"`
	Kind  string `json:"kind"` // text, vector, binary
}

type keyValue struct {
	Key    string  `json:"key"`
	Type   string  `json:"type"`
	TTLms  int64   `json:"ttl_ms"` // -1 no expiry
	Len    int64   `json:"len"`
	Items  []field `json:"items"`
	Capped bool    `json:"capped"` // only the first items are shown
}

// showValue renders a value: text when it is printable UTF-8, a float32
// vector preview (dims + first values) when it looks like one, else hex.
func showValue(s string) field {
	if utf8.ValidString(s) && printable(s) {
		if len(s) > maxShownValue {
			return field{Value: s[:maxShownValue] + "…", Kind: "text"}
		}
		return field{Value: s, Kind: "text"}
	}
	if len(s)%4 == 0 && len(s) >= 8 {
		vec := decodeFloat32(s)
		var b strings.Builder
		fmt.Fprintf(&b, "vector, %d dims: [", len(vec))
		for i, f := range vec {
			if i == 8 {
				b.WriteString(", …")
				break
			}
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(strconv.FormatFloat(float64(f), 'g', 4, 32))
		}
		b.WriteString("]")
		return field{Value: b.String(), Kind: "vector"}
	}
	n := min(len(s), 64)
	return field{Value: fmt.Sprintf("%d bytes: %x", len(s), s[:n]), Kind: "binary"}
}

func printable(s string) bool {
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\r' && r != '\t' {
			return false
		}
	}
	return true
}

// readKey reads one key for the viewer with the type's own commands.
func readKey(ctx context.Context, conn Conn, key string) (*keyValue, error) {
	t, err := conn.Do(ctx, "TYPE", key)
	if err != nil {
		return nil, err
	}
	kv := &keyValue{Key: key, Type: str(t)}
	if kv.Type == "none" {
		return kv, nil
	}
	ttl, err := conn.Do(ctx, "PTTL", key)
	if err != nil {
		return nil, err
	}
	kv.TTLms = toInt(ttl)
	var lenCmd string
	var items any
	switch kv.Type {
	case "string":
		lenCmd = "STRLEN"
		items, err = conn.Do(ctx, "GET", key)
		if err == nil {
			kv.Items = []field{showValue(str(items))}
		}
	case "hash":
		lenCmd = "HLEN"
		items, err = conn.Do(ctx, "HSCAN", key, "0", "COUNT", maxShownItems)
		if err == nil {
			flat := list(list(items)[1])
			for i := 0; i+1 < len(flat); i += 2 {
				f := showValue(str(flat[i+1]))
				f.Name = str(flat[i])
				kv.Items = append(kv.Items, f)
			}
		}
	case "list":
		lenCmd = "LLEN"
		items, err = conn.Do(ctx, "LRANGE", key, 0, maxShownItems-1)
		for i, e := range list(items) {
			f := showValue(str(e))
			f.Name = strconv.Itoa(i)
			kv.Items = append(kv.Items, f)
		}
	case "set":
		lenCmd = "SCARD"
		items, err = conn.Do(ctx, "SSCAN", key, "0", "COUNT", maxShownItems)
		if err == nil {
			for _, e := range list(list(items)[1]) {
				kv.Items = append(kv.Items, showValue(str(e)))
			}
		}
	case "zset":
		lenCmd = "ZCARD"
		items, err = conn.Do(ctx, "ZRANGE", key, 0, maxShownItems-1, "WITHSCORES")
		flat := list(items)
		for i := 0; i+1 < len(flat); i += 2 {
			f := showValue(str(flat[i]))
			f.Name = str(flat[i+1])
			kv.Items = append(kv.Items, f)
		}
	case "stream":
		lenCmd = "XLEN"
		items, err = conn.Do(ctx, "XRANGE", key, "-", "+", "COUNT", 100)
		for _, e := range list(items) {
			ent := list(e)
			if len(ent) != 2 {
				continue
			}
			var parts []string
			fl := list(ent[1])
			for i := 0; i+1 < len(fl); i += 2 {
				parts = append(parts, str(fl[i])+"="+showValue(str(fl[i+1])).Value)
			}
			kv.Items = append(kv.Items, field{Name: str(ent[0]), Value: strings.Join(parts, " "), Kind: "text"})
		}
	default:
		return kv, nil
	}
	if err != nil {
		return nil, err
	}
	if n, err := conn.Do(ctx, lenCmd, key); err == nil {
		kv.Len = toInt(n)
	}
	kv.Capped = int64(len(kv.Items)) < kv.Len && kv.Type != "string"
	return kv, nil
}

// keysHandler serves the key actions of the keys page.
type keysHandler struct{ d *Dashboard }

func (h keysHandler) get(c *gin.Context) {
	key := c.Query("key")
	if key == "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": "key is required"})
		return
	}
	kv, err := readKey(c.Request.Context(), sess(c).conn, key)
	if err != nil {
		apiError(c, err)
		return
	}
	c.JSON(http.StatusOK, kv)
}

type setReq struct {
	Key   string  `json:"key" form:"key"`
	Field string  `json:"field" form:"field"`
	Value *string `json:"value" form:"value"`
}

// set writes a string (SET key value KEEPTTL) or one hash field (HSET).
func (h keysHandler) set(c *gin.Context) {
	var req setReq
	if err := c.ShouldBind(&req); err != nil || req.Key == "" || req.Value == nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "key and value are required"})
		return
	}
	var v any
	var ok bool
	if req.Field != "" {
		v, ok = h.d.act(c, "HSET", req.Key, req.Field, *req.Value)
	} else {
		v, ok = h.d.act(c, "SET", req.Key, *req.Value, "KEEPTTL")
	}
	if ok {
		c.JSON(http.StatusOK, gin.H{"reply": v})
	}
}

type ttlReq struct {
	Key     string `json:"key" form:"key"`
	Seconds *int64 `json:"seconds" form:"seconds"`
}

// ttl sets a key's time to live (EXPIRE), or removes it (PERSIST) for -1.
func (h keysHandler) ttl(c *gin.Context) {
	var req ttlReq
	if err := c.ShouldBind(&req); err != nil || req.Key == "" || req.Seconds == nil || (*req.Seconds <= 0 && *req.Seconds != -1) {
		c.JSON(http.StatusBadRequest, gin.H{"error": "key and seconds (> 0, or -1 to persist) are required"})
		return
	}
	var v any
	var ok bool
	if *req.Seconds == -1 {
		v, ok = h.d.act(c, "PERSIST", req.Key)
	} else {
		v, ok = h.d.act(c, "EXPIRE", req.Key, *req.Seconds)
	}
	if ok {
		c.JSON(http.StatusOK, gin.H{"reply": v})
	}
}

// del deletes a key (DEL); the page asks for confirmation first.
func (h keysHandler) del(c *gin.Context) {
	key := c.Query("key")
	if key == "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": "key is required"})
		return
	}
	if v, ok := h.d.act(c, "DEL", key); ok {
		c.JSON(http.StatusOK, gin.H{"reply": v})
	}
}
