package server_test

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/command/commandtest"
	"github.com/cairndb/cairn/server/servertest"
)

// rawConn reads whole RESP values as raw bytes, so RESP3 pushes ('>')
// are told from arrays and compared byte for byte.
type rawConn struct {
	nc net.Conn
	r  *bufio.Reader
	id string
}

func dialRaw(t *testing.T, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	rc := &rawConn{nc: nc, r: bufio.NewReader(nc)}
	v, err := rc.do("CLIENT", "ID")
	if err != nil {
		t.Fatal(err)
	}
	if len(v) > 0 && v[0] == ':' {
		rc.id = strings.TrimSuffix(string(v[1:]), "\r\n")
	}
	return rc
}

func (rc *rawConn) send(args ...string) error {
	return rc.sendAll([][]string{args})
}

// sendAll writes commands in one write (one pipeline Redis reads at once).
func (rc *rawConn) sendAll(cmds [][]string) error {
	var b []byte
	for _, args := range cmds {
		b = appendCommand(b, args)
	}
	rc.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := rc.nc.Write(b)
	return err
}

func appendCommand(b []byte, args []string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

func (rc *rawConn) do(args ...string) ([]byte, error) {
	if err := rc.send(args...); err != nil {
		return nil, err
	}
	return rc.read(5 * time.Second)
}

// read reads one value (with its nested elements) as raw bytes.
func (rc *rawConn) read(timeout time.Duration) ([]byte, error) {
	rc.nc.SetReadDeadline(time.Now().Add(timeout))
	var out []byte
	var one func() error
	one = func() error {
		line, err := rc.r.ReadBytes('\n')
		if err != nil {
			return err
		}
		out = append(out, line...)
		body := string(line[1 : len(line)-2])
		switch line[0] {
		case '$', '=', '!':
			n, _ := strconv.Atoi(body)
			if n < 0 {
				return nil
			}
			b := make([]byte, n+2)
			if _, err := io.ReadFull(rc.r, b); err != nil {
				return err
			}
			out = append(out, b...)
		case '*', '~', '%', '>', '|':
			n, _ := strconv.Atoi(body)
			if line[0] == '%' || line[0] == '|' {
				n *= 2
			}
			for i := 0; i < n; i++ {
				if err := one(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	err := one()
	return out, err
}

// drain reads what the connection received before the reply to a PING
// sent now (pushes queued before it), without the PING reply.
func (rc *rawConn) drain() ([]byte, error) {
	if err := rc.send("PING", "sync"); err != nil {
		return nil, err
	}
	var out []byte
	for {
		v, err := rc.read(5 * time.Second)
		if err != nil {
			return out, err
		}
		if bytes.Equal(v, []byte("$4\r\nsync\r\n")) || bytes.Equal(v, []byte("*2\r\n$4\r\npong\r\n$4\r\nsync\r\n")) {
			return out, nil
		}
		out = append(out, v...)
	}
}

// trackDiff runs the same steps on named connections to Cairn and to
// redis-server and compares every reply and every message received.
type trackDiff struct {
	t     *testing.T
	addrs [2]string
	conns [2]map[string]*rawConn
	multi map[string]bool      // connections inside MULTI (not drained)
	ids   [2]map[string]string // every connection's ID, closed ones too
}

func newTrackDiff(t *testing.T) *trackDiff { return newTrackDiffPass(t, "") }

// newTrackDiffPass starts both servers with requirepass pass ("" none).
func newTrackDiffPass(t *testing.T, pass string) *trackDiff {
	n := servertest.Start(t, func(c *server.Config) { c.RequirePass = pass })
	r := commandtest.StartRedis(t)
	if pass != "" {
		// redis-server is started open (its harness pings it), then
		// closed: connections opened from now on must authenticate.
		c, err := commandtest.Dial(r)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.Do("CONFIG", "SET", "requirepass", pass); err != nil {
			t.Fatal(err)
		}
		c.Close()
	}
	return &trackDiff{t: t, addrs: [2]string{n.Addr(), r}, conns: [2]map[string]*rawConn{{}, {}}, ids: [2]map[string]string{{}, {}}, multi: map[string]bool{}}
}

var side = [2]string{"cairn", "redis"}

// conn opens (or returns) connection name on both sides.
func (d *trackDiff) open(names ...string) {
	for _, name := range names {
		for i := range d.addrs {
			d.conns[i][name] = dialRaw(d.t, d.addrs[i])
			d.ids[i][name] = d.conns[i][name].id
		}
	}
}

// subst replaces {name} by the connection's client ID on side i.
func (d *trackDiff) subst(i int, s string) string {
	for name, id := range d.ids[i] {
		s = strings.ReplaceAll(s, "{"+name+"}", id)
	}
	return s
}

// normalize replaces client IDs in output that shows redirections by
// {name}.
func (d *trackDiff) normalize(i int, b []byte) string {
	s := string(b)
	if !strings.Contains(s, "redirect") && !strings.Contains(s, "redir-broken") && !strings.HasPrefix(s, ":") {
		return s
	}
	for name, id := range d.ids[i] {
		if id == "" {
			continue
		}
		s = strings.ReplaceAll(s, ":"+id+"\r\n", ":{"+name+"}\r\n")
	}
	return s
}

// normalizePush replaces the client ID in tracking-redir-broken pushes.
func (d *trackDiff) normalizePush(i int, b []byte) string {
	if !bytes.Contains(b, []byte("redir-broken")) {
		return string(b)
	}
	return d.normalize(i, b)
}

// send sends cmd on connection name without reading a reply, then
// compares everything every connection received (its reply included, if
// any) before a PING sent after it.
func (d *trackDiff) send(name string, cmd ...string) {
	d.t.Helper()
	var got [2][]string
	for i := range d.addrs {
		args := make([]string, len(cmd))
		for j, a := range cmd {
			args[j] = d.subst(i, a)
		}
		if err := d.conns[i][name].send(args...); err != nil {
			d.t.Fatal(err)
		}
		if i == 0 {
			switch strings.ToUpper(cmd[0]) {
			case "MULTI":
				d.multi[name] = true
			case "EXEC", "DISCARD", "RESET":
				delete(d.multi, name)
			}
		}
		if d.multi[name] {
			// A PING would be queued: read the one reply.
			v, err := d.conns[i][name].read(5 * time.Second)
			if err != nil {
				d.t.Fatal(err)
			}
			got[i] = append(got[i], name+" reply "+string(v))
		}
		got[i] = append(got[i], d.drainAll(i)...)
	}
	d.compare(cmd, got)
}

// sendMany sends several commands on connection name as one pipeline
// (one write) before draining (also for CLIENT REPLY OFF, under which a
// PING would not answer).
func (d *trackDiff) sendMany(name string, cmds ...[]string) {
	d.t.Helper()
	var got [2][]string
	for i := range d.addrs {
		if err := d.conns[i][name].sendAll(cmds); err != nil {
			d.t.Fatal(err)
		}
		got[i] = d.drainAll(i)
	}
	d.compare(cmds[0], got)
}

// quiet runs cmd on connection name on both sides without comparing
// replies (HELLO prints versions), then drains every connection.
func (d *trackDiff) quiet(name string, cmd ...string) {
	d.t.Helper()
	for i := range d.addrs {
		if _, err := d.conns[i][name].do(cmd...); err != nil {
			d.t.Fatal(err)
		}
		d.drainAll(i)
	}
}

// do runs cmd on connection name, then compares its reply and what every
// connection received meanwhile.
func (d *trackDiff) do(name string, cmd ...string) {
	d.t.Helper()
	var got [2][]string
	for i := range d.addrs {
		args := make([]string, len(cmd))
		for j, a := range cmd {
			args[j] = d.subst(i, a)
		}
		v, err := d.conns[i][name].do(args...)
		if err != nil {
			d.t.Fatalf("%s %q: %v", side[i], cmd, err)
		}
		if i == 0 {
			switch strings.ToUpper(cmd[0]) {
			case "MULTI":
				d.multi[name] = true
			case "EXEC", "DISCARD", "RESET":
				delete(d.multi, name)
			}
		}
		r := string(v)
		if strings.EqualFold(cmd[len(cmd)-1], "getredir") || strings.Contains(r, "redirect") {
			r = d.normalize(i, v)
		}
		got[i] = append(got[i], name+" reply "+r)
		got[i] = append(got[i], d.drainAll(i)...)
	}
	d.compare(cmd, got)
}

func (d *trackDiff) drainAll(i int) []string {
	var out []string
	for _, cn := range sortedKeys(d.conns[i]) {
		if d.multi[cn] {
			continue
		}
		b, err := d.conns[i][cn].drain()
		if err != nil {
			d.t.Fatalf("%s drain %s: %v", side[i], cn, err)
		}
		b = monitorLine.ReplaceAll(b, nil)
		if len(b) > 0 {
			out = append(out, cn+" got "+d.normalizePush(i, b))
		}
	}
	return out
}

func (d *trackDiff) compare(cmd []string, got [2][]string) {
	d.t.Helper()
	if strings.Join(got[0], "|") != strings.Join(got[1], "|") {
		d.t.Errorf("%q:\ncairn %q\nredis %q", cmd, got[0], got[1])
	}
}

// close closes connection name on both sides and waits until both
// servers forgot it.
func (d *trackDiff) close(name string) {
	d.t.Helper()
	for i := range d.addrs {
		c := d.conns[i][name]
		c.nc.Close()
		var other *rawConn
		for n, o := range d.conns[i] {
			if n != name {
				other = o
			}
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			v, err := other.do("CLIENT", "LIST", "ID", c.id)
			if err != nil {
				d.t.Fatal(err)
			}
			if !bytes.Contains(v, []byte("id="+c.id+" ")) {
				break
			}
			if time.Now().After(deadline) {
				d.t.Fatalf("%s: client %s not gone", side[i], name)
			}
			time.Sleep(10 * time.Millisecond)
		}
		delete(d.conns[i], name)
	}
}

// monitorLine matches MONITOR lines, left out of comparisons: times,
// addresses, and whether a monitor's own command is fed before or after
// its reply differ.
var monitorLine = regexp.MustCompile(`(\+\d+\.\d+ \[[^\r]*\r\n)+`)

var clientFlagsRE = regexp.MustCompile(` flags=(\S+) .* redir=(\S+)`)

// checkClientList compares the CLIENT LIST flags of connection name and
// whether redir= names the expected connection.
func (d *trackDiff) checkClientList(name string) {
	d.t.Helper()
	var got [2]string
	for i := range d.addrs {
		c := d.conns[i]["w"]
		v, err := c.do("CLIENT", "LIST", "ID", d.ids[i][name])
		if err != nil {
			d.t.Fatal(err)
		}
		m := clientFlagsRE.FindStringSubmatch(string(v))
		if m == nil {
			d.t.Fatalf("%s CLIENT INFO %q", side[i], v)
		}
		redir := m[2]
		for n, id := range d.ids[i] {
			if id == redir {
				redir = "{" + n + "}"
			}
		}
		got[i] = "flags=" + m[1] + " redir=" + redir
	}
	if got[0] != got[1] {
		d.t.Errorf("CLIENT INFO of %s: cairn %q, redis %q", name, got[0], got[1])
	}
}

// checkInfo compares INFO's tracking fields.
func (d *trackDiff) checkInfo() {
	d.t.Helper()
	var got [2]string
	for i := range d.addrs {
		var c *rawConn
		for _, n := range sortedKeys(d.conns[i]) {
			c = d.conns[i][n]
			break
		}
		b, err := c.do("INFO", "everything")
		if err != nil {
			d.t.Fatal(err)
		}
		var f []string
		for _, l := range strings.Split(string(b), "\r\n") {
			if strings.HasPrefix(l, "tracking_") {
				f = append(f, l)
			}
		}
		got[i] = strings.Join(f, " ")
		d.drainAll(i)
	}
	if got[0] != got[1] {
		d.t.Errorf("INFO tracking: cairn %q, redis %q", got[0], got[1])
	}
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

// TestTrackingErrorsDiff: CLIENT TRACKING / CACHING / GETREDIR /
// TRACKINGINFO argument handling and errors, as Redis 7.0.
func TestTrackingErrorsDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "b", "w")
	for _, cmd := range [][]string{
		{"CLIENT", "TRACKING"},
		{"CLIENT", "TRACKING", "maybe"},
		{"CLIENT", "TRACKING", "on", "bogus"},
		{"CLIENT", "TRACKING", "on", "prefix"},
		{"CLIENT", "TRACKING", "on", "prefix", "a"},
		{"CLIENT", "TRACKING", "on", "redirect", "x"},
		{"CLIENT", "TRACKING", "on", "redirect", "999999"},
		{"CLIENT", "TRACKING", "on", "redirect", "{b}", "redirect", "{b}"},
		{"CLIENT", "TRACKING", "maybe", "redirect", "999999"},
		{"CLIENT", "TRACKING", "on", "optin", "optout"},
		{"CLIENT", "TRACKING", "on", "optin", "bcast"},
		{"CLIENT", "TRACKING", "on", "bcast", "prefix", "a", "prefix", "ab"},
		{"CLIENT", "TRACKING", "on", "bcast", "prefix", "ab", "prefix", "a"},
		{"CLIENT", "CACHING", "yes"},
		{"CLIENT", "CACHING", "maybe"},
		{"CLIENT", "CACHING"},
		{"CLIENT", "GETREDIR"},
		{"CLIENT", "GETREDIR", "x"},
		{"CLIENT", "TRACKINGINFO"},
		{"CLIENT", "TRACKING", "off", "prefix", "a"},
		{"CLIENT", "TRACKING", "on", "optin"},
		{"CLIENT", "CACHING", "no"},
		{"CLIENT", "CACHING", "maybe"},
		{"CLIENT", "TRACKING", "on", "optout"},
		{"CLIENT", "TRACKING", "on", "bcast"},
		{"CLIENT", "TRACKINGINFO"},
		{"CLIENT", "TRACKING", "off"},
		{"CLIENT", "TRACKING", "on", "bcast", "prefix", "b", "prefix", "a"},
		{"CLIENT", "TRACKING", "on", "bcast", "prefix", "bb"},
		{"CLIENT", "TRACKING", "on"},
		{"CLIENT", "TRACKING", "on", "bcast", "prefix", "c"},
		{"CLIENT", "TRACKINGINFO"},
		{"CLIENT", "TRACKING", "on", "bcast", "noloop", "redirect", "{b}"},
		{"CLIENT", "TRACKINGINFO"},
		{"CLIENT", "GETREDIR"},
	} {
		d.do("a", cmd...)
	}
	d.checkClientList("a")
	d.checkInfo()
}

// TestTrackingRESP3Diff: default mode, OPTIN, OPTOUT, NOLOOP, BCAST and
// flushes on a RESP3 connection, pushes compared byte for byte.
func TestTrackingRESP3Diff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "w")
	d.quiet("a", "HELLO", "3")
	steps := [][]string{
		{"a", "CLIENT", "TRACKING", "on"},
		{"a", "GET", "k"},
		{"w", "SET", "k", "v"},
		{"w", "SET", "k", "v2"}, // no longer tracked: nothing
		{"a", "GET", "k"},
		{"a", "MGET", "k2", "k3"},
		{"w", "MSET", "k3", "1", "k", "2", "k2", "3"},
		{"a", "GET", "k"},
		{"a", "SET", "k", "mine"}, // own write: reply, then the push
		{"a", "STRLEN", "k"},
		{"a", "EXISTS", "k", "k2"},
		{"a", "HGET", "h", "f"},
		{"a", "LRANGE", "l", "0", "-1"},
		{"w", "DEL", "k", "k2", "nokey"},
		{"w", "HSET", "h", "f", "1"},
		{"w", "RPUSH", "l", "x"},
		{"a", "GET", "k"},
		{"w", "DEL", "missing"},
		{"a", "MULTI"},
		{"a", "GET", "k"},
		{"a", "SET", "k", "tx"},
		{"a", "EXEC"},
		{"a", "GET", "e"},
		{"w", "SET", "e", "1"},
		{"a", "GET", "k"},
		{"w", "FLUSHALL"},
		{"a", "GET", "k"},
		{"a", "FLUSHDB"},
		{"a", "CLIENT", "TRACKINGINFO"},
		// OPTIN
		{"a", "CLIENT", "TRACKING", "off"},
		{"a", "CLIENT", "TRACKING", "on", "optin"},
		{"a", "GET", "o1"},
		{"w", "SET", "o1", "x"},
		{"a", "CLIENT", "CACHING", "yes"},
		{"a", "CLIENT", "TRACKINGINFO"},
		{"a", "GET", "o1"},
		{"a", "GET", "o2"},
		{"w", "MSET", "o1", "y", "o2", "y"},
		{"a", "CLIENT", "CACHING", "yes"},
		{"a", "PING"},
		{"a", "GET", "o1"},
		{"w", "SET", "o1", "z"},
		{"a", "CLIENT", "CACHING", "yes"},
		{"a", "CLIENT", "GETNAME"},
		{"a", "GET", "o1"},
		{"w", "SET", "o1", "zz"},
		{"a", "CLIENT", "CACHING", "yes"},
		{"a", "MULTI"},
		{"a", "GET", "o1"},
		{"a", "GET", "o2"},
		{"a", "EXEC"},
		{"w", "MSET", "o1", "1", "o2", "2"},
		// OPTOUT
		{"a", "CLIENT", "TRACKING", "off"},
		{"a", "CLIENT", "TRACKING", "on", "optout"},
		{"a", "GET", "p1"},
		{"a", "CLIENT", "CACHING", "no"},
		{"a", "GET", "p2"},
		{"w", "MSET", "p1", "1", "p2", "2"},
		{"a", "CLIENT", "TRACKINGINFO"},
		// NOLOOP
		{"a", "CLIENT", "TRACKING", "off"},
		{"a", "CLIENT", "TRACKING", "on", "noloop"},
		{"a", "GET", "n1"},
		{"a", "SET", "n1", "mine"},
		{"a", "GET", "n1"},
		{"w", "SET", "n1", "theirs"},
		// BCAST
		{"a", "CLIENT", "TRACKING", "off"},
		{"a", "CLIENT", "TRACKING", "on", "bcast", "prefix", "user:", "prefix", "obj:"},
		{"w", "MSET", "user:2", "a", "user:1", "b", "obj:1", "c", "other", "d"},
		{"w", "SET", "other", "e"},
		{"a", "SET", "user:3", "own"},
		{"w", "DEL", "user:1", "user:2", "user:9"},
		{"a", "CLIENT", "TRACKINGINFO"},
		{"w", "FLUSHALL"},
		{"a", "CLIENT", "TRACKING", "off"},
		{"a", "CLIENT", "TRACKING", "on", "bcast", "noloop"},
		{"a", "MSET", "x", "1", "y", "2"},
		{"w", "MSET", "y", "3", "z", "4"},
		{"a", "CLIENT", "TRACKINGINFO"},
	}
	for i, st := range steps {
		d.do(st[0], st[1:]...)
		if i == 3 || i == 7 || i == 68 {
			d.checkInfo()
			d.checkClientList("a")
		}
	}
	d.checkInfo()
	d.checkClientList("a")
	d.do("a", "CLIENT", "TRACKING", "off")
	d.checkInfo()
	// Entries of a client that turned tracking off stay until the key
	// changes; turned on again, it is told about keys read before.
	for _, st := range [][]string{
		{"a", "CLIENT", "TRACKING", "on"},
		{"a", "MGET", "s1", "s2"},
		{"a", "CLIENT", "TRACKING", "off"},
		{"w", "SET", "s1", "1"},
		{"a", "CLIENT", "TRACKING", "on"},
		{"w", "SET", "s2", "1"},
		{"a", "CLIENT", "TRACKING", "on", "noloop"}, // again: options replaced
		{"a", "CLIENT", "TRACKINGINFO"},
		{"a", "GET", "s1"},
		{"a", "HELLO", "2"}, // RESP2 without redirection: nothing is sent
		{"w", "SET", "s1", "2"},
		{"a", "CLIENT", "TRACKINGINFO"},
	} {
		if st[1] == "HELLO" {
			d.quiet(st[0], st[1:]...)
			continue
		}
		d.do(st[0], st[1:]...)
		if st[0] == "w" {
			d.checkInfo()
		}
	}
}

// TestTrackingRedirectDiff: a RESP2 client redirects its invalidations
// to a connection subscribed to __redis__:invalidate; a broken
// redirection is flagged (and reported to RESP3 clients).
func TestTrackingRedirectDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "r", "w")
	d.do("r", "SUBSCRIBE", "__redis__:invalidate")
	for _, st := range [][]string{
		{"a", "CLIENT", "TRACKING", "on", "redirect", "{r}"},
		{"a", "CLIENT", "GETREDIR"},
		{"a", "CLIENT", "TRACKINGINFO"},
		{"a", "GET", "k"},
		{"w", "SET", "k", "1"},
		{"a", "MGET", "k", "j"},
		{"a", "SET", "k", "2"},
		{"w", "SET", "j", "2"},
		{"w", "FLUSHDB"},
		{"a", "CLIENT", "TRACKING", "on", "bcast", "redirect", "{r}"},
		{"a", "CLIENT", "TRACKING", "off"},
		{"a", "CLIENT", "TRACKING", "on", "bcast", "prefix", "p", "redirect", "{r}"},
		{"w", "MSET", "p2", "1", "p1", "2", "q", "3"},
		{"w", "FLUSHALL"},
		{"a", "CLIENT", "TRACKING", "off"},
		// A redirection target that is not subscribed gets nothing.
		{"a", "CLIENT", "TRACKING", "on", "redirect", "{w}"},
		{"a", "GET", "k"},
		{"w", "SET", "k", "3"},
		{"a", "CLIENT", "TRACKING", "on", "redirect", "{r}"},
	} {
		d.do(st[0], st[1:]...)
	}
	d.checkClientList("a")
	d.checkClientList("r")
	d.checkInfo()
	// The target goes away: the redirection is broken.
	d.do("a", "GET", "k")
	d.close("r")
	d.do("w", "SET", "k", "4")
	d.do("a", "CLIENT", "TRACKINGINFO")
	d.checkClientList("a")
	// RESP3: told with a tracking-redir-broken push.
	d.open("b", "r2")
	d.quiet("b", "HELLO", "3")
	d.do("b", "CLIENT", "TRACKING", "on", "redirect", "{r2}")
	d.do("b", "GET", "k")
	d.do("b", "CLIENT", "GETREDIR")
	d.close("r2")
	d.do("w", "SET", "k", "5")
	// A RESP3 redirection target that is not subscribed gets pushes (its
	// connection switches to push mode from the apply path).
	d.open("r3", "c")
	d.quiet("r3", "HELLO", "3")
	d.do("c", "CLIENT", "TRACKING", "on", "redirect", "{r3}")
	d.do("c", "GET", "k")
	d.do("w", "SET", "k", "6")
	d.do("r3", "GET", "k")
	d.do("c", "GET", "k")
	d.do("w", "FLUSHALL")
	d.do("r3", "PING")
	d.do("b", "CLIENT", "TRACKINGINFO")
}

// TestTrackingResetDiff: RESET turns tracking off.
func TestTrackingResetDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "w")
	d.quiet("a", "HELLO", "3")
	d.do("a", "CLIENT", "TRACKING", "on", "bcast")
	d.do("a", "RESET")
	d.do("a", "CLIENT", "TRACKINGINFO")
	d.do("w", "SET", "k", "1")
	d.checkInfo()
}

func TestTrackingTableLimitDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "w")
	d.quiet("a", "HELLO", "3")
	d.do("w", "CONFIG", "SET", "tracking-table-max-keys", "2")
	d.do("w", "CONFIG", "GET", "tracking-table-max-keys")
	d.do("w", "CONFIG", "SET", "tracking-table-max-keys", "-1")
	d.do("w", "CONFIG", "SET", "tracking-table-max-keys", "abc")
	d.do("w", "CONFIG", "SET", "tracking-table-max-keys", "1k")
	d.do("a", "CLIENT", "TRACKING", "on")
	d.do("a", "MGET", "a", "b")
	d.checkInfo()
	// A third key pushes one (random) key out of the table, with an
	// invalidation: compare the counts, not which key.
	var got [2]string
	for i := range d.addrs {
		c := d.conns[i]["a"]
		if _, err := c.do("GET", "c"); err != nil {
			t.Fatal(err)
		}
		// Redis limits the table before the next command.
		b, err := c.drain()
		if err != nil {
			t.Fatal(err)
		}
		got[i] = fmt.Sprint(bytes.Count(b, []byte(">2\r\n$10\r\ninvalidate\r\n*1\r\n")))
	}
	if got[0] != got[1] || got[0] != "1" {
		t.Errorf("invalidations on eviction from the table: cairn %s, redis %s", got[0], got[1])
	}
	d.checkInfo()
	d.do("w", "CONFIG", "SET", "tracking-table-max-keys", "0")
}

// TestTrackingExpiryDiff: a tracked key that expires is invalidated,
// on a RESP3 connection and through a RESP2 redirection.
func TestTrackingExpiryDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "b", "r", "w")
	d.quiet("a", "HELLO", "3")
	d.do("r", "SUBSCRIBE", "__redis__:invalidate")
	d.do("a", "CLIENT", "TRACKING", "on")
	d.do("b", "CLIENT", "TRACKING", "on", "redirect", "{r}")
	d.do("w", "SET", "k", "v", "PX", "150")
	d.do("a", "GET", "k")
	d.do("b", "GET", "k")
	// Wait (up to 5s) for the expiry's invalidation on each side.
	for i := range d.addrs {
		var got [2]string
		deadline := time.Now().Add(5 * time.Second)
		for (got[0] == "" || got[1] == "") && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
			for j, cn := range []string{"a", "r"} {
				b, err := d.conns[i][cn].drain()
				if err != nil {
					t.Fatal(err)
				}
				got[j] += string(b)
			}
		}
		if got[0] != ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n" {
			t.Errorf("%s: RESP3 client got %q on expiry", side[i], got[0])
		}
		if got[1] != "*3\r\n$7\r\nmessage\r\n$20\r\n__redis__:invalidate\r\n*1\r\n$1\r\nk\r\n" {
			t.Errorf("%s: redirection target got %q on expiry", side[i], got[1])
		}
	}
	d.checkInfo()
}

// TestTrackingGoRedisCSC: go-redis's built-in client-side cache (RESP3,
// CLIENT TRACKING, invalidate pushes) against Cairn: a cached value is
// dropped when another client writes the key, and when it expires.
func TestTrackingGoRedisCSC(t *testing.T) {
	n := servertest.Start(t)
	cache := redis.NewLocalCache(redis.CacheConfig{MaxEntries: 128})
	cl := n.Client(t, func(o *redis.Options) {
		o.Protocol = 3
		o.ClientSideCache = cache
	})
	w := n.Client(t)
	if err := w.Set(ctx, "k", "v1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if v := cl.Get(ctx, "k").Val(); v != "v1" {
		t.Fatalf("GET k = %q", v)
	}
	eventually := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("timed out waiting for %s", what)
			}
			cl.Ping(ctx) // lets the client drain pushes
			time.Sleep(10 * time.Millisecond)
		}
	}
	eventually("the value to be cached", func() bool { return cache.Len() >= 1 })
	// (go-redis may track on more than one pooled connection.)
	if tr := w.Do(ctx, "INFO", "clients").String(); !regexp.MustCompile(`tracking_clients:[1-9]`).MatchString(tr) {
		t.Fatalf("INFO clients: %s", tr)
	}
	if err := w.Set(ctx, "k", "v2", 0).Err(); err != nil {
		t.Fatal(err)
	}
	eventually("the invalidation", func() bool { return cl.Get(ctx, "k").Val() == "v2" })
	// Expiry.
	if err := w.Set(ctx, "e", "x", 150*time.Millisecond).Err(); err != nil {
		t.Fatal(err)
	}
	if v := cl.Get(ctx, "e").Val(); v != "x" {
		t.Fatalf("GET e = %q", v)
	}
	eventually("the expiry's invalidation", func() bool { return cl.Get(ctx, "e").Err() == redis.Nil })
}

// TestTrackingPipelineDiff: pipelined writes of a tracking client to keys
// it tracks get each reply before the invalidation it causes, as Redis
// interleaves them.
func TestTrackingPipelineDiff(t *testing.T) {
	d := newTrackDiff(t)
	d.open("a", "b", "w")
	d.quiet("a", "HELLO", "3")
	d.quiet("b", "HELLO", "3")
	d.do("a", "CLIENT", "TRACKING", "on")
	d.do("b", "CLIENT", "TRACKING", "on", "bcast", "prefix", "p")
	d.do("a", "MGET", "x", "y")
	d.sendMany("a", []string{"SET", "x", "1"}, []string{"SET", "z", "1"}, []string{"SET", "y", "2"},
		[]string{"GET", "x"}, []string{"SET", "x", "2"}, []string{"SET", "z", "2"})
	d.sendMany("b", []string{"SET", "p1", "1"}, []string{"SET", "q", "1"}, []string{"MSET", "p2", "1", "p3", "2"})
	d.sendMany("a", []string{"GET", "x"}, []string{"SET", "z", "3"}, []string{"FLUSHALL"}, []string{"SET", "z", "4"})
	d.checkInfo()
}
