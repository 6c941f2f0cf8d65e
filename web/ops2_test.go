package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"net/http/cookiejar"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/clustertest"
	"github.com/cairndb/cairn/server/tlsconf"
)

// TestShardDetail: on a single node the shard page shows the replica's
// snapshot age, commit and fsync quantiles and its one replica.
func TestShardDetail(t *testing.T) {
	n, d := startNode(t)
	rc := n.Client(t)
	ctx := context.Background()
	for i := 0; i < 20; i++ {
		rc.Set(ctx, fmt.Sprint("k", i), i, 0)
	}
	c := newTester(t, d)
	c.signIn("default", "")
	var got struct {
		View struct {
			Node  []kv
			Local []shardDetail
		}
	}
	w := c.do("GET", "/api/shard", nil)
	if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil || w.Code != 200 {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
	if len(got.View.Local) != 1 {
		t.Fatalf("local shards %+v", got.View.Local)
	}
	sd := got.View.Local[0]
	if sd.Role != "leader" || sd.AppliedIndex == 0 || sd.CommitP99 == "-" || !strings.HasPrefix(sd.CommitP99, "≤ ") || sd.SnapshotAge == "" {
		t.Fatalf("shard detail %+v", sd)
	}
	if len(sd.Replicas) != 1 || !sd.Replicas[0].Self || sd.Replicas[0].State != "leader" || sd.Replicas[0].Behind != 0 {
		t.Fatalf("replicas %+v", sd.Replicas)
	}
	if !strings.Contains(fmt.Sprint(got.View.Node), "Fsync p99") {
		t.Fatalf("node figures %v", got.View.Node)
	}
	// A snapshot taken now makes the age small.
	if err := rc.Do(ctx, "SAVE").Err(); err != nil {
		t.Fatal(err)
	}
	json.Unmarshal(c.do("GET", "/api/shard", nil).Body.Bytes(), &got)
	if age := got.View.Local[0].SnapshotAge; age != "0s" && age != "1s" && age != "2s" {
		t.Fatalf("snapshot age after SAVE = %q", age)
	}
	expect(t, c.do("GET", "/shard", nil), 200, `class="snapshot-age"`)
}

// TestChartsByClass: the history sampled from the node splits the
// operations into reads and writes and has latency quantiles.
func TestChartsByClass(t *testing.T) {
	n, d := startNode(t)
	rc := n.Client(t)
	ctx := context.Background()
	c := newTester(t, d)
	c.signIn("default", "")
	deadline := time.Now().Add(10 * time.Second)
	for {
		for i := 0; i < 20; i++ {
			rc.Set(ctx, fmt.Sprint("k", i), i, 0)
			rc.Get(ctx, fmt.Sprint("k", i))
		}
		var h struct{ Samples []sample }
		json.Unmarshal(c.do("GET", "/api/metrics/history", nil).Body.Bytes(), &h)
		ok := false
		for _, s := range h.Samples {
			if s.WriteOps > 0 && s.ReadOps > 0 && s.WriteP99Usec > 0 && s.ReadP50Usec > 0 && s.P99Usec >= s.P50Usec {
				ok = true
			}
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no sample with reads, writes and quantiles: %+v", h.Samples)
		}
		time.Sleep(100 * time.Millisecond)
	}
	expect(t, c.do("GET", "/charts", nil), 200, "Operations by command class")
}

// TestHistoryClasses: rates and quantiles per class from two LATENCY
// HISTOGRAM replies.
func TestHistoryClasses(t *testing.T) {
	h := newHistory(time.Minute, 10*time.Second)
	t0 := time.Unix(1000, 0)
	class := map[string]string{"set": classWrite, "get": classRead, "ping": classOther}
	hist := func(set, get int64) map[string]*cmdHist {
		// set: all in bucket 2^4 µs; get: 99% in 2^1, 1% in 2^10.
		return parseLatencyHistogram([]any{
			"set", []any{"calls", set, "histogram_usec", []any{int64(16), set}},
			"get", []any{"calls", get, "histogram_usec", []any{int64(2), get * 99 / 100, int64(1024), get}},
			"ping", []any{"calls", int64(5)},
		})
	}
	h.add(t0, parseInfo(""), hist(100, 1000), func(n string) string { return class[n] })
	h.add(t0.Add(10*time.Second), parseInfo(""), hist(600, 11000), func(n string) string { return class[n] })
	p := h.points()[1]
	if p.WriteOps != 50 || p.ReadOps != 1000 || p.OtherOps != 0 {
		t.Fatalf("rates %+v", p)
	}
	if p.WriteP50Usec != 16 || p.WriteP99Usec != 16 || p.ReadP50Usec != 2 || p.ReadP99Usec != 2 || p.P50Usec != 2 {
		t.Fatalf("quantiles %+v", p)
	}
	// 1% of 10000 gets in 2^10: the overall p99.9 would see them; p99
	// of reads stays 2 (exactly 99%).
	var all [64]float64
	all[1], all[10] = 99, 2
	if q := quantileUsec(&all, 0.99); q != 1024 {
		t.Fatalf("p99 = %v", q)
	}
}

// TestLossReport: REGION INFO's per-shard positions become the report
// the promotion confirmations show.
func TestLossReport(t *testing.T) {
	r := newLossReport(map[any]any{"region": "eu", "role": "secondary", "lag_ms": int64(120), "lag_entries": int64(7),
		"shards": []any{
			map[any]any{"shard": int64(1), "applied": int64(93), "source_applied": int64(100), "lag_entries": int64(7), "lag_ms": int64(120), "connected": int64(1), "last_error": ""},
			map[any]any{"shard": int64(2), "applied": int64(50), "source_applied": int64(53), "lag_entries": int64(3), "lag_ms": int64(9000), "connected": int64(0), "last_error": "dial: refused"},
		}})
	if r.ForcedLoss != 10 || !r.Unknown || !strings.Contains(r.Forced, "10 committed entries") ||
		!strings.Contains(r.Forced, "shard 2: 3 entries") || !strings.Contains(r.Forced, "link DOWN") || !strings.Contains(r.Planned, "no write is lost") {
		t.Fatalf("report %+v", r)
	}
	if p := newLossReport([]any{"region", "us", "role", "primary", "shards", []any{}}); !strings.Contains(p.Forced, "already the primary") {
		t.Fatalf("primary report %+v", p)
	}
}

// regionConn is a fakeConn whose REGION INFO answers a secondary region
// with a lag that the test changes.
type regionConn struct {
	*fakeConn
	lag int64
}

func (r *regionConn) Do(ctx context.Context, args ...any) (any, error) {
	if len(args) == 2 && strings.EqualFold(fmt.Sprint(args[0]), "REGION") && strings.EqualFold(fmt.Sprint(args[1]), "INFO") {
		r.fakeConn.mu.Lock()
		r.fakeConn.got = append(r.fakeConn.got, "REGION INFO")
		r.fakeConn.mu.Unlock()
		return []any{"region", "eu", "role", "secondary", "lag_ms", int64(5), "lag_entries", r.lag, "shards",
			[]any{[]any{"shard", int64(1), "applied", int64(10), "source_applied", 10 + r.lag, "lag_entries", r.lag, "lag_ms", int64(5), "connected", int64(1), "last_error", ""}}}, nil
	}
	if len(args) >= 2 && strings.EqualFold(fmt.Sprint(args[0]), "REGION") && strings.EqualFold(fmt.Sprint(args[1]), "PROMOTE") {
		r.fakeConn.mu.Lock()
		r.fakeConn.got = append(r.fakeConn.got, "REGION PROMOTE")
		r.fakeConn.mu.Unlock()
		return []any{[]any{"shard", int64(1), "source_index", int64(10)}}, nil
	}
	return r.fakeConn.Do(ctx, args...)
}

type regionDialer struct{ c *regionConn }

func (f regionDialer) Dial(ctx context.Context, user, pass string) (Conn, error) { return f.c, nil }

// TestPromoteReportAPI: the report route, the forced promotion refused
// (409) when the loss grew past what the user confirmed, CSRF and
// permission refusals.
func TestPromoteReportAPI(t *testing.T) {
	rc := &regionConn{fakeConn: &fakeConn{}, lag: 4}
	d := newDashboard(t, regionDialer{rc}, func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("op", "pw")
	w := c.do("GET", "/api/ops/promote/report", nil)
	expect(t, w, 200, `"forced_loss_entries":4`)
	expect(t, w, 200, "4 committed entries of the old primary may be lost")
	expect(t, c.do("GET", "/ops", nil), 200, `id="loss-report"`)
	// Confirmed 4, now 9: refused, nothing sent.
	rc.lag = 9
	expect(t, c.act("POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": 4}), 409, "9 entries may now be lost")
	if rc.sent("REGION PROMOTE") {
		t.Fatal("promotion sent although the loss grew")
	}
	expect(t, c.act("POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": 9}), 200, "shard 1 at source index 10")
	expect(t, c.act("POST", "/api/ops/promote", "force=maybe"), 400, "body must be JSON")
	// CSRF on the promotion, and a user the node refuses.
	expect(t, c.do("POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": 9}, csrfHeader, "forged"), 403, "CSRF")
	rc.fakeConn.denied = map[string]bool{"REGION": true}
	c2 := newTester(t, d)
	c2.signIn("ro", "pw")
	expect(t, c2.act("POST", "/api/ops/promote", map[string]any{"force": true, "max_loss": 100}), 403, "no permissions")
	rc.fakeConn.noperm = true
	expect(t, c2.do("GET", "/api/ops/promote/report", nil), 200, "") // REGION INFO answered by regionConn
}

// TestReplicaAPIPermission: add/remove replica refused by ACL DRYRUN
// never reach the node; CSRF refused; bad bodies are 400.
func TestReplicaAPIPermission(t *testing.T) {
	fc := &fakeConn{denied: map[string]bool{"CLUSTER": true}}
	d := newDashboard(t, fakeDialer{fc}, func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("ro", "pw")
	for _, p := range []string{"/api/ops/replica/add", "/api/ops/replica/remove"} {
		expect(t, c.act("POST", p, map[string]any{"shard": 1, "node": 2}), 403, "no permissions")
		expect(t, c.do("POST", p, map[string]any{"shard": 1, "node": 2}), 403, "CSRF")
		expect(t, c.do("POST", p, map[string]any{"shard": 1, "node": 2}, csrfHeader, "forged"), 403, "CSRF")
		expect(t, c.act("POST", p, map[string]any{"shard": 0, "node": 2}), 400, "body must be")
		expect(t, c.act("POST", p, "shard=1"), 400, "body must be")
	}
	if fc.sent("CLUSTER") {
		t.Fatal("CLUSTER reached the node although ACL DRYRUN refused it")
	}
	page := c.do("GET", "/ops", nil).Body.String()
	if strings.Contains(page, "Add replica") {
		t.Fatal("replica forms shown outside cluster mode")
	}
}

// TestReplicaOpsCluster: on a 3-node cluster whose one shard has two
// replicas, the dashboard adds a replica on the third node (CLUSTER
// ADDREPLICA), the shard page shows it following, then removes it.
func TestReplicaOpsCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("cluster test skipped with -short")
	}
	cl := clustertest.Start(t, clustertest.Options{Nodes: 3, Shards: 1, Replicas: 2})
	d := newDashboard(t, RedisDialer(cl.Addr(1)), func(c *Config) { c.SampleEvery = -1 })
	c := newTester(t, d)
	c.signIn("default", "")
	type shardAPI struct {
		View struct{ Local []shardDetail }
	}
	var ops struct {
		View struct {
			ClusterShards []struct {
				ID    string
				Nodes []string
			}
		}
	}
	json.Unmarshal(c.do("GET", "/api/ops", nil).Body.Bytes(), &ops)
	if len(ops.View.ClusterShards) != 1 || len(ops.View.ClusterShards[0].Nodes) != 2 {
		t.Fatalf("ops view shards %+v", ops.View.ClusterShards)
	}
	has := map[string]bool{}
	for _, n := range ops.View.ClusterShards[0].Nodes {
		has[n] = true
	}
	spare := 0
	for i := 1; i <= 3; i++ {
		if !has[fmt.Sprint(i)] {
			spare = i
		}
	}
	// The dashboard's node holds a replica (its shard page lists it).
	if !has["1"] {
		t.Skipf("node 1 holds no replica of the shard (%v)", ops.View.ClusterShards[0].Nodes)
	}
	// Data to catch up with.
	cc := cl.Client()
	ctx := context.Background()
	for i := range 300 {
		if err := cc.Set(ctx, fmt.Sprint("catchup", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	w := c.act("POST", "/api/ops/replica/add", map[string]any{"shard": 1, "node": spare})
	expect(t, w, 200, "follows the new replica catching up")
	var added struct{ Job job }
	json.Unmarshal(w.Body.Bytes(), &added)
	if added.Job.ID == 0 || added.Job.State != "running" {
		t.Fatalf("add replica reply %s", w.Body)
	}
	expect(t, c.act("POST", "/api/ops/replica/add", map[string]any{"shard": 1, "node": spare}), 400, "already holds a replica")
	// The job's progress: the new replica's applied index against the
	// leader's commit index when it was added, until in sync.
	var seen []int
	deadline := time.Now().Add(60 * time.Second)
	for {
		var js struct{ Jobs []job }
		json.Unmarshal(c.do("GET", "/api/ops/jobs", nil).Body.Bytes(), &js)
		var j *job
		for i := range js.Jobs {
			if js.Jobs[i].ID == added.Job.ID {
				j = &js.Jobs[i]
			}
		}
		if j == nil {
			t.Fatalf("job %d not listed: %+v", added.Job.ID, js.Jobs)
		}
		if len(seen) == 0 || seen[len(seen)-1] != j.Percent {
			seen = append(seen, j.Percent)
		}
		if j.State == "done" {
			if j.Percent != 100 || j.Target < 300 || j.Applied < j.Target || !strings.Contains(j.Detail, "in sync") || j.Command != fmt.Sprintf("CLUSTER ADDREPLICA 1 %d", spare) {
				t.Fatalf("catch-up job done as %+v", *j)
			}
			t.Logf("catch-up job: percents seen %v, %s", seen, j.Detail)
			break
		}
		if j.State != "running" || time.Now().After(deadline) {
			t.Fatalf("catch-up job %+v", *j)
		}
		time.Sleep(100 * time.Millisecond)
	}
	for i := 1; i < len(seen); i++ {
		if seen[i] < seen[i-1] {
			t.Fatalf("progress went back: %v", seen)
		}
	}
	page := c.do("GET", "/ops", nil)
	expect(t, page, 200, fmt.Sprintf(`id="job-%d"`, added.Job.ID))
	expect(t, page, 200, "in sync: applied")
	deadline = time.Now().Add(30 * time.Second)
	for {
		var s shardAPI
		json.Unmarshal(c.do("GET", "/api/shard", nil).Body.Bytes(), &s)
		following := 0
		var reps []replicaState
		if len(s.View.Local) == 1 {
			reps = s.View.Local[0].Replicas
			for _, r := range reps {
				if (r.State == "following" || r.State == "leader") && r.Behind >= 0 {
					following++
				}
			}
		}
		if following == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("new replica not following: %+v", reps)
		}
		time.Sleep(200 * time.Millisecond)
	}
	expect(t, c.act("POST", "/api/ops/replica/remove", map[string]any{"shard": 1, "node": spare}), 200, "OK")
	expect(t, c.act("POST", "/api/ops/replica/remove", map[string]any{"shard": 1, "node": spare}), 400, "holds no replica")
	expect(t, c.act("POST", "/api/ops/replica/add", map[string]any{"shard": 9, "node": spare}), 400, "Unknown shard")
}

// selfSigned writes a certificate and key for 127.0.0.1 under dir.
func selfSigned(t *testing.T, dir string) (cert, key string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "cairn test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(k)
	cert, key = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return cert, key
}

// TestHTTPS: a node with a TLS certificate serves the dashboard (and
// /metrics) over HTTPS, the session cookie is Secure; plain HTTP is
// refused there. --http-tls no keeps plain HTTP.
func TestHTTPS(t *testing.T) {
	cert, key := selfSigned(t, t.TempDir())
	n, _ := startNode(t, func(c *server.Config) {
		c.HTTPPort = -1
		c.TLS = tlsconf.Settings{CertFile: cert, KeyFile: key, AuthClients: "no"}
	})
	d := newDashboard(t, RedisDialer(n.Addr()), func(c *Config) { c.SampleEvery = -1 })
	if !n.HandleHTTP("/", d) || !n.HTTPS() {
		t.Fatalf("no HTTPS listener (HTTPS=%v)", n.HTTPS())
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "https://" + n.HTTPAddr()
	resp, err := hc.Post(base+"/api/session", "application/json", strings.NewReader(`{"user":"default","pass":""}`))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	var sc *http.Cookie
	for _, ck := range resp.Cookies() {
		if ck.Name == cookieName {
			sc = ck
		}
	}
	if resp.StatusCode != 200 || sc == nil || !sc.Secure || !sc.HttpOnly || sc.SameSite != http.SameSiteStrictMode {
		t.Fatalf("sign-in over HTTPS: %d cookie %+v", resp.StatusCode, sc)
	}
	resp, err = hc.Get(base + "/api/overview")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("overview over HTTPS: %v %v", resp, err)
	}
	resp.Body.Close()
	resp, err = hc.Get(base + "/metrics")
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("/metrics over HTTPS: %v %v", resp, err)
	}
	resp.Body.Close()
	if r, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + n.HTTPAddr() + "/login"); err == nil && r.StatusCode == 200 {
		t.Fatal("plain HTTP served on the HTTPS listener")
	}

	n2, _ := startNode(t, func(c *server.Config) {
		c.HTTPPort = -1
		c.HTTPTLS = "no"
		c.TLS = tlsconf.Settings{CertFile: cert, KeyFile: key, AuthClients: "no"}
	})
	if n2.HTTPS() {
		t.Fatal("--http-tls no serves HTTPS")
	}
	if r, err := http.Get("http://" + n2.HTTPAddr() + "/metrics"); err != nil || r.StatusCode != 200 {
		t.Fatalf("plain /metrics with --http-tls no: %v %v", r, err)
	}
	_ = slog.Default
}

// catchUpCluster fakes the two nodes a replica catch-up job asks: node 1
// (this node, the shard's leader) and node 2 (the new replica).
type catchUpCluster struct {
	mu               sync.Mutex
	holds, started   bool
	commit, applied  int
	newReplicaLeader int
}

type catchUpNode struct {
	c  *catchUpCluster
	id int
}

func (n catchUpNode) Close() error { return nil }
func (n catchUpNode) Do(ctx context.Context, args ...any) (any, error) {
	c := n.c
	c.mu.Lock()
	defer c.mu.Unlock()
	cmd := strings.ToUpper(fmt.Sprint(args...))
	switch {
	case cmd == "PING":
		return "PONG", nil
	case strings.HasPrefix(cmd, "CLUSTER") && strings.HasSuffix(cmd, "TOPOLOGY"):
		reps := "[1]"
		if c.holds {
			reps = "[1,2]"
		}
		return `{"nodes":[{"id":1,"client":"n1:1"},{"id":2,"client":"n2:2"}],"shards":[{"id":1,"replicas":` + reps +
			`,"current_leader":1}],"myself":1}`, nil
	case strings.HasPrefix(cmd, "INFO"):
		if n.id == 1 {
			return fmt.Sprintf("# Raft\r\nraft_shard_1:role=leader,leader=1,commit_index=%d,applied_index=%d,halted=0\r\n", c.commit, c.commit), nil
		}
		if !c.started {
			return "# Raft\r\n", nil
		}
		return fmt.Sprintf("# Raft\r\nraft_shard_1:role=follower,leader=%d,commit_index=%d,applied_index=%d,halted=0\r\n", c.newReplicaLeader, c.applied, c.applied), nil
	}
	return nil, fakeErr("ERR unexpected " + cmd)
}

type catchUpDialer struct{ c *catchUpCluster }

func (d catchUpDialer) Dial(ctx context.Context, user, pass string) (Conn, error) {
	return catchUpNode{d.c, 1}, nil
}
func (d catchUpDialer) DialAddr(ctx context.Context, addr, user, pass string) (Conn, error) {
	if addr != "n2:2" {
		return nil, fmt.Errorf("unexpected address %s", addr)
	}
	return catchUpNode{d.c, 2}, nil
}

// TestReplicaCatchUpJob: the job an added replica gets goes through
// "not started", a percent of the leader's commit index when it was
// added (a leader committing more since does not move the target), and
// in sync; it fails when the replica is removed meanwhile, or when it
// is not in sync within the limit.
func TestReplicaCatchUpJob(t *testing.T) {
	cc := &catchUpCluster{holds: true, commit: 100}
	d := newDashboard(t, catchUpDialer{cc}, func(c *Config) { c.SampleEvery = -1 })
	s := &session{user: "op", conn: catchUpNode{cc, 1}}
	start := func(limit time.Duration) int {
		j := d.jobs.add(&job{User: "op", Command: "CLUSTER ADDREPLICA 1 2", State: "running", catchUp: &replicaReq{Shard: 1, Node: 2}})
		d.done.Add(1)
		go d.followCatchUp(s, j, 5*time.Millisecond, limit)
		return j.ID
	}
	set := func(f func()) {
		cc.mu.Lock()
		f()
		cc.mu.Unlock()
	}
	wait := func(id int, state, detail string, percent int) job {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for {
			for _, j := range d.jobs.snapshot() {
				if j.ID == id && j.State == state && strings.Contains(j.Detail, detail) && j.Percent == percent {
					return j
				}
			}
			if time.Now().After(deadline) {
				t.Fatalf("job %d never %s with %q at %d%%: %+v", id, state, detail, percent, d.jobs.snapshot())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	id := start(time.Minute)
	wait(id, "running", "has not started on node 2", 0)
	set(func() { cc.started, cc.applied, cc.newReplicaLeader = true, 40, 1 })
	wait(id, "running", "applied 40 of 100 (leader commit now 100, 60 behind)", 40)
	set(func() { cc.applied, cc.commit = 90, 150 })
	j := wait(id, "running", "applied 90 of 100 (leader commit now 150, 60 behind)", 90)
	if j.Target != 100 || j.Applied != 90 || j.LeaderCommit != 150 {
		t.Fatalf("job figures %+v", j)
	}
	// At the target but not yet knowing a leader: not in sync.
	set(func() { cc.applied, cc.newReplicaLeader = 120, 0 })
	wait(id, "running", "applied 120 of 100", 100)
	set(func() { cc.newReplicaLeader = 1 })
	j = wait(id, "done", "in sync: applied 120, leader commit 150", 100)
	if j.Ended.IsZero() {
		t.Fatalf("done job without an end: %+v", j)
	}

	// Removed while catching up.
	set(func() { cc.started, cc.applied = false, 0 })
	id = start(time.Minute)
	wait(id, "running", "has not started", 0)
	set(func() { cc.holds = false })
	wait(id, "failed", "node 2 no longer holds a replica of shard 1", 0)

	// Not in sync within the limit.
	set(func() { cc.holds = true })
	id = start(50 * time.Millisecond)
	wait(id, "failed", "not in sync after 50ms", 0)

	// The page shows the jobs with their bars and details.
	c := newTester(t, d)
	c.signIn("op", "pw")
	page := c.do("GET", "/ops", nil)
	expect(t, page, 200, `in sync: applied 120, leader commit 150`)
	expect(t, page, 200, `no longer holds a replica`)
}
