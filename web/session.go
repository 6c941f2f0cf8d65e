package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"sync"
	"time"
)

// session is one signed-in user: the Conn that runs their commands, the
// CSRF token their pages send back, and the permission answers cached
// for the page buttons. Sessions live only in the node's memory.
type session struct {
	id    string
	user  string
	pass  string // kept to reach the other nodes of the cluster as the same user
	conn  Conn
	peers map[string]Conn // connections to the other nodes, as the same user
	// dialing are the peer connections being opened (peer).
	dialing map[string]*peerDial
	csrf    string
	created time.Time

	mu      sync.Mutex
	seen    time.Time
	perms   map[string]permAnswer
	closing bool
	// noDryRun is set once the node refused the user ACL DRYRUN itself:
	// later questions go straight to the service connection, so the
	// node's ACL LOG gets one such refusal per session, not one per page.
	noDryRun bool
}

type permAnswer struct {
	ok  bool
	why string
	at  time.Time
}

// sessions is the server-side session table.
type sessions struct {
	mu    sync.Mutex
	m     map[string]*session
	idle  time.Duration // a session unused this long expires
	max   time.Duration // and any session expires this long after sign-in
	now   func() time.Time
	limit int // sessions kept at most; the oldest is closed beyond
}

func newToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on Linux
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

func (t *sessions) add(user, pass string, c Conn) *session {
	now := t.now()
	s := &session{id: newToken(), user: user, pass: pass, conn: c, csrf: newToken(), created: now, seen: now,
		perms: map[string]permAnswer{}}
	t.mu.Lock()
	if len(t.m) >= t.limit {
		var oldest *session
		for _, o := range t.m {
			if oldest == nil || o.created.Before(oldest.created) {
				oldest = o
			}
		}
		delete(t.m, oldest.id)
		go oldest.close()
	}
	t.m[s.id] = s
	t.mu.Unlock()
	return s
}

// get returns the live session with id and marks it used, or nil when
// there is none or it expired (an expired session is closed).
func (t *sessions) get(id string) *session {
	if id == "" {
		return nil
	}
	now := t.now()
	t.mu.Lock()
	s := t.m[id]
	if s != nil && t.expired(s, now) {
		delete(t.m, id)
		go s.close()
		s = nil
	}
	t.mu.Unlock()
	if s != nil {
		s.mu.Lock()
		s.seen = now
		s.mu.Unlock()
	}
	return s
}

func (t *sessions) expired(s *session, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return now.Sub(s.seen) > t.idle || now.Sub(s.created) > t.max
}

func (t *sessions) remove(id string) {
	t.mu.Lock()
	s := t.m[id]
	delete(t.m, id)
	t.mu.Unlock()
	if s != nil {
		s.close()
	}
}

// close closes the session's connections.
func (s *session) close() {
	s.conn.Close()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for _, c := range s.peers {
		c.Close()
	}
	s.peers = nil
}

// sweep closes the expired sessions.
func (t *sessions) sweep() {
	now := t.now()
	t.mu.Lock()
	var dead []*session
	for id, s := range t.m {
		if t.expired(s, now) {
			delete(t.m, id)
			dead = append(dead, s)
		}
	}
	t.mu.Unlock()
	for _, s := range dead {
		s.close()
	}
}

func (t *sessions) closeAll() {
	t.mu.Lock()
	m := t.m
	t.m = map[string]*session{}
	t.mu.Unlock()
	for _, s := range m {
		s.close()
	}
}

// sameToken compares two tokens in constant time; empty never matches.
func sameToken(a, b string) bool {
	return a != "" && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
