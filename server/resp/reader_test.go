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
