package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path"
	"regexp"
	"strings"

	"github.com/gin-gonic/gin"
)

// wasmMagic starts every WebAssembly binary module (\0asm, version 1).
var wasmMagic = []byte{0, 'a', 's', 'm', 1, 0, 0, 0}

// libName is what Redis accepts as a library name.
var libName = regexp.MustCompile(`^[A-Za-z0-9_]{1,64}$`)

type moduleFunc struct {
	Name, Description string
	Flags             []string
}

type moduleLib struct {
	Name, Engine string
	Functions    []moduleFunc
}

type modulesView struct {
	Libraries []moduleLib
	Stats     []kv
	StatsErr  string
}

func modulesData(d *Dashboard, c *gin.Context) (any, error) {
	conn := sess(c).conn
	ctx := c.Request.Context()
	var v modulesView
	r, err := conn.Do(ctx, "FUNCTION", "LIST")
	if err != nil {
		return v, err
	}
	for _, l := range list(r) {
		m := pairs(l)
		lib := moduleLib{Name: str(m["library_name"]), Engine: str(m["engine"])}
		for _, f := range list(m["functions"]) {
			fm := pairs(f)
			mf := moduleFunc{Name: str(fm["name"]), Description: str(fm["description"])}
			for _, fl := range list(fm["flags"]) {
				mf.Flags = append(mf.Flags, str(fl))
			}
			lib.Functions = append(lib.Functions, mf)
		}
		v.Libraries = append(v.Libraries, lib)
	}
	if st, err := conn.Do(ctx, "FUNCTION", "STATS"); err != nil {
		v.StatsErr = errText(err)
	} else {
		flattenStats(&v.Stats, "", st)
	}
	return v, nil
}

// flattenStats turns FUNCTION STATS' nested maps into dotted rows.
func flattenStats(out *[]kv, prefix string, v any) {
	switch x := v.(type) {
	case []any:
		if len(x)%2 == 0 && len(x) > 0 {
			if _, ok := x[0].(string); ok {
				for i := 0; i+1 < len(x); i += 2 {
					flattenStats(out, prefix+str(x[i])+".", x[i+1])
				}
				return
			}
		}
		*out = append(*out, kv{strings.TrimSuffix(prefix, "."), str(x)})
	case map[any]any:
		for k, e := range x {
			flattenStats(out, prefix+str(k)+".", e)
		}
	default:
		*out = append(*out, kv{strings.TrimSuffix(prefix, "."), str(x)})
	}
}

// modulesHandler serves the module actions: load, call, delete.
type modulesHandler struct{ d *Dashboard }

// load reads an uploaded .wasm file (multipart field "file", optional
// "name" and "replace") and sends FUNCTION LOAD [REPLACE] with the
// "#!wasm name=<lib>\n" payload.
func (h modulesHandler) load(c *gin.Context) {
	max := h.d.cfg.MaxUpload
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, max+1<<20)
	fh, err := c.FormFile("file")
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": fmt.Sprintf("module too large (at most %d bytes)", max)})
			return
		}
		c.JSON(http.StatusBadRequest, gin.H{"error": "a .wasm file is required (multipart field \"file\")"})
		return
	}
	if fh.Size > max {
		c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": fmt.Sprintf("module too large: %d bytes (at most %d)", fh.Size, max)})
		return
	}
	name := c.PostForm("name")
	if name == "" {
		name = strings.TrimSuffix(path.Base(strings.ReplaceAll(fh.Filename, "\\", "/")), ".wasm")
	}
	if !libName.MatchString(name) {
		c.JSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("invalid library name %q (letters, digits and _ only)", name)})
		return
	}
	f, err := fh.Open()
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "cannot read the upload"})
		return
	}
	defer f.Close()
	code, err := io.ReadAll(io.LimitReader(f, max+1))
	if err != nil || int64(len(code)) > max {
		c.JSON(http.StatusRequestEntityTooLarge, gin.H{"error": "module too large"})
		return
	}
	if !bytes.HasPrefix(code, wasmMagic) {
		c.JSON(http.StatusBadRequest, gin.H{"error": "not a WebAssembly module (a .wasm file starts with \\0asm and version 1)"})
		return
	}
	args := []any{"FUNCTION", "LOAD"}
	if r := c.PostForm("replace"); r == "1" || r == "on" || r == "true" {
		args = append(args, "REPLACE")
	}
	args = append(args, "#!wasm name="+name+"\n"+string(code))
	if v, ok := h.d.actAll(c, args...); ok {
		c.JSON(http.StatusOK, gin.H{"library": str(v)})
	}
}

type callReq struct {
	Function string   `json:"function"`
	Keys     []string `json:"keys"`
	Args     []string `json:"args"`
	ReadOnly bool     `json:"ro"`
}

// call runs FCALL (or FCALL_RO) function numkeys key... arg...
func (h modulesHandler) call(c *gin.Context) {
	var req callReq
	if err := c.ShouldBindJSON(&req); err != nil || req.Function == "" {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON {\"function\":..., \"keys\":[...], \"args\":[...]}"})
		return
	}
	cmd := "FCALL"
	if req.ReadOnly {
		cmd = "FCALL_RO"
	}
	args := []any{cmd, req.Function, len(req.Keys)}
	for _, k := range req.Keys {
		args = append(args, k)
	}
	for _, a := range req.Args {
		args = append(args, a)
	}
	if v, ok := h.d.act(c, args...); ok {
		c.JSON(http.StatusOK, gin.H{"reply": v, "text": str(v)})
	}
}

// del removes a library (FUNCTION DELETE).
func (h modulesHandler) del(c *gin.Context) {
	if v, ok := h.d.actAll(c, "FUNCTION", "DELETE", c.Param("name")); ok {
		c.JSON(http.StatusOK, gin.H{"reply": v})
	}
}
