package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// moduleUsage is the usage of the module subcommand.
const moduleUsage = `Usage:
  cairn module load   --addr HOST:PORT [--replace] [--name LIBRARY] FILE.wasm
  cairn module list   --addr HOST:PORT [--name PATTERN]
  cairn module delete --addr HOST:PORT --name LIBRARY

load uploads a WebAssembly module with FUNCTION LOAD as library LIBRARY
(default: the file name without .wasm) and prints the functions it
registered; a file that already starts with a "#!wasm name=..." line is
sent as it is. list and delete are FUNCTION LIST and FUNCTION DELETE.
Against a cluster, load and delete go to every master (each shard's
leader), as libraries belong to shards, and list shows each master's.
`

// runModule runs "cairn module ...": a client of a running server.
func runModule(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || (args[0] != "load" && args[0] != "list" && args[0] != "delete") {
		fmt.Fprint(stderr, moduleUsage)
		return 2
	}
	op := args[0]
	fs := flag.NewFlagSet("cairn module "+op, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, moduleUsage) }
	addr := fs.String("addr", "127.0.0.1:6379", "server address HOST:PORT")
	name := fs.String("name", "", "library name (load, delete) or pattern (list)")
	replace := fs.Bool("replace", false, "load: replace a library of the same name")
	pass := fs.String("password", os.Getenv("CAIRN_REQUIREPASS"), "password (AUTH), default $CAIRN_REQUIREPASS")
	timeout := fs.Duration("timeout", 60*time.Second, "how long to wait for the server (loading compiles the module)")
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "cairn module %s: %v\n", op, err)
		return 1
	}
	masters, closeAll, err := moduleTargets(ctx, *addr, *pass, *timeout)
	if err != nil {
		return fail(err)
	}
	defer closeAll()
	for _, c := range masters {
		if len(masters) > 1 {
			fmt.Fprintf(stdout, "master %s:\n", c.Options().Addr)
		}
		if rc := moduleOp(ctx, op, c, fs, *name, *replace, stdout, stderr, fail); rc != 0 {
			return rc
		}
	}
	return 0
}

// moduleTargets returns the server at addr, or every master of the
// cluster it belongs to.
func moduleTargets(ctx context.Context, addr, pass string, timeout time.Duration) ([]*redis.Client, func(), error) {
	c := redis.NewClient(&redis.Options{Addr: addr, Password: pass, Protocol: 2, MaxRetries: -1,
		DialTimeout: 5 * time.Second, ReadTimeout: timeout, WriteTimeout: timeout})
	info, err := c.ClusterInfo(ctx).Result()
	if err != nil || !strings.Contains(info, "cluster_state:") {
		return []*redis.Client{c}, func() { c.Close() }, nil
	}
	c.Close()
	cc := redis.NewClusterClient(&redis.ClusterOptions{Addrs: []string{addr}, Password: pass, MaxRetries: -1,
		DialTimeout: 5 * time.Second, ReadTimeout: timeout, WriteTimeout: timeout})
	var masters []*redis.Client
	var mu sync.Mutex
	err = cc.ForEachMaster(ctx, func(ctx context.Context, m *redis.Client) error {
		mu.Lock()
		masters = append(masters, m)
		mu.Unlock()
		return nil
	})
	if err != nil {
		cc.Close()
		return nil, nil, err
	}
	sort.Slice(masters, func(i, j int) bool { return masters[i].Options().Addr < masters[j].Options().Addr })
	return masters, func() { cc.Close() }, nil
}

// moduleOp runs one operation against one server.
func moduleOp(ctx context.Context, op string, c *redis.Client, fs *flag.FlagSet, name string, replace bool, stdout, stderr io.Writer, fail func(error) int) int {
	switch op {
	case "load":
		if fs.NArg() != 1 {
			fmt.Fprint(stderr, moduleUsage)
			return 2
		}
		code, err := os.ReadFile(fs.Arg(0))
		if err != nil {
			return fail(err)
		}
		payload := code
		if !strings.HasPrefix(string(code), "#!") {
			lib := name
			if lib == "" {
				lib = strings.TrimSuffix(filepath.Base(fs.Arg(0)), filepath.Ext(fs.Arg(0)))
			}
			payload = append([]byte("#!wasm name="+lib+"\n"), code...)
		}
		var got string
		if replace {
			got, err = c.FunctionLoadReplace(ctx, string(payload)).Result()
		} else {
			got, err = c.FunctionLoad(ctx, string(payload)).Result()
		}
		if err != nil {
			return fail(err)
		}
		libs, err := c.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: got}).Result()
		if err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "loaded library %s (%d bytes)\n", got, len(code))
		printLibraries(stdout, libs)
	case "list":
		libs, err := c.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: name}).Result()
		if err != nil {
			return fail(err)
		}
		if len(libs) == 0 {
			fmt.Fprintln(stdout, "no libraries")
		}
		printLibraries(stdout, libs)
	case "delete":
		lib := name
		if lib == "" && fs.NArg() == 1 {
			lib = fs.Arg(0)
		}
		if lib == "" {
			fmt.Fprint(stderr, moduleUsage)
			return 2
		}
		if err := c.FunctionDelete(ctx, lib).Err(); err != nil {
			return fail(err)
		}
		fmt.Fprintf(stdout, "deleted library %s\n", lib)
	}
	return 0
}

// printLibraries prints each library and its functions with their flags.
func printLibraries(w io.Writer, libs []redis.Library) {
	for _, l := range libs {
		fmt.Fprintf(w, "library %s (engine %s)\n", l.Name, l.Engine)
		for _, f := range l.Functions {
			flags := ""
			if len(f.Flags) > 0 {
				flags = " [" + strings.Join(f.Flags, ", ") + "]"
			}
			fmt.Fprintf(w, "  function %s%s\n", f.Name, flags)
		}
	}
}
