// Package rdbtool moves data between a running server and a Redis RDB file
// over the Redis protocol: Export writes the keys of a server (Cairn or
// Redis) to an RDB file that redis-server 7.0 loads, and Import loads a
// dump.rdb written by Redis into a server with RESTORE. The file format is
// server/rdb's; this package is only the network side (`cairn rdb`).
//
// Export from a single Cairn node sends SYNC, to which the node replies
// with a file written from one point-in-time view of its keyspace. From
// anything else (Redis, a Cairn cluster) it is SCAN, then per key DUMP
// between two PEXPIRETIMEs (pipelined; a key whose expiry changed
// meanwhile is read again in MULTI/EXEC): each key's value and expiry
// belong together, but the file is not a point-in-time snapshot across
// keys — a key written during the export may appear with its old or its
// new value, and a key created during it may be missing.
//
// Import parses and validates the whole file before sending anything (see
// rdb.ParseFile), refuses to overwrite existing keys unless Replace is
// set, then sends RESTORE key expiry payload ABSTTL [REPLACE] in
// pipelined batches. A failure part way (a dropped connection) is reported
// with the number of keys already restored.
//
// A server in cluster mode (Cairn's or Redis's) is handled as a whole:
// Import routes each RESTORE to its slot's master, Export scans every
// master, so --addr may name any node.
package rdbtool

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server/rdb"
	"github.com/cairndb/cairn/server/resp"
)

// Options says where and how to connect, and where progress goes.
type Options struct {
	// Addr is the server's host:port.
	Addr string
	// User and Pass authenticate (AUTH); empty for none.
	User, Pass string
	// Batch is the number of keys per pipelined round trip (default 500).
	Batch int
	// Replace lets Import overwrite keys that already exist (RESTORE ...
	// REPLACE). Without it Import refuses to start if any key of the file
	// exists on the server.
	Replace bool
	// Progress receives progress reports (nil: none). On a terminal
	// (Terminal true) it is one line redrawn in place; otherwise a line
	// every Interval (default 2s).
	Progress io.Writer
	Terminal bool
	Interval time.Duration
}

func (o *Options) batch() int {
	if o.Batch <= 0 {
		return 500
	}
	return o.Batch
}

func (o *Options) client() *redis.Client {
	return redis.NewClient(&redis.Options{
		Addr: o.Addr, Username: o.User, Password: o.Pass, Protocol: 2,
		DialTimeout: 5 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		PoolSize: 1, MaxRetries: -1, DisableIdentity: true,
	})
}

// target is the server: one client, or, when it runs in cluster mode
// (INFO cluster_enabled:1), a cluster client that routes each key to its
// slot's master and reaches every master for SCAN.
type target struct {
	one     *redis.Client
	cluster *redis.ClusterClient
}

// connect connects to o.Addr and finds out whether it is a cluster.
func (o *Options) connect(ctx context.Context) (*target, error) {
	c := o.client()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		return nil, fmt.Errorf("connect to %s: %w", o.Addr, err)
	}
	if infoField(ctx, c, "cluster", "cluster_enabled", "") != 1 {
		return &target{one: c}, nil
	}
	c.Close()
	cc := redis.NewClusterClient(&redis.ClusterOptions{
		Addrs: []string{o.Addr}, Username: o.User, Password: o.Pass, Protocol: 2,
		DialTimeout: 5 * time.Second, ReadTimeout: time.Minute, WriteTimeout: time.Minute,
		MaxRedirects: 16, DisableIdentity: true,
	})
	if err := cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		return c.Ping(ctx).Err()
	}); err != nil {
		cc.Close()
		return nil, fmt.Errorf("connect to the cluster of %s: %w", o.Addr, err)
	}
	return &target{cluster: cc}, nil
}

func (t *target) Close() {
	if t.one != nil {
		t.one.Close()
	} else {
		t.cluster.Close()
	}
}

// pipeline returns a pipeline that routes each command by its key.
func (t *target) pipeline() redis.Pipeliner {
	if t.one != nil {
		return t.one.Pipeline()
	}
	return t.cluster.Pipeline()
}

// masters runs fn on the server, or on each master of the cluster one
// after another.
func (t *target) masters(ctx context.Context, fn func(c *redis.Client) error) error {
	if t.one != nil {
		return fn(t.one)
	}
	var mu sync.Mutex
	return t.cluster.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
		mu.Lock()
		defer mu.Unlock()
		return fn(c)
	})
}

// Stats reports what Export or Import did.
type Stats struct {
	// Keys is the number of keys written to the file (Export) or
	// restored on the server (Import).
	Keys int
	// Expires counts those of them with an expiry.
	Expires int
	// Expired counts keys Import found already past their expiry (sent
	// all the same: the server drops them, as Redis drops them on load).
	Expired int
	// Vanished counts keys Export saw in SCAN that were gone (deleted or
	// expired) when it read them.
	Vanished int
	// Bytes is the size of the file.
	Bytes int64
	// Elapsed is the wall time taken.
	Elapsed time.Duration
}

// Export writes every key of the server at o.Addr to an RDB file (version
// 10, Redis 7.0's) at path. The file is written under a temporary name and
// renamed into place only when complete, so path never holds half a file.
//
// A single Cairn node is asked for a point-in-time file with SYNC (see
// exportSync); other servers, and Cairn clusters, are read key by key
// (exportScan).
func Export(ctx context.Context, o Options, path string) (Stats, error) {
	start := time.Now()
	var st Stats
	srv, err := o.connect(ctx)
	if err != nil {
		return st, err
	}
	defer srv.Close()
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return st, err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	defer tmp.Close()

	if srv.one != nil && infoString(ctx, srv.one, "server", "cairn_version") != "" {
		err = exportSync(ctx, o, tmp, &st)
	} else {
		err = exportScan(ctx, o, srv, tmp, &st)
	}
	if err != nil {
		return st, err
	}
	if err := tmp.Sync(); err != nil {
		return st, err
	}
	if err := tmp.Close(); err != nil {
		return st, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return st, err
	}
	if fi, err := os.Stat(path); err == nil {
		st.Bytes = fi.Size()
	}
	st.Elapsed = time.Since(start)
	return st, nil
}

// exportScan writes the file from SCAN and per-key reads (exportBatch).
func exportScan(ctx context.Context, o Options, srv *target, w io.Writer, st *Stats) error {
	var total, expires, used int64
	if err := srv.masters(ctx, func(c *redis.Client) error {
		n, err := c.DBSize(ctx).Result()
		total += n
		expires += keyspaceExpires(ctx, c)
		used += usedMemory(ctx, c)
		return err
	}); err != nil {
		return fmt.Errorf("DBSIZE: %w", err)
	}
	aux := []rdb.Aux{
		{Name: "redis-ver", Value: "7.0.15"},
		{Name: "redis-bits", Value: "64"},
		{Name: "ctime", Value: strconv.FormatInt(time.Now().Unix(), 10)},
		{Name: "used-mem", Value: strconv.FormatInt(used, 10)},
		{Name: "aof-base", Value: "0"},
	}
	fw := rdb.NewFileWriter(w, aux, uint64(total), uint64(expires))
	prog := newProgress(o, "exported", int(total), "keys")

	// SCAN may return a key more than once; Redis refuses a file with a
	// duplicate key, so remember what was written.
	seen := map[string]struct{}{}
	err := srv.masters(ctx, func(c *redis.Client) error {
		var cursor uint64
		for {
			keys, next, err := c.Scan(ctx, cursor, "", int64(o.batch())).Result()
			if err != nil {
				return fmt.Errorf("SCAN: %w", err)
			}
			var fresh []string
			for _, k := range keys {
				if _, dup := seen[k]; !dup {
					seen[k] = struct{}{}
					fresh = append(fresh, k)
				}
			}
			if err := exportBatch(ctx, c, fw, fresh, st); err != nil {
				return err
			}
			prog.update(st.Keys)
			if cursor = next; cursor == 0 {
				return nil
			}
		}
	})
	if err != nil {
		return err
	}
	if err := fw.Close(); err != nil {
		return fmt.Errorf("write the file: %w", err)
	}
	prog.finish(st.Keys)
	return nil
}

// exportSync writes the file a Cairn node sends in reply to SYNC: one
// point-in-time view of its whole keyspace. The file is parsed back
// before it is accepted.
func exportSync(ctx context.Context, o Options, f *os.File, st *Stats) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", o.Addr)
	if err != nil {
		return fmt.Errorf("connect to %s: %w", o.Addr, err)
	}
	defer nc.Close()
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	br := bufio.NewReaderSize(nc, 1<<16)
	if o.Pass != "" {
		auth := [][]byte{[]byte("AUTH"), []byte(o.Pass)}
		if o.User != "" {
			auth = [][]byte{[]byte("AUTH"), []byte(o.User), []byte(o.Pass)}
		}
		if _, err := nc.Write(resp.AppendCommand(nil, auth...)); err != nil {
			return err
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return fmt.Errorf("AUTH: %w", err)
		}
		if strings.HasPrefix(line, "-") {
			return fmt.Errorf("AUTH: %s", strings.TrimSpace(line[1:]))
		}
	}
	if _, err := nc.Write(resp.AppendCommand(nil, []byte("SYNC"))); err != nil {
		return err
	}
	var line string
	for line == "" { // skip keep-alive newlines
		if line, err = br.ReadString('\n'); err != nil {
			return fmt.Errorf("SYNC: %w", err)
		}
		line = strings.TrimRight(line, "\r\n")
	}
	if strings.HasPrefix(line, "-") {
		return fmt.Errorf("SYNC: %s", line[1:])
	}
	n, err := strconv.ParseInt(strings.TrimPrefix(line, "$"), 10, 64)
	if !strings.HasPrefix(line, "$") || err != nil || n < 0 {
		return fmt.Errorf("SYNC: unexpected reply %q", line)
	}
	prog := newProgress(o, "received", int(n), "bytes")
	var done int64
	for done < n {
		m, err := io.CopyN(f, br, min(n-done, 1<<20))
		done += m
		if err != nil {
			return fmt.Errorf("SYNC: after %d of %d bytes: %w", done, n, err)
		}
		prog.update(int(done))
	}
	prog.finish(int(done))
	b, err := os.ReadFile(f.Name())
	if err != nil {
		return err
	}
	file, err := rdb.ParseFile(b, nil)
	if err != nil {
		return fmt.Errorf("the server's SYNC reply: %w", err)
	}
	st.Keys, st.Expires = len(file.Entries), file.Expires
	return nil
}

// exportBatch reads keys' values and expiries and writes them to fw. Per
// key it pipelines PEXPIRETIME, DUMP, PEXPIRETIME: when both expiry reads
// agree, the value is the one that expiry belongs to (short of two writes
// landing between the reads). A key whose expiry changed between them is
// read again inside MULTI/EXEC, which is exact but costs a log entry on
// Cairn, so it is kept for the rare key written during the export.
func exportBatch(ctx context.Context, c *redis.Client, fw *rdb.FileWriter, keys []string, st *Stats) error {
	if len(keys) == 0 {
		return nil
	}
	pipe := c.Pipeline()
	type reads struct {
		before, after *redis.Cmd
		dump          *redis.StringCmd
	}
	rs := make([]reads, len(keys))
	for i, k := range keys {
		rs[i].before = pipe.Do(ctx, "PEXPIRETIME", k)
		rs[i].dump = pipe.Dump(ctx, k)
		rs[i].after = pipe.Do(ctx, "PEXPIRETIME", k)
	}
	if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("DUMP: %w", err)
	}
	for i, k := range keys {
		before, err1 := rs[i].before.Int64()
		payload, err2 := rs[i].dump.Result()
		after, err3 := rs[i].after.Int64()
		if err := errors.Join(err1, err3); err != nil {
			return fmt.Errorf("PEXPIRETIME %q: %w", k, err)
		}
		found := true
		switch {
		case errors.Is(err2, redis.Nil):
			found = false
		case err2 != nil:
			return fmt.Errorf("DUMP %q: %w", k, err2)
		}
		if before != after || (found && after == -2) || (!found && after != -2) {
			var err error
			if payload, after, found, err = exportExact(ctx, c, k); err != nil {
				return err
			}
		}
		if !found {
			st.Vanished++
			continue
		}
		if err := writeKey(fw, k, after, payload, st); err != nil {
			return err
		}
	}
	return nil
}

// exportExact reads a key's value and expiry inside one MULTI/EXEC.
func exportExact(ctx context.Context, c *redis.Client, k string) (payload string, exp int64, found bool, err error) {
	var dump *redis.StringCmd
	var pexp *redis.Cmd
	_, err = c.TxPipelined(ctx, func(p redis.Pipeliner) error {
		dump = p.Dump(ctx, k)
		pexp = p.Do(ctx, "PEXPIRETIME", k)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return "", 0, false, fmt.Errorf("DUMP %q: %w", k, err)
	}
	payload, err = dump.Result()
	if errors.Is(err, redis.Nil) {
		return "", 0, false, nil
	}
	if err != nil {
		return "", 0, false, fmt.Errorf("DUMP %q: %w", k, err)
	}
	if exp, err = pexp.Int64(); err != nil {
		return "", 0, false, fmt.Errorf("PEXPIRETIME %q: %w", k, err)
	}
	return payload, exp, exp != -2, nil
}

// writeKey writes one key; exp is PEXPIRETIME's reply (-1: no expiry).
func writeKey(fw *rdb.FileWriter, k string, exp int64, payload string, st *Stats) error {
	if exp < 0 {
		exp = 0
	} else {
		st.Expires++
	}
	if err := fw.WriteKey([]byte(k), exp, []byte(payload)); err != nil {
		return err
	}
	st.Keys++
	return nil
}

// Import loads the RDB file at path into the server at o.Addr.
func Import(ctx context.Context, o Options, path string) (Stats, error) {
	start := time.Now()
	var st Stats
	b, err := os.ReadFile(path)
	if err != nil {
		return st, err
	}
	st.Bytes = int64(len(b))

	// 1. Validate the whole file before touching the server.
	vp := newProgress(o, "validated", len(b), "bytes")
	f, err := rdb.ParseFile(b, vp.update)
	if err != nil {
		return st, fmt.Errorf("%s: %w (nothing imported)", path, err)
	}
	vp.finish(len(b))

	srv, err := o.connect(ctx)
	if err != nil {
		return st, fmt.Errorf("%w (nothing imported)", err)
	}
	defer srv.Close()

	// 2. Unless told to replace, refuse if any key already exists.
	if !o.Replace {
		if err := checkAbsent(ctx, srv, f.Entries, o.batch()); err != nil {
			return st, err
		}
	}

	// 3. RESTORE in pipelined batches.
	prog := newProgress(o, "imported", len(f.Entries), "keys")
	now := time.Now().UnixMilli()
	for lo := 0; lo < len(f.Entries); lo += o.batch() {
		hi := min(lo+o.batch(), len(f.Entries))
		pipe := srv.pipeline()
		cmds := make([]*redis.Cmd, hi-lo)
		for i := lo; i < hi; i++ {
			cmds[i-lo] = pipe.Do(ctx, restoreArgs(&f.Entries[i], o.Replace)...)
		}
		pipe.Exec(ctx) // errors are read per command below
		var failed error
		for i, cmd := range cmds {
			e := &f.Entries[lo+i]
			if err := cmd.Err(); err != nil {
				if failed == nil {
					failed = fmt.Errorf("RESTORE %q: %w", e.Key, err)
				}
				continue
			}
			st.Keys++
			if e.ExpireMs != 0 {
				st.Expires++
				if e.ExpireMs <= now {
					st.Expired++
				}
			}
		}
		if failed != nil {
			return st, fmt.Errorf("%w; %d of %d keys were imported, the batches after this one were not sent (rerun with --replace once the cause is fixed)", failed, st.Keys, len(f.Entries))
		}
		prog.update(st.Keys)
	}
	st.Elapsed = time.Since(start)
	prog.finish(st.Keys)
	return st, nil
}

// restoreArgs is RESTORE key expiry payload ABSTTL [REPLACE] [IDLETIME n |
// FREQ n] for an entry.
func restoreArgs(e *rdb.Entry, replace bool) []any {
	exp := e.ExpireMs
	if exp < 0 {
		exp = 1 // before 1970 (Redis saved such a key): long expired
	}
	args := []any{"RESTORE", e.Key, exp, e.Payload(), "ABSTTL"}
	if replace {
		args = append(args, "REPLACE")
	}
	switch {
	case e.Idle >= 0:
		args = append(args, "IDLETIME", e.Idle)
	case e.Freq >= 0:
		args = append(args, "FREQ", e.Freq)
	}
	return args
}

// checkAbsent fails if any of the entries' keys exists on the server.
func checkAbsent(ctx context.Context, srv *target, entries []rdb.Entry, batch int) error {
	var found []string
	count := 0
	for lo := 0; lo < len(entries); lo += batch {
		hi := min(lo+batch, len(entries))
		pipe := srv.pipeline()
		cmds := make([]*redis.IntCmd, hi-lo)
		for i := lo; i < hi; i++ {
			cmds[i-lo] = pipe.Exists(ctx, string(entries[i].Key))
		}
		if _, err := pipe.Exec(ctx); err != nil {
			return fmt.Errorf("EXISTS: %w (nothing imported)", err)
		}
		for i, cmd := range cmds {
			if cmd.Val() > 0 {
				count++
				if len(found) < 5 {
					found = append(found, strconv.Quote(string(entries[lo+i].Key)))
				}
			}
		}
	}
	if count > 0 {
		return fmt.Errorf("%d keys of the file already exist on the server (e.g. %s); nothing imported (use --replace to overwrite them)", count, strings.Join(found, ", "))
	}
	return nil
}

// keyspaceExpires reads the number of keys with an expiry from INFO
// keyspace (0 if unknown; it is only a size hint in the file).
func keyspaceExpires(ctx context.Context, c *redis.Client) int64 {
	return infoField(ctx, c, "keyspace", "db0", "expires")
}

// usedMemory reads used_memory from INFO memory (0 if unknown).
func usedMemory(ctx context.Context, c *redis.Client) int64 {
	return infoField(ctx, c, "memory", "used_memory", "")
}

// infoField finds line name in an INFO section and returns its value as
// a number (0 if absent), or with sub the value of sub= inside it.
func infoField(ctx context.Context, c *redis.Client, section, name, sub string) int64 {
	v := infoString(ctx, c, section, name)
	if sub != "" {
		v2 := ""
		for _, kv := range strings.Split(v, ",") {
			if sk, sv, ok := strings.Cut(kv, "="); ok && sk == sub {
				v2 = sv
			}
		}
		v = v2
	}
	n, _ := strconv.ParseInt(v, 10, 64)
	return n
}

// infoString returns the value of line name in an INFO section, "" if
// absent.
func infoString(ctx context.Context, c *redis.Client, section, name string) string {
	text, err := c.Info(ctx, section).Result()
	if err != nil {
		return ""
	}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		if k, v, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":"); ok && k == name {
			return v
		}
	}
	return ""
}
