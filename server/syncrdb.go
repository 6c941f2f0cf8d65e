package server

import (
	"errors"
	"io"
	"strconv"
	"time"

	"github.com/cairndb/cairn/server/keyspace"
	"github.com/cairndb/cairn/server/rdb"
)

// WriteRDB writes the node's keyspace to w as a Redis 7.0 RDB file, from
// one point-in-time view of it (SYNC, which `redis-cli --rdb` sends).
// Keys already past their expiry are left out. Single-node mode only: in
// cluster mode a node holds only some shards.
func (b *backend) WriteRDB(w io.Writer) error {
	if b.cluster != nil {
		return errors.New("SYNC is not supported in cluster mode (use cairn rdb export, which reads every shard)")
	}
	snap := b.shard.KeyspaceSnapshot()
	defer snap.Release()
	now := time.Now().UnixMilli()
	var keys, expires uint64
	snap.Each(func(it *keyspace.Item) bool {
		if it.ExpireAt == 0 || it.ExpireAt > now {
			keys++
			if it.ExpireAt != 0 {
				expires++
			}
		}
		return true
	})
	aux := []rdb.Aux{
		{Name: "redis-ver", Value: "7.0.15"},
		{Name: "redis-bits", Value: "64"},
		{Name: "ctime", Value: strconv.FormatInt(time.Now().Unix(), 10)},
		{Name: "aof-base", Value: "0"},
	}
	fw := rdb.NewFileWriter(w, aux, keys, expires)
	var err error
	snap.Each(func(it *keyspace.Item) bool {
		if it.ExpireAt != 0 && it.ExpireAt <= now {
			return true
		}
		err = fw.WriteObject([]byte(it.Key), it.ExpireAt, it.Str, it.Obj)
		return err == nil
	})
	if err != nil {
		return err
	}
	return fw.Close()
}
