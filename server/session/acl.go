package session

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cairndb/cairn/server/acl"
	"github.com/cairndb/cairn/server/command"
	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/reply"
)

// ACL users on a node. The users are replicated state: they travel as
// the replicated parameter keyspace.ParamACL (acl.Set.Text, aclfile
// format) through the log (single node) or the cluster directory, so
// every node parses the same text. users holds the parsed Set this node
// serves; it follows the backend's configuration (refreshACL: after each
// local change, and every aclPoll). A connection keeps the user it
// authenticated as and looks it up again when the Set changes; when the
// user is gone its connection is closed, as Redis does.

// aclPoll is how often a node picks up users changed elsewhere.
const aclPoll = 100 * time.Millisecond

// aclState is one parsed version of the users.
type aclState struct {
	set  *acl.Set
	text string // the replicated text it was parsed from ("" before any)
}

// initACL sets the users a node serves before the replicated ones are
// known (default user with requirepass, or the aclfile), then adopts the
// replicated ones.
func (s *Server) initACL() {
	s.aclCmds = acl.NewCommands(s.table)
	if v, ok := s.cfg.Params["requirepass"]; ok {
		s.cfg.RequirePass = v // from the config file
	}
	s.aclLog = acl.NewLog(acl.DefaultLogLen)
	start, err := s.startUsers()
	if err != nil {
		s.log.Error("ACL file not loaded", "file", s.cfg.ACLFile, "err", err)
		start = acl.NewSet(s.aclCmds).WithDefaultPassword(s.cfg.RequirePass)
	}
	s.users.Store(&aclState{set: start})
	s.startSet = start
}

// startUsers are the users given at start: the aclfile's if there is
// one, else the default user with requirepass.
func (s *Server) startUsers() (*acl.Set, error) {
	set := acl.NewSet(s.aclCmds).WithDefaultPassword(s.cfg.RequirePass)
	if s.cfg.ACLFile == "" {
		return set, nil
	}
	b, err := os.ReadFile(s.cfg.ACLFile)
	if errors.Is(err, os.ErrNotExist) {
		return set, nil
	}
	if err != nil {
		return nil, err
	}
	return acl.Parse(s.aclCmds, s.cfg.ACLFile, string(b))
}

// seedACL, run once in the background at start, commits the start users
// (requirepass, aclfile) as the replicated users if there are none yet.
// The condition is checked at apply time (keyspace.ParamACLSeed), so a
// replica still replaying its log cannot overwrite newer users. Once the
// users are replicated, they win over --requirepass and the aclfile at
// the next start: change them with ACL SETUSER, ACL LOAD or CONFIG SET
// requirepass. It retries until the log accepts.
func (s *Server) seedACL() {
	if s.startSet.Text() == acl.NewSet(s.aclCmds).Text() {
		return // nothing to seed: Redis's initial users
	}
	for attempt := 0; ; attempt++ {
		select {
		case <-s.stop:
			return
		case <-time.After(min(time.Duration(attempt)*200*time.Millisecond, 2*time.Second)):
		}
		err := s.backend.SetConfig([][2]string{{keyspace.ParamACLSeed, s.startSet.Text()}})
		if err != nil && strings.HasPrefix(err.Error(), "READONLY") {
			// A region secondary: its users come from the primary's log.
			return
		}
		if err != nil {
			if attempt%10 == 9 {
				s.log.Warn("ACL users not committed yet", "err", err)
			}
			continue
		}
		s.refreshACL(nil)
		return
	}
}

// pollACL refreshes the users until the server closes.
func (s *Server) pollACL() {
	t := time.NewTicker(aclPoll)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A change in progress refreshes itself (and must answer
			// before its own connection may be closed).
			if s.aclChange.TryLock() {
				s.refreshACL(nil)
				s.aclChange.Unlock()
			}
		}
	}
}

// refreshACL adopts the replicated users if they changed and closes the
// connections of users that no longer exist (self, the connection running
// the change, is closed after its reply).
func (s *Server) refreshACL(self *client) {
	s.aclMu.Lock()
	defer s.aclMu.Unlock()
	text := s.backend.Config().ACLUsers
	cur := s.users.Load()
	if text == cur.text {
		return
	}
	if text == "" {
		// Not committed yet: keep the start users.
		return
	}
	set, err := acl.Parse(s.aclCmds, "replicated", text)
	if err != nil {
		s.log.Error("replicated ACL users unreadable; keeping the previous ones", "err", err)
		return
	}
	s.users.Store(&aclState{set: set, text: text})
	s.mu.Lock()
	var gone []*client
	for _, c := range s.clients {
		c.mu.Lock()
		name := c.userName
		c.mu.Unlock()
		if c.node {
			continue
		}
		if u := set.User(name); u == nil || !s.subscriptionsAllowed(c, u) {
			gone = append(gone, c)
		}
	}
	s.mu.Unlock()
	for _, c := range gone {
		if c == self {
			c.closing = true
		} else {
			c.close()
		}
	}
}

// subscriptionsAllowed tells whether u may still receive what c
// subscribed to; Redis disconnects a subscriber whose channel
// permissions were revoked.
func (s *Server) subscriptionsAllowed(c *client, u *acl.User) bool {
	if c.subCount.Load()+c.psubCount.Load()+c.ssubCount.Load() == 0 {
		return true
	}
	chans, pats, shard := s.hub.Subscriptions(c)
	for _, ch := range append(chans, shard...) {
		if !u.ChannelAllowed([]byte(ch), false) {
			return false
		}
	}
	for _, p := range pats {
		if !u.ChannelAllowed([]byte(p), true) {
			return false
		}
	}
	return true
}

// aclUsers returns the users this node serves.
func (s *Server) aclUsers() *acl.Set { return s.users.Load().set }

// authRequired tells whether new connections must authenticate.
func (s *Server) authRequired() bool { return s.users.Load().set.AuthRequired() }

// changeUsers applies a change to the current users and commits the
// result through the log; it returns once this node serves it. The
// commit is conditional on the users it was computed from
// (keyspace.ParamACLExpect): when another node changed them meanwhile,
// the change is computed again from the new users.
func (s *Server) changeUsers(c *client, change func(*acl.Set) (*acl.Set, error)) error {
	s.aclChange.Lock()
	defer s.aclChange.Unlock()
	var err error
	for attempt := range 20 {
		if attempt > 0 {
			time.Sleep(time.Duration(attempt) * 20 * time.Millisecond)
		}
		s.refreshACL(nil)
		st := s.users.Load()
		n, cerr := change(st.set)
		if cerr != nil {
			return cerr
		}
		err = s.backend.SetConfig(aclPairs(st.text, n))
		if err == nil || !strings.Contains(err.Error(), keyspace.ErrACLChanged.Error()) {
			break
		}
	}
	if err != nil {
		return err
	}
	s.refreshACL(c)
	return nil
}

// aclPairs are the replicated parameters that replace the users read as
// text with n.
func aclPairs(text string, n *acl.Set) [][2]string {
	return [][2]string{{keyspace.ParamACLExpect, keyspace.ACLUsersDigest(text)}, {keyspace.ParamACL, n.Text()}}
}

// bindUser points the connection at its user in the current Set.
func (c *client) bindUser(set *acl.Set) {
	c.aclSet = set
	c.user = set.User(c.userName)
}

// setUser makes the connection authenticated as name.
func (c *client) setUser(set *acl.Set, name string) {
	c.mu.Lock()
	c.userName = name
	c.mu.Unlock()
	c.bindUser(set)
}

// checkACL runs the permission check of one command before anything is
// proposed; it answers and logs a denial and returns false.
func (s *Server) checkACL(c *client, spec *command.Spec, args [][]byte) bool {
	set := s.aclUsers()
	if set != c.aclSet {
		c.bindUser(set)
	}
	u := c.user
	if u == nil {
		// The user was deleted: its connection is being closed.
		c.closing = true
		c.reply(reply.Error("NOPERM this user has no permissions to run the '" + spec.Name + "' command"))
		return false
	}
	if u.Open() {
		return true
	}
	c.aclK.spec, c.aclK.args = spec, args
	r, idx := u.Check(s.aclCmds, spec, args, c.aclKeysFn)
	c.aclK.args = nil
	if r == acl.Allowed {
		return true
	}
	s.flushBatch(c)
	s.stats.errors.Add(1)
	if st := s.cmdStats[spec]; st != nil {
		st.rejected.Add(1)
	}
	ctx := "toplevel"
	if c.tx.in {
		c.tx.abort = true
		ctx = "multi"
	}
	object := spec.Name
	var msg string
	switch r {
	case acl.DeniedKey:
		object = string(args[idx])
		msg = "NOPERM this user has no permissions to access one of the keys used as arguments"
	case acl.DeniedChannel:
		object = string(args[idx])
		msg = "NOPERM this user has no permissions to access one of the channels used as arguments"
	default:
		msg = "NOPERM this user has no permissions to run the '" + spec.Name + "' command"
	}
	s.aclLog.Add(acl.LogEntry{Reason: r.Reason(), Context: ctx, Object: object, Username: u.Name,
		Created: time.Now(), ClientInfo: c.info(time.Now())})
	denied := reply.Error(msg)
	s.audit(c, spec, args, denied) // a refused administrative command is audited too
	c.reply(denied)
	return false
}

// recheckACL checks a transaction's queued commands again at EXEC and
// returns, per command, why it is now denied in Redis's words ("" if it
// is allowed); each denial is logged, context multi.
func (s *Server) recheckACL(c *client) []string {
	denied := make([]string, len(c.tx.specs))
	if c.node {
		return denied
	}
	set := s.aclUsers()
	if set != c.aclSet {
		c.bindUser(set)
	}
	u := c.user
	if u != nil && u.Open() {
		return denied
	}
	for i, sp := range c.tx.specs {
		args := c.tx.cmds[i]
		r, idx := acl.DeniedCommand, 0
		if u != nil {
			r, idx = u.Check(s.aclCmds, sp, args, aclKeys(sp, args))
		}
		if r == acl.Allowed {
			continue
		}
		switch r {
		case acl.DeniedKey:
			denied[i] = "no permission to touch the specified keys"
		case acl.DeniedChannel:
			denied[i] = "no permission to access one of the channels used as arguments"
		default:
			denied[i] = "no permission to execute the command or subcommand"
		}
		object, name := sp.Name, acl.DefaultUser
		if r == acl.DeniedKey || r == acl.DeniedChannel {
			object = string(args[idx])
		}
		if u != nil {
			name = u.Name
		}
		s.aclLog.Add(acl.LogEntry{Reason: r.Reason(), Context: "multi", Object: object, Username: name,
			Created: time.Now(), ClientInfo: c.info(time.Now())})
	}
	return denied
}

// aclKeys returns the key positions of a command and the access each
// needs (from the key specs COMMAND GETKEYSANDFLAGS reports).
// aclKeyScratch computes a command's keys and their permissions for the
// ACL check on a connection's hot path without allocating: the buffers
// are the connection's, the permissions of a command's key positions are
// computed once per command (aclStaticPerms), and the KeysFunc given to
// acl.Check is bound once per connection (client.aclKeysFn).
type aclKeyScratch struct {
	spec *command.Spec
	args [][]byte
	pos  []int
	perm []acl.Perm
}

func (k *aclKeyScratch) keys() ([]int, []acl.Perm) {
	sp, args := k.spec, k.args
	if sp.KeysFunc != nil || keyFlagsFunc[sp.Name] != nil {
		return aclKeys(sp, args)()
	}
	k.pos = sp.AppendKeys(k.pos[:0], args)
	static := aclStaticPerms(sp)
	k.perm = k.perm[:0]
	for i := range k.pos {
		k.perm = append(k.perm, static[min(i, len(static)-1)])
	}
	return k.pos, k.perm
}

// aclPermCache holds, per command, the permission each key position
// needs (keyFlagsOf's answer, which for these commands does not depend
// on the arguments).
var aclPermCache sync.Map // *command.Spec -> []acl.Perm

func aclStaticPerms(sp *command.Spec) []acl.Perm {
	if v, ok := aclPermCache.Load(sp); ok {
		return v.([]acl.Perm)
	}
	n := max(len(keyFlags[sp.Name]), 1)
	perms := make([]acl.Perm, n)
	for i := range perms {
		perms[i] = acl.PermOf(keyFlagsOf(sp, nil, i))
	}
	aclPermCache.Store(sp, perms)
	return perms
}

func aclKeys(spec *command.Spec, args [][]byte) acl.KeysFunc {
	return func() ([]int, []acl.Perm) {
		pos := spec.Keys(args)
		perm := make([]acl.Perm, len(pos))
		for i := range pos {
			perm[i] = acl.PermOf(keyFlagsOf(spec, args, i))
		}
		return pos, perm
	}
}

// logAuthFailure records a failed AUTH or HELLO AUTH in the ACL LOG.
func (s *Server) logAuthFailure(c *client, cmd []byte, user string) {
	ctx := "toplevel"
	if c.tx.in {
		ctx = "multi"
	}
	s.aclLog.Add(acl.LogEntry{Reason: "auth", Context: ctx, Object: string(cmd), Username: user,
		Created: time.Now(), ClientInfo: c.info(time.Now())})
}

// authenticate checks a user's password and, when it matches, makes the
// connection that user.
func (s *Server) authenticate(c *client, cmd []byte, user string, pass []byte) bool {
	set := s.aclUsers()
	u := set.User(user)
	if u == nil || !u.CheckPassword(pass) {
		s.logAuthFailure(c, cmd, user)
		return false
	}
	c.authed = true
	c.setUser(set, user)
	return true
}

// writeACLFile writes the users to path atomically (ACL SAVE).
func writeACLFile(path, text string) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".acl-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(text); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
