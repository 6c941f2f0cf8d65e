package web

import (
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// pageDef is one page of the dashboard: its URL, the JSON view under
// /api/<API> built by the same Data function, and its template.
type pageDef struct {
	Path, API, Name, Tmpl string
	// Refresh is the period in seconds at which the script reloads the
	// page's main section (0: never, the page is interactive).
	Refresh int
	// Data builds the page's view as the signed-in user.
	Data func(d *Dashboard, c *gin.Context) (any, error)
	// Can lists the actions whose buttons the page enables only when
	// ACL DRYRUN allows them: action name -> representative command.
	Can map[string][]string
}

var pageList = []pageDef{
	{Path: "/", API: "overview", Name: "Overview", Tmpl: "overview", Refresh: 5, Data: overviewData},
	{Path: "/shard", API: "shard", Name: "Shard", Tmpl: "shard", Refresh: 5, Data: shardData},
	{Path: "/charts", API: "charts", Name: "Charts", Tmpl: "charts", Refresh: 5, Data: chartsData},
	{Path: "/keys", API: "keys", Name: "Keys", Tmpl: "keys", Data: keysData, Can: map[string][]string{
		"set": {"SET", "k", "v"}, "hset": {"HSET", "k", "f", "v"}, "expire": {"EXPIRE", "k", "1"}, "del": {"DEL", "k"}}},
	{Path: "/slowlog", API: "slowlog", Name: "Slow log", Tmpl: "slowlog", Refresh: 10, Data: slowlogData},
	{Path: "/modules", API: "modules", Name: "Modules", Tmpl: "modules", Refresh: 5, Data: modulesData, Can: map[string][]string{
		"load": {"FUNCTION", "LOAD", "x"}, "call": {"FCALL", "f", "0"}, "delete": {"FUNCTION", "DELETE", "x"}}},
	{Path: "/vectors", API: "indexes", Name: "Vectors", Tmpl: "vectors", Data: vectorsData, Can: map[string][]string{
		"search": {"FT.SEARCH", "idx", "*"}}},
	{Path: "/ops", API: "ops", Name: "Operations", Tmpl: "ops", Refresh: 5, Data: opsData, Can: map[string][]string{
		"backup": {"BACKUP", "CREATE"}, "moveslots": {"CLUSTER", "MOVESLOTS", "1", "0", "0"},
		"rebalance": {"CLUSTER", "REBALANCE"}, "promote": {"REGION", "PROMOTE"},
		"addreplica": {"CLUSTER", "ADDREPLICA", "1", "1"}, "delreplica": {"CLUSTER", "DELREPLICA", "1", "1"}}},
	{Path: "/users", API: "users", Name: "Users", Tmpl: "users", Refresh: 10, Data: usersData},
}

type navItem struct{ Path, Name string }

// pageData is what every template receives.
type pageData struct {
	Title, User, CSRF, Error, Version, Active string
	Nav                                       []navItem
	Refresh                                   int
	Can                                       map[string]bool
	Why                                       map[string]string
	View                                      any
	RenderMS                                  string
	Query                                     map[string]string
}

var funcs = template.FuncMap{
	"bytes": humanBytes,
	"dur":   humanDuration,
	"join":  strings.Join,
	"split": func(s string) []string { return strings.Split(s, "|") },
	"pct": func(a, b int) int {
		if b == 0 {
			return 0
		}
		return a * 100 / b
	},
}

// parsePages parses every page with the layout: one template set per
// page, each defining "main".
func parsePages() map[string]*template.Template {
	layout, err := fs.ReadFile(uiFS, "ui/layout.html")
	if err != nil {
		panic(err)
	}
	out := map[string]*template.Template{}
	names, _ := fs.Glob(uiFS, "ui/pages/*.html")
	for _, n := range names {
		body, err := fs.ReadFile(uiFS, n)
		if err != nil {
			panic(err)
		}
		name := strings.TrimSuffix(strings.TrimPrefix(n, "ui/pages/"), ".html")
		t := template.Must(template.New(name).Funcs(funcs).Parse(string(layout)))
		out[name] = template.Must(t.Parse(string(body)))
	}
	return out
}

func (d *Dashboard) nav() []navItem {
	out := make([]navItem, len(pageList))
	for i, p := range pageList {
		out[i] = navItem{p.Path, p.Name}
	}
	return out
}

// render writes page tmpl, or only its main section when the request
// asks for ?fragment=1 (the script's refresh).
func (d *Dashboard) render(c *gin.Context, status int, tmpl string, data pageData) {
	data.Version = d.cfg.Version
	data.Nav = d.nav()
	name := "layout"
	if c.Query("fragment") == "1" {
		name = "main"
	}
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Status(status)
	if err := d.pages[tmpl].ExecuteTemplate(c.Writer, name, data); err != nil {
		d.log.Error("dashboard template", "page", tmpl, "err", err)
	}
}

// page serves one page, rendered on the server with the user's data.
func (d *Dashboard) page(p pageDef) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		s := sess(c)
		data := pageData{Title: p.Name, User: s.user, CSRF: s.csrf, Active: p.Path, Refresh: p.Refresh,
			Can: map[string]bool{}, Why: map[string]string{}, Query: map[string]string{}}
		for k, v := range c.Request.URL.Query() {
			if len(v) > 0 {
				data.Query[k] = v[0]
			}
		}
		for action, cmd := range p.Can {
			ok, why := d.can(c.Request.Context(), s, cmd...)
			data.Can[action], data.Why[action] = ok, why
		}
		view, err := p.Data(d, c)
		if err != nil {
			data.Error = errText(err)
		}
		data.View = view
		data.RenderMS = msString(time.Since(start))
		status := http.StatusOK
		if err != nil && isBadInput(err) {
			status = http.StatusBadRequest
		}
		d.render(c, status, p.Tmpl, data)
	}
}

func msString(d time.Duration) string {
	return strconv.FormatFloat(float64(d.Microseconds())/1000, 'f', 1, 64)
}

// apiView serves a page's view as JSON.
func (d *Dashboard) apiView(p pageDef) gin.HandlerFunc {
	return func(c *gin.Context) {
		view, err := p.Data(d, c)
		if err != nil {
			if isBadInput(err) {
				c.JSON(http.StatusBadRequest, gin.H{"error": errText(err)})
				return
			}
			apiError(c, err)
			return
		}
		can := map[string]bool{}
		s := sess(c)
		for action, cmd := range p.Can {
			can[action], _ = d.can(c.Request.Context(), s, cmd...)
		}
		c.JSON(http.StatusOK, gin.H{"view": view, "can": can})
	}
}

// badInput is an error in the request itself (HTTP 400), not the node's.
type badInput struct{ msg string }

func (e badInput) Error() string { return e.msg }

func isBadInput(err error) bool {
	_, ok := err.(badInput)
	return ok
}
