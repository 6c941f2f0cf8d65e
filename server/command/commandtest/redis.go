package commandtest

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// Client is a minimal RESP2 client that returns replies as reply.Values, so
// tests can compare Cairn's and Redis's answers exactly.
type Client struct {
	conn net.Conn
	r    *bufio.Reader
}

// Dial connects to addr.
func Dial(addr string) (*Client, error) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	return &Client{conn: c, r: bufio.NewReader(c)}, nil
}

// Close closes the connection.
func (c *Client) Close() error { return c.conn.Close() }

// Do sends one command and reads its reply.
func (c *Client) Do(args ...string) (reply.Value, error) {
	argv := make([][]byte, len(args))
	for i, a := range args {
		argv[i] = []byte(a)
	}
	return c.DoBytes(argv)
}

// DoBytes is Do with byte-slice arguments.
func (c *Client) DoBytes(argv [][]byte) (reply.Value, error) {
	if err := c.Send(argv); err != nil {
		return reply.Value{}, err
	}
	return c.Read()
}

// Send writes one command without reading its reply.
func (c *Client) Send(argv [][]byte) error {
	buf := []byte("*" + strconv.Itoa(len(argv)) + "\r\n")
	for _, a := range argv {
		buf = append(buf, '$')
		buf = strconv.AppendInt(buf, int64(len(a)), 10)
		buf = append(buf, "\r\n"...)
		buf = append(buf, a...)
		buf = append(buf, "\r\n"...)
	}
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	_, err := c.conn.Write(buf)
	return err
}

// WriteRaw writes bytes as they are (for protocol tests).
func (c *Client) WriteRaw(b []byte) error {
	_, err := c.conn.Write(b)
	return err
}

// Read reads one reply (RESP2 or RESP3).
func (c *Client) Read() (reply.Value, error) {
	c.conn.SetDeadline(time.Now().Add(30 * time.Second))
	line, err := c.r.ReadString('\n')
	if err != nil {
		return reply.Value{}, err
	}
	if len(line) < 3 {
		return reply.Value{}, fmt.Errorf("short line %q", line)
	}
	body := line[1 : len(line)-2]
	switch line[0] {
	case '+':
		return reply.Status(body), nil
	case '-':
		return reply.Error(body), nil
	case ':':
		n, err := strconv.ParseInt(body, 10, 64)
		return reply.Int(n), err
	case '_':
		return reply.Nil, nil
	case '#':
		return reply.Bool(body == "t"), nil
	case ',':
		return reply.Double(body), nil
	case '(':
		return reply.Value{Kind: reply.KindBigNumber, Str: []byte(body)}, nil
	case '$', '=', '!':
		n, err := strconv.Atoi(body)
		if err != nil {
			return reply.Value{}, err
		}
		if n < 0 {
			return reply.Nil, nil
		}
		b := make([]byte, n+2)
		if _, err := io.ReadFull(c.r, b); err != nil {
			return reply.Value{}, err
		}
		kind := reply.KindBulk
		if line[0] == '=' {
			kind = reply.KindVerbatim
		} else if line[0] == '!' {
			kind = reply.KindError
		}
		return reply.Value{Kind: kind, Str: b[:n]}, nil
	case '*', '~', '%', '>':
		n, err := strconv.Atoi(body)
		if err != nil {
			return reply.Value{}, err
		}
		if n < 0 {
			return reply.NilArray, nil
		}
		if line[0] == '%' {
			n *= 2
		}
		elems := make([]reply.Value, n)
		for i := range elems {
			if elems[i], err = c.Read(); err != nil {
				return reply.Value{}, err
			}
		}
		kind := map[byte]reply.Kind{'*': reply.KindArray, '~': reply.KindSet, '%': reply.KindMap, '>': reply.KindArray}[line[0]]
		return reply.Value{Kind: kind, Elems: elems}, nil
	}
	return reply.Value{}, fmt.Errorf("bad reply line %q", line)
}

// StartRedis starts a real redis-server (the reference implementation) on
// a free loopback port for the life of the test and returns its address.
// Without redis-server installed the test is skipped, except under CI
// (CI=true), where .ci/run installs it and its absence is a failure.
func StartRedis(t testing.TB, extra ...string) string {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server not installed (apt-get install redis-server)")
		}
		t.Skip("redis-server not installed")
	}
	if err := checkRedisVersion(bin); err != nil {
		if os.Getenv("CI") != "" || os.Getenv("CAIRN_STRICT_REDIS") != "" {
			t.Fatal(err)
		}
		t.Skip(err.Error())
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	args := append([]string{"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
		"--dir", t.TempDir(), "--hash-max-listpack-entries", "128"}, extra...)
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	for i := 0; i < 200; i++ {
		if c, err := Dial(addr); err == nil {
			v, err := c.Do("PING")
			c.Close()
			if err == nil && v.Kind == reply.KindStatus {
				return addr
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatal("redis-server did not start")
	return ""
}

// Diff runs the same commands against a harness and a real Redis and
// compares the replies exactly.
type Diff struct {
	H     *Harness
	Redis *Client
}

// NewDiff starts a redis-server and a harness over families. The
// harness's clock follows the wall clock so TTLs compare.
func NewDiff(t testing.TB, families ...[]*command.Spec) *Diff {
	addr := StartRedis(t)
	c, err := Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	h := New(t, families...)
	return &Diff{H: h, Redis: c}
}

// Compare runs args on both and reports a mismatch of the RESP2 replies.
// It returns both replies.
func (d *Diff) Compare(args ...string) (got, want reply.Value) {
	d.H.T.Helper()
	want, err := d.Redis.Do(args...)
	if err != nil {
		d.H.T.Fatalf("redis %q: %v", args, err)
	}
	d.H.Now = time.Now().UnixMilli()
	got = d.H.Do(args...).RESP2()
	if !reply.Equal(got, want) {
		d.H.T.Errorf("%q:\n  cairn: %s (kind %d)\n  redis: %s (kind %d)", args, got, got.Kind, want, want.Kind)
	}
	return got, want
}

// RandomSteps returns the loop condition of a random differential test:
// n steps by default, or as many as fit in CAIRN_FUZZ_DIFF (a Go
// duration, set by `make fuzz-diff`).
func RandomSteps(n int) func(i int) bool {
	if s := os.Getenv("CAIRN_FUZZ_DIFF"); s != "" {
		if d, err := time.ParseDuration(s); err == nil {
			deadline := time.Now().Add(d)
			return func(int) bool { return time.Now().Before(deadline) }
		}
	}
	return func(i int) bool { return i < n }
}

// ReferenceVersion is the redis-server release line the differential tests
// compare against: replies, error strings and encodings are Redis 7.0's.
const ReferenceVersion = "7.0."

var (
	versionOnce sync.Once
	versionErr  error
)

// checkRedisVersion runs `redis-server --version` once and reports an error
// unless it is a 7.0.x server: a differential test against another release
// would compare Cairn with the wrong reference and could pass or fail for
// reasons that have nothing to do with Cairn.
func checkRedisVersion(bin string) error {
	versionOnce.Do(func() { versionErr = redisVersionError(bin) })
	return versionErr
}

// redisVersionError is checkRedisVersion without the cache.
func redisVersionError(bin string) error {
	out, err := exec.Command(bin, "--version").Output()
	if err != nil {
		return fmt.Errorf("reference %s --version: %v", bin, err)
	}
	v := parseRedisVersion(string(out))
	if !strings.HasPrefix(v, ReferenceVersion) {
		return fmt.Errorf("reference redis-server at %s is version %q; the differential tests need Redis %sx (Debian 12's redis-server)", bin, v, ReferenceVersion)
	}
	return nil
}

// parseRedisVersion extracts "7.0.15" from "Redis server v=7.0.15 sha=...".
func parseRedisVersion(out string) string {
	for _, f := range strings.Fields(out) {
		if v, ok := strings.CutPrefix(f, "v="); ok {
			return v
		}
	}
	return ""
}
