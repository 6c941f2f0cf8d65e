package resp

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/tidwall/redcon"
)

// Call sends one command to a Redis-protocol server at addr and returns a
// simple, integer or bulk reply as text; an error reply becomes an error.
// Nodes use it to join a cluster. pass, if set, is sent with AUTH first.
func Call(addr string, timeout time.Duration, pass string, args ...string) (string, error) {
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	out, err := CallMulti(addr, timeout, pass, bargs...)
	if err != nil {
		return "", err
	}
	if len(out) != 1 {
		return "", fmt.Errorf("unexpected array reply")
	}
	return string(out[0]), nil
}

// CallMulti is Call for a reply that may also be an array of bulk
// strings (one element per entry); a single reply is a one-element slice.
// Nodes use it for internal requests to each other.
func CallMulti(addr string, timeout time.Duration, pass string, args ...[]byte) ([][]byte, error) {
	var auth [][]byte
	if pass != "" {
		auth = [][]byte{[]byte("AUTH"), []byte(pass)}
	}
	return call(nil, addr, timeout, auth, args)
}

// Dialer connects to addr within timeout (e.g. over TLS); nil is plain
// TCP.
type Dialer func(addr string, timeout time.Duration) (net.Conn, error)

// CallWith is Call over connections made by dial.
func CallWith(dial Dialer, addr string, timeout time.Duration, pass string, args ...string) (string, error) {
	var auth [][]byte
	if pass != "" {
		auth = [][]byte{[]byte("AUTH"), []byte(pass)}
	}
	bargs := make([][]byte, len(args))
	for i, a := range args {
		bargs[i] = []byte(a)
	}
	out, err := call(dial, addr, timeout, auth, bargs)
	if err != nil {
		return "", err
	}
	if len(out) != 1 {
		return "", fmt.Errorf("unexpected array reply")
	}
	return string(out[0]), nil
}

// CallNodeWith is CallNode over connections made by dial.
func CallNodeWith(dial Dialer, addr string, timeout time.Duration, secret string, args ...[]byte) ([][]byte, error) {
	return call(dial, addr, timeout, NodeAuth(secret), args)
}

// CallNode is CallMulti on a connection authenticated as a cluster node
// (NodeAuth), for the internal commands nodes send each other.
func CallNode(addr string, timeout time.Duration, secret string, args ...[]byte) ([][]byte, error) {
	return call(nil, addr, timeout, NodeAuth(secret), args)
}

// NodeUser is the user name cluster nodes authenticate as (AUTH
// cairn-node <cluster secret>); such a connection may run the internal
// commands nodes send each other.
const NodeUser = "cairn-node"

// NodeAuth is the command that authenticates a connection as a cluster
// node.
func NodeAuth(secret string) [][]byte {
	return [][]byte{[]byte("AUTH"), []byte(NodeUser), []byte(secret)}
}

func call(dial Dialer, addr string, timeout time.Duration, auth, args [][]byte) ([][]byte, error) {
	if dial == nil {
		dial = func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, timeout)
		}
	}
	conn, err := dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	var b []byte
	if auth != nil {
		b = AppendCommand(b, auth...)
	}
	b = AppendCommand(b, args...)
	if _, err := conn.Write(b); err != nil {
		return nil, err
	}
	br := bufio.NewReader(conn)
	if auth != nil {
		if _, err := readOne(br); err != nil {
			return nil, fmt.Errorf("auth: %w", err)
		}
	}
	return readReply(br)
}

// NodeSession is one connection to a node, authenticated as a cluster
// node (NodeAuth), for a sequence of internal requests (a backup's
// chunks). It is not safe for concurrent use.
type NodeSession struct {
	conn net.Conn
	br   *bufio.Reader
}

// DialNode opens a NodeSession to addr (dial nil: plain TCP).
func DialNode(dial Dialer, addr string, timeout time.Duration, secret string) (*NodeSession, error) {
	if dial == nil {
		dial = func(addr string, timeout time.Duration) (net.Conn, error) {
			return net.DialTimeout("tcp", addr, timeout)
		}
	}
	conn, err := dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	ns := &NodeSession{conn: conn, br: bufio.NewReaderSize(conn, 64<<10)}
	conn.SetDeadline(time.Now().Add(timeout))
	if _, err := conn.Write(AppendCommand(nil, NodeAuth(secret)...)); err != nil {
		conn.Close()
		return nil, err
	}
	if _, err := readOne(ns.br); err != nil {
		conn.Close()
		return nil, fmt.Errorf("auth: %w", err)
	}
	return ns, nil
}

// Do sends one command and reads its reply (as CallMulti does), within
// timeout.
func (ns *NodeSession) Do(timeout time.Duration, args ...[]byte) ([][]byte, error) {
	ns.conn.SetDeadline(time.Now().Add(timeout))
	if _, err := ns.conn.Write(AppendCommand(nil, args...)); err != nil {
		return nil, err
	}
	return readReply(ns.br)
}

// Close closes the connection.
func (ns *NodeSession) Close() error { return ns.conn.Close() }

// readReply reads one reply: an array of simple, integer or bulk
// elements, or one of them.
func readReply(br *bufio.Reader) ([][]byte, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return nil, err
	}
	if strings.HasPrefix(line, "*") {
		n, err := strconv.Atoi(strings.TrimRight(line[1:], "\r\n"))
		if err != nil || n < 0 || n > 1<<20 {
			return nil, fmt.Errorf("bad reply %q", line)
		}
		out := make([][]byte, n)
		for i := range out {
			v, err := readOne(br)
			if err != nil {
				return nil, err
			}
			out[i] = []byte(v)
		}
		return out, nil
	}
	v, err := parseOne(br, line)
	if err != nil {
		return nil, err
	}
	return [][]byte{[]byte(v)}, nil
}

// AppendCommand appends a command as a RESP array of bulk strings.
func AppendCommand(b []byte, args ...[]byte) []byte {
	b = redcon.AppendArray(b, len(args))
	for _, a := range args {
		b = redcon.AppendBulk(b, a)
	}
	return b
}

func readOne(br *bufio.Reader) (string, error) {
	line, err := br.ReadString('\n')
	if err != nil {
		return "", err
	}
	return parseOne(br, line)
}

func parseOne(br *bufio.Reader, line string) (string, error) {
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("empty reply")
	}
	switch line[0] {
	case '+', ':':
		return line[1:], nil
	case '-':
		return "", errors.New(line[1:])
	case '$':
		n, err := strconv.Atoi(line[1:])
		if err != nil || n < -1 || n > 1<<30 {
			return "", fmt.Errorf("bad reply %q", line)
		}
		if n < 0 {
			return "", nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(br, buf); err != nil {
			return "", err
		}
		return string(buf[:n]), nil
	}
	return "", fmt.Errorf("unexpected reply %q", line)
}
