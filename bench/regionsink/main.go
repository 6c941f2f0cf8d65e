// Command regionsink is a null secondary region for bench/regions-procs.sh:
// a regions.Manager in the secondary role that pulls shard 1 of a primary
// over the real region link (handshake, frames, entry decoding) and
// discards the entries instead of proposing and applying them. With it,
// the benchmark measures what shipping costs the primary's write path on
// its own, apart from a real secondary's log and apply, which on this
// machine would run on the primary's cores.
//
//	regionsink -primary HOST:PORT -secret S [-status FILE]
//
// It prints "entries=N index=I" to the status file every 100 ms.
package main

import (
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/cairndb/cairn/regions"
)

// sink is a DestLog that keeps only the position.
type sink struct{ pos, entries atomic.Uint64 }

func (s *sink) IsLeader() bool                  { return true }
func (s *sink) Position(uint64) (uint64, int64) { return s.pos.Load(), 0 }
func (s *sink) AppliedIndex() uint64            { return s.pos.Load() }
func (s *sink) SnapshotsInstalled() uint64      { return 0 }

func (s *sink) Ship(_ uint64, ents []regions.Entry) error {
	for _, e := range ents {
		if e.Index > s.pos.Load() {
			s.pos.Store(e.Index)
			s.entries.Add(1)
		}
	}
	return nil
}

func (s *sink) ShipSnapshot(_ uint64, c regions.SnapshotChunk) error {
	if c.Last {
		s.pos.Store(c.Index)
	}
	return nil
}

func main() {
	primary := flag.String("primary", "", "the primary node's region link address")
	secret := flag.String("secret", "", "the region secret")
	status := flag.String("status", "", "file to write the shipped entry count to")
	flag.Parse()
	if *primary == "" || *secret == "" {
		fmt.Fprintln(os.Stderr, "regionsink: -primary and -secret are required")
		os.Exit(2)
	}
	s := &sink{}
	m, err := regions.New(regions.Config{
		Name: "sink", Role: regions.Secondary, Primary: []string{*primary}, Secret: *secret,
		Shards: func() []uint64 { return []uint64{1} },
		Source: func(uint64) regions.SourceLog { return nil },
		Dest:   func(uint64) regions.DestLog { return s },
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "regionsink:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, "regionsink:", err)
		os.Exit(1)
	}
	m.Start(ln)
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	t := time.NewTicker(100 * time.Millisecond)
	for {
		select {
		case <-stop:
			m.Close()
			return
		case <-t.C:
			if *status != "" {
				os.WriteFile(*status, fmt.Appendf(nil, "entries=%d index=%d\n", s.entries.Load(), s.pos.Load()), 0o644)
			}
		}
	}
}
