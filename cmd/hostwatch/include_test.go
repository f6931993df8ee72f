package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// TestIncludeThroughTheBinary: validate counts the merchants of every
// included file and tells an included file's error in that file; the
// daemon probes the included merchants' checks, and a reload reads the
// globs again, so that a file added since is watched.
func TestIncludeThroughTheBinary(t *testing.T) {
	site := newHits(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: h.db}
http: {listen: %q}
defaults: {schedule: "@every 1s", timeout: 2s}
include: ["merchants/*.yaml"]
`, listen))
	merchant := func(file, name string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(dir, "merchants"), 0o755); err != nil {
			t.Fatal(err)
		}
		body := fmt.Sprintf("merchants:\n  - name: %s\n    checks:\n      - {name: web, http: {url: \"%s/%s\", contains: cart}}\n", name, site.URL, name)
		if err := os.WriteFile(filepath.Join(dir, "merchants", file), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}

	// Nothing matches yet: an error at the include's line.
	if _, stderr, code := hostwatch(t, "validate", "-config", cfg); code != 1 || !strings.Contains(stderr, cfg+`:6: include[0]: "merchants/*.yaml" matches no file`) {
		t.Errorf("no file: exit %d\n%s", code, stderr)
	}
	merchant("a.yaml", "a-shop")
	merchant("b.yaml", "b-shop")
	if out, stderr, code := hostwatch(t, "validate", "-config", cfg); code != 0 || !strings.Contains(out, "ok, 2 merchants, 2 checks in 3 files") {
		t.Errorf("two files: exit %d\n%s%s", code, out, stderr)
	}
	// An error in an included file, and a merchant defined twice.
	bad := filepath.Join(dir, "merchants", "c.yaml")
	os.WriteFile(bad, []byte("merchants:\n  - name: a-shop\n    checks: []\n  - name: c-shop\n    checks:\n      - {name: web, http: {url: nowhere}}\n"), 0o600)
	_, stderr, code := hostwatch(t, "validate", "-config", cfg)
	want := []string{
		bad + `:2: merchants[0].name: another merchant is named "a-shop" (` + filepath.Join(dir, "merchants", "a.yaml") + `:2)`,
		bad + `:6: merchants[1].checks[0].http.url: must be an absolute http or https URL`,
	}
	if code != 1 || strings.TrimSpace(stderr) != strings.Join(want, "\n") {
		t.Errorf("exit %d, stderr:\n%s\nwant:\n%s", code, stderr, strings.Join(want, "\n"))
	}
	os.Remove(bad)

	p := startDaemon(t, dir, cfg)
	defer p.stop(t)
	eventually(t, "both included checks probed", func() bool { return site.count("/a-shop") > 0 && site.count("/b-shop") > 0 })
	merchant("c.yaml", "c-shop")
	p.cmd.Process.Signal(syscall.SIGHUP)
	eventually(t, "the file added since probed after the reload", func() bool { return site.count("/c-shop") > 0 })
}
