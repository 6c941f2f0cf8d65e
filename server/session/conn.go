package session

import (
	"cmp"
	"context"
	"crypto/subtle"
	"runtime/debug"
	"slices"
	"strings"
	"time"

	"github.com/cairndb/cairn/server/acl"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/reply"
	"github.com/cairndb/cairn/server/resp"
)

type connHandler func(s *Server, c *client, args [][]byte) reply.Value

func connHandlers() map[string]connHandler {
	m := map[string]connHandler{
		"ping": ping, "echo": echo, "quit": quit, "reset": reset, "select": selectDB,
		"auth": auth, "hello": hello, "time": timeCmd, "info": info,
		"save": save, "bgsave": bgsave, "lastsave": lastsave, "shutdown": shutdown,
		"client|id": clientID, "client|setname": clientSetName, "client|getname": clientGetName,
		"client|list": clientList, "client|info": clientInfo, "client|kill": clientKill,
		"client|setinfo": clientSetInfo, "client|no-evict": clientNoEvict, "client|reply": clientReply,
		"client|help": clientHelp, "client|tracking": clientTracking, "client|caching": clientCaching,
		"client|getredir": clientGetRedir, "client|trackinginfo": clientTrackingInfo,
		"config|get": configGet, "config|set": configSet, "config|resetstat": configResetStat,
		"config|rewrite": configRewrite, "config|help": configHelp,
		"command": commandAll, "command|count": commandCount, "command|info": commandInfo,
		"command|docs": commandDocs, "command|list": commandList, "command|getkeys": commandGetKeys,
		"command|getkeysandflags": commandGetKeysAndFlags, "command|help": commandHelp,
		"readonly": readonlyCmd, "readwrite": readwriteCmd, "asking": askingCmd,
		"slowlog|get": slowlogCmd, "slowlog|len": slowlogCmd, "slowlog|reset": slowlogCmd, "slowlog|help": slowlogCmd,
		"latency|doctor": latencyCmd, "latency|graph": latencyCmd, "latency|history": latencyCmd, "latency|latest": latencyCmd,
		"latency|reset": latencyCmd, "latency|histogram": latencyCmd, "latency|help": latencyCmd,
		"memory|purge": memoryPurge, "memory|help": memoryHelp,
		"monitor": monitorCmd, "wait": waitCmd, "waitaof": waitAOFCmd, "client|unblock": clientUnblock,
		"subscribe": subscribeCmd, "psubscribe": psubscribeCmd, "unsubscribe": unsubscribeCmd,
		"punsubscribe": punsubscribeCmd, "ssubscribe": ssubscribeCmd, "sunsubscribe": sunsubscribeCmd,
		"publish": publishCmd, "spublish": spublishCmd,
		"pubsub|channels": pubsubChannels, "pubsub|shardchannels": pubsubChannels, "pubsub|numsub": pubsubNumSub,
		"pubsub|shardnumsub": pubsubNumSub, "pubsub|numpat": pubsubNumPat, "pubsub|help": pubsubHelp,
		"pubsub|localpublish": pubsubLocal, "pubsub|localspublish": pubsubLocal,
		"sync": syncCmd, "replconf": replconfCmd,
		"region|info": regionCmd, "region|promote": regionCmd,
		"backup|create": backupCmd, "backup|list": backupCmd, "backup|info": backupCmd, "backup|delete": backupCmd, "backup|help": backupHelp,
		"multi": multiCmd, "exec": execCmd, "discard": discardCmd, "watch": watchCmd, "unwatch": unwatchCmd,
	}
	for _, sp := range clusterSubs() {
		m[sp.Name] = clusterCmd
	}
	aclHandlers(m)
	return m
}

func ping(_ *Server, c *client, args [][]byte) reply.Value {
	if c.subs+c.ssubs > 0 && c.proto == 2 {
		msg := []byte{}
		if len(args) == 2 {
			msg = args[1]
		}
		if len(args) > 2 {
			return reply.Error("ERR wrong number of arguments for 'ping' command")
		}
		return reply.Array(reply.BulkString("pong"), reply.Bulk(msg))
	}
	switch len(args) {
	case 1:
		return reply.Status("PONG")
	case 2:
		return reply.Bulk(args[1])
	}
	return reply.Error("ERR wrong number of arguments for 'ping' command")
}

func echo(_ *Server, _ *client, args [][]byte) reply.Value { return reply.Bulk(args[1]) }

func quit(_ *Server, c *client, _ [][]byte) reply.Value {
	c.closing = true
	return reply.OK
}

func reset(s *Server, c *client, _ [][]byte) reply.Value {
	s.discardTx(c)
	s.unsubscribeAll(c)
	s.stopMonitor(c)
	s.disableTracking(c)
	c.setProto(2)
	// A pending CLIENT REPLY SKIP still swallows RESET's own reply, as in
	// Redis (c.skip is at most 1 here: this reply).
	c.replyMode = replyOn
	c.readOnly, c.asking = false, false
	c.authed = !s.authRequired()
	c.setUser(s.aclUsers(), acl.DefaultUser)
	c.node = false
	// Redis 7.0 keeps CLIENT NO-EVICT (and the library name) across
	// RESET; 7.2 clears no-evict.
	c.mu.Lock()
	c.name = ""
	c.mu.Unlock()
	return reply.Status("RESET")
}

func selectDB(_ *Server, _ *client, args [][]byte) reply.Value {
	n, err := command.ParseInt(args[1])
	if err != nil {
		return reply.Error("ERR value is not an integer or out of range")
	}
	if n != 0 {
		return reply.Error("ERR DB index is out of range")
	}
	return reply.OK
}

// nodeSecret is implemented by a cluster backend: the secret nodes
// authenticate to each other with ("" while there is none).
type nodeSecret interface{ NodeSecret() string }

// joinSecret is the optional backend interface giving the credential a
// node that is not yet a member authenticates with to join (derived from
// the Raft secret every node of the cluster is started with).
type joinSecret interface{ JoinSecret() string }

// checkNode tells whether secret is the cluster's node secret or the join
// credential. A joining node is as trusted as a member: the Raft secret
// that gives the credential also lets it into the Raft transport.
func (s *Server) checkNode(secret []byte) bool {
	ok := false
	if ns, has := s.backend.(nodeSecret); has {
		want := ns.NodeSecret()
		ok = want != "" && subtle.ConstantTimeCompare(secret, []byte(want)) == 1
	}
	if js, has := s.backend.(joinSecret); has {
		want := js.JoinSecret()
		ok = (want != "" && subtle.ConstantTimeCompare(secret, []byte(want)) == 1) || ok
	}
	return ok
}

// nodeOnly lists the documented commands only a node may send: a
// connection authenticated as a node, or one whose TLS client certificate
// chained to the cluster's CA under tls-cluster (how a node joining such a
// cluster authenticates). Anyone else is told errNodeOnly.
var nodeOnly = map[string]bool{"addnode": true}

const errNodeOnly = "NOPERM this command is accepted only from a cluster node " +
	"(a connection authenticated as a node, or with the cluster's TLS certificate): " +
	"a new node joins with --join and the cluster's --raft-secret"

// isNodeOnly tells whether args is one of the nodeOnly commands; like
// isInternal it allocates nothing.
func isNodeOnly(args [][]byte) bool {
	if len(args) < 2 || len(args[1]) != len("addnode") || !command.EqualFold(args[0], "cluster") {
		return false
	}
	return command.EqualFold(args[1], "addnode")
}

// internal lists the commands only cluster nodes may send (to each
// other, on a connection authenticated as resp.NodeUser); on any other
// connection they do not exist.
var internal = map[string]map[string]bool{
	"cluster": {"slotop": true, "members": true, "ftshard": true, "backupshard": true, "replstate": true},
	"pubsub":  {"localpublish": true, "localspublish": true},
}

// isInternal tells whether args is one of the internal commands.
// It runs for every command, so it allocates nothing: the common case
// (neither CLUSTER nor PUBSUB) is decided by two comparisons.
func isInternal(args [][]byte) bool {
	if len(args) < 2 || len(args[1]) > 16 {
		return false
	}
	var subs map[string]bool
	switch {
	case command.EqualFold(args[0], "cluster"):
		subs = internal["cluster"]
	case command.EqualFold(args[0], "pubsub"):
		subs = internal["pubsub"]
	default:
		return false
	}
	var buf [16]byte
	sub := buf[:len(args[1])]
	for i, ch := range args[1] {
		if 'A' <= ch && ch <= 'Z' {
			ch += 'a' - 'A'
		}
		sub[i] = ch
	}
	return subs[string(sub)]
}

func auth(s *Server, c *client, args [][]byte) reply.Value {
	if len(args) > 3 {
		return reply.Error("ERR syntax error")
	}
	if len(args) == 2 && s.aclUsers().User(acl.DefaultUser).NoPass() {
		return reply.Error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?")
	}
	user := []byte(acl.DefaultUser)
	pass := args[len(args)-1]
	if len(args) == 3 {
		user = args[1]
	}
	if len(args) == 3 && string(user) == resp.NodeUser {
		if !s.checkNode(pass) || !s.nodeCertOK(c) {
			return reply.Error("WRONGPASS invalid username-password pair or user is disabled.")
		}
		c.authed, c.node = true, true
		return reply.OK
	}
	if !s.authenticate(c, args[0], string(user), pass) {
		return reply.Error("WRONGPASS invalid username-password pair or user is disabled.")
	}
	return reply.OK
}

func hello(s *Server, c *client, args [][]byte) reply.Value {
	proto := c.proto
	if len(args) >= 2 {
		n, err := command.ParseInt(args[1])
		if err != nil {
			return reply.Error("ERR Protocol version is not an integer or out of range")
		}
		if n < 2 || n > 3 {
			return reply.Error("NOPROTO unsupported protocol version")
		}
		proto = int(n)
	}
	var name []byte
	setName := false
	for i := 2; i < len(args); i++ {
		more := len(args) - i - 1
		switch {
		case command.EqualFold(args[i], "auth") && more >= 2:
			if !s.authenticate(c, args[0], string(args[i+1]), args[i+2]) {
				return reply.Error("WRONGPASS invalid username-password pair or user is disabled.")
			}
			i += 2
		case command.EqualFold(args[i], "setname") && more >= 1:
			name, setName = args[i+1], true
			i++
		default:
			return reply.Error("ERR Syntax error in HELLO option '" + string(args[i]) + "'")
		}
	}
	if !c.authed && s.authRequired() {
		return reply.Error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time")
	}
	if setName {
		if !validName(name) {
			return reply.Error("ERR Client names cannot contain spaces, newlines or special characters.")
		}
		c.mu.Lock()
		c.name = string(name)
		c.mu.Unlock()
	}
	c.setProto(proto)
	return reply.Map(
		reply.BulkString("server"), reply.BulkString("redis"),
		reply.BulkString("version"), reply.BulkString(s.cfg.Version),
		reply.BulkString("proto"), reply.Int(int64(proto)),
		reply.BulkString("id"), reply.Int(c.id),
		reply.BulkString("mode"), reply.BulkString("standalone"),
		reply.BulkString("role"), reply.BulkString("master"),
		reply.BulkString("modules"), reply.Array(),
	)
}

func validName(name []byte) bool {
	for _, ch := range name {
		if ch < '!' || ch > '~' {
			return false
		}
	}
	return true
}

func timeCmd(_ *Server, _ *client, _ [][]byte) reply.Value {
	now := time.Now()
	return reply.Array(reply.BulkInt(now.Unix()), reply.BulkInt(int64(now.Nanosecond()/1000)))
}

func save(s *Server, _ *client, _ [][]byte) reply.Value {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	if err := s.backend.Save(ctx); err != nil {
		return reply.Error("ERR " + err.Error())
	}
	return reply.OK
}

func bgsave(s *Server, _ *client, args [][]byte) reply.Value {
	if len(args) > 2 || (len(args) == 2 && !command.EqualFold(args[1], "schedule")) {
		return reply.Error("ERR syntax error")
	}
	if s.backend.Status().SnapshotInProgress {
		if len(args) == 2 {
			s.scheduleBgsave()
			return reply.Status("Background saving scheduled")
		}
		return reply.Error("ERR Background save already in progress")
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
		defer cancel()
		if err := s.backend.Save(ctx); err != nil {
			s.log.Error("background snapshot failed", "err", err)
		}
	}()
	return reply.Status("Background saving started")
}

func lastsave(s *Server, _ *client, _ [][]byte) reply.Value {
	return reply.Int(s.backend.Status().LastSaveUnix)
}

func shutdown(s *Server, c *client, args [][]byte) reply.Value {
	saveFirst := true
	for _, a := range args[1:] {
		switch {
		case command.EqualFold(a, "nosave"):
			saveFirst = false
		case command.EqualFold(a, "save"), command.EqualFold(a, "now"), command.EqualFold(a, "force"):
		case command.EqualFold(a, "abort"):
			return reply.Error("ERR No shutdown in progress.")
		default:
			return reply.Error("ERR syntax error")
		}
	}
	if s.cfg.Shutdown == nil {
		return reply.Error("ERR shutdown is not available")
	}
	if err := s.cfg.Shutdown(saveFirst); err != nil {
		return reply.Error("ERR Errors trying to SHUTDOWN. Check logs.")
	}
	c.closing = true
	c.replyMode = replyOff // Redis closes without replying on success
	return reply.OK
}

func clientID(_ *Server, c *client, _ [][]byte) reply.Value { return reply.Int(c.id) }

func clientSetName(_ *Server, c *client, args [][]byte) reply.Value {
	if !validName(args[2]) {
		return reply.Error("ERR Client names cannot contain spaces, newlines or special characters.")
	}
	c.mu.Lock()
	c.name = string(args[2])
	c.mu.Unlock()
	return reply.OK
}

func clientGetName(_ *Server, c *client, _ [][]byte) reply.Value {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.name == "" {
		return reply.Nil
	}
	return reply.BulkString(c.name)
}

func (s *Server) clientsByID() []*client {
	s.mu.Lock()
	out := make([]*client, 0, len(s.clients))
	for _, c := range s.clients {
		out = append(out, c)
	}
	s.mu.Unlock()
	slices.SortFunc(out, func(a, b *client) int { return cmp.Compare(a.id, b.id) })
	return out
}

func clientList(s *Server, _ *client, args [][]byte) reply.Value {
	var ids map[int64]bool
	typ := ""
	for i := 2; i < len(args); i++ {
		switch {
		case command.EqualFold(args[i], "type") && i+1 < len(args):
			t := strings.ToLower(string(args[i+1]))
			switch t {
			case "normal", "master", "replica", "slave", "pubsub":
				typ = t
			default:
				return reply.Error("ERR Unknown client type '" + string(args[i+1]) + "'")
			}
			i++
		case command.EqualFold(args[i], "id") && i+1 < len(args):
			ids = map[int64]bool{}
			for i++; i < len(args); i++ {
				n, err := command.ParseInt(args[i])
				if err != nil || n <= 0 {
					return reply.Error("ERR Invalid client ID")
				}
				ids[n] = true
			}
		default:
			return reply.Error("ERR syntax error")
		}
	}
	var b strings.Builder
	now := time.Now()
	for _, c := range s.clientsByID() {
		if ids != nil && !ids[c.id] {
			continue
		}
		if typ != "" && typ != "normal" {
			continue
		}
		b.WriteString(c.info(now))
		b.WriteByte('\n')
	}
	return reply.Value{Kind: reply.KindVerbatim, Str: []byte(b.String())}
}

func clientInfo(_ *Server, c *client, _ [][]byte) reply.Value {
	return reply.Value{Kind: reply.KindVerbatim, Str: []byte(c.info(time.Now()) + "\n")}
}

func clientKill(s *Server, self *client, args [][]byte) reply.Value {
	// Old form: CLIENT KILL addr:port.
	if len(args) == 3 {
		for _, c := range s.clientsByID() {
			if c.addr == string(args[2]) {
				c.kill()
				return reply.OK
			}
		}
		return reply.Error("ERR No such client")
	}
	if len(args)%2 != 0 {
		return reply.Error("ERR syntax error")
	}
	var (
		id          int64
		addr, laddr string
		user, typ   string
		skipMe      = true
		maxAge      int64
		haveID      bool
	)
	for i := 2; i < len(args); i += 2 {
		opt, val := args[i], args[i+1]
		switch {
		case command.EqualFold(opt, "id"):
			n, err := command.ParseInt(val)
			if err != nil || n <= 0 {
				return reply.Error("ERR client-id should be greater than 0")
			}
			id, haveID = n, true
		case command.EqualFold(opt, "addr"):
			addr = string(val)
		case command.EqualFold(opt, "laddr"):
			laddr = string(val)
		case command.EqualFold(opt, "user"):
			user = string(val)
		case command.EqualFold(opt, "type"):
			t := strings.ToLower(string(val))
			switch t {
			case "normal", "master", "replica", "slave", "pubsub":
				typ = t
			default:
				return reply.Error("ERR Unknown client type '" + string(val) + "'")
			}
		case command.EqualFold(opt, "skipme"):
			switch {
			case command.EqualFold(val, "yes"):
				skipMe = true
			case command.EqualFold(val, "no"):
				skipMe = false
			default:
				return reply.Error("ERR syntax error")
			}
		case command.EqualFold(opt, "maxage"):
			n, err := command.ParseInt(val)
			if err != nil {
				return reply.Error("ERR syntax error")
			}
			maxAge = n
		default:
			return reply.Error("ERR syntax error")
		}
	}
	killed := int64(0)
	now := time.Now()
	for _, c := range s.clientsByID() {
		switch {
		case haveID && c.id != id,
			addr != "" && c.addr != addr,
			laddr != "" && c.laddr != laddr,
			user != "" && user != "default",
			typ != "" && typ != "normal",
			maxAge > 0 && int64(now.Sub(c.created)/time.Second) < maxAge,
			skipMe && c == self:
			continue
		}
		if c == self {
			self.closing = true
		} else {
			c.kill()
		}
		killed++
	}
	return reply.Int(killed)
}

func (c *client) kill() {
	c.mu.Lock()
	c.killed = true
	c.mu.Unlock()
	c.close()
}

// close closes the connection from any goroutine: its command loop reads
// no further command.
func (c *client) close() {
	c.gone.Store(true)
	c.nc.Close()
}

func clientSetInfo(_ *Server, c *client, args [][]byte) reply.Value {
	val := string(args[3])
	for _, ch := range args[3] {
		if ch < '!' || ch > '~' {
			return reply.Error("ERR " + string(args[2]) + " cannot contain spaces, newlines or special characters.")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case command.EqualFold(args[2], "lib-name"):
		c.libName = val
	case command.EqualFold(args[2], "lib-ver"):
		c.libVer = val
	default:
		return reply.Error("ERR Unrecognized option '" + string(args[2]) + "'")
	}
	return reply.OK
}

func clientNoEvict(_ *Server, c *client, args [][]byte) reply.Value {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case command.EqualFold(args[2], "on"):
		c.noEvict = true
	case command.EqualFold(args[2], "off"):
		c.noEvict = false
	default:
		return reply.Error("ERR syntax error")
	}
	return reply.OK
}

func clientReply(_ *Server, c *client, args [][]byte) reply.Value {
	switch {
	case command.EqualFold(args[2], "on"):
		c.replyMode, c.skip = replyOn, 0
		return reply.OK
	case command.EqualFold(args[2], "off"):
		c.replyMode, c.skip = replyOff, 0
		return reply.Value{} // swallowed by reply mode
	case command.EqualFold(args[2], "skip"):
		if c.replyMode == replyOn {
			c.skip = 2 // this command's reply and the next one's
		}
		return reply.Value{}
	}
	return reply.Error("ERR syntax error")
}

func helpReply(lines ...string) reply.Value {
	elems := make([]reply.Value, len(lines))
	for i, l := range lines {
		elems[i] = reply.Status(l)
	}
	return reply.Array(elems...)
}

func clientHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply(
		"CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"ID", "    Return the ID of the current connection.",
		"INFO", "    Return information about the current client connection.",
		"GETNAME", "    Return the name of the current connection.",
		"KILL <ip:port>", "    Kill connection made from <ip:port>.",
		"KILL <option> <value> [<option> <value> [...]]", "    Kill connections. Options are: ID, ADDR, LADDR, USER, TYPE, SKIPME, MAXAGE.",
		"LIST [options ...]", "    Return information about client connections. Options: TYPE, ID.",
		"NO-EVICT (ON|OFF)", "    Protect current client connection from eviction.",
		"REPLY (ON|OFF|SKIP)", "    Control the replies sent to the current connection.",
		"SETNAME <name>", "    Assign the name <name> to the current connection.",
		"SETINFO <option> <value>", "    Set client meta attr. Options are: LIB-NAME, LIB-VER.",
		"HELP", "    Print this help.",
	)
}

func configGet(s *Server, _ *client, args [][]byte) reply.Value { return s.params.get(s, args[2:]) }

func configSet(s *Server, _ *client, args [][]byte) reply.Value { return s.params.set(s, args[2:]) }

func configResetStat(s *Server, _ *client, _ [][]byte) reply.Value {
	s.stats.commands.Store(0)
	s.stats.connections.Store(0)
	s.stats.rejectedConns.Store(0)
	s.stats.errors.Store(0)
	s.stats.netIn.Store(0)
	s.stats.netOut.Store(0)
	for _, st := range s.cmdStats {
		st.calls.Store(0)
		st.usec.Store(0)
		st.nsec.Store(0)
		st.rejected.Store(0)
		st.failed.Store(0)
		for i := range st.hist {
			st.hist[i].Store(0)
		}
	}
	return reply.OK
}

func configRewrite(s *Server, _ *client, _ [][]byte) reply.Value {
	if err := s.params.rewrite(s.cfg.ConfigFile); err != nil {
		return reply.Error("ERR " + err.Error())
	}
	return reply.OK
}

func configHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply(
		"CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"GET <pattern>", "    Return parameters matching the glob-like <pattern> and their values.",
		"SET <directive> <value>", "    Set the configuration <directive> to <value>.",
		"RESETSTAT", "    Reset statistics reported by the INFO command.",
		"REWRITE", "    Rewrite the configuration file.",
		"HELP", "    Print this help.",
	)
}

const errNoCluster = "ERR This instance has cluster support disabled"

func readonlyCmd(s *Server, c *client, _ [][]byte) reply.Value {
	if !s.backend.ClusterEnabled() {
		return reply.Error(errNoCluster)
	}
	c.readOnly = true
	return reply.OK
}

func readwriteCmd(s *Server, c *client, _ [][]byte) reply.Value {
	if !s.backend.ClusterEnabled() {
		return reply.Error(errNoCluster)
	}
	c.readOnly = false
	return reply.OK
}

func askingCmd(s *Server, c *client, _ [][]byte) reply.Value {
	if !s.backend.ClusterEnabled() {
		return reply.Error(errNoCluster)
	}
	c.asking = true
	return reply.OK
}

func clusterCmd(s *Server, c *client, args [][]byte) reply.Value {
	if !s.backend.ClusterEnabled() {
		return reply.Error(errNoCluster)
	}
	return c.be.Cluster(args)
}

// RegionBackend is implemented by a Backend that can take part in a
// multi-region deployment (package regions).
type RegionBackend interface {
	// RegionInfo is INFO's regions section, in order; nil when the node
	// is not in a multi-region deployment (the section is left out).
	RegionInfo() [][2]string
	// Region serves the REGION command (args include "REGION").
	Region(args [][]byte) reply.Value
}

// regionCmd serves REGION INFO and REGION PROMOTE [FORCE].
func regionCmd(s *Server, c *client, args [][]byte) reply.Value {
	rb, ok := s.backend.(RegionBackend)
	if !ok {
		return reply.Error("ERR this node is not part of a multi-region deployment")
	}
	return rb.Region(args)
}

// BackupBackend is implemented by a Backend that keeps backups (package
// backup).
type BackupBackend interface {
	// Backup serves BACKUP CREATE|LIST|INFO|DELETE (args include
	// "BACKUP").
	Backup(args [][]byte) reply.Value
	// BackupInfo is INFO's backups section, in order; nil when backups
	// are not configured (the section is left out).
	BackupInfo() [][2]string
}

// backupCmd serves BACKUP CREATE [name], LIST, INFO name and DELETE name.
func backupCmd(s *Server, _ *client, args [][]byte) reply.Value {
	bb, ok := s.backend.(BackupBackend)
	if !ok {
		return reply.Error("ERR backups are not available on this node")
	}
	if command.EqualFold(args[1], "create") && len(args) > 3 {
		return reply.Error("ERR wrong number of arguments for 'backup|create' command")
	}
	return bb.Backup(args)
}

func backupHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply("BACKUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"CREATE [<name>]",
		"    Take a backup now into the backup directory (a name is generated when none is given).",
		"LIST",
		"    List the complete backups, oldest first.",
		"INFO <name>",
		"    Verify a backup's checksums and show its manifest.",
		"DELETE <name>",
		"    Delete a backup.",
		"HELP",
		"    Prints this help.")
}

// memoryPurge runs the garbage collector and returns free memory to the
// operating system (Redis asks the allocator to purge dirty pages).
func memoryPurge(_ *Server, _ *client, _ [][]byte) reply.Value {
	debug.FreeOSMemory()
	return reply.OK
}

func memoryHelp(_ *Server, _ *client, _ [][]byte) reply.Value {
	return helpReply("MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
		"PURGE",
		"    Attempt to purge dirty pages for reclamation by the allocator.",
		"HELP",
		"    Prints this help.")
}
