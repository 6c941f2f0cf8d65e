package session

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/command/strs"
)

// TestRawReadsWaitForInput drives serveRaw's waits: a command that arrives
// in pieces with pauses (the loop waits with a partial command buffered),
// request/response round trips (it waits after each short read, with no
// read returning EAGAIN), a pipeline after the wait, and a client that
// closes. Each step is checked on both read paths (serveRaw and the
// netpoll path CAIRN_CONN_READS=netpoll selects).
func TestRawReadsWaitForInput(t *testing.T) {
	for _, raw := range []bool{true, false} {
		t.Run("raw="+strconv.FormatBool(raw), func(t *testing.T) {
			old := rawReadsOff
			rawReadsOff = !raw
			defer func() { rawReadsOff = old }()
			be := &echoBackend{}
			s := New(Config{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}, command.NewTable(Specs, strs.Specs), be)
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			go s.Serve(ln)
			defer s.Close()
			nc, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer nc.Close()
			if got := rawConn(nc.(*net.TCPConn)) != nil; got != raw {
				t.Fatalf("rawConn used = %v, want %v", got, raw)
			}
			nc.SetDeadline(time.Now().Add(30 * time.Second))
			br := bufio.NewReader(nc)
			expect := func(want string) {
				t.Helper()
				line, err := br.ReadString('\n')
				if err != nil || line != want {
					t.Fatalf("reply %q, %v; want %q", line, err, want)
				}
			}
			// One SET in three pieces, the server waiting between them.
			for _, part := range []string{"*3\r\n$3\r\nSE", "T\r\n$1\r\nk\r\n$5\r\nhel", "lo\r\n"} {
				if _, err := nc.Write([]byte(part)); err != nil {
					t.Fatal(err)
				}
				time.Sleep(20 * time.Millisecond)
			}
			expect("$11\r\n")
			expect("SET k hello\r\n")
			// Round trips: each request is read by one short read.
			for i := 0; i < 200; i++ {
				nc.Write([]byte("PING\r\n"))
				expect("+PONG\r\n")
			}
			// A pipeline larger than the reader's buffer after a wait.
			time.Sleep(20 * time.Millisecond)
			var p []byte
			for i := 0; i < 5000; i++ {
				p = append(p, "*2\r\n$4\r\nECHO\r\n$5\r\nabcde\r\n"...)
			}
			nc.Write(p)
			for i := 0; i < 5000; i++ {
				expect("$5\r\n")
				expect("abcde\r\n")
			}
			// Closing the write side ends the connection: the server sees
			// EOF and closes its side.
			nc.(*net.TCPConn).CloseWrite()
			if _, err := br.ReadByte(); err != io.EOF {
				t.Fatalf("after the client closed: %v, want EOF", err)
			}
		})
	}
}
