package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/cairndb/cairn/server/rdbtool"
)

// runRDB is `cairn rdb export|import [flags] FILE`: moves keys between a
// running server and a Redis RDB file (docs/rdb.md).
func runRDB(args []string, stdout, stderr io.Writer) int {
	usage := func() {
		fmt.Fprintf(stderr, "Usage:\n  cairn rdb export [flags] FILE   write the server's keys to a Redis 7.0 RDB file\n  cairn rdb import [flags] FILE   load a Redis dump.rdb into the server\n(docs/rdb.md)\n")
	}
	if len(args) == 0 || (args[0] != "export" && args[0] != "import") {
		usage()
		fmt.Fprintf(stderr, "\nRun cairn rdb export --help or cairn rdb import --help for the flags.\n")
		return 2
	}
	verb := args[0]

	// 1. Parse flags.
	fs := flag.NewFlagSet("cairn rdb "+verb, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var o rdbtool.Options
	fs.StringVar(&o.Addr, "addr", "127.0.0.1:6379", "server address host:port")
	fs.StringVar(&o.User, "user", "", "ACL user name (AUTH)")
	fs.StringVar(&o.Pass, "pass", os.Getenv("REDISCLI_AUTH"), "password (AUTH; env REDISCLI_AUTH)")
	fs.IntVar(&o.Batch, "batch", 500, "keys per pipelined round trip")
	if verb == "import" {
		fs.BoolVar(&o.Replace, "replace", false, "overwrite keys that already exist (default: refuse to import if any exists)")
	}
	quiet := fs.Bool("quiet", false, "no progress output")
	fs.Usage = func() { usage(); fmt.Fprintf(stderr, "\nFlags:\n"); fs.PrintDefaults() }
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() != 1 {
		fmt.Fprintf(stderr, "cairn rdb %s: want exactly one FILE argument\n", verb)
		return 2
	}
	path := fs.Arg(0)

	// 2. Progress goes to stderr: one redrawn line on a terminal, log
	// lines otherwise.
	if !*quiet {
		o.Progress = stderr
		o.Terminal = isTerminal(stderr)
	}

	// 3. Run until done or interrupted.
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	run := rdbtool.Import
	if verb == "export" {
		run = rdbtool.Export
	}
	st, err := run(ctx, o, path)
	if err != nil {
		fmt.Fprintf(stderr, "cairn rdb %s: %v\n", verb, err)
		return 1
	}
	fmt.Fprintf(stdout, "%sed %d keys (%d with expiry) %s %s in %s\n", verb, st.Keys, st.Expires,
		map[string]string{"export": "to", "import": "from"}[verb], path, st.Elapsed.Round(1e6))
	return 0
}

// isTerminal tells whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
