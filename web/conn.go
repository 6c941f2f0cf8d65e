package web

import (
	"context"
	"errors"
	"strings"
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

// RedisDialer returns a Dialer that connects to the Redis address addr
// with go-redis: each Conn is a small pool whose connections all send
// AUTH user pass when they open.
func RedisDialer(addr string) Dialer { return redisDialer{addr: addr} }

type redisDialer struct{ addr string }

func (d redisDialer) Dial(ctx context.Context, user, pass string) (Conn, error) {
	return d.DialAddr(ctx, d.addr, user, pass)
}

func (d redisDialer) DialAddr(ctx context.Context, addr, user, pass string) (Conn, error) {
	c := redis.NewClient(&redis.Options{
		Addr:            addr,
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
	return redisConn{c}, nil
}

type redisConn struct{ c *redis.Client }

func (r redisConn) Do(ctx context.Context, args ...any) (any, error) {
	v, err := r.c.Do(ctx, args...).Result()
	if errors.Is(err, redis.Nil) {
		return nil, nil
	}
	return v, err
}

func (r redisConn) Close() error { return r.c.Close() }

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
