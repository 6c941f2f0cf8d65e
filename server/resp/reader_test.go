package resp

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"strings"
	"testing"
)

func readAll(t *testing.T, in string, maxBulk int64) ([][]string, error) {
	t.Helper()
	r := NewReader(strings.NewReader(in), maxBulk)
	var out [][]string
	for {
		args, err := r.ReadCommand()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return out, err
		}
		var cmd []string
		for _, a := range args {
			cmd = append(cmd, string(a))
		}
		out = append(out, cmd)
	}
}

func TestReader(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // commands joined by | and args by ,
		err      string
	}{
		{"multibulk", "*2\r\n$3\r\nGET\r\n$1\r\na\r\n", "GET,a", ""},
		{"pipeline", "*1\r\n$4\r\nPING\r\n*2\r\n$4\r\nECHO\r\n$0\r\n\r\n", "PING|ECHO,", ""},
		{"inline", "SET a b\r\nGET a\n", "SET,a,b|GET,a", ""},
		{"inline quotes", "SET \"a b\" 'c d' \"\\x41\\n\"\r\n", "SET,a b,c d,A\n", ""},
		{"empty lines and *0", "\r\n\r\n*0\r\n*-1\r\nPING\r\n", "PING", ""},
		{"bad multibulk", "*x\r\n", "", "Protocol error: invalid multibulk length"},
		{"bad bulk", "*1\r\n$-5\r\n", "", "Protocol error: invalid bulk length"},
		{"expected dollar", "*1\r\n:5\r\n", "", "Protocol error: expected '$', got ':'"},
		{"unbalanced", "SET \"a b\r\n", "", "Protocol error: unbalanced quotes in request"},
		{"quote then text", "SET \"a\"b c\r\n", "", "Protocol error: unbalanced quotes in request"},
		{"bulk too big", "*1\r\n$2000\r\n", "", "Protocol error: invalid bulk length"},
		{"inline too big", strings.Repeat("a", 70000), "", "Protocol error: too big inline request"},
		{"mbulk count too big", "*" + strings.Repeat("1", 70000), "", "Protocol error: too big mbulk count string"},
		{"commands before error run", "PING\r\n*x\r\n", "PING", "Protocol error: invalid multibulk length"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cmds, err := readAll(t, tc.in, 1000)
			var parts []string
			for _, c := range cmds {
				parts = append(parts, strings.Join(c, ","))
			}
			if got := strings.Join(parts, "|"); got != tc.want {
				t.Errorf("commands: got %q, want %q", got, tc.want)
			}
			gotErr := ""
			if err != nil {
				gotErr = err.Error()
			}
			if gotErr != tc.err {
				t.Errorf("error: got %q, want %q", gotErr, tc.err)
			}
		})
	}
}

// TestReaderLargeBulk reads a 3 MB argument fed in small chunks.
func TestReaderLargeBulk(t *testing.T) {
	val := bytes.Repeat([]byte("x"), 3<<20)
	in := "*2\r\n$3\r\nSET\r\n$" + strconv.Itoa(len(val)) + "\r\n" + string(val) + "\r\n"
	r := NewReader(&chunked{data: []byte(in), n: 1000}, 512<<20)
	args, err := r.ReadCommand()
	if err != nil {
		t.Fatal(err)
	}
	if len(args) != 2 || !bytes.Equal(args[1], val) {
		t.Fatalf("got %d args, len %d", len(args), len(args[len(args)-1]))
	}
}

type chunked struct {
	data []byte
	n    int
}

func (c *chunked) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := min(len(p), c.n, len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

func FuzzReader(f *testing.F) {
	for _, s := range []string{"*2\r\n$3\r\nGET\r\n$1\r\na\r\n", "SET a \"b\\x41\"\r\n", "*1\r\n$-1\r\n", "\r\n", "*3\r\n$1\r\n"} {
		f.Add([]byte(s), uint8(7))
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint8) {
		r := NewReader(&chunked{data: in, n: int(chunk%64) + 1}, 1<<20)
		for i := 0; i < 1000; i++ {
			args, err := r.ReadCommand()
			if err != nil {
				return
			}
			if len(args) == 0 {
				t.Fatal("empty command returned")
			}
		}
	})
}

func FuzzSplitArgs(f *testing.F) {
	f.Add([]byte(`SET "a\x41" 'b\'c' d`))
	f.Fuzz(func(t *testing.T, line []byte) {
		splitArgs(line)
	})
}

// countingReader counts Read calls.
type countingReader struct {
	r     io.Reader
	calls int
}

func (c *countingReader) Read(p []byte) (int, error) {
	c.calls++
	return c.r.Read(p)
}

// TestReaderPipelineOneRead: a pipeline that arrives in one read is
// parsed without another Read call until every command in it has been
// returned (another read would be a wasted EAGAIN on a socket).
func TestReaderPipelineOneRead(t *testing.T) {
	var in strings.Builder
	for i := 0; i < 100; i++ {
		in.WriteString("*3\r\n$3\r\nSET\r\n$5\r\nkey:" + strconv.Itoa(i%10) + "\r\n$1\r\nv\r\n")
	}
	cr := &countingReader{r: strings.NewReader(in.String())}
	r := NewReader(cr, DefaultMaxBulkLen)
	for i := 0; i < 100; i++ {
		args, err := r.ReadCommand()
		if err != nil {
			t.Fatal(err)
		}
		if len(args) != 3 || string(args[1]) != "key:"+strconv.Itoa(i%10) {
			t.Fatalf("command %d: %q", i, args)
		}
		if cr.calls != 1 {
			t.Fatalf("command %d: %d Read calls, want 1", i, cr.calls)
		}
		if more := r.Buffered(); more != (i < 99) {
			t.Fatalf("command %d: Buffered() = %v", i, more)
		}
	}
}

// TestReaderSplitEverywhere feeds a pipeline of multibulk and inline
// commands (including an empty bulk and a bulk larger than the initial
// buffer) split at every byte offset into two reads, and in chunks of
// every size from 1 to 64: the commands parsed are always the same.
func TestReaderSplitEverywhere(t *testing.T) {
	big := strings.Repeat("b", readChunk+100)
	in := "*2\r\n$3\r\nGET\r\n$1\r\na\r\n" +
		"PING\r\n" +
		"*3\r\n$3\r\nSET\r\n$0\r\n\r\n$" + strconv.Itoa(len(big)) + "\r\n" + big + "\r\n" +
		"\r\n" +
		"*1\r\n$4\r\nPING\r\n"
	want, err := readAll(t, in, DefaultMaxBulkLen)
	if err != nil || len(want) != 4 {
		t.Fatalf("whole: %d commands, %v", len(want), err)
	}
	check := func(name string, rd io.Reader) {
		r := NewReader(rd, DefaultMaxBulkLen)
		for i, w := range want {
			args, err := r.ReadCommand()
			if err != nil {
				t.Fatalf("%s: command %d: %v", name, i, err)
			}
			if len(args) != len(w) {
				t.Fatalf("%s: command %d: %d args, want %d", name, i, len(args), len(w))
			}
			for j := range w {
				if string(args[j]) != w[j] {
					t.Fatalf("%s: command %d arg %d differs", name, i, j)
				}
			}
		}
		if _, err := r.ReadCommand(); !errors.Is(err, io.EOF) {
			t.Fatalf("%s: after the last command: %v", name, err)
		}
	}
	for split := 1; split < len(in); split += 1 + split/64 {
		check("split "+strconv.Itoa(split), io.MultiReader(strings.NewReader(in[:split]), strings.NewReader(in[split:])))
	}
	for n := 1; n <= 64; n++ {
		check("chunk "+strconv.Itoa(n), &chunked{data: []byte(in), n: n})
	}
}

// TestParseLL compares parseLL with Redis's string2ll rules: optional
// '-', no '+', no leading zeros, no "-0", int64 range.
func TestParseLL(t *testing.T) {
	for _, tc := range []struct {
		in string
		n  int64
		ok bool
	}{
		{"0", 0, true}, {"1", 1, true}, {"123", 123, true}, {"-1", -1, true},
		{"999999999999999999", 999999999999999999, true},
		{"9223372036854775807", 9223372036854775807, true},
		{"-9223372036854775808", -9223372036854775808, true},
		{"9223372036854775808", 0, false}, {"-9223372036854775809", 0, false},
		{"", 0, false}, {"-", 0, false}, {"+1", 0, false}, {"01", 0, false},
		{"-0", 0, false}, {"-01", 0, false}, {"00", 0, false}, {"1a", 0, false},
		{"a", 0, false}, {" 1", 0, false}, {"1 ", 0, false}, {"1_0", 0, false},
		{"12345678901234567890", 0, false}, {"123456789012345678901", 0, false},
	} {
		n, ok := parseLL([]byte(tc.in))
		if ok != tc.ok || (ok && n != tc.n) {
			t.Errorf("parseLL(%q) = %d, %v; want %d, %v", tc.in, n, ok, tc.n, tc.ok)
		}
	}
}

func FuzzParseLL(f *testing.F) {
	f.Add([]byte("123"))
	f.Add([]byte("-0"))
	f.Fuzz(func(t *testing.T, b []byte) {
		n, ok := parseLL(b)
		// The reference: strconv with string2ll's extra rules.
		want, err := strconv.ParseInt(string(b), 10, 64)
		wantOK := err == nil && len(b) > 0 && len(b) <= 20 && b[0] != '+' &&
			!(len(b) > 1 && (b[0] == '0' || (b[0] == '-' && b[1] == '0')))
		if ok != wantOK || (ok && n != want) {
			t.Fatalf("parseLL(%q) = %d, %v; want %d, %v", b, n, ok, want, wantOK)
		}
	})
}
