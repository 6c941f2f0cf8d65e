package web

import (
	"context"
	"crypto/tls"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Conn runs commands on the node as one signed-in user. Do returns the
// reply decoded as go-redis does (string, int64, []any, map[any]any, nil)
// or the node's error reply as an error whose text is the Redis error.
type Conn interface {
	Do(ctx context.Context, args ...any) (any, error)
	Close() error
}

// Dialer opens a Conn authenticated as user with pass (AUTH user pass).
// It fails with the node's error reply when the credentials are refused.
type Dialer interface {
	Dial(ctx context.Context, user, pass string) (Conn, error)
}

// PeerDialer is a Dialer that can also reach the other nodes of the
// cluster (by the client address CLUSTER SHARDS gives), to show their
// version and uptime. The overview shows them unreachable without it.
type PeerDialer interface {
	Dialer
	DialAddr(ctx context.Context, addr, user, pass string) (Conn, error)
}

// AddrConn is a Conn that can also send a command to another endpoint of
// the cluster as the same user (FUNCTION LOAD goes to every shard
// leader, as redis-cli --cluster call does).
type AddrConn interface {
	Conn
	DoAt(ctx context.Context, addr string, args ...any) (any, error)
}

// RedisDialer returns a Dialer that connects to the Redis address addr
// with go-redis: each Conn is a small pool whose connections all send
// AUTH user pass when they open. Other endpoints (peers, MOVED targets)
// are reached in plaintext too.
func RedisDialer(addr string) Dialer { return redisDialer{addr: addr} }

// RedisTLSDialer is RedisDialer over TLS with cfg, for the node and for
// every other endpoint.
func RedisTLSDialer(addr string, cfg *tls.Config) Dialer {
	return redisDialer{addr: addr, tls: cfg, peerTLS: cfg}
}

// NodeDialer is the dashboard's Dialer in the cairn binary: its own node
// at addr with selfTLS (nil: plaintext), and every other endpoint of the
// cluster (other nodes, shard endpoints named by MOVED/ASK) with peerTLS
// (nil: plaintext). In a TLS cluster the node may be reached on its
// plaintext port, or on its TLS port trusting only its own certificate,
// while the other nodes are reached over TLS trusting the cluster's CA.
func NodeDialer(addr string, selfTLS, peerTLS *tls.Config) Dialer {
	return redisDialer{addr: addr, tls: selfTLS, peerTLS: peerTLS}
}

type redisDialer struct {
	addr    string
	tls     *tls.Config // to addr; nil: plaintext
	peerTLS *tls.Config // to any other address; nil: plaintext
}

func (d redisDialer) Dial(ctx context.Context, user, pass string) (Conn, error) {
	return d.DialAddr(ctx, d.addr, user, pass)
}

func (d redisDialer) DialAddr(ctx context.Context, addr, user, pass string) (Conn, error) {
	cfg := d.peerTLS
	if addr == d.addr {
		cfg = d.tls
	}
	c := redis.NewClient(&redis.Options{
		Addr:            addr,
		TLSConfig:       cfg,
		Protocol:        2,
		PoolSize:        4,
		MaxRetries:      -1,
		DialTimeout:     5 * time.Second,
		ReadTimeout:     30 * time.Second,
		WriteTimeout:    30 * time.Second,
		ConnMaxIdleTime: 5 * time.Minute,
		// AUTH on every new connection of the pool, also with an empty
		// password (AUTH default "" is how Redis checks "no password").
		OnConnect: func(ctx context.Context, cn *redis.Conn) error {
			return cn.Do(ctx, "AUTH", user, pass).Err()
		},
		DisableIdentity: true,
	})
	if err := c.Do(ctx, "PING").Err(); err != nil {
		c.Close()
		return nil, err
	}
	return &redisConn{c: c, d: d, user: user, pass: pass}, nil
}

// redisConn is one user's pool on one node. In cluster mode it follows
// MOVED and ASK redirections as a cluster client does, with connections
// to the other endpoints opened as the same user.
type redisConn struct {
	c          *redis.Client
	d          redisDialer
	user, pass string

	mu    sync.Mutex
	other map[string]*redisConn
}

func (r *redisConn) Do(ctx context.Context, args ...any) (any, error) {
	cur := r
	asking := false
	for hop := 0; ; hop++ {
		var v any
		var err error
		if asking {
			pipe := cur.c.Pipeline()
			pipe.Do(ctx, "ASKING")
			cmd := pipe.Do(ctx, args...)
			pipe.Exec(ctx)
			v, err = cmd.Result()
		} else {
			v, err = cur.c.Do(ctx, args...).Result()
		}
		if errors.Is(err, redis.Nil) {
			return nil, nil
		}
		if err == nil || hop == 3 || !isRedisError(err) {
			return v, err
		}
		msg := err.Error()
		kind, rest, _ := strings.Cut(msg, " ")
		if kind != "MOVED" && kind != "ASK" {
			return v, err
		}
		_, addr, _ := strings.Cut(rest, " ")
		next, derr := r.to(ctx, addr)
		if derr != nil {
			return nil, err
		}
		cur, asking = next, kind == "ASK"
	}
}

func (r *redisConn) DoAt(ctx context.Context, addr string, args ...any) (any, error) {
	c, err := r.to(ctx, addr)
	if err != nil {
		return nil, err
	}
	v, err := c.c.Do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

// to returns the connection to another endpoint, opened on first use.
func (r *redisConn) to(ctx context.Context, addr string) (*redisConn, error) {
	r.mu.Lock()
	c := r.other[addr]
	r.mu.Unlock()
	if c != nil {
		return c, nil
	}
	conn, err := r.d.DialAddr(ctx, addr, r.user, r.pass)
	if err != nil {
		return nil, err
	}
	c = conn.(*redisConn)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.other[addr]; old != nil {
		c.Close()
		return old, nil
	}
	if r.other == nil {
		r.other = map[string]*redisConn{}
	}
	r.other[addr] = c
	return c, nil
}

func (r *redisConn) Close() error {
	r.mu.Lock()
	for _, c := range r.other {
		c.Close()
	}
	r.other = nil
	r.mu.Unlock()
	return r.c.Close()
}

// isRedisError reports whether err is an error reply of the node (as
// opposed to a network failure).
func isRedisError(err error) bool {
	var re redis.Error
	return errors.As(err, &re)
}

// errText is the text of an error reply, without go-redis decoration.
func errText(err error) string {
	return strings.TrimSpace(err.Error())
}
