package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestStatusPageInChromium loads the status page of the real binary in
// headless Chromium while a shop is down: the page shows that check as
// down, and its provider's outage (any one check down makes one here) as a
// banner, and a phone-sized screenshot is saved under the test's temp dir.
// .ci/run installs Debian's chromium and sets HOSTWATCH_BROWSER=required,
// so that in CI a missing browser fails the test instead of skipping it.
func TestStatusPageInChromium(t *testing.T) {
	run := headless(t, "--window-size=412,915")
	shop, down := newShop(t)
	down.Store(true)
	other, _ := newShop(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http:
  listen: %q
  status_page: {title: "Example shops"}
defaults: {schedule: "@every 1s", down_after: 1, up_after: 1, timeout: 2s, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - {name: storefront, http: {url: "%s/", contains: cart}, labels: {provider: examplehost}}
      - {name: api, http: {url: "%s/", contains: cart}, labels: {provider: examplehost}}
providers:
  - {name: examplehost, match: {provider: examplehost}, outage_when: {min_down: 1}}
`, filepath.Join(dir, "h.db"), listen, shop.URL, other.URL))
	p := startDaemon(t, dir, cfg)
	defer p.stop(t)
	waitHTTP(t, "http://"+listen+"/api/v1/checks", `"state": "down"`)
	waitHTTP(t, "http://"+listen+"/api/v1/checks", `"state": "up"`)
	waitHTTP(t, "http://"+listen+"/", "examplehost looks down: 1 of 2")

	page := "http://" + listen + "/"
	dom := string(run("--dump-dom", page))
	for _, want := range []string{
		`data-check="storefront" data-state="down"`,
		`<span class="state down">down`,
		`data-check="api" data-state="up"`,
		`1 check is down`,
		`<div class="banner bad provider">examplehost looks down: 1 of 2 checks not answering</div>`,
		`Example shops`,
	} {
		if !strings.Contains(dom, want) {
			t.Errorf("the page as Chromium has it lacks %s:\n%s", want, dom)
		}
	}
	shot := filepath.Join(t.TempDir(), "status.png")
	run("--screenshot="+shot, page)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s (%d bytes)", shot, len(png))
}

// headless finds chromium, or skips the test where it is missing (fails it
// with HOSTWATCH_BROWSER=required), and returns how to run it headless with
// flags and args, each run within 90 s with a profile of its own,
// returning what it wrote to standard output.
func headless(t *testing.T, flags ...string) func(args ...string) []byte {
	t.Helper()
	chromium, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("HOSTWATCH_BROWSER") == "required" {
			t.Fatal("chromium is not installed")
		}
		t.Skip("chromium is not installed; .ci/run installs it")
	}
	return func(args ...string) []byte {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--user-data-dir=" + t.TempDir()}
		cmd := exec.CommandContext(ctx, chromium, append(append(base, flags...), args...)...)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("chromium %v: %v\n%s", args, err, stderr.String())
		}
		return stdout.Bytes()
	}
}
