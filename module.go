package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
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
	c := redis.NewClient(&redis.Options{Addr: *addr, Password: *pass, Protocol: 2, MaxRetries: -1,
		DialTimeout: 5 * time.Second, ReadTimeout: *timeout, WriteTimeout: *timeout})
	defer c.Close()
	ctx := context.Background()
	fail := func(err error) int {
		fmt.Fprintf(stderr, "cairn module %s: %v\n", op, err)
		return 1
	}
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
			lib := *name
			if lib == "" {
				lib = strings.TrimSuffix(filepath.Base(fs.Arg(0)), filepath.Ext(fs.Arg(0)))
			}
			payload = append([]byte("#!wasm name="+lib+"\n"), code...)
		}
		var got string
		if *replace {
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
		libs, err := c.FunctionList(ctx, redis.FunctionListQuery{LibraryNamePattern: *name}).Result()
		if err != nil {
			return fail(err)
		}
		if len(libs) == 0 {
			fmt.Fprintln(stdout, "no libraries")
		}
		printLibraries(stdout, libs)
	case "delete":
		lib := *name
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
