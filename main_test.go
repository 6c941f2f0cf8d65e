package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/cairndb/cairn/server"
	"github.com/cairndb/cairn/server/servertest"
)

func TestHelp(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--help"}, &out, &errb); code != 0 {
		t.Fatalf("--help exit %d", code)
	}
	for _, want := range []string{"-port", "-bind", "-dir", "-config", "CAIRN_PORT", "CAIRN_DIR"} {
		if !strings.Contains(errb.String(), want) {
			t.Errorf("--help output lacks %q", want)
		}
	}
}

func TestBadFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--port", "99999"}, &out, &errb); code != 2 {
		t.Fatalf("bad port exit %d (%s)", code, errb.String())
	}
	if code := run([]string{"--nope"}, &out, &errb); code != 2 {
		t.Fatalf("unknown flag exit %d", code)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	conf := filepath.Join(dir, "cairn.conf")
	os.WriteFile(conf, []byte("# comment\nport 7000\nbind 127.0.0.2\ndir \"/from/file\"\nmaxclients 5\n"), 0o644)
	file, err := readConfig(conf)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("CAIRN_BIND", "127.0.0.3")
	flags := map[string]string{"port": "7001"}
	get := func(name string) string {
		if v, ok := flags[name]; ok {
			return v
		}
		for _, s := range settings {
			if s.name == name {
				if v := os.Getenv(s.env); v != "" {
					return v
				}
				if v, ok := file[name]; ok {
					return v
				}
				return s.def
			}
		}
		return ""
	}
	cfg, err := buildConfig(get)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Port != 7001 || cfg.Bind != "127.0.0.3" || cfg.Dir != "/from/file" || cfg.MaxClients != 5 {
		t.Fatalf("precedence wrong: %+v", cfg)
	}
	os.WriteFile(conf, []byte("bogus 1\n"), 0o644)
	if _, err := readConfig(conf); err == nil {
		t.Fatal("unknown setting accepted")
	}
}

// TestSigtermAndEnv starts the real binary configured through CAIRN_*
// variables, writes, stops it with SIGTERM (clean exit 0) and restarts.
func TestSigtermAndEnv(t *testing.T) {
	bin := servertest.Binary(t)
	dir := filepath.Join(t.TempDir(), "d")
	p := servertest.StartProcess(t, bin, dir)
	c := redis.NewClient(&redis.Options{Addr: p.Addr()})
	defer c.Close()
	ctx := context.Background()
	if err := c.Set(ctx, "a", "b", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	log, _ := os.ReadFile(dir + ".log")
	if !strings.Contains(string(log), "cairn ready") || !strings.Contains(string(log), dir) {
		t.Fatalf("start-up line missing: %s", log)
	}
	if err := p.Start(); err != nil {
		t.Fatal(err)
	}
	if got := c.Get(ctx, "a").Val(); got != "b" {
		t.Fatalf("after SIGTERM restart: %q", got)
	}
	// SHUTDOWN closes the connection and the process exits 0.
	c.Do(ctx, "SHUTDOWN")
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) && c.Ping(ctx).Err() == nil {
		time.Sleep(50 * time.Millisecond)
	}
	if c.Ping(ctx).Err() == nil {
		t.Fatal("still serving after SHUTDOWN")
	}
}

// TestRegionAnnounceFlag: --region-announce (CAIRN_REGION_ANNOUNCE) is
// taken as host:port; anything else is refused at start.
func TestRegionAnnounceFlag(t *testing.T) {
	cfgWith := func(v string) (server.Config, error) {
		return buildConfig(func(name string) string {
			if name == "region-announce" {
				return v
			}
			for _, s := range settings {
				if s.name == name {
					return s.def
				}
			}
			return ""
		})
	}
	cfg, err := cfgWith("r1.example:10001")
	if err != nil || cfg.RegionAnnounce != "r1.example:10001" {
		t.Fatalf("--region-announce r1.example:10001: %q %v", cfg.RegionAnnounce, err)
	}
	if _, err := cfgWith("no-port"); err == nil || !strings.Contains(err.Error(), "bad region-announce") {
		t.Fatalf("--region-announce no-port: %v", err)
	}
}
