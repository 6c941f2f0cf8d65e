package session

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/acl"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
)

// The ACL command (Redis 7.0). Changes (SETUSER, DELUSER, LOAD) go
// through the log (changeUsers); the rest read this node's users.

func aclHandlers(m map[string]connHandler) {
	m["acl|setuser"] = aclSetUser
	m["acl|deluser"] = aclDelUser
	m["acl|getuser"] = aclGetUser
	m["acl|list"] = aclList
	m["acl|users"] = aclUsersCmd
	m["acl|cat"] = aclCat
	m["acl|whoami"] = aclWhoami
	m["acl|genpass"] = aclGenpass
	m["acl|dryrun"] = aclDryrun
	m["acl|log"] = aclLogCmd
	m["acl|save"] = aclSave
	m["acl|load"] = aclLoad
	m["acl|help"] = aclHelp
}

func aclError(s *Server, err error) reply.Value {
	var ae *acl.Error
	if errors.As(err, &ae) {
		return reply.Error("ERR " + ae.Msg)
	}
	return s.backend.ErrorReply(err)
}

// ACL SETUSER username [rule ...]
func aclSetUser(s *Server, c *client, args [][]byte) reply.Value {
	rules := make([]string, len(args)-3)
	for i, a := range args[3:] {
		rules[i] = string(a)
	}
	err := s.changeUsers(c, func(set *acl.Set) (*acl.Set, error) { return set.SetUser(string(args[2]), rules) })
	if err != nil {
		return aclError(s, err)
	}
	return reply.OK
}

// ACL DELUSER username [username ...]
func aclDelUser(s *Server, c *client, args [][]byte) reply.Value {
	names := make([]string, len(args)-2)
	for i, a := range args[2:] {
		names[i] = string(a)
	}
	deleted := 0
	err := s.changeUsers(c, func(set *acl.Set) (*acl.Set, error) {
		n, d, err := set.DelUser(names)
		deleted = d
		if err == nil && d == 0 {
			return nil, errNoChange
		}
		return n, err
	})
	if err != nil && err != errNoChange {
		return aclError(s, err)
	}
	return reply.Int(int64(deleted))
}

// errNoChange: the change would change nothing; nothing is proposed.
var errNoChange = errors.New("no change")

// ACL GETUSER username
func aclGetUser(s *Server, _ *client, args [][]byte) reply.Value {
	set := s.aclUsers()
	u := set.User(string(args[2]))
	if u == nil {
		return reply.Nil
	}
	var flags []reply.Value
	for _, f := range u.Flags() {
		flags = append(flags, reply.BulkString(f))
	}
	sels := u.Selectors(set.Commands())
	var more []reply.Value
	for _, si := range sels[1:] {
		more = append(more, reply.Map(
			reply.BulkString("commands"), reply.BulkString(si.Commands),
			reply.BulkString("keys"), reply.BulkString(si.Keys),
			reply.BulkString("channels"), reply.BulkString(si.Channels)))
	}
	return reply.Map(
		reply.BulkString("flags"), reply.Set(flags...),
		reply.BulkString("passwords"), reply.BulkStrings(u.Passwords()...),
		reply.BulkString("commands"), reply.BulkString(sels[0].Commands),
		reply.BulkString("keys"), reply.BulkString(sels[0].Keys),
		reply.BulkString("channels"), reply.BulkString(sels[0].Channels),
		reply.BulkString("selectors"), reply.Array(more...),
	)
}

// ACL LIST
func aclList(s *Server, _ *client, _ [][]byte) reply.Value {
	return reply.BulkStrings(s.aclUsers().List()...)
}

// ACL USERS
func aclUsersCmd(s *Server, _ *client, _ [][]byte) reply.Value {
	return reply.BulkStrings(s.aclUsers().Names()...)
}

// ACL CAT [category]
func aclCat(s *Server, _ *client, args [][]byte) reply.Value {
	if len(args) > 3 {
		return aclSubError(args)
	}
	if len(args) == 2 {
		return reply.BulkStrings(acl.Categories...)
	}
	names, ok := s.aclCmds.InCategory(string(args[2]))
	if !ok {
		return reply.Error("ERR Unknown category '" + string(args[2]) + "'")
	}
	return reply.BulkStrings(names...)
}

// ACL WHOAMI
func aclWhoami(_ *Server, c *client, _ [][]byte) reply.Value {
	c.mu.Lock()
	defer c.mu.Unlock()
	return reply.BulkString(c.userName)
}

// ACL GENPASS [bits]
func aclGenpass(_ *Server, _ *client, args [][]byte) reply.Value {
	bits := int64(256)
	if len(args) > 3 {
		return aclSubError(args)
	}
	if len(args) == 3 {
		n, err := command.ParseInt(args[2])
		if err != nil {
			return reply.Error("ERR value is not an integer or out of range")
		}
		if n <= 0 || n > 4096 {
			return reply.Error("ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096")
		}
		bits = n
	}
	chars := int((bits + 3) / 4)
	b := make([]byte, (chars+1)/2)
	rand.Read(b)
	return reply.BulkString(hex.EncodeToString(b)[:chars])
}

// ACL DRYRUN username command [arg ...]
func aclDryrun(s *Server, _ *client, args [][]byte) reply.Value {
	set := s.aclUsers()
	u := set.User(string(args[2]))
	if u == nil {
		return reply.Error("ERR User '" + string(args[2]) + "' not found")
	}
	cmd := args[3:]
	sp := s.table.Lookup(cmd[0])
	if sp != nil && len(sp.Sub) > 0 {
		var found *command.Spec
		if len(cmd) > 1 {
			for _, sub := range sp.Sub {
				if command.EqualFold(cmd[1], sub.Name[len(sp.Name)+1:]) {
					found = sub
				}
			}
		}
		sp = found
	}
	if sp == nil || (isInternal(cmd)) {
		return reply.Error("ERR Command '" + string(cmd[0]) + "' not found")
	}
	if !command.CheckArity(sp, len(cmd)) {
		return reply.Error("ERR wrong number of arguments for '" + sp.Name + "' command")
	}
	r, idx := u.Check(s.aclCmds, sp, cmd, aclKeys(sp, cmd))
	switch r {
	case acl.DeniedCommand:
		return reply.BulkString("This user has no permissions to run the '" + sp.Name + "' command")
	case acl.DeniedKey:
		return reply.BulkString("This user has no permissions to access the '" + string(cmd[idx]) + "' key")
	case acl.DeniedChannel:
		return reply.BulkString("This user has no permissions to access the '" + string(cmd[idx]) + "' channel")
	}
	return reply.OK
}

// ACL LOG [count | RESET]
func aclLogCmd(s *Server, _ *client, args [][]byte) reply.Value {
	n := 10
	if len(args) > 3 {
		return aclSubError(args)
	}
	if len(args) == 3 {
		if command.EqualFold(args[2], "reset") {
			s.aclLog.Reset()
			return reply.OK
		}
		v, err := command.ParseInt(args[2])
		if err != nil {
			return reply.Error("ERR value is not an integer or out of range")
		}
		n = int(min(max(v, 0), 1<<30))
	}
	now := time.Now()
	var out []reply.Value
	for _, e := range s.aclLog.Entries(n) {
		age := float64(now.Sub(e.Created).Milliseconds()) / 1000
		out = append(out, reply.Map(
			reply.BulkString("count"), reply.Int(e.Count),
			reply.BulkString("reason"), reply.BulkString(e.Reason),
			reply.BulkString("context"), reply.BulkString(e.Context),
			reply.BulkString("object"), reply.BulkString(e.Object),
			reply.BulkString("username"), reply.BulkString(e.Username),
			reply.BulkString("age-seconds"), reply.Double(strconv.FormatFloat(age, 'f', -1, 64)),
			reply.BulkString("client-info"), reply.BulkString(e.ClientInfo),
		))
	}
	return reply.Array(out...)
}

const errNoACLFile = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration."

// ACL SAVE writes the users to the aclfile.
func aclSave(s *Server, _ *client, _ [][]byte) reply.Value {
	if s.cfg.ACLFile == "" {
		return reply.Error(errNoACLFile)
	}
	if err := writeACLFile(s.cfg.ACLFile, s.aclUsers().Text()); err != nil {
		s.log.Error("ACL SAVE", "file", s.cfg.ACLFile, "err", err)
		return reply.Error("ERR There was an error trying to save the ACLs. Please check the server logs for more information")
	}
	return reply.OK
}

// ACL LOAD replaces the users with the aclfile's, through the log: every
// node gets them.
func aclLoad(s *Server, c *client, _ [][]byte) reply.Value {
	if s.cfg.ACLFile == "" {
		return reply.Error(errNoACLFile)
	}
	b, err := os.ReadFile(s.cfg.ACLFile)
	if err != nil {
		return reply.Error("ERR Error loading ACLs, opening file '" + s.cfg.ACLFile + "': " + errText(err))
	}
	err = s.changeUsers(c, func(*acl.Set) (*acl.Set, error) { return acl.Parse(s.aclCmds, s.cfg.ACLFile, string(b)) })
	if err != nil {
		return aclError(s, err)
	}
	return reply.OK
}

func aclSubError(args [][]byte) reply.Value {
	return reply.Error("ERR unknown subcommand or wrong number of arguments for '" + string(args[1]) + "'. Try ACL HELP.")
}

func errText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	msg := err.Error()
	if msg != "" {
		msg = strings.ToUpper(msg[:1]) + msg[1:]
	}
	return msg
}

func aclHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply(
		"ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CAT [<category>]",
		"    List all commands that belong to <category>, or all command categories",
		"    when no category is specified.",
		"DELUSER <username> [<username> ...]",
		"    Delete a list of users.",
		"DRYRUN <username> <command> [<arg> ...]",
		"    Returns whether the user can execute the given command without executing the command.",
		"GETUSER <username>",
		"    Get the user's details.",
		"GENPASS [<bits>]",
		"    Generate a secure 256-bit user password. The optional `bits` argument can",
		"    be used to specify a different size.",
		"LIST",
		"    Show users details in config file format.",
		"LOAD",
		"    Reload users from the ACL file.",
		"LOG [<count> | RESET]",
		"    Show the ACL log entries.",
		"SAVE",
		"    Save the current config to the ACL file.",
		"SETUSER <username> <attribute> [<attribute> ...]",
		"    Create or modify a user with the specified attributes.",
		"USERS",
		"    List all the registered usernames.",
		"WHOAMI",
		"    Return the current connection username.",
		"HELP",
		"    Prints this help.",
	)
}
