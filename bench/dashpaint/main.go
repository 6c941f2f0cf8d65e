// Command dashpaint measures the dashboard's first contentful paint in a
// real browser: it drives Debian's chromium (headless, through chromedp),
// signs in, then opens every page -rounds times as fresh navigations and
// reads each one's first-contentful-paint entry from the browser's
// performance timeline (the time from the start of the navigation to the
// first text or image painted: request, server render, transfer, parse,
// style and paint). It prints a Markdown table of the median and maximum
// per page. bench/dashboard.sh runs it while the cluster is under load
// (make bench-dashboard).
//
// Usage:
//
//	go run ./bench/dashpaint -base http://127.0.0.1:9601 [-user default -pass ''] [-rounds 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"time"

	"github.com/chromedp/chromedp"
)

var pages = []string{"/", "/shard", "/charts", "/keys", "/slowlog", "/modules", "/vectors", "/ops", "/users"}

func main() {
	base := flag.String("base", "http://127.0.0.1:9601", "the dashboard's URL (a node's HTTP listener)")
	user := flag.String("user", "default", "ACL user to sign in as")
	pass := flag.String("pass", "", "its password")
	rounds := flag.Int("rounds", 5, "navigations per page")
	exe := flag.String("chromium", "", "browser executable (default: chromium or chromium-browser on PATH)")
	flag.Parse()
	if err := run(*base, *user, *pass, *rounds, *exe); err != nil {
		fmt.Fprintln(os.Stderr, "dashpaint:", err)
		os.Exit(1)
	}
}

func run(base, user, pass string, rounds int, exe string) error {
	if exe == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				exe = p
				break
			}
		}
		if exe == "" {
			return fmt.Errorf("chromium not found (apt-get install chromium, or -chromium PATH)")
		}
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(exe), chromedp.NoSandbox,
		chromedp.WindowSize(1280, 900), chromedp.DisableGPU)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	// The first run starts the browser and must not carry a timeout.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		return fmt.Errorf("start chromium: %w", err)
	}
	do := func(what string, acts ...chromedp.Action[chromedp.Void]) error {
		ctx, cancel := context.WithTimeout(bctx, 60*time.Second)
		defer cancel()
		if err := chromedp.Do(ctx, acts...); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
		return nil
	}
	signIn := []chromedp.Action[chromedp.Void]{
		chromedp.Navigate(base + "/"),
		chromedp.WaitVisible(chromedp.CSS("#login-submit")),
		chromedp.SetValue(chromedp.CSS("#login-user"), user),
	}
	if pass != "" {
		signIn = append(signIn, chromedp.SetValue(chromedp.CSS("#login-pass"), pass))
	}
	signIn = append(signIn, chromedp.Click(chromedp.CSS("#login-submit")), chromedp.WaitVisible(chromedp.CSS("#nodes")))
	if err := do("sign in", signIn...); err != nil {
		return err
	}
	var fcp float64
	measure := chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		// The entry appears once painted: poll briefly for it.
		v, err := chromedp.Poll[float64](`(() => { const p = performance.getEntriesByName("first-contentful-paint")[0]; return p ? p.startTime : 0; })()`,
			chromedp.WithPollingTimeout(30*time.Second))(ctx, tg)
		fcp = v
		return err
	})
	fmt.Printf("| page | median FCP ms | max FCP ms (of %d) |\n|---|---:|---:|\n", rounds)
	var all []float64
	for _, p := range pages {
		var ms []float64
		for range rounds {
			fcp = 0
			if err := do("open "+p, chromedp.Navigate(base+p), chromedp.WaitVisible(chromedp.CSS("main h1")), measure); err != nil {
				return err
			}
			if fcp <= 0 {
				return fmt.Errorf("%s: no first-contentful-paint entry", p)
			}
			ms = append(ms, fcp)
		}
		slices.Sort(ms)
		all = append(all, ms...)
		fmt.Printf("| %s | %.0f | %.0f |\n", p, ms[len(ms)/2], ms[len(ms)-1])
	}
	slices.Sort(all)
	over := 0
	for _, v := range all {
		if v > 300 {
			over++
		}
	}
	fmt.Printf("\nAll %d navigations: median %.0f ms, max %.0f ms, %d over 300 ms.\n", len(all), all[len(all)/2], all[len(all)-1], over)
	return nil
}
