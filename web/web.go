package web

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
)

//go:embed ui
var uiFS embed.FS

// Config configures the dashboard. Zero fields take the stated defaults.
type Config struct {
	// Dialer opens the signed-in users' connections to the node
	// (required; RedisDialer(node address) in the cairn binary).
	Dialer Dialer
	// ServiceUser and ServicePass are the node's own identity (the
	// default user and requirepass): the dashboard uses it only to
	// sample INFO for the charts' history and to ask ACL DRYRUN about a
	// user who may not run ACL himself — never to run a user's action.
	ServiceUser, ServicePass string
	// SessionIdle expires a session unused this long (default 30m);
	// SessionMax expires any session this long after sign-in (default 12h).
	SessionIdle, SessionMax time.Duration
	// MaxUpload is the largest .wasm module accepted (default 16 MiB).
	MaxUpload int64
	// SampleEvery is the period of the charts' samples (default 5s);
	// the node keeps one hour of them. Negative disables sampling.
	SampleEvery time.Duration
	// Logger receives the audit log (every action with its user and
	// result); default slog.Default().
	Logger *slog.Logger
	// Version is shown in the page footer.
	Version string
}

// Dashboard is the dashboard's HTTP handler plus its background sampler.
type Dashboard struct {
	cfg      Config
	engine   *gin.Engine
	sessions *sessions
	history  *history
	pages    map[string]*template.Template
	log      *slog.Logger
	jobs     jobs // the operations started from the dashboard
	classes  classifier

	svcMu sync.Mutex
	svc   Conn // the service connection, opened on first use

	stop chan struct{}
	done sync.WaitGroup
}

// New builds the dashboard and starts its sampler; Close stops it.
func New(cfg Config) *Dashboard {
	if cfg.SessionIdle <= 0 {
		cfg.SessionIdle = 30 * time.Minute
	}
	if cfg.SessionMax <= 0 {
		cfg.SessionMax = 12 * time.Hour
	}
	if cfg.MaxUpload <= 0 {
		cfg.MaxUpload = 16 << 20
	}
	if cfg.SampleEvery == 0 {
		cfg.SampleEvery = 5 * time.Second
	}
	if cfg.ServiceUser == "" {
		cfg.ServiceUser = "default"
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	d := &Dashboard{
		cfg:      cfg,
		sessions: &sessions{m: map[string]*session{}, idle: cfg.SessionIdle, max: cfg.SessionMax, now: time.Now, limit: 1000},
		history:  newHistory(time.Hour, cfg.SampleEvery),
		log:      cfg.Logger.With("component", "dashboard"),
		stop:     make(chan struct{}),
	}
	d.pages = parsePages()
	d.engine = d.routes()
	d.done.Add(1)
	go d.background()
	return d
}

// ServeHTTP serves the dashboard.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.engine.ServeHTTP(w, r) }

// Close stops the sampler and closes every session's connections.
func (d *Dashboard) Close() {
	select {
	case <-d.stop:
		return
	default:
	}
	close(d.stop)
	d.done.Wait()
	d.sessions.closeAll()
	d.svcMu.Lock()
	if d.svc != nil {
		d.svc.Close()
	}
	d.svcMu.Unlock()
}

// background sweeps expired sessions and samples the node for the charts.
func (d *Dashboard) background() {
	defer d.done.Done()
	every := d.cfg.SampleEvery
	if every < 0 {
		every = time.Minute
	}
	t := time.NewTicker(every)
	defer t.Stop()
	d.sample()
	for {
		select {
		case <-d.stop:
			return
		case <-t.C:
			d.sessions.sweep()
			d.sample()
		}
	}
}

func (d *Dashboard) sample() {
	if d.cfg.SampleEvery < 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	c, err := d.service(ctx)
	if err != nil {
		return
	}
	v, err := c.Do(ctx, "INFO", "everything")
	if err != nil {
		return
	}
	// The per-command histograms give the classes' rates and latency
	// quantiles; a node that refuses LATENCY HISTOGRAM still gets the
	// INFO figures.
	var hists map[string]*cmdHist
	if h, err := c.Do(ctx, "LATENCY", "HISTOGRAM"); err == nil {
		hists = parseLatencyHistogram(h)
		for name := range hists {
			d.classes.class(ctx, c, name) // ask COMMAND INFO outside the history's lock
		}
	}
	d.history.add(time.Now(), parseInfo(str(v)), hists, func(name string) string { return d.classes.class(ctx, c, name) })
}

// service returns the service connection (the node's own identity).
func (d *Dashboard) service(ctx context.Context) (Conn, error) {
	d.svcMu.Lock()
	defer d.svcMu.Unlock()
	if d.svc != nil {
		return d.svc, nil
	}
	c, err := d.cfg.Dialer.Dial(ctx, d.cfg.ServiceUser, d.cfg.ServicePass)
	if err != nil {
		return nil, err
	}
	d.svc = c
	return c, nil
}

const (
	cookieName  = "cairn_session"
	loginCookie = "cairn_login"
	csrfHeader  = "X-CSRF-Token"
)

// routes wires the engine: explicit middleware, one group per area.
func (d *Dashboard) routes() *gin.Engine {
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(d.recover(), securityHeaders(), d.loadSession())

	assets, _ := fs.Sub(uiFS, "ui/assets")
	e.GET("/assets/*path", assetHandler(assets))
	e.GET("/login", d.loginPage)
	e.POST("/login", d.loginForm)
	e.POST("/logout", d.requirePage(), d.checkCSRF(), d.logout)

	pages := e.Group("/", d.requirePage())
	for _, p := range pageList {
		pages.GET(p.Path, d.page(p))
	}

	api := e.Group("/api")
	api.POST("/session", d.apiLogin)
	authed := api.Group("", d.requireAPI(), d.checkCSRF())
	authed.DELETE("/session", d.apiLogout)
	authed.GET("/session", d.apiWhoami)
	for _, p := range pageList {
		if p.Data != nil {
			authed.GET("/"+p.API, d.apiView(p))
		}
	}
	keys := keysHandler{d}
	authed.GET("/key", keys.get)
	authed.PUT("/key", keys.set)
	authed.POST("/key/ttl", keys.ttl)
	authed.DELETE("/key", keys.del)
	mods := modulesHandler{d}
	authed.POST("/modules", mods.load)
	authed.POST("/modules/call", mods.call)
	authed.DELETE("/modules/:name", mods.del)
	vec := vectorHandler{d}
	authed.POST("/indexes/:name/knn", vec.knn)
	ops := opsHandler{d}
	authed.POST("/ops/backup", ops.backup)
	authed.POST("/ops/moveslots", ops.moveSlots)
	authed.POST("/ops/rebalance", ops.rebalance)
	authed.POST("/ops/promote", ops.promote)
	authed.GET("/ops/promote/report", ops.promoteReport)
	authed.POST("/ops/replica/add", ops.addReplica)
	authed.POST("/ops/replica/remove", ops.removeReplica)
	authed.GET("/ops/jobs", ops.jobs)
	authed.GET("/metrics/history", d.apiHistory)

	e.NoRoute(func(c *gin.Context) {
		if strings.HasPrefix(c.Request.URL.Path, "/api/") {
			c.JSON(http.StatusNotFound, gin.H{"error": "no such API route"})
			return
		}
		c.String(http.StatusNotFound, "404 not found")
	})
	return e
}

// recover turns a handler panic into a 500 (logged), never a crash.
func (d *Dashboard) recover() gin.HandlerFunc {
	return gin.CustomRecoveryWithWriter(nil, func(c *gin.Context, err any) {
		d.log.Error("dashboard handler panic", "path", c.Request.URL.Path, "err", err)
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
	})
}

// securityHeaders forbids framing and any script or style not served by
// the dashboard itself.
func securityHeaders() gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "same-origin")
		c.Next()
	}
}

// assetHandler serves the embedded assets; anything that is not a plain
// file name under ui/assets (.., absolute paths, directories) is a 404.
func assetHandler(assets fs.FS) gin.HandlerFunc {
	return func(c *gin.Context) {
		name := strings.TrimPrefix(c.Param("path"), "/")
		if !fs.ValidPath(name) || name == "." || strings.Contains(name, "\\") {
			c.String(http.StatusNotFound, "404 not found")
			return
		}
		b, err := fs.ReadFile(assets, name)
		if err != nil {
			c.String(http.StatusNotFound, "404 not found")
			return
		}
		ct := "application/octet-stream"
		switch {
		case strings.HasSuffix(name, ".js"):
			ct = "text/javascript; charset=utf-8"
		case strings.HasSuffix(name, ".css"):
			ct = "text/css; charset=utf-8"
		case strings.HasSuffix(name, ".svg"):
			ct = "image/svg+xml"
		}
		c.Header("Cache-Control", "public, max-age=300")
		c.Data(http.StatusOK, ct, b)
	}
}

// loadSession attaches the session named by the cookie, if it is live.
func (d *Dashboard) loadSession() gin.HandlerFunc {
	return func(c *gin.Context) {
		if id, err := c.Cookie(cookieName); err == nil {
			if s := d.sessions.get(id); s != nil {
				c.Set("session", s)
			}
		}
		c.Next()
	}
}

func sess(c *gin.Context) *session {
	v, _ := c.Get("session")
	s, _ := v.(*session)
	return s
}

// requireAPI answers 401 without a live session.
func (d *Dashboard) requireAPI() gin.HandlerFunc {
	return func(c *gin.Context) {
		if sess(c) == nil {
			c.AbortWithStatusJSON(http.StatusUnauthorized, gin.H{"error": "not signed in or session expired"})
			return
		}
		c.Next()
	}
}

// requirePage sends a visitor without a live session to the sign-in page.
func (d *Dashboard) requirePage() gin.HandlerFunc {
	return func(c *gin.Context) {
		if sess(c) == nil {
			c.Redirect(http.StatusSeeOther, "/login")
			c.Abort()
			return
		}
		c.Next()
	}
}

// checkCSRF requires the session's token in the X-CSRF-Token header (or
// the csrf form field) on every state-changing request.
func (d *Dashboard) checkCSRF() gin.HandlerFunc {
	return func(c *gin.Context) {
		switch c.Request.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			c.Next()
			return
		}
		s := sess(c)
		tok := c.GetHeader(csrfHeader)
		if tok == "" && !strings.HasPrefix(c.ContentType(), "multipart/") {
			tok = c.PostForm("csrf")
		}
		if s == nil || !sameToken(tok, s.csrf) {
			d.log.Warn("dashboard CSRF check failed", "path", c.Request.URL.Path, "remote", c.ClientIP())
			c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "missing or invalid CSRF token"})
			return
		}
		c.Next()
	}
}

func (d *Dashboard) setCookie(c *gin.Context, name, value string, maxAge int) {
	http.SetCookie(c.Writer, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: c.Request.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// signIn authenticates user at the node and opens their session.
func (d *Dashboard) signIn(c *gin.Context, user, pass string) (*session, error) {
	if user == "" {
		user = "default"
	}
	ctx, cancel := context.WithTimeout(c.Request.Context(), 5*time.Second)
	defer cancel()
	conn, err := d.cfg.Dialer.Dial(ctx, user, pass)
	if err != nil {
		d.log.Warn("dashboard sign-in refused", "user", user, "remote", c.ClientIP(), "err", err)
		return nil, err
	}
	s := d.sessions.add(user, pass, conn)
	d.setCookie(c, cookieName, s.id, 0)
	d.log.Info("dashboard sign-in", "user", user, "remote", c.ClientIP())
	return s, nil
}

type loginReq struct {
	User string `json:"user" form:"user"`
	Pass string `json:"pass" form:"pass"`
}

func (d *Dashboard) apiLogin(c *gin.Context) {
	var req loginReq
	if err := c.ShouldBindJSON(&req); err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "body must be JSON {\"user\":..., \"pass\":...}"})
		return
	}
	s, err := d.signIn(c, req.User, req.Pass)
	if err != nil {
		c.JSON(http.StatusUnauthorized, gin.H{"error": errText(err)})
		return
	}
	c.JSON(http.StatusOK, gin.H{"user": s.user, "csrf": s.csrf})
}

func (d *Dashboard) apiLogout(c *gin.Context) {
	d.sessions.remove(sess(c).id)
	d.setCookie(c, cookieName, "", -1)
	c.JSON(http.StatusOK, gin.H{"ok": true})
}

func (d *Dashboard) apiWhoami(c *gin.Context) {
	s := sess(c)
	c.JSON(http.StatusOK, gin.H{"user": s.user, "csrf": s.csrf})
}

func (d *Dashboard) logout(c *gin.Context) {
	d.sessions.remove(sess(c).id)
	d.setCookie(c, cookieName, "", -1)
	c.Redirect(http.StatusSeeOther, "/login")
}

// loginPage shows the sign-in form; a login cookie and the same value in
// the form (double submit) protect the sign-in against cross-site posts.
func (d *Dashboard) loginPage(c *gin.Context) {
	tok := newToken()
	d.setCookie(c, loginCookie, tok, 600)
	d.render(c, http.StatusOK, "login", pageData{Title: "Sign in", CSRF: tok, Error: c.Query("error")})
}

func (d *Dashboard) loginForm(c *gin.Context) {
	ck, _ := c.Cookie(loginCookie)
	if !sameToken(c.PostForm("csrf"), ck) {
		c.String(http.StatusForbidden, "sign-in form expired or forged: reload the sign-in page")
		return
	}
	var req loginReq
	_ = c.ShouldBind(&req)
	if _, err := d.signIn(c, req.User, req.Pass); err != nil {
		tok := newToken()
		d.setCookie(c, loginCookie, tok, 600)
		d.render(c, http.StatusUnauthorized, "login", pageData{Title: "Sign in", CSRF: tok, Error: errText(err)})
		return
	}
	d.setCookie(c, loginCookie, "", -1)
	c.Redirect(http.StatusSeeOther, "/")
}

// errNoSession is returned by helpers called without a session.
var errNoSession = errors.New("not signed in")

// cmdTimeout bounds one command of a page or an action.
const cmdTimeout = 10 * time.Second

// can reports whether the session's user may run args, asking the node
// with ACL DRYRUN (as the user, or with the service identity when the
// user may not run ACL). A node without ACL DRYRUN allows everything:
// the command itself is still refused by the node if it must be.
// Answers are cached for 30 s per session.
func (d *Dashboard) can(ctx context.Context, s *session, args ...string) (bool, string) {
	key := strings.Join(args, "\x00")
	s.mu.Lock()
	a, ok := s.perms[key]
	s.mu.Unlock()
	if ok && time.Since(a.at) < 30*time.Second {
		return a.ok, a.why
	}
	q := []any{"ACL", "DRYRUN", s.user}
	for _, x := range args {
		q = append(q, x)
	}
	s.mu.Lock()
	viaService := s.noDryRun
	s.mu.Unlock()
	var v any
	var err error
	if !viaService {
		v, err = s.conn.Do(ctx, q...)
		if err != nil && strings.HasPrefix(errText(err), "NOPERM") {
			viaService = true
			s.mu.Lock()
			s.noDryRun = true
			s.mu.Unlock()
		}
	}
	if viaService {
		if svc, e := d.service(ctx); e == nil {
			v, err = svc.Do(ctx, q...)
		} else if err == nil {
			err = e
		}
	}
	a = permAnswer{ok: true, at: time.Now()}
	switch {
	case err == nil:
		if r := str(v); r != "OK" {
			a = permAnswer{ok: false, why: r, at: a.at}
		}
	case !isRedisError(err):
		return true, "" // network trouble: not an answer, not cached
	}
	s.mu.Lock()
	s.perms[key] = a
	s.mu.Unlock()
	return a.ok, a.why
}

// apiError writes err as the API's JSON error: 403 for a permission
// refusal, 400 for the node's other error replies, 502 when the node
// could not be reached.
func apiError(c *gin.Context, err error) {
	msg := errText(err)
	switch {
	case strings.HasPrefix(msg, "NOPERM"):
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": msg})
	case isRedisError(err):
		c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": msg})
	default:
		c.AbortWithStatusJSON(http.StatusBadGateway, gin.H{"error": "node unreachable: " + msg})
	}
}

// act runs one state-changing command for the signed-in user after ACL
// DRYRUN allowed it, writes it to the audit log, and on failure answers
// the request (the caller returns when ok is false).
func (d *Dashboard) act(c *gin.Context, args ...any) (v any, ok bool) {
	s := sess(c)
	ctx, cancel := context.WithTimeout(c.Request.Context(), cmdTimeout)
	defer cancel()
	strs := make([]string, len(args))
	for i, a := range args {
		strs[i] = fmt.Sprint(a)
	}
	if allowed, why := d.can(ctx, s, strs...); !allowed {
		d.log.Info("dashboard action denied", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(strs), "why", why)
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "NOPERM " + why})
		return nil, false
	}
	v, err := s.conn.Do(ctx, args...)
	if err != nil {
		d.log.Info("dashboard action", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(strs), "err", errText(err))
		apiError(c, err)
		return nil, false
	}
	d.log.Info("dashboard action", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(strs), "ok", true)
	return v, true
}

// actAll runs a keyless state-changing command the way Redis Cluster
// needs it (FUNCTION LOAD/DELETE): on every shard leader's endpoint, as
// the signed-in user; outside cluster mode it is act. The reply is the
// first leader's; any leader's error fails the request, naming the
// endpoints it reached first.
func (d *Dashboard) actAll(c *gin.Context, args ...any) (any, bool) {
	s := sess(c)
	ac, ok := s.conn.(AddrConn)
	if !ok {
		return d.act(c, args...)
	}
	// Compiling a large module on every leader takes a while.
	ctx, cancel := context.WithTimeout(c.Request.Context(), 6*cmdTimeout)
	defer cancel()
	// leadersOf maps each shard (named by its nodes' IDs, which a
	// leader change does not alter) to its leader's endpoint.
	leadersOf := func() (map[string]string, []string, error) {
		r, err := s.conn.Do(ctx, "CLUSTER", "SHARDS")
		if err != nil {
			return nil, nil, err
		}
		m := map[string]string{}
		var order []string
		for _, sh := range list(r) {
			var ids []string
			for _, n := range list(pairs(sh)["nodes"]) {
				ids = append(ids, str(pairs(n)["id"]))
			}
			slices.Sort(ids)
			key := strings.Join(ids, ",")
			for _, n := range list(pairs(sh)["nodes"]) {
				nm := pairs(n)
				if str(nm["role"]) == "master" {
					if _, seen := m[key]; !seen {
						order = append(order, key)
					}
					m[key] = str(nm["ip"]) + ":" + str(nm["port"])
				}
			}
		}
		return m, order, nil
	}
	leaders, order, err := leadersOf()
	if err != nil {
		return d.act(c, args...) // not in cluster mode
	}
	strs := make([]string, len(args))
	for i, a := range args {
		strs[i] = fmt.Sprint(a)
	}
	if allowed, why := d.can(ctx, s, strs...); !allowed {
		d.log.Info("dashboard action denied", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(strs), "why", why)
		c.AbortWithStatusJSON(http.StatusForbidden, gin.H{"error": "NOPERM " + why})
		return nil, false
	}
	var first any
	var done []string
	for i, key := range order {
		addr := leaders[key]
		v, err := ac.DoAt(ctx, addr, args...)
		// A leader that moved since CLUSTER SHARDS answers READONLY (or
		// the shard is between leaders): ask again who leads the shard.
		for tries := 0; err != nil && retryElsewhere(err) && tries < 20 && ctx.Err() == nil; tries++ {
			time.Sleep(250 * time.Millisecond)
			if m, _, lerr := leadersOf(); lerr == nil && m[key] != "" {
				addr = m[key]
			}
			v, err = ac.DoAt(ctx, addr, args...)
		}
		if err != nil {
			d.log.Info("dashboard action", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(strs), "at", addr, "err", errText(err))
			if len(done) > 0 && isRedisError(err) {
				// Tell the user exactly where it is now loaded.
				c.AbortWithStatusJSON(http.StatusBadRequest, gin.H{"error": fmt.Sprintf("%s (at %s; already done at %s)",
					errText(err), addr, strings.Join(done, ", "))})
				return nil, false
			}
			apiError(c, err)
			return nil, false
		}
		if i == 0 {
			first = v
		}
		done = append(done, addr)
	}
	d.log.Info("dashboard action", "user", s.user, "remote", c.ClientIP(), "cmd", auditCmd(strs), "leaders", len(done), "ok", true)
	return first, true
}

// retryElsewhere tells whether a command failed only because the node
// it reached no longer (or not yet) leads the shard.
func retryElsewhere(err error) bool {
	t := errText(err)
	for _, p := range []string{"READONLY ", "MOVED ", "CLUSTERDOWN ", "TRYAGAIN "} {
		if strings.HasPrefix(t, p) {
			return true
		}
	}
	return false
}

// query runs one read command for the signed-in user.
func (d *Dashboard) query(c *gin.Context, args ...any) (any, bool) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), cmdTimeout)
	defer cancel()
	v, err := sess(c).conn.Do(ctx, args...)
	if err != nil {
		apiError(c, err)
		return nil, false
	}
	return v, true
}

// auditCmd is the command as logged: its name and first arguments, with
// long arguments (module bytes, vectors) shortened.
func auditCmd(args []string) string {
	out := make([]string, 0, len(args))
	for i, a := range args {
		if i >= 8 {
			out = append(out, "...")
			break
		}
		if len(a) > 64 {
			a = fmt.Sprintf("<%d bytes>", len(a))
		}
		out = append(out, a)
	}
	return strings.Join(out, " ")
}
