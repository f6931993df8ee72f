package main

import (
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestVerifyFindsAnEditedFailure runs the daemon through an outage, then
// checks its record with verify, edits one failure, and checks again.
func TestVerifyFindsAnEditedFailure(t *testing.T) {
	shop, down := newShop(t)
	dir := t.TempDir()
	listen := freeAddr(t)
	db := filepath.Join(dir, "data", "hostwatch.db")
	os.Mkdir(filepath.Dir(db), 0o755)
	cfg := writeConfig(t, dir, fmt.Sprintf(`
timezone: UTC
storage: {dsn: %q}
http: {listen: %q}
defaults: {schedule: "@every 1s", down_after: 2, up_after: 2, timeout: 2s, group_wait: 0s}
merchants:
  - name: kim-shop
    checks:
      - name: storefront
        http: {url: "%s/", contains: cart}
`, db, listen, shop.URL))

	p := startDaemon(t, dir, cfg)
	waitHTTP(t, "http://"+listen+"/metrics", `hostwatch_probes_total{check="kim-shop/storefront",result="ok"} 1`)
	down.Store(true)
	p.waitLine(t, "DOWN kim-shop/storefront is down: Incident #1,")
	down.Store(false)
	p.waitLine(t, "UP kim-shop/storefront is back: Incident #1 resolved")
	p.stop(t)

	out, stderr, code := hostwatch(t, "verify", "-config", cfg)
	if code != 0 || !strings.HasPrefix(out, "verified ") || !strings.Contains(out, "; head ") {
		t.Fatalf("verify: exit %d: %s%s", code, out, stderr)
	}

	raw, err := sql.Open("sqlite", db)
	if err != nil {
		t.Fatal(err)
	}
	var at int64
	if err := raw.QueryRow(`SELECT at FROM probe_failures ORDER BY at LIMIT 1`).Scan(&at); err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`UPDATE probe_failures SET error = 'status 200' WHERE at = ?`, at); err != nil {
		t.Fatal(err)
	}
	raw.Close()

	out, stderr, code = hostwatch(t, "verify", "-config", cfg)
	if code != 1 || !strings.Contains(out, "failure kim-shop/storefront") || !strings.Contains(out, "its error differs") {
		t.Fatalf("verify after an edit: exit %d: %s%s", code, out, stderr)
	}
}
