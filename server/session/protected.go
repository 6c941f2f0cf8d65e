package session

import (
	"crypto/tls"
	"net"

	"github.com/cairndb/cairn/server/acl"
	"github.com/cairndb/cairn/server/resp"
)

// Protected mode at run time, as Redis's clientAcceptHandler: while
// protected-mode is yes and the default user has nopass, a connection from
// anywhere but 127.0.0.1 or ::1 is told deniedMsg and closed. It follows
// CONFIG SET protected-mode, CONFIG SET requirepass and ACL changes of the
// default user for new connections, without a restart. (The start-time
// refusal of a non-loopback bind, main.go's checkProtected, stays.)
//
// Two differences from Redis, both for connections Cairn's start-time rule
// already trusts: a TLS connection whose client certificate was verified
// against the CA (tls-auth-clients yes or optional) is let in; and in
// cluster mode the DENIED reply waits for the first command, so that
// another node may still authenticate as a node (AUTH cairn-node
// <secret>): node-to-node calls arrive from other hosts.

// deniedMsg is Redis 7.0's text, word for word.
const deniedMsg = "-DENIED Redis is running in protected mode because protected " +
	"mode is enabled and no password is set for the default user. " +
	"In this mode connections are only accepted from the loopback interface. " +
	"If you want to connect from external computers to Redis you " +
	"may adopt one of the following solutions: " +
	"1) Just disable protected mode sending the command " +
	"'CONFIG SET protected-mode no' from the loopback interface " +
	"by connecting to Redis from the same host the server is " +
	"running, however MAKE SURE Redis is not publicly accessible " +
	"from internet if you do so. Use CONFIG REWRITE to make this " +
	"change permanent. " +
	"2) Alternatively you can just disable the protected mode by " +
	"editing the Redis configuration file, and setting the protected " +
	"mode option to 'no', and then restarting the server. " +
	"3) If you started the server manually just for testing, restart " +
	"it with the '--protected-mode no' option. " +
	"4) Setup a an authentication password for the default user. " +
	"NOTE: You only need to do one of the above things in order for " +
	"the server to start accepting connections from the outside.\r\n"

// protectedDenied tells whether protected mode refuses connection nc.
func (s *Server) protectedDenied(nc net.Conn) bool {
	if !s.params.protected.Load() {
		return false
	}
	if d := s.aclUsers().User(acl.DefaultUser); d == nil || !d.NoPass() {
		return false
	}
	if isLocalPeer(nc.RemoteAddr()) {
		return false
	}
	if tc, ok := nc.(*tls.Conn); ok && len(tc.ConnectionState().VerifiedChains) > 0 {
		return false
	}
	return true
}

// isLocalPeer is Redis's islocalClient: the peer is 127.0.0.1 or ::1.
func isLocalPeer(a net.Addr) bool {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return a != nil && a.Network() == "unix"
	}
	return ta.IP.Equal(net.IPv4(127, 0, 0, 1)) || ta.IP.Equal(net.IPv6loopback)
}

// clusterNodeAuth tells whether nodes may authenticate on this server
// (cluster mode: the backend has a node secret).
func (s *Server) clusterNodeAuth() bool {
	if ns, ok := s.backend.(nodeSecret); ok && ns.NodeSecret() != "" {
		return true
	}
	js, ok := s.backend.(joinSecret)
	return ok && js.JoinSecret() != ""
}

// isNodeAuth tells whether args is AUTH cairn-node <secret>.
func isNodeAuth(args [][]byte) bool {
	return len(args) == 3 && equalFoldASCII(args[0], "auth") && string(args[1]) == resp.NodeUser
}

func equalFoldASCII(b []byte, lower string) bool {
	if len(b) != len(lower) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}
